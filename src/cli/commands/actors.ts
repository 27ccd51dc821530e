/**
 * `sector-storage actors [--json]`: the daemon's live actor tree in the terminal (`ActorsTree`),
 * the same tree `/inspect` shows: scheduler, index actor, sector groups, every sector and task
 * with its state and a summary of its context, then the workers and the recent events.
 */
import type { ActorTree, ActorView } from '../../api/methods/actors.js';
import { defineCommand } from '../command.js';
import { tabulate } from '../output.js';

const numberOf = (id: string) => Number(id.slice(id.indexOf(':') + 1));

function byId(a: ActorView, b: ActorView): number {
  if (a.kind === b.kind && (a.kind === 'sector' || a.kind === 'group')) return numberOf(a.id) - numberOf(b.id);
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The tree as indented lines: `id  state  (since)  key=value …`. */
export function formatActorTree(tree: ActorTree): string[] {
  const children = new Map<string, ActorView[]>();
  const sessions = new Set(tree.actors.map((a) => a.session));
  const roots: ActorView[] = [];
  for (const a of tree.actors) {
    if (a.parent !== undefined && sessions.has(a.parent)) children.set(a.parent, [...(children.get(a.parent) ?? []), a]);
    else roots.push(a);
  }
  const lines: string[] = [];
  const walk = (a: ActorView, depth: number) => {
    const context = Object.entries(a.context)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ');
    const since = new Date(a.since).toISOString().slice(11, 19);
    lines.push(`${'  '.repeat(depth)}${a.id}  ${a.state ?? a.status}  (since ${since}, ${a.events} events)${context ? `  ${context}` : ''}`);
    for (const c of (children.get(a.session) ?? []).sort(byId)) walk(c, depth + 1);
  };
  for (const r of roots.sort(byId)) walk(r, 0);
  if (lines.length === 0) lines.push('no actors');
  lines.push('', 'Workers:');
  if (tree.workers.length === 0) lines.push('  none');
  else {
    const table = [['ID', 'Host', 'Connected', 'Enabled', 'Cordoned', 'Running', 'Preparing']];
    for (const w of tree.workers) table.push([w.id, w.hostname, String(w.connected), String(w.enabled), String(w.cordoned), String(w.running), String(w.preparing)]);
    lines.push(...tabulate(table).map((l) => `  ${l}`));
  }
  lines.push('', `Recent events (${tree.events.length}${tree.dropped > 0 ? `, ${tree.dropped} not sampled` : ''}):`);
  for (const e of tree.events.slice(-20)) {
    lines.push(`  ${new Date(e.t).toISOString().slice(11, 23)}  ${e.actor} ← ${e.type}${e.source ? ` from ${e.source}` : ''}`);
  }
  return lines;
}

const actors = defineCommand({
  path: ['actors'],
  summary: "print the daemon's live actor tree: each actor's state and context summary, the workers, the recent events",
  description:
    'The tree the /inspect page shows (scheduler → index actor, sector groups → sectors, tasks), read from the inspection hub, which samples the actor system off its path. --json prints ActorsTree as the API returns it.',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      const tree = await api.call('ActorsTree', { signal });
      out.result(tree, formatActorTree);
    } finally {
      api.close();
    }
  },
});

export const actorsCommands = [actors];

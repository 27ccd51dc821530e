/**
 * `sector-storage sectors drift …` (ours; Lotus has no such command): the disagreement between the
 * storage paths and the sector records, and its resolution one sector at a time
 * (docs/design/sealing-daemon.md §8).
 */
import { InvalidArgumentError } from '../../errors.js';
import type { DriftInfo, DriftResolutionInfo } from '../../api/methods/drift.js';
import { parseIntArg } from '../args.js';
import { defineCommand } from '../command.js';
import { tabulate } from '../output.js';

/** The `sectors drift` lines. */
export function formatDrift(d: DriftInfo): string[] {
  if (d.Unrecorded.length === 0 && d.Missing.length === 0) {
    return ['no drift: every sector file on the storage paths has a record, and every record has the files it needs'];
  }
  const lines: string[] = [];
  if (d.Unrecorded.length > 0) {
    lines.push('Sector files without a record (their numbers are never handed out again):');
    const rows = [['ID', 'Type', 'Storage', 'Path']];
    for (const u of d.Unrecorded) for (const f of u.Files) rows.push([String(u.SectorID), f.Type, f.Storage, f.Path ?? '(on another node)']);
    lines.push(...tabulate(rows).map((l) => `  ${l}`));
  }
  if (d.Missing.length > 0) {
    if (lines.length > 0) lines.push('');
    lines.push('Sector records whose files are on no storage path:');
    const rows = [['ID', 'State', 'Missing']];
    for (const m of d.Missing) rows.push([String(m.SectorID), m.State, m.Missing.join(', ')]);
    lines.push(...tabulate(rows).map((l) => `  ${l}`));
  }
  lines.push('', 'Resolve one sector with "sectors drift resolve N --import" (a record from its files) or "--lost" (remove a record whose files are gone).');
  return lines;
}

/** The `sectors drift resolve` lines. */
export function formatResolution(r: DriftResolutionInfo): string[] {
  const head =
    r.Mode === 'import'
      ? `sector ${r.SectorID}: imported from its files in ${r.State} with ${r.Pieces} piece${r.Pieces === 1 ? '' : 's'}`
      : `sector ${r.SectorID}: marked lost, ${r.State.toLowerCase()}`;
  return [head, ...(r.CommD ? [`  CommD: ${r.CommD}`] : []), ...(r.CommR ? [`  CommR: ${r.CommR}`] : []), ...r.Notes.map((n) => `  - ${n}`)];
}

const drift = defineCommand({
  path: ['sectors', 'drift'],
  summary: 'list sector files no record knows, and records whose files are gone',
  description:
    'Compares the sector files the storage paths declare with the sector records, now. Files without a record are listed with their storage and path (their sector numbers are never handed out again); records whose required files are on no path are listed with their state and the missing types (such a sector is FailedUnrecoverable after a restart). "sectors drift resolve" resolves one sector.',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      out.result(await api.call('SectorsDrift', { signal }), formatDrift);
    } finally {
      api.close();
    }
  },
});

const resolve = defineCommand({
  path: ['sectors', 'drift', 'resolve'],
  summary: 'resolve one sector\'s drift: --import a record from its files, or mark a record whose files are gone --lost',
  description:
    '--import: for files of sector N that no record knows, writes a record built from what they say. An unsealed file alone becomes a sector waiting for deals whose pieces are its allocated ranges (piece CIDs recomputed from the bytes; pieces added side by side in increasing size come back merged under one piece CID; a deal piece\'s payload size is its capacity and it has no piece CID v2). A sealed file with its cache directory becomes a Proving sector with the CommR of its p_aux (and the CommD of an unsealed file that fills the sector), which CheckProvable then checks. Other combinations are refused, naming what is missing.\n\n' +
    '--lost: for a record whose files are on no path: the sector is removed (files left anywhere are deleted, the record ends Removed and its number is never reused), with a log entry saying the operator marked it lost and why.',
  flags: {
    import: { type: 'boolean', description: 'build the sector\'s record from its files' },
    lost: { type: 'boolean', description: 'remove the sector whose files are gone' },
  },
  positionals: [{ name: 'N', description: 'sector number' }],
  async run({ flags, args, out, connect, signal }) {
    const n = parseIntArg(args.N, 'sector number N');
    if (flags.import && flags.lost) throw new InvalidArgumentError('give one of --import and --lost, not both');
    if (!flags.import && !flags.lost) throw new InvalidArgumentError('give --import (a record from the files) or --lost (remove a record whose files are gone)');
    const api = await connect();
    try {
      const r = await api.call('SectorsDriftResolve', n, flags.import ? 'import' : 'lost', { signal });
      out.result(r, formatResolution);
    } finally {
      api.close();
    }
  },
});

export const driftCommands = [drift, resolve];

/**
 * `sector-storage storage …`, in the style of `lotus-miner storage` (Lotus
 * `cmd/lotus-miner/storage.go`): `list` (space bars, counts, weight, use, URLs, and heartbeat
 * health), `list sectors`, `find SECTOR`, `attach PATH [--init] [--seal] [--store] [--weight N]
 * [--max-storage SIZE]`, `detach PATH|ID`, `locks`, `redeclare [--id ID | --all]` and `cleanup
 * [--apply]`.
 *
 * `cleanup` is not Lotus's (which removes the files of sectors in state Removed): it removes the
 * drift between the daemon's paths and the index that storage/path-cleanup.ts describes, and
 * shows what it would do unless given `--apply`.
 */
import { resolve } from 'node:path';
import { SectorUnknownError } from '../../errors.js';
import { FILE_TYPES, FileType, type FileTypeName, sectorName } from '../../sector/sector-id.js';
import { formatSize, parseSize } from '../../sector/sizes.js';
import type { SectorFileRow } from '../../api/methods/storage.js';
import type { CleanupItem, CleanupReport } from '../../storage/path-cleanup.js';
import type { StorageStatus } from '../../storage/storage-types.js';
import type { SectorLockInfo } from '../../storage/sector-locks.js';
import { initStoragePath } from '../../storage/storage-config.js';
import type { LocalPathInfo, SectorStorageInfo } from '../../storage/storage-types.js';
import { SKIPPED_HEARTBEAT_THRESHOLD_MS } from '../../storage/storage-types.js';
import { parseIntArg, UsageError } from '../args.js';
import { defineCommand } from '../command.js';
import { tabulate } from '../output.js';

const BAR = 50;

function color(text: string, pct: number, tty: boolean): string {
  if (!tty) return text;
  const code = pct > 98 ? 31 : pct > 90 ? 33 : 32;
  return `\x1b[${code}m${text}\x1b[0m`;
}

/** `[####****      ]`: `#` used (without reservations), `*` reserved, space free. */
export function spaceBar(used: number, reserved: number, total: number): string {
  if (total <= 0) return `[${' '.repeat(BAR)}]`;
  const u = Math.min(BAR, Math.max(0, Math.round((BAR * used) / total)));
  const r = Math.min(BAR - u, Math.max(0, Math.round((BAR * reserved) / total)));
  return `[${'#'.repeat(u)}${'*'.repeat(r)}${' '.repeat(BAR - u - r)}]`;
}

/** One entry of `storage list --json`. */
export interface StorageListEntry extends StorageStatus {
  /** Directory on the daemon, when the path is local to it. */
  local?: string;
  /** Entries of a local path that are not sector files (`path: reason`), left alone. */
  unknown?: string[];
}

/** The `storage list` text (paths sorted by capacity, then id). */
export function formatStorageList(entries: readonly StorageListEntry[], now: number, tty = false): string[] {
  if (entries.length === 0) return ['no storage paths attached (see "storage attach --init")'];
  const sorted = [...entries].sort((a, b) => b.stat.Capacity - a.stat.Capacity || (a.info.ID < b.info.ID ? -1 : 1));
  const lines: string[] = [];
  for (const e of sorted) {
    const { stat, info } = e;
    lines.push(`${info.ID}:`);
    if (stat.Capacity > 0) {
      const used = stat.Capacity - stat.FSAvailable;
      const pct = (100 * (used + stat.Reserved)) / stat.Capacity;
      lines.push(
        `\t${spaceBar(used, stat.Reserved, stat.Capacity)} ${formatSize(used)}/${formatSize(stat.Capacity)} ${color(`${Math.round(pct)}%`, pct, tty)}${stat.Max > 0 ? ' (filesystem)' : ''}`,
      );
    } else {
      lines.push('\tno space report yet');
    }
    if (stat.Max > 0) {
      const pct = (100 * (stat.Used + stat.Reserved)) / stat.Max;
      lines.push(
        `\t${spaceBar(stat.Used, stat.Reserved, stat.Max)} ${formatSize(stat.Used)}/${formatSize(stat.Max)} ${color(`${Math.round(pct)}%`, pct, tty)} (limit)`,
      );
    }
    lines.push(`\tUnsealed: ${e.counts.unsealed}; Sealed: ${e.counts.sealed}; Caches: ${e.counts.cache}; Reserved: ${formatSize(stat.Reserved)}`);
    const use = [info.CanSeal ? 'Seal' : '', info.CanStore ? 'Store' : ''].filter(Boolean).join(' ') || 'ReadOnly';
    lines.push(`\tWeight: ${info.Weight}; Use: ${use}`);
    const age = Math.max(0, Math.round((now - e.lastHeartbeat) / 1000));
    if (e.heartbeatErr) lines.push(`\tError: ${e.heartbeatErr} (not offered for new data)`);
    else if (now - e.lastHeartbeat > SKIPPED_HEARTBEAT_THRESHOLD_MS) lines.push(`\tHeartbeat: ${age}s ago (stale; not offered for new data)`);
    if (e.local) lines.push(`\tLocal: ${e.local}`);
    for (const u of e.unknown ?? []) lines.push(`\tNot a sector file (left alone; move it out of the path): ${u}`);
    for (const url of info.URLs) lines.push(`\tURL: ${url}`);
  }
  return lines;
}

/** One storage of `storage find`. */
export interface FoundStorage {
  id: string;
  types: FileTypeName[];
  canSeal: boolean;
  canStore: boolean;
  primary: boolean;
  local?: string;
  urls: string[];
  /**
   * Why the path is not offered for fetching (its heartbeat is stale or failing: the index lists
   * it without URLs); absent for a healthy path.
   */
  unhealthy?: string;
}

/** Groups per-type find results by storage (sorted by id), with each path's health from `status`. */
export function groupFound(
  byType: Partial<Record<FileTypeName, SectorStorageInfo[]>>,
  local: readonly LocalPathInfo[],
  status: readonly StorageStatus[] = [],
  now = Date.now(),
): FoundStorage[] {
  const out = new Map<string, FoundStorage>();
  for (const t of FILE_TYPES) {
    for (const h of byType[t] ?? []) {
      const f = out.get(h.ID) ?? {
        id: h.ID,
        types: [],
        canSeal: h.CanSeal,
        canStore: h.CanStore,
        primary: false,
        urls: [],
        ...(local.find((l) => l.ID === h.ID) ? { local: local.find((l) => l.ID === h.ID)?.LocalPath as string } : {}),
        ...unhealthy(status.find((st) => st.info.ID === h.ID), now),
      };
      f.types.push(t);
      f.primary ||= h.Primary;
      for (const u of h.URLs) if (!f.urls.includes(u)) f.urls.push(u);
      out.set(h.ID, f);
    }
  }
  return [...out.values()].sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
}

const typeLabel: Record<FileTypeName, string> = { unsealed: 'Unsealed', sealed: 'Sealed', cache: 'Cache' };

function unhealthy(status: StorageStatus | undefined, now: number): { unhealthy?: string } {
  if (!status || status.healthy) return {};
  const why = status.heartbeatErr
    ? `its last health report failed: ${status.heartbeatErr}`
    : `no heartbeat for ${Math.max(0, Math.round((now - status.lastHeartbeat) / 1000))}s`;
  return { unhealthy: why };
}

/** The `storage find` text. */
export function formatFound(found: readonly FoundStorage[]): string[] {
  const lines: string[] = [];
  for (const f of found) {
    lines.push(`In ${f.id} (${f.types.map((t) => typeLabel[t]).join(', ')})${f.primary ? ' [primary]' : ''}`);
    lines.push(`\tSealing: ${f.canSeal}; Storage: ${f.canStore}`);
    lines.push(f.local ? `\tLocal (${f.local})` : '\tRemote');
    if (f.unhealthy) lines.push(`\tUnhealthy (${f.unhealthy}): not offered for fetching`);
    for (const u of f.urls) lines.push(`\tURL: ${u}`);
  }
  return lines;
}

/**
 * The `storage locks` table. A holder is shown by owner with the time the manager last heard
 * from it (its lease; an owner silent past the threshold loses its locks), or by lock id when the
 * lock has no owner (an in-process call of the daemon, released when the call ends).
 */
export function formatLocks(locks: readonly SectorLockInfo[], now = Date.now()): string[] {
  if (locks.length === 0) return ['no sector locks held'];
  const cell = (l: SectorLockInfo, t: FileTypeName) => (l.write.includes(t) ? 'write' : l.read[t] > 0 ? `read×${l.read[t]}` : '-');
  const holder = (h: SectorLockInfo['holders'][number]) =>
    h.owner === undefined
      ? h.id.slice(0, 8)
      : `${h.owner} (${h.lastHeard === null || h.lastHeard === undefined ? 'no lease' : `heard ${Math.max(0, Math.round((now - h.lastHeard) / 1000))}s ago`})`;
  const rows = [['Sector', 'Unsealed', 'Sealed', 'Cache', 'Waiting', 'Holders']];
  for (const l of locks) {
    const holders = l.holders.map(holder).join(', ');
    rows.push([`s-t0${l.sector.miner}-${l.sector.number}`, cell(l, 'unsealed'), cell(l, 'sealed'), cell(l, 'cache'), String(l.waiting), holders || '-']);
  }
  return tabulate(rows);
}

/** The `storage list sectors` table (rows come sorted from the daemon). */
export function formatSectorFiles(rows: readonly SectorFileRow[]): string[] {
  if (rows.length === 0) return ['no sector files declared on any storage path'];
  const table = [['Storage', 'Sector', 'Type', 'State', 'Primary', 'Path use', 'URLs']];
  for (const r of rows) {
    table.push([
      r.storage,
      String(r.sector.number),
      typeLabel[r.type],
      r.state ?? '-',
      r.primary ? 'primary' : '',
      [r.canSeal ? 'seal' : '', r.canStore ? 'store' : ''].filter(Boolean).join(' ') || 'read-only',
      r.urls.join(' ') || '(not served: heartbeat stale or failing)',
    ]);
  }
  return tabulate(table);
}

const cleanupVerb: Record<CleanupItem['action'], [string, string]> = {
  remove: ['would remove', 'removed'],
  drop: ['would drop', 'dropped'],
  keep: ['keep', 'kept'],
};

/** The `storage cleanup` text: one line per finding, then what to do next. */
export function formatCleanup(report: CleanupReport): string[] {
  if (report.items.length === 0) return ['no drift: every sector file on the paths is declared, every declaration has its file, and no download is left over'];
  const lines: string[] = [];
  for (const i of report.items) {
    const what = i.kind === 'missing' ? `the declaration of ${i.type}/${sectorName(i.sector as NonNullable<typeof i.sector>)} on ${i.storage}` : i.path;
    const [planned, done] = cleanupVerb[i.action];
    const verb = !report.applied || i.action === 'keep' ? planned : i.done ? done : 'not done';
    lines.push(`${verb}: ${what} (${i.reason})${i.error ? `: ${i.error}` : ''}`);
  }
  const todo = report.items.filter((i) => i.action !== 'keep').length;
  if (!report.applied && todo > 0) lines.push(`${todo} change(s) planned; run "storage cleanup --apply" to make them`);
  return lines;
}

const listSectors = defineCommand({
  path: ['storage', 'list', 'sectors'],
  summary: 'list every declared sector file: storage, sector, type, state, primary copy, path use, URLs',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      out.result(await api.call('StorageListSectors', { signal }), formatSectorFiles);
    } finally {
      api.close();
    }
  },
});

const redeclare = defineCommand({
  path: ['storage', 'redeclare'],
  summary: 're-scan storage paths of the daemon and make the index agree with what is on disk',
  description:
    'After sector files were moved between paths by hand: every sector file found is declared, and declarations of files that are gone are dropped (unless --keep-missing). Give --id for one path or --all for every path of the daemon.',
  flags: {
    id: { type: 'string', valueName: 'ID', description: 'storage id of the path to re-scan' },
    all: { type: 'boolean', description: 're-scan every path of the daemon' },
    'keep-missing': { type: 'boolean', description: 'keep declarations whose files are gone' },
  },
  positionals: [],
  async run({ flags, out, connect, signal }) {
    if ((flags.id === undefined) === !flags.all) throw new UsageError('give --id ID or --all (which paths to re-scan?)');
    const api = await connect();
    try {
      const done = await api.call('StorageRedeclareLocal', flags.id, !flags['keep-missing'], { signal });
      out.result(done, (d) =>
        d.length === 0 ? ['no path re-scanned'] : d.map((p) => `${p.ID} (${p.LocalPath}): ${p.sectors} sector(s) declared, ${p.dropped} declaration(s) of missing files dropped`),
      );
    } finally {
      api.close();
    }
  },
});

const cleanup = defineCommand({
  path: ['storage', 'cleanup'],
  summary: 'find (and with --apply remove) sector files not in the index, declarations whose files are gone, and left-over downloads',
  description:
    'Without --apply nothing changes: the findings are listed with what would be done. A file a sector record may still need is kept (declare it with "storage redeclare"); entries that are not sector files are never touched. Acts on the daemon\'s own paths.',
  flags: {
    apply: { type: 'boolean', description: 'carry the changes out' },
  },
  positionals: [],
  async run({ flags, out, connect, signal }) {
    const api = await connect();
    try {
      const report = await api.call('StorageCleanup', flags.apply, { signal });
      out.result(report, formatCleanup);
      return report.items.some((i) => i.error !== undefined && i.action !== 'keep') ? 1 : 0;
    } finally {
      api.close();
    }
  },
});

const list = defineCommand({
  path: ['storage', 'list'],
  summary: 'list storage paths: space used and reserved, sector counts, weight, use, health, URLs',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      const [summary, local] = await Promise.all([api.call('StorageSummary', { signal }), api.call('StorageLocalPaths', { signal })]);
      const entries: StorageListEntry[] = summary.map((s) => {
        const l = local.find((p) => p.ID === s.info.ID);
        return l ? { ...s, local: l.LocalPath, ...(l.UnknownEntries ? { unknown: l.UnknownEntries } : {}) } : s;
      });
      out.result(entries, (e) => formatStorageList(e, Date.now(), Boolean((out.stdout as { isTTY?: boolean }).isTTY)));
    } finally {
      api.close();
    }
  },
});

const find = defineCommand({
  path: ['storage', 'find'],
  summary: 'find where the files of a sector are stored',
  flags: {},
  positionals: [{ name: 'SECTOR', description: 'sector number' }],
  async run({ args, out, connect, signal }) {
    const number = parseIntArg(args.SECTOR, 'sector number SECTOR');
    const api = await connect();
    try {
      const { minerId } = await api.call('Version', { signal });
      const sector = { miner: minerId, number };
      const byType: Partial<Record<FileTypeName, SectorStorageInfo[]>> = {};
      for (const t of FILE_TYPES) byType[t] = await api.call('StorageFindSector', sector, FileType[t], 0, false, { signal });
      const [local, status] = await Promise.all([api.call('StorageLocalPaths', { signal }), api.call('StorageSummary', { signal })]);
      const found = groupFound(byType, local, status);
      if (found.length === 0) throw new SectorUnknownError(`sector ${number} (s-t0${minerId}-${number}) is not stored in any storage path`);
      out.result(found, formatFound);
    } finally {
      api.close();
    }
  },
});

const attach = defineCommand({
  path: ['storage', 'attach'],
  summary: 'attach a storage path to the daemon (with --init, create it first)',
  description:
    'The path must be reachable by the daemon process. With --init the directory is created with its unsealed/, sealed/ and cache/ folders and a sectorstore.json (fresh id); --seal and/or --store say what it may hold. Sector files found on the path that no record knows are listed (their numbers are never given to new sectors; see "sectors drift").',
  flags: {
    init: { type: 'boolean', description: 'initialise the path (refused if it already has a sectorstore.json)' },
    seal: { type: 'boolean', description: 'the path may hold in-progress sealing data (with --init)' },
    store: { type: 'boolean', description: 'the path may hold finalized sectors (with --init)' },
    weight: { type: 'string', valueName: 'N', description: 'preference for new data, higher first (with --init)', defaultText: '10' },
    'max-storage': { type: 'string', valueName: 'SIZE', description: 'limit for sector data, e.g. 2TiB (with --init); 0 = none' },
  },
  positionals: [{ name: 'PATH', description: 'directory of the storage path' }],
  async run({ args, flags, out, connect, signal }) {
    const path = resolve(args.PATH as string);
    if (flags.init) {
      if (!flags.seal && !flags.store) throw new UsageError('--init needs --seal and/or --store (what may this path hold?)');
      const weight = flags.weight === undefined ? 10 : parseIntArg(flags.weight, '--weight');
      const maxStorage = flags['max-storage'] === undefined ? 0 : parseSize(flags['max-storage']);
      const meta = initStoragePath(path, { weight, canSeal: flags.seal, canStore: flags.store, maxStorage });
      out.info(`initialised ${path} as ${meta.ID}`);
    } else if (flags.seal || flags.store || flags.weight !== undefined || flags['max-storage'] !== undefined) {
      throw new UsageError('--seal, --store, --weight and --max-storage only apply with --init (edit sectorstore.json to change an existing path)');
    }
    const api = await connect();
    try {
      const info = await api.call('StorageAddLocal', path, { signal });
      out.result(info, (i) => {
        const use = [i.CanSeal ? 'seal' : '', i.CanStore ? 'store' : ''].filter(Boolean).join('+') || 'read-only';
        return [
          `attached ${i.LocalPath} as ${i.ID} (${use}; weight ${i.Weight}${i.MaxStorage ? `; max ${formatSize(i.MaxStorage)}` : ''})`,
          ...(i.UnknownEntries ?? []).map((u) => `  Not a sector file (left alone; move it out of the path): ${u}`),
          ...i.Unrecorded.map(
            (u) =>
              `  Sector ${u.SectorID} has ${u.Types.join(' and ')} file${u.Types.length > 1 ? 's' : ''} here but no record: its number is not reused ("sectors drift resolve ${u.SectorID} --import|--lost" resolves it)`,
          ),
        ];
      });
    } finally {
      api.close();
    }
  },
});

const detach = defineCommand({
  path: ['storage', 'detach'],
  summary: 'detach a storage path (by path or id); its files stay on disk',
  description:
    "A path of the daemon is closed and removed from its storage.json. An id that the daemon does not hold locally (a worker's path, or one whose node is gone) is removed from the index with all its sector declarations; a live worker attaches it again when it next re-declares.",
  flags: {},
  positionals: [{ name: 'PATH|ID' }],
  async run({ args, out, connect, signal }) {
    const target = args['PATH|ID'] as string;
    const api = await connect();
    try {
      const local = await api.call('StorageLocalPaths', { signal });
      const abs = resolve(target);
      if (local.some((l) => l.ID === target || l.LocalPath === abs)) {
        const info = await api.call('StorageDetachLocal', local.some((l) => l.ID === target) ? target : abs, { signal });
        out.result(info, (i) => `detached ${i.LocalPath} (${i.ID})`);
        return;
      }
      const info = await api.call('StorageInfo', target, { signal });
      await api.call('StorageDetach', target, undefined, { signal });
      out.result(info, (i) => `detached remote storage ${i.ID} (${i.URLs.join(', ') || 'no URLs'}) from the index`);
    } finally {
      api.close();
    }
  },
});

const locks = defineCommand({
  path: ['storage', 'locks'],
  summary: 'show sector locks: readers and writers per file type, waiting requests, holders and when each was last heard from',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      out.result(await api.call('StorageGetLocks', { signal }), (l) => formatLocks(l, Date.now()));
    } finally {
      api.close();
    }
  },
});

export const storageCommands = [list, listSectors, find, attach, detach, locks, redeclare, cleanup];

/**
 * `sector-storage sectors …`, lotus-miner style (`cmd/lotus-miner/sectors.go`): `pledge`, `seal`,
 * `remove`, `list`, `summary` and `status`. Tables are tab-aligned; `status` prints Lotus's
 * tab-separated `Key:\tvalue` lines.
 */
import { DaemonUnreachableError, InvalidArgumentError } from '../../errors.js';
import type { SectorInfo } from '../../api/methods/sectors.js';
import { isSectorState, SECTOR_STATES, type SectorStateName } from '../../sector/sector-states.js';
import { parseIntArg } from '../args.js';
import { defineCommand } from '../command.js';
import { formatElapsed, type Output, plural, tabulate } from '../output.js';
import { JobBars, type TermStream } from '../watch.js';
import type { ApiClient } from '../../api/rpc-client.js';
import { taskShortName } from './sealing.js';

/** States a sector leaves only by an operator: its seal time stops counting there. */
const STOPPED_STATES: readonly string[] = ['Removing', 'RemoveFailed', 'Removed', 'FailedUnrecoverable'];

/**
 * A sector's seal time: from its first log entry to its `SectorProving` entry (the commit landed,
 * as Lotus's `sectors list --seal-time`); for a sector still on its way, the time so far.
 */
export function sealTime(s: SectorInfo, now: number): string {
  if (s.LogStart === undefined) return '-';
  if (s.ProvingAt !== undefined) return formatElapsed(s.ProvingAt - s.LogStart);
  if (STOPPED_STATES.includes(s.State)) return '-';
  return `${formatElapsed(now - s.LogStart)} (so far)`;
}

/** The `sectors list` table. */
export function formatSectorList(sectors: readonly SectorInfo[], now = Date.now()): string[] {
  if (sectors.length === 0) return ['no sectors'];
  const rows = [['ID', 'State', 'Deals', 'SealTime']];
  for (const s of sectors) rows.push([String(s.SectorID), s.State, String(s.Deals.length), sealTime(s, now)]);
  const lines = tabulate(rows);
  for (const s of sectors) if (s.LastErr) lines.push(`  sector ${s.SectorID} error: ${s.LastErr}${s.LastErrCode ? ` [${s.LastErrCode}]` : ''}`);
  return lines;
}

const hex = (base64: string | null) => (base64 === null ? '' : Buffer.from(base64, 'base64').toString('hex'));

/** The `sectors status` lines: Lotus's, then the pieces; with `log`, the event log as Lotus prints it. */
export function formatSectorStatus(s: SectorInfo, options: { log?: boolean } = {}): string[] {
  const proof = s.ProofInfo
    ? `sha256 ${s.ProofInfo.Sha256}, ${s.ProofInfo.Size} bytes, ${s.ProofInfo.Prover}${s.ProofInfo.Note ? ` (${s.ProofInfo.Note})` : ''}`
    : '';
  const lines = [
    `SectorID:\t${s.SectorID}`,
    `Status:\t${s.State}`,
    `CIDcommD:\t${s.CommD ?? '<nil>'}`,
    `CIDcommR:\t${s.CommR ?? '<nil>'}`,
    `Ticket:\t${hex(s.Ticket.Value)}`,
    `TicketH:\t${s.Ticket.Epoch}`,
    `Seed:\t${hex(s.Seed.Value)}`,
    `SeedH:\t${s.Seed.Epoch}`,
    `Precommit:\t${s.PreCommitMsg ?? '<nil>'}`,
    `Commit:\t${s.CommitMsg ?? '<nil>'}`,
    `Proof:\t${proof}`,
    `Deals:\t[${s.Deals.join(' ')}]`,
    `Retries:\t${s.Retries}`,
  ];
  if (s.LastErr) lines.push(`Last Error:\t${s.LastErr}${s.LastErrCode ? ` [${s.LastErrCode}]` : ''}`);
  lines.push(
    `SealProof:\t${s.SealProof}`,
    `SectorSize:\t${s.SectorSize}`,
    `Pieces:\t${s.Pieces.length} (${plural(s.Deals.length, 'deal')}, ${plural(s.Pieces.length - s.Deals.length, 'filler')})`,
  );
  s.Pieces.forEach((p, i) => {
    lines.push(
      `Piece ${i}:\t${p.PieceCID}\t${p.Filler ? 'filler' : (p.PieceCIDv2 ?? '')}\toffset ${p.Offset} (padded ${p.PaddedOffset})\tsize ${p.PaddedSize}\tpayload ${p.PayloadSize}`,
    );
  });
  if (options.log && s.Log) {
    lines.push('--------', 'Event Log:');
    s.Log.forEach((e, i) => {
      lines.push(`${i}.\t${new Date(e.TimestampMs).toISOString()}:\t[${e.Kind}]\t${e.Message}`);
      if (e.Trace) lines.push(`\t${e.Trace}`);
    });
  }
  return lines;
}

/** Parses `--states a,b` (Lotus's state names), naming an unknown one. */
export function parseStatesFlag(text: string): SectorStateName[] {
  const names = text.split(',').map((x) => x.trim()).filter((x) => x !== '');
  if (names.length === 0) throw new InvalidArgumentError('--states needs at least one state name (e.g. --states Proving,WaitDeals)');
  for (const n of names) {
    if (!isSectorState(n)) throw new InvalidArgumentError(`--states: "${n}" is not a sector state (one of ${SECTOR_STATES.join(', ')})`);
  }
  return names as SectorStateName[];
}

const sectorArg = { name: 'N', description: 'sector number' };

const pledge = defineCommand({
  path: ['sectors', 'pledge'],
  summary: 'create a committed-capacity sector (zero pieces) and seal it at once',
  description: 'Lotus PledgeSector. Refused with NO_SPACE, creating nothing, when no sealing path has room for a sector.',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      const id = await api.call('PledgeSector', { signal });
      out.result(id, (r) => `Created CC sector: ${r.Number}`);
    } finally {
      api.close();
    }
  },
});

const seal = defineCommand({
  path: ['sectors', 'seal'],
  summary: 'stop waiting for deals and seal a sector now (fills the rest with zero pieces)',
  flags: {},
  positionals: [sectorArg],
  async run({ args, out, connect, signal }) {
    const n = parseIntArg(args.N, 'sector number N');
    const api = await connect();
    try {
      await api.call('SectorStartSealing', n, { signal });
      out.result({ sector: n, sealing: true }, () => `sector ${n}: sealing started`);
    } finally {
      api.close();
    }
  },
});

const remove = defineCommand({
  path: ['sectors', 'remove'],
  summary: 'remove a sector in any state: its running task is aborted, its files deleted from every path',
  description:
    'Like "lotus-miner sectors remove": the sector goes to Removing and then Removed (see "sectors status N"); nothing is sent to the local chain (stand-in). Its data is gone for good.',
  flags: {},
  positionals: [sectorArg],
  async run({ args, out, connect, signal }) {
    const n = parseIntArg(args.N, 'sector number N');
    const api = await connect();
    try {
      await api.call('SectorRemove', n, { signal });
      out.result({ sector: n, removing: true }, () => `sector ${n}: removing`);
    } finally {
      api.close();
    }
  },
});

const list = defineCommand({
  path: ['sectors', 'list'],
  summary: 'list the sectors: ID, State, Deals, SealTime',
  description:
    'Deals counts the deal (non-filler) pieces. SealTime runs from the sector\'s first log entry to its SectorProving entry (the commit landed on the local chain, as Lotus counts it); for a sector still on its way it is the time so far, marked "(so far)".',
  flags: {
    states: { type: 'string', valueName: 'A,B', description: 'only sectors in these states (Lotus names, e.g. Proving,WaitDeals)' },
  },
  positionals: [],
  async run({ flags, out, connect, signal }) {
    const states = flags.states === undefined ? undefined : parseStatesFlag(flags.states);
    const api = await connect();
    try {
      const sectors = await api.call('SectorsListInfo', states, { signal });
      out.result(sectors, (s) => formatSectorList(s));
    } finally {
      api.close();
    }
  },
});

const summary = defineCommand({
  path: ['sectors', 'summary'],
  summary: 'count the sectors in each state',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      const counts = await api.call('SectorsSummary', { signal });
      out.result(counts, (c) => {
        const entries = Object.entries(c).sort(([a], [b]) => a.localeCompare(b));
        if (entries.length === 0) return ['no sectors'];
        const total = entries.reduce((n, [, k]) => n + k, 0);
        return tabulate([['State', 'Count'], ...entries.map(([s, k]) => [s, String(k)]), ['Total', String(total)]]);
      });
    } finally {
      api.close();
    }
  },
});

const status = defineCommand({
  path: ['sectors', 'status'],
  summary: 'show one sector: state, commitments, ticket and seed, chain messages, proof, pieces',
  description:
    'Prints lotus-miner\'s lines (SectorID, Status, CIDcommD, CIDcommR, Ticket, TicketH, Seed, SeedH, Precommit, Commit, Proof, Deals, Retries, Last Error), then the pieces with their CIDs and offsets. Proof shows the digest and size: the default prover makes a vanilla proof bundle, not a SNARK. Deals lists the deal pieces\' CIDs (there is no storage market here, so no deal ids).',
  flags: {
    log: { type: 'boolean', description: 'also print the sector\'s event log (with --json: include "Log")' },
    watch: {
      type: 'boolean',
      description:
        'follow the sector: a line on stderr at each state change and a progress bar for its running call (PC1 nodes and layer, PC2 nodes, fetched bytes; piped, a line when it moves), then the status once it is Proving (exit 0) or FailedUnrecoverable or Removed (exit 1); Ctrl-C stops watching (exit 130)',
    },
  },
  positionals: [sectorArg],
  async run({ flags, args, out, connect, signal }) {
    const n = parseIntArg(args.N, 'sector number N');
    const api = await connect();
    try {
      let info = await api.call('SectorsStatus', n, { signal });
      if (flags.watch) {
        const last = await watchSector(api, n, out, signal);
        if (last === undefined) return 130;
        info = last;
      }
      if (!flags.log) delete info.Log;
      out.result(info, (s) => formatSectorStatus(s, { log: flags.log }));
      return flags.watch && info.State !== 'Proving' ? 1 : 0;
    } finally {
      api.close();
    }
  },
});

/**
 * `sectors status N --watch`: a line on stderr per state change and, while one of the sector's
 * calls runs, its progress bar (redrawn in place on a terminal; piped, a line when it moves, as
 * `<time>  sector N: <state>  <task>  <bar>`), both pushed by the daemon's `SectorNotify` channel
 * (read permission, so a read-only token gets the bars too). Resolves to the final status, or
 * undefined when Ctrl-C ended the watch.
 */
async function watchSector(api: ApiClient, n: number, out: Output, signal: AbortSignal): Promise<SectorInfo | undefined> {
  const stream = out.stderr as TermStream;
  const tty = stream.isTTY === true;
  const bars = new JobBars({ barWidth: 24 });
  const started = Date.now();
  let state = '';
  let lastProgress = '';
  let barShown = false;
  let ended = false;
  const clearBar = () => {
    if (barShown) stream.write('\r\x1b[2K');
    barShown = false;
  };
  try {
    for await (const v of api.subscribe('SectorNotify', [n], signal)) {
      const at = formatElapsed(Date.now() - started).padStart(8);
      if (v.Type === 'state') {
        clearBar();
        state = v.State;
        out.info(`${at}  sector ${n}: ${v.State}${v.LastErr ? ` (${v.LastErr})` : ''}`);
        if (WATCH_END_STATES.has(v.State)) {
          ended = true;
          break;
        }
        continue;
      }
      const job = v.Job;
      if (!job.Progress) continue;
      bars.update([job]);
      const line = `${at}  sector ${n}: ${state}  ${taskShortName(job.Task)}  ${bars.text(job.ID.ID)}`;
      if (tty) {
        const width = Math.max(20, (stream.columns || 100) - 1);
        stream.write(`\r\x1b[2K${line.slice(0, width)}`);
        barShown = true;
      } else {
        const key = `${job.ID.ID} ${job.Progress.Phase} ${job.Progress.Done}`;
        if (key !== lastProgress) out.info(line);
        lastProgress = key;
      }
    }
  } catch (err) {
    // an aborted connection: the user stopped watching
    if (!signal.aborted) throw err;
  }
  clearBar();
  if (signal.aborted) return undefined;
  if (!ended) throw new DaemonUnreachableError(`the daemon closed the SectorNotify channel of sector ${n} before it was sealed (shutting down?)`);
  return await api.call('SectorsStatus', n, { signal });
}

/** States `sectors status --watch` stops at: sealed, or never going to be. */
const WATCH_END_STATES = new Set(['Proving', 'FailedUnrecoverable', 'Removed']);

export const sectorsCommands = [pledge, seal, remove, list, summary, status];

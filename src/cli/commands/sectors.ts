/**
 * `sector-storage sectors list` and `sectors status N`, lotus-miner style: a tab-aligned table,
 * and tab-separated `Key:\tvalue` lines per sector.
 */
import type { SectorInfo } from '../../api/methods/sectors.js';
import { formatSize } from '../../sector/sizes.js';
import { parseIntArg } from '../args.js';
import { defineCommand } from '../command.js';
import { tabulate } from '../output.js';

/** The `sectors list` table. */
export function formatSectorList(sectors: readonly SectorInfo[]): string[] {
  if (sectors.length === 0) return ['no sectors'];
  const rows = [['ID', 'State', 'Deals', 'Used', 'CommD']];
  for (const s of sectors) {
    const deals = s.Pieces.filter((p) => !p.Filler).length;
    const used = s.SectorSize ? `${formatSize(s.UsedPadded)}/${formatSize(s.SectorSize)}` : formatSize(s.UsedPadded);
    rows.push([String(s.SectorID), s.State, String(deals), used, s.CIDcommD ?? '-']);
  }
  const lines = tabulate(rows);
  for (const s of sectors) if (s.LastError) lines.push(`  sector ${s.SectorID} error: ${s.LastError.message} [${s.LastError.code}]`);
  return lines;
}

/** The `sectors status` lines (tab-separated, like `lotus-miner sectors status`). */
export function formatSectorStatus(s: SectorInfo): string[] {
  const lines = [
    `SectorID:\t${s.SectorID}`,
    `Status:\t${s.State}`,
    `SealProof:\t${s.SealProof}`,
    `SectorSize:\t${s.SectorSize}`,
    `CIDcommD:\t${s.CIDcommD ?? '<nil>'}`,
    `Pieces:\t${s.Pieces.length} (${s.Pieces.filter((p) => !p.Filler).length} deal, ${s.Pieces.filter((p) => p.Filler).length} filler)`,
  ];
  s.Pieces.forEach((p, i) => {
    lines.push(
      `Piece ${i}:\t${p.PieceCID}\t${p.Filler ? 'filler' : (p.PieceCIDv2 ?? '')}\toffset ${p.Offset} (padded ${p.PaddedOffset})\tsize ${p.PaddedSize}\tpayload ${p.PayloadSize}`,
    );
  });
  if (s.LastError) lines.push(`Last Error:\t${s.LastError.message} [${s.LastError.code}]`);
  return lines;
}

const list = defineCommand({
  path: ['sectors', 'list'],
  summary: 'list the sectors with their state, deal pieces and space used',
  flags: {},
  positionals: [],
  async run({ out, connect, signal }) {
    const api = await connect();
    try {
      const sectors = await api.call('SectorsList', { signal });
      out.result(sectors, formatSectorList);
    } finally {
      api.close();
    }
  },
});

const status = defineCommand({
  path: ['sectors', 'status'],
  summary: 'show one sector: state, pieces with their CIDs and offsets, CommD when known',
  flags: {},
  positionals: [{ name: 'N', description: 'sector number' }],
  async run({ args, out, connect, signal }) {
    const n = parseIntArg(args.N, 'sector number N');
    const api = await connect();
    try {
      const info = await api.call('SectorsStatus', n, { signal });
      out.result(info, formatSectorStatus);
    } finally {
      api.close();
    }
  },
});

export const sectorsCommands = [list, status];

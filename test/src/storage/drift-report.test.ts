import { join } from 'node:path';
import test from 'ava';
import { FileType } from '../../../src/sector/sector-id.js';
import { requiredFileTypes } from '../../../src/sector/sector-states.js';
import { driftReport } from '../../../src/storage/drift-report.js';

const { unsealed: U, sealed: SE, cache: C } = FileType;
const decl = (number: number, SectorFileType: number, Miner = 1000) => ({ Miner, Number: number, SectorFileType });

test('each unrecorded sector lists its files by type and storage, with the path where the storage is open on this node', (t) => {
  const catalog = {
    'local-seal': [decl(0, U), decl(4, U), decl(9, U, 2000)],
    'local-store': [decl(4, SE | C), decl(1, SE | C)],
    'other-node': [decl(4, C)],
  };
  const roots: Record<string, string> = { 'local-seal': '/seal', 'local-store': '/store' };
  const report = driftReport(
    1000,
    catalog,
    [
      { number: 0, state: 'WaitDeals', requires: U },
      { number: 1, state: 'Proving', requires: 0 },
      { number: 2, state: 'WaitDeals', requires: U },
    ],
    (id) => roots[id],
  );
  t.deepEqual(report.unrecorded, [
    {
      number: 4,
      types: U | SE | C,
      storages: ['local-seal', 'local-store', 'other-node'],
      files: [
        { type: 'unsealed', storage: 'local-seal', path: join('/seal', 'unsealed', 's-t01000-4') },
        { type: 'sealed', storage: 'local-store', path: join('/store', 'sealed', 's-t01000-4') },
        { type: 'cache', storage: 'local-store', path: join('/store', 'cache', 's-t01000-4') },
        { type: 'cache', storage: 'other-node' },
      ],
    },
  ]);
  t.deepEqual(report.missing, [{ number: 2, state: 'WaitDeals', missing: ['unsealed'] }]);
  t.is(report.maxNumberOnPaths, 4, "another miner's files do not count");
});

test('a FailedUnrecoverable sector still needs where its data lived, so its missing files stay drift until resolved', (t) => {
  t.is(requiredFileTypes('FailedUnrecoverable', true), U, 'a deal sector: its unsealed file');
  t.is(requiredFileTypes('FailedUnrecoverable', true, true), SE | C, 'a sector with a CommR: its replica');
  t.is(requiredFileTypes('FailedUnrecoverable', false), 0, 'an empty sector needs nothing');
  t.is(requiredFileTypes('Removed', true, true), 0);
  t.is(requiredFileTypes('Proving', true, true), 0, 'Proving sectors are left to CheckProvable');
  t.is(requiredFileTypes('WaitDeals', true, false), U);
  const report = driftReport(1000, { s: [decl(3, C)] }, [{ number: 3, state: 'FailedUnrecoverable', requires: requiredFileTypes('FailedUnrecoverable', true, true) }], () => '/s');
  t.deepEqual(report.missing, [{ number: 3, state: 'FailedUnrecoverable', missing: ['sealed'] }]);
});

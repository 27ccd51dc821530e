import test from 'ava';
import { openDatabase } from '../../../src/db/database.js';
import { ShardStore } from '../../../src/db/shard-store.js';

test('shard records are registered once, saved with their state and error, and listed by key; marks are kept', (t) => {
  const db = openDatabase(':memory:');
  t.teardown(() => db.close());
  let now = 1;
  const s = new ShardStore(db, { now: () => now++ });
  s.register({ key: 'b', url: 'lotus://b', lazy: true });
  s.register({ key: 'a', url: 'lotus://a', lazy: false, roots: ['bafyroot'], transient: '/t/a' });
  t.throws(() => s.register({ key: 'a', url: 'lotus://a', lazy: true }), { code: 'SHARD_EXISTS', message: 'shard a already exists' });
  s.save('a', { state: 'ShardStateErrored', error: 'boom' });
  t.like(s.get('a'), { key: 'a', url: 'lotus://a', lazy: false, state: 'ShardStateErrored', error: 'boom', roots: ['bafyroot'], transient: '/t/a' });
  s.save('a', { state: 'ShardStateAvailable' });
  t.is(s.get('a')!.error, undefined, 'a state without an error clears it');
  s.setTransient('a', null);
  t.is(s.get('a')!.transient, undefined);
  t.deepEqual(s.list().map((r) => [r.key, r.state]), [['a', 'ShardStateAvailable'], ['b', 'ShardStateNew']]);
  t.throws(() => s.save('zz', { state: 'ShardStateNew' }), { code: 'SHARD_UNKNOWN' });
  t.throws(() => s.save('a', { state: 'Bogus' as never }), { code: 'INVALID_ARGUMENT', message: /shard state "Bogus"/ });
  t.is(s.mark('m'), undefined);
  s.setMark('m', 'x');
  s.setMark('m', 'y');
  t.is(s.mark('m'), 'y');
  s.remove('b');
  t.throws(() => s.remove('b'), { code: 'SHARD_UNKNOWN' });
});

import test from 'ava';
import { type QueuedCall, TaskQueue, runsBefore } from '../../../machines/scheduler/task-queue.js';
import type { Task, TaskType } from '../../../src/tasks/task-types.js';

const MiB8 = 8 << 20;

function call(type: TaskType, opts: { priority?: number; sector?: number; seq?: number; id?: string } = {}): QueuedCall {
  const task = { type, sector: { miner: 1000, number: opts.sector ?? 1 }, proofType: 6, priority: opts.priority ?? 0, input: {} } as unknown as Task;
  return { callId: opts.id ?? `${type}-${opts.sector ?? 1}-${opts.seq ?? 0}`, task, seq: opts.seq ?? 0, sectorSize: MiB8, selector: { kind: 'task' } };
}

test('FIN and GET run before everything else, whatever the priority (Lotus MuchLess)', (t) => {
  t.true(runsBefore(call('FIN'), call('PC1', { priority: 9999 })));
  t.true(runsBefore(call('GET'), call('C1', { priority: 1024 })));
  t.false(runsBefore(call('AP', { priority: 9999 }), call('GET')));
  t.true(runsBefore(call('FIN'), call('GET')), 'FIN before GET');
});

test('then higher priority, then task order, then lower sector number, then arrival', (t) => {
  t.true(runsBefore(call('PC1', { priority: 1024 }), call('C1', { priority: 0 })), 'priority first');
  t.true(runsBefore(call('C1'), call('C2')));
  t.true(runsBefore(call('C2'), call('PC2')));
  t.true(runsBefore(call('PC2'), call('PC1')));
  t.true(runsBefore(call('PC1'), call('AP')));
  t.true(runsBefore(call('UNS'), call('C1')));
  t.true(runsBefore(call('PC1', { sector: 2 }), call('PC1', { sector: 5 })));
  t.true(runsBefore(call('PC1', { sector: 2, seq: 1 }), call('PC1', { sector: 2, seq: 2 })));
  t.false(runsBefore(call('PC1', { sector: 2, seq: 2 }), call('PC1', { sector: 2, seq: 1 })));
});

test('enqueue keeps the queue sorted', (t) => {
  const q = new TaskQueue();
  q.add(call('AP', { seq: 1, id: 'ap' }));
  q.add(call('PC1', { seq: 2, id: 'pc1' }));
  q.add(call('FIN', { seq: 3, id: 'fin' }));
  q.add(call('PC1', { seq: 4, id: 'deal-pc1', priority: 1024 }));
  t.deepEqual(
    [...q].map((c) => c.callId),
    ['fin', 'deal-pc1', 'pc1', 'ap'],
  );
});

test('the queue finds and removes a call by id, keeps its order, and counts its calls per task type and sector size', (t) => {
  const q = new TaskQueue();
  // same sector, priority and type: arrival alone orders them
  for (let seq = 0; seq < 50; seq++) q.add(call('PC1', { seq, id: `pc1-${seq}` }));
  q.add(call('C2', { seq: 50, id: 'c2' }));
  t.is(q.size, 51);
  t.is(q.get('pc1-7')?.seq, 7);
  t.true(q.remove('pc1-7'));
  t.false(q.remove('pc1-7'), 'gone already');
  t.is(q.get('pc1-7'), undefined);
  q.add(call('PC1', { seq: 3, id: 'pc1-3' })); // queued again under the same id: replaced, not doubled
  const ids = [...q].map((c) => c.callId);
  t.deepEqual(ids, ['c2', ...Array.from({ length: 50 }, (_, i) => `pc1-${i}`).filter((id) => id !== 'pc1-7')]);
  t.deepEqual(Object.fromEntries(q.fitCounts()), { [`PC1|${MiB8}`]: 49, [`C2|${MiB8}`]: 1 });
  q.remove('c2');
  t.deepEqual(Object.fromEntries(q.fitCounts()), { [`PC1|${MiB8}`]: 49 });
});

test('after any mix of additions and removals (mostly from the head, as calls start) the queue holds exactly the queued calls, in order', (t) => {
  let seed = 0x5eed;
  const rand = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  t.log(`seed ${0x5eed}`);
  const q = new TaskQueue();
  const model = new Map<string, QueuedCall>();
  const types: TaskType[] = ['AP', 'PC1', 'PC2', 'C2', 'FIN'];
  for (let step = 0; step < 4000; step++) {
    const r = rand(10);
    if (r < 5 || model.size === 0) {
      const id = `c${rand(600)}`;
      const c = call(types[rand(types.length)]!, { sector: rand(50), seq: step, id, priority: rand(4) === 0 ? 1024 : 0 });
      q.add(c);
      model.set(id, c);
    } else if (r < 9) {
      const head = [...q][0]!; // a call starts: it leaves from the head
      t.true(q.remove(head.callId));
      model.delete(head.callId);
    } else {
      const ids = [...model.keys()];
      const id = ids[rand(ids.length)]!;
      t.true(q.remove(id));
      model.delete(id);
    }
    if (step % 97 === 0 || step === 3999) {
      const expected = [...model.values()].sort((a, b) => (runsBefore(a, b) ? -1 : runsBefore(b, a) ? 1 : 0)).map((c) => c.callId);
      t.deepEqual([...q].map((c) => c.callId), expected, `step ${step}`);
      t.is(q.size, model.size);
      const counts = new Map<string, number>();
      for (const c of model.values()) counts.set(`${c.task.type}|${MiB8}`, (counts.get(`${c.task.type}|${MiB8}`) ?? 0) + 1);
      t.deepEqual(Object.fromEntries(q.fitCounts()), Object.fromEntries(counts));
    }
  }
  // an entry removed and queued again as the very same object appears once
  const again = [...q][0]!;
  q.remove(again.callId);
  q.add(again);
  t.is([...q].filter((c) => c === again).length, 1);
});

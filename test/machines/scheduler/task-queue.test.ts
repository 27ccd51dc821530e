import test from 'ava';
import { enqueue, type QueuedCall, runsBefore } from '../../../machines/scheduler/task-queue.js';
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
  let q: QueuedCall[] = [];
  q = enqueue(q, call('AP', { seq: 1, id: 'ap' }));
  q = enqueue(q, call('PC1', { seq: 2, id: 'pc1' }));
  q = enqueue(q, call('FIN', { seq: 3, id: 'fin' }));
  q = enqueue(q, call('PC1', { seq: 4, id: 'deal-pc1', priority: 1024 }));
  t.deepEqual(
    q.map((c) => c.callId),
    ['fin', 'deal-pc1', 'pc1', 'ap'],
  );
});

/**
 * When a scheduling pass runs (docs/design/scheduler.md §5). Lotus's `runSched` loop
 * (`extern/sector-storage/sched.go`) waits for an event, drains every other event that arrived
 * meanwhile, then runs one `trySched`. Here the events after which a pass is wanted (a task
 * prepared or finished, a worker connected or gone, a new path view, an abort) only mark it due;
 * the first of them asks the `schedTick` actor for a tick, which comes back as
 * `scheduler.sched.pass` on the next turn of the event loop (`setImmediate`), after every event of
 * this turn: a batch of index answers, the results of several pool threads. One pass serves them
 * all, where a pass per event made N events cost N passes over the whole queue.
 *
 *   scheduler ──sched.tick──▶ schedTick ──scheduler.sched.pass (next turn)──▶ scheduler
 *
 * It is a tick of the event loop, not a timer: no time passes on the scheduler's clock, so a test on
 * a SimulatedClock gets its pass by letting the event loop turn (or provides its own `schedTick`).
 */
import { fromCallback } from 'xstate';
import type { SchedulerEvent } from '../protocol.js';

/** Asks for one `scheduler.sched.pass`; asks made before it is sent get the same one. */
export type SchedTickEvent = { type: 'sched.tick' };

export const schedTickLogic = fromCallback<SchedTickEvent>(({ receive, sendBack }) => {
  let timer: ReturnType<typeof setImmediate> | undefined;
  receive(() => {
    timer ??= setImmediate(() => {
      timer = undefined;
      sendBack({ type: 'scheduler.sched.pass' } satisfies SchedulerEvent);
    });
  });
  return () => {
    if (timer) clearImmediate(timer);
  };
});

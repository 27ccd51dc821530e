/**
 * What a worker process serves its manager and how its results get there: the task methods of
 * Lotus's worker API (`AddPiece`, `SealPreCommit1`, … each checked, then taken over by the
 * worker's call store), `SealingAbort`, `Session`, and the delivery of each recorded result as its
 * `Return*` on every connection (manager-link.ts) until acknowledged. worker-node.ts wires it to a
 * worker's real parts; the remote-task benchmark to an empty task body.
 */
import type { PeerMethod, RpcPeer } from '../api/rpc-peer.js';
import {
  callIdJson,
  parseCallId,
  parseFetchCall,
  parseTaskCall,
  returnParams,
  TASK_METHODS,
  WORKER_PROTOCOL,
  type WorkerHello,
  type WorkerWelcome,
} from '../api/worker-protocol.js';
import { InvalidArgumentError, type SectorStorageError } from '../errors.js';
import type { WorkerRepo } from '../repo/worker-repo.js';
import { TASK_TYPES } from '../tasks/task-types.js';
import type { WorkerInfo } from '../tasks/worker-info.js';
import type { WorkerCalls } from '../worker/worker-calls.js';
import { ManagerLink } from './manager-link.js';
import type { Logger } from '../log/logger.js';

export interface WorkerLinkOptions {
  managerUrl: string;
  token: string;
  /** This worker's program version. */
  version: string;
  repo: Pick<WorkerRepo, 'workerId' | 'session'>;
  calls: WorkerCalls;
  /** The worker as it registers (its `id` is the repository's worker id). */
  info: WorkerInfo;
  /** `http://host:port` of the worker's own server. */
  url: string;
  /** The manager refused the worker for good. */
  onFatal(err: SectorStorageError): void;
  log: Logger;
}

/** Connects a worker to its manager (and keeps it connected); `close()` on the returned link stops it. */
export function startWorkerLink(o: WorkerLinkOptions): ManagerLink {
  const { repo, calls, info, log } = o;
  let miner: number | undefined;
  const hello = (): WorkerHello => {
    const held = calls.held();
    return { Protocol: WORKER_PROTOCOL, Version: o.version, Session: repo.session, URL: o.url, Info: info, Calls: { Running: held.running, Done: held.done } };
  };
  const methods: Record<string, PeerMethod> = {
    Session: () => repo.session,
    SealingAbort: ([raw]) => calls.abort(parseCallId(raw, 'SealingAbort: CallID').id),
    // the prepare step of a call: answered once its inputs are here; ends with the connection
    Fetch: async (params, ctx) => {
      const { callId, task } = parseFetchCall(params);
      if (!info.taskTypes.includes(task.type)) throw new InvalidArgumentError(`this worker does not run ${task.type} (it runs ${info.taskTypes.join(', ')})`);
      await calls.prepare(callId, task, ctx.signal);
      return true;
    },
  };
  for (const type of TASK_TYPES) {
    methods[TASK_METHODS[type].call] = (params) => {
      const { callId, task } = parseTaskCall(type, params);
      if (!info.taskTypes.includes(type)) throw new InvalidArgumentError(`this worker does not run ${type} (it runs ${info.taskTypes.join(', ')})`);
      if (task.type === 'AP' && task.input.source?.type !== 'zeros') {
        throw new InvalidArgumentError(`the AddPiece of call ${callId} reads a client's upload, which only the manager holds; it cannot run on a worker`);
      }
      if (miner !== undefined && task.sector.miner !== miner) throw new InvalidArgumentError(`call ${callId} is for miner ${task.sector.miner}; this worker seals for ${miner}`);
      calls.accept(callId, task);
      return callIdJson(task.sector, callId);
    };
  }
  const link = new ManagerLink({
    managerUrl: o.managerUrl,
    token: o.token,
    version: o.version,
    hello,
    methods,
    onConnected: (peer: RpcPeer, welcome: WorkerWelcome) => {
      miner = welcome.Miner;
      log.info(`connected to the manager (session ${welcome.Session}, miner t0${welcome.Miner}) as worker ${repo.workerId}, running ${info.taskTypes.join(', ')}`);
      calls.connect(
        async (call) => {
          await peer.call(TASK_METHODS[call.task.type].ret, returnParams(call.task.sector, call.callId, call.ret));
        },
        (callId, sector, p) => {
          peer.call('ReportProgress', [callIdJson(sector, callId), p]).catch(() => {});
        },
      );
    },
    onDisconnected: () => calls.disconnect(),
    onFatal: (err) => {
      log.warn(`the manager refused this worker: ${err.message}`);
      o.onFatal(err);
    },
    log,
  });
  link.start();
  return link;
}

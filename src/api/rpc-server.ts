/**
 * JSON-RPC 2.0 dispatch (transport-free; `http-server.ts` feeds it `POST /rpc/v0` bodies).
 * Methods are named `Filecoin.<Name>` and each requires one permission. Failures carry our stable
 * error `code` in `error.data.code`, so the client rebuilds the typed error (`errorFromWire`):
 *
 * ```json
 * {"jsonrpc":"2.0","id":1,"error":{"code":-32000,"message":"sector 7 does not exist","data":{"code":"SECTOR_UNKNOWN"}}}
 * ```
 */
import { InvalidArgumentError, SectorStorageError, toWireError, UnauthorizedError, type WireError } from '../errors.js';
import { hasPermission, type Permission } from '../auth/tokens.js';
import type { ApiComponents } from './components.js';
import { type AnyMethod, METHOD_PREFIX, type RpcContext } from './rpc-method.js';
import type { StreamRegistry } from './stream-registry.js';
import type { ChannelSink } from './rpc-channel.js';

/** JSON-RPC error codes used on the wire. */
export const RpcErrorCode = {
  parseError: -32700,
  invalidRequest: -32600,
  methodNotFound: -32601,
  invalidParams: -32602,
  /** Any of our typed errors (the specific code is in `data.code`). */
  serverError: -32000,
} as const;

export interface RpcErrorObject {
  code: number;
  message: string;
  data?: { code: WireError['code'] };
}

export type RpcResponse =
  | { jsonrpc: '2.0'; id: number | string | null; result: unknown }
  | { jsonrpc: '2.0'; id: number | string | null; error: RpcErrorObject };

/**
 * What a call produced: a JSON envelope, a byte stream to send as the body, or a channel method
 * ready to open (over the WebSocket only: `open` runs the method with the channel's own signal
 * and sink, and rejects, with nothing opened, when the method refuses the call).
 */
export type DispatchResult =
  | { kind: 'json'; response: RpcResponse }
  | { kind: 'stream'; id: number | string | null; body: AsyncIterable<Uint8Array> }
  | { kind: 'channel'; id: number | string | null; method: string; open: (signal: AbortSignal, out: ChannelSink<unknown>) => Promise<void> };

export class RpcServer {
  readonly #methods: ReadonlyMap<string, AnyMethod>;
  readonly #components: ApiComponents;
  readonly #streams: StreamRegistry;

  constructor(methods: Record<string, AnyMethod>, components: ApiComponents, streams: StreamRegistry) {
    this.#methods = new Map(Object.entries(methods).map(([k, v]) => [`${METHOD_PREFIX}${k}`, v]));
    this.#components = components;
    this.#streams = streams;
  }

  /** Wire names of every method, sorted. */
  get methodNames(): string[] {
    return [...this.#methods.keys()].sort();
  }

  /** Dispatches one parsed JSON-RPC request; {@link onCall} hears how it ended. */
  async dispatch(request: unknown, permissions: readonly Permission[], signal: AbortSignal): Promise<DispatchResult> {
    const started = performance.now();
    const result = await this.#dispatch(request, permissions, signal);
    if (this.onCall) {
      const method = (request as { method?: unknown } | null)?.method;
      const error = result.kind === 'json' && 'error' in result.response ? result.response.error : undefined;
      this.onCall({
        method: typeof method === 'string' ? method : '(none)',
        ...(typeof method === 'string' && this.#methods.has(method) ? { perm: this.#methods.get(method)!.perm } : {}),
        ms: performance.now() - started,
        ...(error ? { error: { code: error.data?.code ?? 'INVALID_ARGUMENT', message: error.message } } : {}),
      });
    }
    return result;
  }

  async #dispatch(request: unknown, permissions: readonly Permission[], signal: AbortSignal): Promise<DispatchResult> {
    const rawId = (request as { id?: unknown } | null)?.id;
    const id = typeof rawId === 'number' || typeof rawId === 'string' ? rawId : null;
    const fail = (code: number, err: WireError): DispatchResult => {
      this.onCallError?.(err.code);
      return { kind: 'json', response: { jsonrpc: '2.0', id, error: { code, message: err.message, data: { code: err.code } } } };
    };
    if (typeof request !== 'object' || request === null || Array.isArray(request)) {
      return fail(RpcErrorCode.invalidRequest, { code: 'INVALID_ARGUMENT', message: 'request must be a JSON-RPC object' });
    }
    const { method, params } = request as { method?: unknown; params?: unknown };
    if (typeof method !== 'string') {
      return fail(RpcErrorCode.invalidRequest, { code: 'INVALID_ARGUMENT', message: 'request has no "method" string' });
    }
    const def = this.#methods.get(method);
    if (!def) {
      return fail(RpcErrorCode.methodNotFound, { code: 'INVALID_ARGUMENT', message: `method '${method}' not found` });
    }
    if (!hasPermission(permissions, def.perm)) {
      const err = new UnauthorizedError(`missing permission to invoke '${method}' (need '${def.perm}')`);
      return fail(RpcErrorCode.serverError, err.toJSON());
    }
    if (params !== undefined && !Array.isArray(params)) {
      return fail(RpcErrorCode.invalidParams, { code: 'INVALID_ARGUMENT', message: `params of '${method}' must be an array` });
    }
    const ctx: RpcContext = { permissions, components: this.#components, streams: this.#streams, signal };
    let parsed: unknown[];
    try {
      parsed = def.params(params ?? []);
    } catch (err) {
      const wire = toWireError(err);
      return fail(RpcErrorCode.invalidParams, { code: wire.code, message: `${method}: ${wire.message}` });
    }
    if (def.channel) {
      const open = async (channelSignal: AbortSignal, out: ChannelSink<unknown>) => {
        await def.open(parsed, { ...ctx, signal: channelSignal }, out);
      };
      return { kind: 'channel', id, method, open };
    }
    try {
      if (def.stream) {
        const body = await def.run(parsed, ctx);
        return { kind: 'stream', id, body };
      }
      const result = await def.run(parsed, ctx);
      return { kind: 'json', response: { jsonrpc: '2.0', id, result: result === undefined ? null : result } };
    } catch (err) {
      const wire = toWireError(err);
      const code = err instanceof InvalidArgumentError ? RpcErrorCode.invalidParams : RpcErrorCode.serverError;
      if (!(err instanceof SectorStorageError)) this.onInternalError?.(method, err);
      return fail(code, wire);
    }
  }

  /** Called with the error code of every call answered with an error (metrics). */
  onCallError?: (code: string) => void;

  /** Called with unexpected (non-SectorStorageError) failures, for the daemon log. */
  onInternalError?: (method: string, err: unknown) => void;

  /** Called after every call with its method, duration and error (for the daemon's request log). */
  onCall?: (call: { method: string; perm?: Permission; ms: number; error?: WireError }) => void;
}

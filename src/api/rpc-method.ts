/**
 * How an API method is declared. Each area exports `xxxMethods` (a record of
 * {@link defineMethod} results) from `methods/<area>.ts`; `methods/index.ts` spreads them. The
 * record key is the Lotus name without the `Filecoin.` prefix. Types flow from the definitions
 * to the typed client, so a method's params and result have one source of truth.
 *
 * A method either returns a JSON result, or (`stream: true`) an async iterable of bytes that the
 * server sends as the HTTP response body instead of a JSON envelope, or (`channel: true`) a
 * channel of JSON values pushed over the WebSocket (`rpc-channel.ts`, go-jsonrpc's protocol).
 */
import type { Permission } from '../auth/tokens.js';
import type { ChannelSink } from './rpc-channel.js';
import type { ApiComponents } from './components.js';
import type { StreamRegistry } from './stream-registry.js';

/** What a method handler gets besides its params. */
export interface RpcContext {
  /** Permissions of the caller's token. */
  readonly permissions: readonly Permission[];
  /** The daemon's components (sector service, index, pool, repo…). */
  readonly components: ApiComponents;
  /** Upload streams pushed to `/rpc/streams/v0/push/<uuid>`. */
  readonly streams: StreamRegistry;
  /** Aborted when the client disconnects or the server shuts down. */
  readonly signal: AbortSignal;
}

/** A JSON-result method. */
export interface JsonMethod<P extends unknown[], R> {
  readonly perm: Permission;
  readonly stream?: false;
  readonly channel?: false;
  /** Validates the raw JSON params (positional, as in Lotus); throws InvalidArgumentError naming the param. */
  readonly params: (raw: unknown[]) => P;
  readonly run: (params: P, ctx: RpcContext) => Promise<R> | R;
}

/** A method whose result is a byte stream (the HTTP response body). */
export interface StreamMethod<P extends unknown[]> {
  readonly perm: Permission;
  readonly stream: true;
  readonly channel?: false;
  readonly params: (raw: unknown[]) => P;
  readonly run: (params: P, ctx: RpcContext) => Promise<AsyncIterable<Uint8Array>> | AsyncIterable<Uint8Array>;
}

/**
 * A method whose result is a channel (WebSocket only): `open` feeds `out` until `ctx.signal`
 * aborts (the client cancelled or went away, or the server shuts down) or it closes `out`
 * itself. It may throw before its first value (bad params, an unknown sector): the call is then
 * answered with that error and no channel is opened.
 */
export interface ChannelMethod<P extends unknown[], T> {
  readonly perm: Permission;
  readonly channel: true;
  readonly params: (raw: unknown[]) => P;
  readonly open: (params: P, ctx: RpcContext, out: ChannelSink<T>) => Promise<void> | void;
}

// biome-ignore lint/suspicious/noExplicitAny: the registry holds methods of every param shape
export type AnyMethod = JsonMethod<any, unknown> | StreamMethod<any> | ChannelMethod<any, any>;

/** Declares a JSON method (typed params and result). */
export function defineMethod<P extends unknown[], R>(m: JsonMethod<P, R>): JsonMethod<P, R> {
  return m;
}

/** Declares a streaming method. */
export function defineStreamMethod<P extends unknown[]>(m: Omit<StreamMethod<P>, 'stream'>): StreamMethod<P> {
  return { ...m, stream: true };
}

/** Declares a channel method. */
export function defineChannelMethod<P extends unknown[], T>(m: Omit<ChannelMethod<P, T>, 'channel'>): ChannelMethod<P, T> {
  return { ...m, channel: true };
}

/** The prefix of every method name on the wire. */
export const METHOD_PREFIX = 'Filecoin.';

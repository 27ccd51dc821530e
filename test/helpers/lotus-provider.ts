/**
 * Transports for `@filecoin-shipyard/lotus-client-rpc` (which leaves the transport to a provider
 * object: `connect()`, `send(request)`, `destroy()`): JSON-RPC 2.0 over HTTP POST (global fetch,
 * bearer header) and over a WebSocket (`ws`, the token in `?token=` as the Lotus JS client sends
 * it). Only the wire is ours: method names and params come from the client and its schema.
 */
import WebSocket from 'ws';

/** A JSON-RPC error from the server, with its code and our `data.code`. */
export class LotusRpcError extends Error {
  constructor(
    message: string,
    readonly rpcCode: number,
    readonly code: string | undefined,
  ) {
    super(message);
  }
}

interface Request {
  method: string;
  params: unknown[];
}

interface Answer {
  id?: number | null;
  result?: unknown;
  error?: { code: number; message: string; data?: { code?: string } };
}

function settle(answer: Answer): unknown {
  if (answer.error) throw new LotusRpcError(answer.error.message, answer.error.code, answer.error.data?.code);
  return answer.result;
}

/** JSON-RPC over `POST <url>/rpc/v0`. */
export class HttpProvider {
  #id = 0;
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  async connect(): Promise<void> {}

  async send(request: Request): Promise<unknown> {
    const res = await fetch(`${this.url}/rpc/v0`, {
      method: 'POST',
      headers: { 'Content-Type': 'application/json', ...(this.token ? { Authorization: `Bearer ${this.token}` } : {}) },
      body: JSON.stringify({ jsonrpc: '2.0', id: ++this.#id, ...request }),
    });
    return settle((await res.json()) as Answer);
  }

  sendSubscription(): never {
    throw new Error('subscriptions are not used by these tests');
  }

  async destroy(): Promise<void> {}
}

/** JSON-RPC over a WebSocket at `ws://…/rpc/v0?token=…`. */
export class WsProvider {
  #id = 0;
  #ws?: WebSocket;
  #opened?: Promise<void>;
  readonly #pending = new Map<number, { resolve: (a: Answer) => void; reject: (e: Error) => void }>();
  constructor(
    readonly url: string,
    readonly token?: string,
  ) {}

  connect(): Promise<void> {
    if (!this.#opened) {
      const target = `${this.url.replace(/^http/, 'ws')}/rpc/v0${this.token ? `?token=${encodeURIComponent(this.token)}` : ''}`;
      const ws = new WebSocket(target);
      this.#ws = ws;
      this.#opened = new Promise((resolve, reject) => {
        ws.once('open', () => resolve());
        ws.once('error', reject);
      });
      ws.on('message', (data) => {
        const answer = JSON.parse(data.toString()) as Answer;
        const waiter = typeof answer.id === 'number' ? this.#pending.get(answer.id) : undefined;
        if (!waiter) return;
        this.#pending.delete(answer.id as number);
        waiter.resolve(answer);
      });
      ws.on('close', () => {
        for (const w of this.#pending.values()) w.reject(new Error('websocket closed'));
        this.#pending.clear();
      });
    }
    return this.#opened;
  }

  async send(request: Request): Promise<unknown> {
    await this.connect();
    const id = ++this.#id;
    const answer = new Promise<Answer>((resolve, reject) => this.#pending.set(id, { resolve, reject }));
    this.#ws!.send(JSON.stringify({ jsonrpc: '2.0', id, ...request }));
    return settle(await answer);
  }

  sendSubscription(): never {
    throw new Error('subscriptions are not used by these tests');
  }

  async destroy(): Promise<void> {
    this.#ws?.close();
  }
}

/**
 * Channels over the WebSocket, as go-jsonrpc (`github.com/filecoin-project/go-jsonrpc`,
 * `websocket.go`) serves a Lotus method that returns a Go channel, and as Lotus's JS client
 * (`@filecoin-shipyard/lotus-client-provider-browser`) consumes one:
 * - the call is answered at once with a channel id: `{"jsonrpc":"2.0","id":<call id>,"result":<chan id>}`;
 * - each value follows as a notification `{"jsonrpc":"2.0","method":"xrpc.ch.val","params":[<chan id>,<value>]}`;
 * - the end as `{"jsonrpc":"2.0","method":"xrpc.ch.close","params":[<chan id>]}`;
 * - the client stops a channel (or any call in flight) with the notification
 *   `{"jsonrpc":"2.0","method":"xrpc.cancel","params":[<call id>]}`; the server answers by closing it.
 *
 * Backpressure (go-jsonrpc buffers a slow client's values without bound): values wait in their
 * channel's queue while the connection's send buffer holds {@link HIGH_WATER_BYTES} or more. A
 * value sent with `latest(key, v)` (progress) replaces the unsent value of the same key, so a slow
 * client gets the newest progress and a queue holds at most one such value per key. A value sent
 * with `push(v)` (a state change) is never dropped: once {@link MAX_PENDING} of them wait, the
 * channel is closed instead (`xrpc.ch.close`: the client knows its view stopped and may call again).
 */

/** What a channel method feeds. */
export interface ChannelSink<T> {
  /** Queues a value that must arrive (a state change). */
  push(value: T): void;
  /** Queues a value that a newer one with the same `key` replaces while both are unsent (progress). */
  latest(key: string, value: T): void;
  /** Ends the channel once the values queued before are sent. */
  close(): void;
  /** True once closed, by the method, by the client (cancel, disconnect) or by an overflow. */
  readonly closed: boolean;
}

/** Bytes in the connection's send buffer above which channel values wait. */
export const HIGH_WATER_BYTES = 256 * 1024;
/** Values that must arrive, waiting in one channel, above which the channel is closed. */
export const MAX_PENDING = 10_000;

/** The connection as the writer uses it. */
export interface ChannelTransport {
  /** Sends one text frame; `flushed` runs once it has left the process's buffers. */
  send(text: string, flushed: () => void): void;
  /** Bytes queued in the process for the peer (ws `bufferedAmount`). */
  buffered(): number;
}

interface Item {
  value: unknown;
  key: string | undefined;
  prev: Item | undefined;
  next: Item | undefined;
}

/** One channel's queue: a linked list, so a replaced progress value is unlinked in O(1). */
export class OutChannel<T> implements ChannelSink<T> {
  readonly id: number;
  #head: Item | undefined;
  #tail: Item | undefined;
  readonly #byKey = new Map<string, Item>();
  #mustPending = 0;
  #closing = false;
  #finished = false;
  #started = false;
  /** Progress values replaced before they were sent. */
  dropped = 0;
  /** True when the channel was closed because too many state changes waited. */
  overflowed = false;
  /** Told once when the channel closes, whoever closed it. */
  onClosed: (() => void) | undefined;
  readonly #writer: ChannelWriter;
  readonly #maxPending: number;

  constructor(id: number, writer: ChannelWriter, maxPending: number) {
    this.id = id;
    this.#writer = writer;
    this.#maxPending = maxPending;
  }

  get closed(): boolean {
    return this.#closing;
  }

  /** Values waiting (state changes plus at most one progress value per key). */
  get pending(): number {
    return this.#mustPending + this.#byKey.size;
  }

  /** True once its close frame was handed to the transport. */
  get finished(): boolean {
    return this.#finished;
  }

  push(value: T): void {
    if (this.#closing) return;
    if (this.#mustPending >= this.#maxPending) {
      this.overflowed = true;
      this.close();
      return;
    }
    this.#append({ value, key: undefined, prev: undefined, next: undefined });
    this.#mustPending += 1;
    this.#writer.wake();
  }

  latest(key: string, value: T): void {
    if (this.#closing) return;
    const old = this.#byKey.get(key);
    if (old) {
      this.#unlink(old);
      this.dropped += 1;
    }
    const item: Item = { value, key, prev: undefined, next: undefined };
    this.#byKey.set(key, item);
    this.#append(item);
    this.#writer.wake();
  }

  close(): void {
    if (this.#closing) return;
    this.#closing = true;
    this.#writer.wake();
    this.onClosed?.();
  }

  /** Lets the writer send its values (after the call's answer, which names the channel, is out). */
  start(): void {
    this.#started = true;
    this.#writer.wake();
  }

  /** Forgets what waits and sends nothing more (the connection is gone). */
  discard(): void {
    const wasClosing = this.#closing;
    this.#closing = true;
    this.#finished = true;
    if (!wasClosing) this.onClosed?.();
    this.#head = this.#tail = undefined;
    this.#byKey.clear();
    this.#mustPending = 0;
  }

  /** The next frame to send, if any (called by the writer). */
  nextFrame(): string | undefined {
    if (!this.#started || this.#finished) return undefined;
    const item = this.#head;
    if (item) {
      this.#unlink(item);
      if (item.key === undefined) this.#mustPending -= 1;
      else this.#byKey.delete(item.key);
      return JSON.stringify({ jsonrpc: '2.0', method: 'xrpc.ch.val', params: [this.id, item.value] });
    }
    if (this.#closing) {
      this.#finished = true;
      return JSON.stringify({ jsonrpc: '2.0', method: 'xrpc.ch.close', params: [this.id] });
    }
    return undefined;
  }

  #append(item: Item): void {
    item.prev = this.#tail;
    if (this.#tail) this.#tail.next = item;
    else this.#head = item;
    this.#tail = item;
  }

  #unlink(item: Item): void {
    if (item.prev) item.prev.next = item.next;
    else this.#head = item.next;
    if (item.next) item.next.prev = item.prev;
    else this.#tail = item.prev;
    item.prev = item.next = undefined;
  }
}

/** The channels of one connection and the pump that sends their values as the connection drains. */
export class ChannelWriter {
  readonly #io: ChannelTransport;
  readonly #highWater: number;
  readonly #maxPending: number;
  readonly #channels = new Map<number, OutChannel<unknown>>();
  #nextId = 1;
  #scheduled = false;
  #blocked = false;
  /** Frames of ours handed to the transport and not yet flushed. */
  #inFlight = 0;
  #retry: NodeJS.Timeout | undefined;

  constructor(io: ChannelTransport, options: { highWaterBytes?: number; maxPending?: number } = {}) {
    this.#io = io;
    this.#highWater = options.highWaterBytes ?? HIGH_WATER_BYTES;
    this.#maxPending = options.maxPending ?? MAX_PENDING;
  }

  /** Channels not yet finished. */
  get open(): number {
    return this.#channels.size;
  }

  /** A new channel; its values wait until {@link OutChannel.start}. */
  create<T>(): OutChannel<T> {
    const ch = new OutChannel<T>(this.#nextId++, this, this.#maxPending);
    this.#channels.set(ch.id, ch as OutChannel<unknown>);
    return ch;
  }

  /** Drops a channel without a close frame (its call failed before it was named, or the connection is gone). */
  drop(ch: OutChannel<unknown>): void {
    ch.discard();
    this.#channels.delete(ch.id);
  }

  /** Drops every channel (the connection closed). */
  dropAll(): void {
    for (const ch of this.#channels.values()) ch.discard();
    this.#channels.clear();
    clearTimeout(this.#retry);
  }

  /** Schedules a pump (once per turn, however many values were queued). */
  wake(): void {
    if (this.#scheduled || this.#blocked) return;
    this.#scheduled = true;
    queueMicrotask(() => {
      this.#scheduled = false;
      this.#pump();
    });
  }

  readonly #flushed = (): void => {
    this.#inFlight -= 1;
    this.#resume();
  };

  #resume(): void {
    if (!this.#blocked) return;
    if (this.#io.buffered() < this.#highWater) {
      this.#blocked = false;
      this.#pump();
    } else if (this.#inFlight === 0) {
      // the buffer is full of other frames (answers to calls): none of ours will report its flush
      clearTimeout(this.#retry);
      this.#retry = setTimeout(() => this.#resume(), 20);
    }
  }

  /** Sends round-robin over the channels until they are empty or the connection is full. */
  #pump(): void {
    for (;;) {
      let sent = false;
      for (const ch of this.#channels.values()) {
        if (this.#io.buffered() >= this.#highWater) {
          // a frame of ours reporting its flush resumes the pump (or a retry, when none is out)
          this.#blocked = true;
          if (this.#inFlight === 0) this.#resume();
          return;
        }
        const frame = ch.nextFrame();
        if (ch.finished) this.#channels.delete(ch.id);
        if (frame === undefined) continue;
        this.#inFlight += 1;
        this.#io.send(frame, this.#flushed);
        sent = true;
      }
      if (!sent) return;
    }
  }
}

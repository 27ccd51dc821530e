/**
 * A binary min-heap of `(key, item)` with ties broken by the smaller item, for the scheduling pass
 * (machines/scheduler/sched-pass.ts). Keys are not updated when they change: the pass finds an item
 * whose key went up (keys only grow during a pass) by its stale stamp when it surfaces, and sinks
 * it with its new key then.
 */
export class MinHeap {
  readonly #keys: number[] = [];
  readonly #items: number[] = [];
  readonly #stamps: number[] = [];

  get size(): number {
    return this.#keys.length;
  }

  push(key: number, item: number, stamp: number): void {
    this.#keys.push(key);
    this.#items.push(item);
    this.#stamps.push(stamp);
    this.#up(this.#keys.length - 1);
  }

  /** The item of the smallest entry (the heap must not be empty). Apart from its stamp: no object per look. */
  get topItem(): number {
    return this.#items[0]!;
  }

  /** The stamp of the smallest entry (the heap must not be empty). */
  get topStamp(): number {
    return this.#stamps[0]!;
  }

  /** Gives the smallest entry a new key and stamp (a key that grew: it sinks to its place). */
  replaceTop(key: number, stamp: number): void {
    this.#keys[0] = key;
    this.#stamps[0] = stamp;
    this.#down(0);
  }

  pop(): void {
    const last = this.#keys.length - 1;
    if (last < 0) return;
    this.#swap(0, last);
    this.#keys.pop();
    this.#items.pop();
    this.#stamps.pop();
    if (last > 0) this.#down(0);
  }

  #less(a: number, b: number): boolean {
    const ka = this.#keys[a]!;
    const kb = this.#keys[b]!;
    return ka < kb || (ka === kb && this.#items[a]! < this.#items[b]!);
  }

  #swap(a: number, b: number): void {
    const k = this.#keys;
    const i = this.#items;
    const s = this.#stamps;
    const ka = k[a]!;
    k[a] = k[b]!;
    k[b] = ka;
    const ia = i[a]!;
    i[a] = i[b]!;
    i[b] = ia;
    const sa = s[a]!;
    s[a] = s[b]!;
    s[b] = sa;
  }

  #up(n: number): void {
    while (n > 0) {
      const parent = (n - 1) >> 1;
      if (!this.#less(n, parent)) return;
      this.#swap(n, parent);
      n = parent;
    }
  }

  #down(n: number): void {
    const len = this.#keys.length;
    for (;;) {
      const l = 2 * n + 1;
      const r = l + 1;
      let m = n;
      if (l < len && this.#less(l, m)) m = l;
      if (r < len && this.#less(r, m)) m = r;
      if (m === n) return;
      this.#swap(n, m);
      n = m;
    }
  }
}

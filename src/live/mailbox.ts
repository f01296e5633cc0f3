// What one subscriber has yet to receive: at most one update. Each update
// is a whole state, so a newer one replaces an older one not yet taken (the
// two merged, so that nothing of what happened is lost from its account of
// changes). A subscriber that reads slowly therefore costs one update of
// memory, never a growing backlog; it sees the newest state, not every step.
export interface PutOptions {
  /** This is the last update: the subscription ends after it is taken. */
  readonly last?: boolean;
}

export class Mailbox<T> implements AsyncIterableIterator<T> {
  #pending: { readonly value: T } | undefined;
  #taker: ((result: IteratorResult<T>) => void) | undefined;
  #ending = false;
  #closed = false;

  constructor(
    /** The update that replaces `older` (not yet taken) by `newer`. */
    private readonly merge: (older: T, newer: T) => T,
    /** Called once, when the subscriber leaves or the last update has been taken. */
    private readonly onClose: () => void,
  ) {}

  put(value: T, { last = false }: PutOptions = {}): void {
    if (this.#closed || this.#ending) return;
    if (last) this.#ending = true;
    const taker = this.#taker;
    if (taker) {
      this.#taker = undefined;
      taker({ value, done: false });
      return;
    }
    this.#pending = { value: this.#pending ? this.merge(this.#pending.value, value) : value };
  }

  /** Ends the subscription now: what is pending is dropped. */
  end(): void {
    this.#pending = undefined;
    this.#close();
  }

  next(): Promise<IteratorResult<T>> {
    const pending = this.#pending;
    if (pending) {
      this.#pending = undefined;
      return Promise.resolve({ value: pending.value, done: false });
    }
    if (this.#ending || this.#closed) {
      this.#close();
      return Promise.resolve({ value: undefined, done: true });
    }
    return new Promise((resolve) => (this.#taker = resolve));
  }

  return(): Promise<IteratorResult<T>> {
    this.end();
    return Promise.resolve({ value: undefined, done: true });
  }

  [Symbol.asyncIterator](): this {
    return this;
  }

  #close(): void {
    if (this.#closed) return;
    this.#closed = true;
    const taker = this.#taker;
    this.#taker = undefined;
    taker?.({ value: undefined, done: true });
    this.onClose();
  }
}

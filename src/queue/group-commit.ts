// Group commit: while one write for a key is in flight, the next arrivals for
// that key wait and then go together in one statement and one commit.
//
// A lane per key (for enqueues: the service as the request names it). An idle
// lane writes its first arrival at once, so a lone request waits for nothing;
// under load each write carries everything that arrived while the previous one
// ran, so batches grow with the load and one commit pays for many requests.
// Every item is answered after the write that carried it returned: never
// before its commit. A lane is dropped as soon as it is idle, so keys that
// name nothing (or services long gone) cost no memory.
//
// DataLoader batches by event-loop tick; this batches by "the previous write
// for this key is still running", which is what amortises a commit.

/** One answer per item, in order: the item's result, or the error for that item alone. */
export type WriteBatch<Item, Result> = (items: readonly Item[]) => Promise<ReadonlyArray<Result | Error>>;

interface Pending<Item, Result> {
  readonly item: Item;
  readonly resolve: (result: Result) => void;
  readonly reject: (error: unknown) => void;
}

export class GroupCommit<Item, Result> {
  private readonly lanes = new Map<string, Pending<Item, Result>[]>();

  constructor(
    private readonly write: WriteBatch<Item, Result>,
    private readonly maxBatch: number,
  ) {}

  /** Writes `item` with whatever else arrives for `key` meanwhile; settles after that write. */
  submit(key: string, item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      const waiting = this.lanes.get(key);
      if (waiting) {
        waiting.push({ item, resolve, reject });
        return;
      }
      const lane: Pending<Item, Result>[] = [];
      this.lanes.set(key, lane);
      this.run(key, lane, [{ item, resolve, reject }]);
    });
  }

  /** Keys with a write in flight (for tests and diagnostics). */
  get activeLanes(): number {
    return this.lanes.size;
  }

  private run(key: string, lane: Pending<Item, Result>[], batch: Pending<Item, Result>[]): void {
    this.write(batch.map((pending) => pending.item)).then(
      (results) => {
        // The next write starts before these answers go out, so the database
        // is not idle while the gateway answers.
        this.next(key, lane);
        batch.forEach((pending, index) => {
          const result = results[index];
          if (result === undefined) pending.reject(new Error(`group commit: the write answered ${results.length} of ${batch.length} items`));
          else if (result instanceof Error) pending.reject(result);
          else pending.resolve(result);
        });
      },
      (error: unknown) => {
        this.next(key, lane);
        batch.forEach((pending) => pending.reject(error));
      },
    );
  }

  private next(key: string, lane: Pending<Item, Result>[]): void {
    if (lane.length === 0) this.lanes.delete(key);
    else this.run(key, lane, lane.splice(0, this.maxBatch));
  }
}

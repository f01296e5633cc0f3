// Group commit: while a write for a key is in flight, the next arrivals for
// that key wait and then go together in one statement and one commit.
//
// A lane per key. An idle lane writes an arrival at once, so a lone request
// waits for nothing; under load each write carries everything that arrived
// while the previous one ran, so batches grow with the load and one commit
// pays for many requests. One write per lane at a time: a second one would
// only wait for the first's locks (measured: no faster, and smaller batches).
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

interface Lane<Item, Result> {
  readonly waiting: Pending<Item, Result>[];
  running: boolean;
}

export class GroupCommit<Item, Result> {
  private readonly lanes = new Map<string, Lane<Item, Result>>();

  constructor(
    private readonly write: WriteBatch<Item, Result>,
    /** Most items one write carries; more wait for the next. */
    private readonly maxBatch: number,
  ) {}

  /** Writes `item` with whatever else arrives for `key` meanwhile; settles after that write. */
  submit(key: string, item: Item): Promise<Result> {
    return new Promise<Result>((resolve, reject) => {
      let lane = this.lanes.get(key);
      if (!lane) {
        lane = { waiting: [], running: false };
        this.lanes.set(key, lane);
      }
      lane.waiting.push({ item, resolve, reject });
      if (!lane.running) this.next(key, lane);
    });
  }

  /** Keys with a write in flight (for tests and diagnostics). */
  get activeLanes(): number {
    return this.lanes.size;
  }

  private run(key: string, lane: Lane<Item, Result>, batch: Pending<Item, Result>[]): void {
    this.write(batch.map((pending) => pending.item)).then(
      (results) => {
        // The next write starts before these answers go out, so the database
        // is not idle while the gateway answers.
        lane.running = false;
        this.next(key, lane);
        batch.forEach((pending, index) => {
          const result = results[index];
          if (result === undefined)
            pending.reject(new Error(`group commit: the write answered ${results.length} of ${batch.length} items`));
          else if (result instanceof Error) pending.reject(result);
          else pending.resolve(result);
        });
      },
      (error: unknown) => {
        lane.running = false;
        this.next(key, lane);
        batch.forEach((pending) => pending.reject(error));
      },
    );
  }

  /** Starts a write with what waits in the idle lane, or drops the lane when nothing waits. */
  private next(key: string, lane: Lane<Item, Result>): void {
    if (lane.waiting.length === 0) {
      this.lanes.delete(key);
      return;
    }
    lane.running = true;
    this.run(key, lane, lane.waiting.splice(0, this.maxBatch));
  }
}

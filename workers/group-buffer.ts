// Collects items into groups and flushes each group once: when it holds maxItems items or
// maxWeight weight (events), or maxWaitMs after its first item arrived, whichever comes first.
// At most maxInFlight groups flush at once; while they do, the next group keeps filling, past
// the limits that made it due, until a slot frees: groups grow with the load instead of queueing
// up as many small flushes. (The read worker's items are bounded by BullMQ's concurrency.)
// Every add() settles with its group's flush: it resolves with the flush's result when the flush
// succeeded, rejects with the flush's error when the flush threw, or with its own error when the
// flush reported one for that item alone. An item added under a key the buffer already holds
// (parked or flushing) is not added a second time: that add() settles with the held item's
// outcome. So a key must name the item's content, not merely its source: two items of one key
// are taken as one. (The read worker keys jobs by readJobIdentity: a job BullMQ hands over again
// after its lock was lost shares the held outcome instead of spending an attempt on a refusal.)
// A group that is due by time, not full, waits longer while `expected` says items that belong
// with it are about to come (at most expected.holdMs(), each time it becomes due by time); one
// that `expected` says is complete (nothing more can belong with it) is due at once.

export interface GroupLimits {
  maxItems: number;
  maxWeight: number;
  maxWaitMs: number;
  maxInFlight: number;
}

/** Items about to come that a group due by time should wait for. */
export interface Expected<T> {
  /** Whether items that belong with `group` are about to come. */
  more(group: readonly T[]): boolean;
  /** How long a group may wait for them, past maxWaitMs. */
  holdMs(): number;
  /** A group stopped waiting for them after holdMs: they did not come. */
  missed?(group: readonly T[]): void;
  /** Whether no item can come that belongs with `group`: waiting longer only delays it. */
  complete?(group: readonly T[]): boolean;
}

/** What a flush returns: the group's result, and the items that failed on their own. */
export interface Flushed<T, R> {
  result: R;
  failed?: ReadonlyMap<T, unknown>;
}

interface Pending<T, R> {
  item: T;
  key: string | undefined;
  resolve: (result: R) => void;
  reject: (err: unknown) => void;
}

export class GroupBuffer<T, R = void> {
  private pending: Pending<T, R>[] = [];
  private weight = 0;
  private timer: NodeJS.Timeout | undefined;
  /** The collecting group is due (full or waited long enough) but no flush slot is free. */
  private due = false;
  /** The collecting group waits for expected items (until they came, or the hold timer fires). */
  private holding = false;
  private readonly inFlight = new Set<Promise<void>>();
  /** Keys of the items parked or flushing, with the outcome every add() of that key gets. */
  private readonly held = new Map<string, Promise<R>>();

  constructor(
    private readonly limits: GroupLimits,
    /** Applies a group: its result, and the items that failed on their own, with their errors. */
    private readonly flush: (items: T[]) => Promise<Flushed<T, R>>,
    private readonly expected?: Expected<T>,
  ) {}

  add(item: T, weight: number, key?: string): Promise<R> {
    const held = key === undefined ? undefined : this.held.get(key);
    if (held !== undefined) return held;
    const outcome = this.park(item, weight, key);
    if (key !== undefined) this.held.set(key, outcome);
    return outcome;
  }

  private park(item: T, weight: number, key: string | undefined): Promise<R> {
    return new Promise<R>((resolve, reject) => {
      this.pending.push({ item, key, resolve, reject });
      this.weight += weight;
      if (this.full() || this.expected?.complete?.(this.items())) {
        this.flushNow();
      } else if (this.holding) {
        if (!this.expected?.more(this.items())) this.flushNow();
      } else if (this.timer === undefined && !this.due) {
        this.timer = setTimeout(() => this.dueByTime(), this.limits.maxWaitMs);
      }
    });
  }

  private items(): T[] {
    return this.pending.map((p) => p.item);
  }

  private full(): boolean {
    return this.pending.length >= this.limits.maxItems || this.weight >= this.limits.maxWeight;
  }

  /**
   * The group waited maxWaitMs, or a flush slot freed for it: flush it, or, when a slot is free
   * and it is not full, hold it for the items expected.
   */
  private dueByTime(): void {
    this.timer = undefined;
    const canHold = !this.full() && this.inFlight.size < this.limits.maxInFlight;
    const holdMs = canHold ? (this.expected?.holdMs() ?? 0) : 0;
    if (this.pending.length === 0 || holdMs <= 0 || !this.expected?.more(this.items())) {
      this.flushNow();
      return;
    }
    this.holding = true;
    this.timer = setTimeout(() => {
      this.expected?.missed?.(this.items());
      this.flushNow();
    }, holdMs);
  }

  /** Flushes the group being collected as soon as a flush slot is free, full or not. */
  flushNow(): void {
    if (this.timer !== undefined) clearTimeout(this.timer);
    this.timer = undefined;
    this.holding = false;
    const group = this.pending;
    if (group.length === 0) return;
    if (this.inFlight.size >= this.limits.maxInFlight) {
      this.due = true;
      return;
    }
    this.due = false;
    this.pending = [];
    this.weight = 0;
    const release = () => {
      for (const p of group) if (p.key !== undefined) this.held.delete(p.key);
    };
    const run = this.flush(group.map((p) => p.item)).then(
      ({ result, failed }) => {
        release();
        for (const p of group) {
          if (failed?.has(p.item)) p.reject(failed.get(p.item));
          else p.resolve(result);
        }
      },
      (err: unknown) => {
        release();
        for (const p of group) p.reject(err);
      },
    );
    this.inFlight.add(run);
    void run.finally(() => {
      this.inFlight.delete(run);
      if (this.due) {
        this.due = false;
        this.dueByTime();
      }
    });
  }

  /** Flushes what is collected and waits until every flush has finished. */
  async drain(): Promise<void> {
    this.flushNow();
    while (this.inFlight.size > 0 || this.pending.length > 0) {
      await Promise.race(this.inFlight);
      this.flushNow();
    }
  }

  get size(): number {
    return this.pending.length;
  }
}

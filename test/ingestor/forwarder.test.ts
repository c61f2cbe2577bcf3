// The forwarder alone, with a fake consumer and a fake job sink (as kafkajs tests its Runner):
// the interleavings that decide exactly-once. The rule under test: a partition is resumed, and
// its offset committed, only once its job is known to be completed, with that job's range.
// Time is node:test's mock timers: polls, backoffs and re-checks run on fake milliseconds, so the
// interleavings do not depend on how loaded the machine is.
import assert from "node:assert/strict";
import { afterEach, beforeEach, mock, test } from "node:test";
import { pino } from "pino";
import type { BatchInput, ConsumerControl } from "../../src/ingestor/consumer-control.js";
import { Forwarder } from "../../src/ingestor/forwarder.js";
import type { DeadLetterData } from "../../src/queue/dead-letter.js";
import type { JobSink, SinkJob } from "../../src/queue/job-sink.js";
import type { ReadJobData } from "../../src/queue/read-job.js";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";

const TOPIC = "reads";
const log = pino({ level: "silent" });

class FakeConsumer implements ConsumerControl {
  readonly calls: string[] = [];
  readonly commits: string[] = [];
  failCommits = 0;
  private readonly pausedSet = new Set<number>();

  pause(topics: { topic: string; partitions: number[] }[]): void {
    for (const t of topics) for (const p of t.partitions) this.pausedSet.add(p);
    this.calls.push(`pause ${topics.flatMap((t) => t.partitions).join(",")}`);
  }
  resume(topics: { topic: string; partitions: number[] }[]): void {
    for (const t of topics) for (const p of t.partitions) this.pausedSet.delete(p);
    this.calls.push(`resume ${topics.flatMap((t) => t.partitions).join(",")}`);
  }
  paused() {
    return [{ topic: TOPIC, partitions: [...this.pausedSet] }];
  }
  seek(t: { topic: string; partition: number; offset: string }): void {
    this.calls.push(`seek ${t.partition}@${t.offset}`);
  }
  /** What Kafka holds as committed: offset and metadata per partition. */
  readonly stored = new Map<number, { offset: string; metadata: string | null }>();

  async commitOffsets(
    offsets: { topic: string; partition: number; offset: string; metadata: string | null }[],
  ): Promise<void> {
    if (this.failCommits > 0) {
      this.failCommits--;
      throw new Error("The coordinator is not aware of this member");
    }
    for (const o of offsets) {
      this.commits.push(`${o.partition}@${o.offset}`);
      this.stored.set(o.partition, { offset: o.offset, metadata: o.metadata });
    }
    this.calls.push(`commit ${offsets.map((o) => `${o.partition}@${o.offset}`).join(",")}`);
  }
  isPaused(p: number): boolean {
    return this.pausedSet.has(p);
  }
}

const isOpen = (state: SinkJob["state"]) => state !== "completed" && state !== "failed";

class FakeSink implements JobSink {
  readonly jobs = new Map<string, SinkJob>();
  readonly adds: string[] = [];
  readonly deadLetters: DeadLetterData[] = [];
  /** inspect() and isOpen() throw while this is > 0 (Redis away). */
  failInspects = 0;
  failAdds = 0;
  /** add() is taken but nothing is kept (a job removed as soon as it completes). */
  forgetAdds = false;

  async add(id: string, data: ReadJobData): Promise<void> {
    if (this.failAdds > 0) {
      this.failAdds--;
      throw new Error("Reached the max retries per request limit");
    }
    this.adds.push(id);
    if (!this.jobs.has(id) && !this.forgetAdds) this.jobs.set(id, { state: "waiting", data });
  }
  async inspect(id: string): Promise<SinkJob | undefined> {
    this.failIfAway();
    const found = this.seen(id);
    if (found !== undefined && isOpen(found.state)) this.openDataReads++;
    this.inspected?.(id);
    return found;
  }
  /** Reads of a job's data (all its events) while it was open. */
  openDataReads = 0;
  async isOpen(id: string): Promise<boolean> {
    this.failIfAway();
    const state = this.jobs.get(id)?.state;
    this.inspected?.(id);
    return state !== undefined && isOpen(state);
  }
  /** Called as each inspect() or isOpen() has read the job, before its answer arrives. */
  inspected: ((id: string) => void) | undefined;
  private failIfAway(): void {
    if (this.failInspects > 0) {
      this.failInspects--;
      throw new Error("Connection is closed.");
    }
  }
  private seen(id: string): SinkJob | undefined {
    const job = this.jobs.get(id);
    // A completed job reports the range it applied: its own, unless a test says otherwise; and
    // the ledger's latest timestamp, here its own latest (as for a partition's first job).
    if (job?.state === "completed" && job.applied === undefined) {
      const { firstOffset, lastOffset, maxTimestamp } = job.data;
      return {
        ...job,
        applied: {
          firstOffset,
          lastOffset,
          ...(maxTimestamp === undefined ? {} : { ledgerMaxTimestamp: maxTimestamp }),
        },
      };
    }
    return job === undefined ? undefined : { ...job };
  }
  async addDeadLetters(letters: readonly DeadLetterData[]): Promise<void> {
    this.deadLetters.push(...letters);
  }
  /** Jobs whose events were dropped, in order. */
  readonly drops: string[] = [];
  /** Called as each drop is asked for; the drop answers once what it returns settled. */
  dropping: ((id: string) => Promise<void> | undefined) | undefined;
  async dropAppliedEvents(id: string): Promise<boolean> {
    await this.dropping?.(id);
    if (this.jobs.get(id)?.state !== "completed") return false;
    this.drops.push(id);
    return true;
  }
  only(): [string, SinkJob] {
    assert.equal(this.jobs.size, 1, "one job");
    return [...this.jobs][0] as [string, SinkJob];
  }
}

const open: Forwarder[] = [];
beforeEach(() => mock.timers.enable({ apis: ["setTimeout", "Date"] }));
afterEach(async () => {
  // Stops the watchers a test left running.
  for (const f of open.splice(0)) {
    const drained = f.drain(0);
    await tick(1);
    await drained;
  }
  mock.timers.reset();
});

type Committed = { offset: string; metadata: string | null };

interface SetupOptions {
  jobMaxEvents?: number;
  incarnation?: string;
  /** What Kafka holds as committed when the partitions are assigned (another owner's commits). */
  stored?: ReadonlyMap<number, Committed>;
  /** The log's range per partition (default: 0 to far beyond any offset used). */
  logRange?: ReadonlyMap<number, { low: bigint; high: bigint }>;
  /** Assign partitions 0-3 and wait until they are positioned (default true). */
  assign?: boolean;
  /** How often a held-back partition is checked again and logged (default 60 s). */
  repeatLogMs?: number;
  /** How often a watch looks at its job when nothing woke it (default 5 ms). */
  pollMs?: number;
  /** KAFKA_FROM_BEGINNING (default true). */
  fromBeginning?: boolean;
  /** Kafka's answer to reading a partition's position fails with this, while it returns one. */
  positionError?: (partition: number) => Error | undefined;
}

async function setup(options: SetupOptions = {}) {
  const consumer = new FakeConsumer();
  for (const [p, c] of options.stored ?? []) consumer.stored.set(p, c);
  const sink = new FakeSink();
  const skipped: string[] = [];
  const committedEvents: string[] = [];
  const logRange = new Map(options.logRange ?? []);
  const forwarder = new Forwarder(
    {
      JOB_MAX_EVENTS: options.jobMaxEvents ?? 100,
      MAX_MESSAGE_BYTES: 65536,
      KAFKA_TOPIC_INCARNATION: options.incarnation ?? "",
      KAFKA_FROM_BEGINNING: options.fromBeginning ?? true,
    },
    sink,
    consumer,
    async (_topic, partition) => {
      const error = options.positionError?.(partition);
      if (error !== undefined) throw error;
      return {
        committed: consumer.stored.get(partition),
        ...(logRange.get(partition) ?? { low: 0n, high: 1_000_000n }),
        partitions: 4,
      };
    },
    log,
    {
      consumed: () => {},
      committed: (_t, p, offset) => committedEvents.push(`${p}@${offset}`),
      skipped: (_t, p, n, cause) => skipped.push(`${p}:${n}${cause === "retention" ? "" : ` ${cause}`}`),
    },
    {
      pollMs: options.pollMs ?? 5,
      retryMinMs: 1,
      retryMaxMs: 5,
      repeatLogMs: options.repeatLogMs ?? 60_000,
      vanishedLimit: 3,
    },
  );
  open.push(forwarder);
  const resolved: string[] = [];
  const control = {
    resolveOffset: (o: string) => resolved.push(o),
    isRunning: () => true,
    isStale: () => false,
  };
  /** A rebalance hands these partitions over; waits until each is positioned or held back. */
  const assign = async (partitions = [0, 1, 2, 3]) => {
    forwarder.onAssignment({ [TOPIC]: partitions });
    const held = () => new Set(forwarder.status().map((s) => s.partition));
    await until("positioned", () => partitions.every((p) => !consumer.isPaused(p) || held().has(p)));
  };
  if (options.assign !== false) {
    await assign();
    consumer.calls.length = 0;
  }
  return { consumer, sink, forwarder, resolved, control, skipped, logRange, assign, committedEvents };
}

function batch(
  partition: number,
  first: number,
  count: number,
  invalidAt: number[] = [],
  sentAt = 1_700_000_000_000,
): BatchInput {
  return {
    topic: TOPIC,
    partition,
    messages: Array.from({ length: count }, (_, i) => ({
      offset: String(first + i),
      timestamp: String(sentAt + first + i),
      value: invalidAt.includes(first + i)
        ? Buffer.from("{oops")
        : Buffer.from(encodeReadEvent(BigInt(1 + (i % 3)), 1n)),
    })),
  };
}

/** Lets the code under test run (its promises settle) after each fake millisecond. */
const settle = () => new Promise((r) => setImmediate(r));

/** Advances fake time by `ms`, a millisecond at a time. */
async function tick(ms = 30): Promise<void> {
  await settle();
  for (let i = 0; i < ms; i++) {
    mock.timers.tick(1);
    await settle();
  }
}

/** Awaits `work` while advancing fake time, for work that waits (a backoff). */
async function ticking<T>(work: Promise<T>): Promise<T> {
  let settled = false;
  const done = work.finally(() => {
    settled = true;
  });
  await until("settled", () => settled);
  return done;
}

/** Advances fake time until `check` holds, failing after `ms` fake milliseconds. */
async function until(what: string, check: () => boolean, ms = 2000): Promise<void> {
  await settle();
  for (let i = 0; !check(); i++) {
    if (i > ms) throw new Error(`timed out: ${what}`);
    await tick(1);
  }
}

test("a range becomes one job; the partition is paused until it completes, then its events dropped, committed, sought and resumed", async () => {
  const { consumer, sink, forwarder, resolved, control } = await setup();
  await forwarder.handleBatch(batch(0, 10, 5), control);
  const [id, job] = sink.only();
  assert.equal(id, `${TOPIC}-p0-o10-t1700000000010`);
  assert.deepEqual([job.data.firstOffset, job.data.lastOffset, job.data.events], ["10", "14", 5]);
  assert.deepEqual(resolved, ["14"]);
  assert.ok(consumer.isPaused(0));
  const reads = sink.openDataReads;
  await tick();
  assert.deepEqual(consumer.commits, [], "nothing committed while the job is open");
  assert.equal(sink.openDataReads, reads, "an open job's state is watched, not its events");
  assert.deepEqual(sink.drops, []);
  let commitsAtDrop: number | undefined;
  sink.dropping = () => {
    commitsAtDrop = consumer.commits.length;
    return undefined;
  };
  job.state = "completed";
  forwarder.jobSettled(id);
  await until("committed", () => consumer.commits.length === 1);
  assert.deepEqual(sink.drops, [id]);
  assert.equal(commitsAtDrop, 0, "the job's events are dropped before its range is committed");
  await until("resumed", () => !consumer.isPaused(0));
  assert.deepEqual(consumer.calls, ["pause 0", "commit 0@15", "seek 0@14", "resume 0"]);
  assert.deepEqual(forwarder.status(), []);
});

test("the commit waits for the completed job's events to be dropped, for a second at most", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  let answer: (() => void) | undefined;
  sink.dropping = () =>
    new Promise<void>((resolve) => {
      answer = resolve;
    });
  await forwarder.handleBatch(batch(0, 10, 5), control);
  const [id, job] = sink.only();
  job.state = "completed";
  forwarder.jobSettled(id);
  await until("dropping", () => answer !== undefined);
  await tick(500);
  assert.deepEqual(consumer.commits, [], "not while the drop is under way");
  answer?.();
  await until("committed as the drop answered", () => consumer.commits.length === 1, 50);
  assert.deepEqual(sink.drops, [id]);

  // A drop that never answers (Redis away) holds the commit back a second, no more.
  sink.dropping = () => new Promise<void>(() => {});
  await forwarder.handleBatch(batch(0, 14, 5), control);
  const next = [...sink.jobs].find(([, j]) => j.state !== "completed");
  assert.ok(next !== undefined);
  next[1].state = "completed";
  forwarder.jobSettled(next[0]);
  await tick(900);
  assert.equal(consumer.commits.length, 1);
  await until("committed after a second", () => consumer.commits.length === 2, 200);
});

test("a job that settles while its watch reads it is seen at once, not at the next poll", async () => {
  const { consumer, sink, forwarder, control } = await setup({ pollMs: 60_000 });
  await forwarder.handleBatch(batch(0, 10, 5), control);
  const [id, job] = sink.only();
  await tick();
  // The watch reads the job as waiting; it completes (and says so) before that answer arrives.
  sink.inspected = () => {
    sink.inspected = undefined;
    job.state = "completed";
    forwarder.jobSettled(id);
  };
  forwarder.jobSettled(id);
  await until("committed", () => consumer.commits.length === 1, 100);
  assert.deepEqual(consumer.commits, ["0@15"]);
});

test("a job says how much of its partition Kafka held past it when fetched, and of how many partitions", async () => {
  const { sink, forwarder, control } = await setup();
  await forwarder.handleBatch({ ...batch(0, 10, 5), highWatermark: "40" }, control);
  assert.equal(sink.only()[1].data.backlog, 25, "offsets 15..39");
  assert.equal(sink.only()[1].data.partitions, 4, "the topic's partitions when positioned");
  const atEnd = await setup();
  await atEnd.forwarder.handleBatch({ ...batch(1, 10, 5), highWatermark: "15" }, atEnd.control);
  assert.equal(atEnd.sink.only()[1].data.backlog, 0);
});

test("errors reading the job's state (Redis away) never resume the partition; it resumes once the job completes", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(0, 0, 3), control);
  const [, job] = sink.only();
  sink.failInspects = 50;
  await tick(60);
  assert.ok(consumer.isPaused(0), "still paused while the job's state is unknown");
  assert.deepEqual(consumer.commits, []);
  // A second batch of the partition arriving meanwhile is left unresolved, not made a job.
  const { resolved } = await setup();
  await forwarder.handleBatch(batch(0, 3, 3), { ...control, resolveOffset: (o) => resolved.push(o) });
  assert.equal(sink.jobs.size, 1);
  assert.deepEqual(resolved, []);
  job.state = "completed";
  sink.failInspects = 0;
  await until("committed after the errors", () => consumer.commits.length === 1);
  assert.deepEqual(consumer.commits, ["0@3"]);
  await until("resumed", () => !consumer.isPaused(0));
});

test("a failed commit is retried; the partition stays paused until the commit went through", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(1, 0, 4), control);
  const [, job] = sink.only();
  consumer.failCommits = 3;
  job.state = "completed";
  await tick(20);
  await until("committed", () => consumer.commits.length === 1);
  assert.deepEqual(consumer.commits, ["1@4"]);
  const resumeAt = consumer.calls.indexOf("resume 1");
  assert.ok(resumeAt > consumer.calls.indexOf("commit 1@4"), "resumed only after the commit");
});

test("a job that vanished is added again under its id with its data; one that keeps vanishing shows as held back", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(2, 0, 4), control);
  const [id, job] = sink.only();
  sink.jobs.delete(id);
  await until("re-added", () => sink.jobs.has(id));
  assert.deepEqual(sink.jobs.get(id)?.data, job.data);
  // Keeps vanishing (e.g. removed on completion before the watcher saw it).
  sink.forgetAdds = true;
  sink.jobs.delete(id);
  await until("held back", () => forwarder.status()[0]?.state === "held-back");
  assert.equal(forwarder.status()[0]?.cause, "job-vanished");
  assert.match(forwarder.status()[0]?.reason ?? "", /vanished/);
  assert.ok(consumer.isPaused(2));
  assert.deepEqual(consumer.commits, []);
});

test("a failed job holds its partition back with its reason until it is retried and completes", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(3, 0, 4), control);
  const [, job] = sink.only();
  job.state = "failed";
  job.failedReason = "MongoDB refused 1 document(s)";
  await until("held back", () => forwarder.status()[0]?.state === "held-back");
  assert.equal(forwarder.status()[0]?.cause, "job-failed");
  assert.equal(forwarder.status()[0]?.reason, "MongoDB refused 1 document(s)");
  assert.equal(forwarder.heldBack().get("job-failed"), 1);
  await tick(30);
  assert.ok(consumer.isPaused(3));
  job.state = "waiting";
  await until("waiting again", () => forwarder.status()[0]?.state === "waiting");
  job.state = "completed";
  await until("resumed", () => !consumer.isPaused(3));
  assert.deepEqual(consumer.commits, ["3@4"]);
});

test("the offset committed is the completed job's range, not the watcher's copy", async () => {
  const { consumer, sink, forwarder, resolved, control } = await setup();
  // An earlier owner left a job with the same first message but a shorter range.
  const other = await setup();
  await other.forwarder.handleBatch(batch(0, 0, 3), other.control);
  const [id, shorter] = other.sink.only();
  sink.jobs.set(id, { ...shorter });
  await forwarder.handleBatch(batch(0, 0, 6), control);
  assert.deepEqual(resolved, ["2"], "resolved no further than the job found");
  const job = sink.jobs.get(id) as SinkJob;
  // ... and someone replaces it with a longer one before it completes.
  const longer = await setup();
  await longer.forwarder.handleBatch(batch(0, 0, 8), longer.control);
  sink.jobs.set(id, { ...longer.sink.only()[1], state: "completed" });
  assert.equal(job.data.lastOffset, "2");
  await until("committed", () => consumer.commits.length === 1);
  assert.deepEqual(consumer.commits, ["0@8"]);
  assert.ok(consumer.calls.includes("seek 0@7"), "fetches on from the range's last message, to check it");
});

test("a job completed with another range than its data holds the partition back; a retry that applies its range commits it", async () => {
  const { consumer, sink, forwarder, control } = await setup({ jobMaxEvents: 1000 });
  await forwarder.handleBatch(batch(0, 100, 300), control);
  const [, job] = sink.only();
  // Its worker applied a shorter range under the same id (the job Redis lost before this one).
  job.state = "completed";
  job.applied = { firstOffset: "100", lastOffset: "199" };
  await until("held back", () => forwarder.status()[0]?.state === "held-back");
  assert.equal(forwarder.status()[0]?.cause, "job-range");
  assert.match(forwarder.status()[0]?.reason ?? "", /applied 100-199, while its data covers 100-399/);
  await tick(30);
  assert.deepEqual(consumer.commits, [], "nothing committed: 200-399 were not applied");
  assert.ok(consumer.isPaused(0));
  // Retried, the job applies its own range.
  job.state = "waiting";
  delete job.applied;
  await until("waiting again", () => forwarder.status()[0]?.state === "waiting");
  job.state = "completed";
  await until("committed", () => consumer.commits.length === 1);
  assert.deepEqual(consumer.commits, ["0@400"]);
});

test("a job whose data was edited to name another partition commits nothing; removed, it is added again", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(0, 10, 5), control);
  const [id, job] = sink.only();
  sink.jobs.set(id, { ...job, state: "completed", data: { ...job.data, partition: 3 } });
  await until("held back", () => forwarder.status()[0]?.state === "held-back");
  assert.equal(forwarder.status()[0]?.cause, "job-data");
  assert.match(
    forwarder.status()[0]?.reason ?? "",
    /names reads partition 3 offsets 10-14, not a range of reads partition 0 offsets 10/,
  );
  await tick(30);
  assert.deepEqual(consumer.commits, [], "neither partition 3's offset nor partition 0's");
  sink.jobs.delete(id);
  await until("added again", () => sink.jobs.has(id));
  assert.equal(sink.jobs.get(id)?.data.partition, 0, "from its own range");
  (sink.jobs.get(id) as SinkJob).state = "completed";
  await until("committed", () => consumer.commits.length === 1);
  assert.deepEqual(consumer.commits, ["0@15"]);
});

test("a range whose job, found by its id, names another partition is held back, not followed", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  const id = `${TOPIC}-p0-o10-t1700000000010`;
  const edited = await setup();
  await edited.forwarder.handleBatch(batch(3, 10, 5), edited.control);
  sink.jobs.set(id, { ...edited.sink.only()[1], state: "completed" });
  await forwarder.handleBatch(batch(0, 10, 5), control);
  await until("held back", () => forwarder.status()[0]?.state === "held-back");
  assert.equal(forwarder.status()[0]?.partition, 0);
  assert.equal(forwarder.status()[0]?.cause, "job-data");
  await tick(30);
  assert.deepEqual(consumer.commits, []);
  sink.jobs.delete(id);
  await until("added again", () => sink.jobs.get(id)?.data.partition === 0);
  (sink.jobs.get(id) as SinkJob).state = "completed";
  await until("committed", () => consumer.commits.length === 1);
  assert.deepEqual(consumer.commits, ["0@15"]);
});

test("a partition revoked mid-job is neither committed nor resumed", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(0, 0, 3), control);
  await forwarder.handleBatch(batch(1, 0, 3), control);
  forwarder.onAssignment({ [TOPIC]: [1] });
  for (const job of sink.jobs.values()) job.state = "completed";
  await until("partition 1 committed", () => consumer.commits.length === 1);
  await tick(30);
  assert.deepEqual(consumer.commits, ["1@3"]);
  assert.ok(!consumer.calls.includes("resume 0"));
});

test("when the queue cannot take the range, nothing is resolved, paused or watched: Kafka hands it over again", async () => {
  const { consumer, sink, forwarder, resolved, control } = await setup();
  sink.failAdds = 1;
  await ticking(forwarder.handleBatch(batch(0, 0, 3), control));
  assert.deepEqual(resolved, []);
  assert.deepEqual(consumer.calls, []);
  assert.deepEqual(forwarder.status(), []);
  await forwarder.handleBatch(batch(0, 0, 3), control);
  assert.equal(sink.jobs.size, 1, "the same range, the same job id");
});

test("dead letters are stored before their range's job; a range of only dead letters is a job too", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(0, 0, 2, [0, 1]), control);
  assert.equal(sink.deadLetters.length, 2);
  const [, job] = sink.only();
  assert.deepEqual([job.data.events, job.data.deadLetters], [0, [0, 1]]);
  assert.deepEqual(consumer.commits, [], "committed once the job is applied, which records them");
  job.state = "completed";
  await until("committed", () => consumer.commits.length === 1);
  assert.deepEqual(consumer.commits, ["0@2"]);
});

test("a held job retried and completed within one poll is no longer counted held back while it commits", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(3, 0, 4), control);
  const [, job] = sink.only();
  job.state = "failed";
  await until("held back", () => forwarder.heldBack().get("job-failed") === 1);
  consumer.failCommits = 1_000_000; // Kafka refuses the commit for a while
  job.state = "completed";
  await until("committing", () => forwarder.status()[0]?.state === "committing");
  assert.deepEqual(forwarder.status()[0], {
    partition: 3,
    state: "committing",
    jobId: "reads-p3-o0-t1700000000000",
  });
  assert.equal(forwarder.heldBack().get("job-failed"), 0);
  consumer.failCommits = 0;
  await until("committed", () => consumer.commits.length === 1);
});

test("drain waits for open jobs, then reports those left", async () => {
  const { sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(0, 0, 3), control);
  await forwarder.handleBatch(batch(1, 0, 3), control);
  const [first] = [...sink.jobs.values()];
  if (first) first.state = "completed";
  assert.equal(await ticking(forwarder.drain(100)), 1);
});

async function completeAll(sink: FakeSink, forwarder: Forwarder): Promise<void> {
  for (const [id, job] of sink.jobs) {
    job.state = "completed";
    forwarder.jobSettled(id);
  }
}

test("after a job, the next batch must start with its last message: skipped when it is the same, held back when not", async () => {
  const { consumer, sink, forwarder, resolved, control, assign } = await setup();
  await forwarder.handleBatch(batch(0, 0, 5), control);
  await completeAll(sink, forwarder);
  await until("resumed", () => !consumer.isPaused(0));
  // The last message applied, and the latest timestamp applied in the partition's life (as the
  // worker returned it).
  assert.match(consumer.stored.get(0)?.metadata ?? "", /^reads@4@1700000000004\+1700000000004$/);
  // Same log: the message at offset 4 is the one applied; only 5.. become the next job.
  await forwarder.handleBatch(batch(0, 4, 4), control);
  assert.equal(sink.jobs.size, 2);
  const second = [...sink.jobs.values()][1];
  assert.deepEqual([second?.data.firstOffset, second?.data.lastOffset], ["5", "7"]);
  assert.ok(resolved.includes("4"));
  await completeAll(sink, forwarder);
  await until("resumed", () => consumer.commits.length === 2 && !consumer.isPaused(0));
  // The topic was re-created meanwhile: another message sits at offset 7.
  await forwarder.handleBatch(batch(0, 7, 10, [], 1_800_000_000_000), control);
  assert.equal(sink.jobs.size, 2, "no job of the new log");
  assert.ok(consumer.isPaused(0));
  const held = forwarder.status().find((s) => s.partition === 0);
  assert.equal(held?.state, "held-back");
  assert.equal(held?.cause, "log-replaced");
  assert.match(held?.reason ?? "", /not the one this partition was read from.*KAFKA_TOPIC_INCARNATION/);
  // A rebalance checks it again: positioned at the last message applied, the same other message
  // is there, so it is held back again and nothing of the new log is read.
  await assign([0]);
  assert.ok(consumer.calls.includes("seek 0@7"));
  await forwarder.handleBatch(batch(0, 7, 10, [], 1_800_000_000_000), control);
  assert.equal(sink.jobs.size, 2, "still no job of the new log");
  assert.equal(forwarder.status().find((s) => s.partition === 0)?.state, "held-back");
});

test("a log that now starts before the last message applied (reset after a re-creation) is held back", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(1, 100, 5), control);
  await completeAll(sink, forwarder);
  await until("resumed", () => !consumer.isPaused(1));
  await forwarder.handleBatch(batch(1, 0, 50, [], 1_800_000_000_000), control);
  assert.equal(forwarder.status()[0]?.state, "held-back");
  assert.equal(forwarder.status()[0]?.cause, "log-replaced");
  assert.match(forwarder.status()[0]?.reason ?? "", /the log now starts at offset 0/);
});

/** Partition 2 applied through offset 4 by a first owner: what Kafka then holds for the group. */
async function appliedThrough4(): Promise<Map<number, Committed>> {
  const first = await setup();
  await first.forwarder.handleBatch(batch(2, 0, 5), first.control);
  await completeAll(first.sink, first.forwarder);
  await until("committed", () => first.consumer.commits.length === 1);
  return first.consumer.stored;
}

test("a new owner positions the partition before fetching: at the last message applied, checked, then reads on", async () => {
  const next = await setup({ stored: await appliedThrough4(), assign: false });
  await next.assign();
  // Paused at assignment (no fetch from wherever kafkajs would start), sought, then resumed.
  const calls = next.consumer.calls;
  assert.equal(calls[0], "pause 0,1,2,3");
  assert.ok(calls.indexOf("seek 2@4") < calls.indexOf("resume 2"), "sought before resumed");
  assert.ok(calls.includes("resume 2"));
  await next.forwarder.handleBatch(batch(2, 4, 4), next.control);
  const [, job] = next.sink.only();
  assert.deepEqual([job.data.firstOffset, job.data.lastOffset], ["5", "7"]);
  assert.ok(next.resolved.includes("4"), "the message checked is skipped");
});

test("positioning retries while Kafka cannot say the position; the partition stays paused until then", async () => {
  const stored = await appliedThrough4();
  let failures = 3;
  const next = await setup({ stored, assign: false });
  const consumer = next.consumer;
  const original = consumer.stored.get.bind(consumer.stored);
  consumer.stored.get = (p: number) => {
    if (p === 2 && failures-- > 0) throw new Error("The group coordinator is not available");
    return original(p);
  };
  next.forwarder.onAssignment({ [TOPIC]: [2] });
  assert.ok(consumer.isPaused(2));
  await until("positioned", () => !consumer.isPaused(2));
  assert.ok(failures < 0, "read again after each error");
  assert.ok(consumer.calls.includes("seek 2@4"));
});

test("a rebalance while a partition is being positioned: only the newest assignment positions it", async () => {
  const next = await setup({ stored: await appliedThrough4(), assign: false });
  next.forwarder.onAssignment({ [TOPIC]: [2] });
  next.forwarder.onAssignment({ [TOPIC]: [3] }); // 2 is taken away before its position came back
  await until("3 positioned", () => !next.consumer.isPaused(3));
  await tick();
  assert.ok(!next.consumer.calls.includes("seek 2@4"), "no seek for a partition no longer ours");
  assert.ok(!next.consumer.calls.includes("resume 2"));
});

test("a log that ends before the group's position (topic re-created, shorter) is held back before anything is read", async () => {
  const next = await setup({
    stored: await appliedThrough4(),
    logRange: new Map([[2, { low: 0n, high: 3n }]]),
  });
  const held = next.forwarder.status().find((s) => s.partition === 2);
  assert.equal(held?.state, "held-back");
  assert.match(
    held?.reason ?? "",
    /ends at offset 3, before the group's position 5.*KAFKA_TOPIC_INCARNATION/,
  );
  assert.ok(next.consumer.isPaused(2));
  assert.ok(!next.consumer.calls.some((c) => c.startsWith("seek 2")), "not read from anywhere");
});

test("a new owner finding another message at the last applied offset (topic re-created, longer) holds it back", async () => {
  const next = await setup({ stored: await appliedThrough4() });
  await next.forwarder.handleBatch(batch(2, 4, 8, [], 1_800_000_000_000), next.control);
  assert.equal(next.sink.jobs.size, 0, "nothing of the new log read");
  assert.equal(next.forwarder.status()[0]?.state, "held-back");
  assert.match(next.forwarder.status()[0]?.reason ?? "", /sent at 1800000000004, not 1700000000004/);
});

test("a position committed under another life of the topic restarts this life from its beginning", async () => {
  const reborn = await setup({
    incarnation: "2",
    stored: await appliedThrough4(),
    logRange: new Map([[2, { low: 3n, high: 50n }]]),
    assign: false,
  });
  await reborn.assign();
  assert.ok(reborn.consumer.calls.includes("seek 2@3"), "the log's start, as a new group would");
  await reborn.forwarder.handleBatch(batch(2, 3, 8, [], 1_800_000_000_000), reborn.control);
  const [id, job] = reborn.sink.only();
  assert.match(id, /^reads@2-p2-o3-/);
  assert.equal(job.data.events, 8);
});

test("a new owner whose position retention removed reads from the log's start and counts what was lost", async () => {
  const next = await setup({
    stored: await appliedThrough4(),
    logRange: new Map([[2, { low: 20n, high: 50n }]]),
    assign: false,
  });
  await next.assign();
  assert.deepEqual(next.skipped, ["2:15"]);
  assert.ok(next.consumer.calls.includes("seek 2@20"));
  await next.forwarder.handleBatch(batch(2, 20, 5), next.control);
  assert.equal(next.sink.only()[1].data.firstOffset, "20");
});

test("messages removed by retention before they were read are counted as skipped, not hidden", async () => {
  const { consumer, sink, forwarder, control, skipped } = await setup();
  await forwarder.handleBatch(batch(0, 0, 5), control);
  await completeAll(sink, forwarder);
  await until("resumed", () => !consumer.isPaused(0));
  await forwarder.handleBatch(batch(0, 20, 5), control);
  assert.deepEqual(skipped, ["0:15"]);
  assert.equal(sink.jobs.size, 2, "reads on from what is there");
});

test("a partition without a position, read from its end (KAFKA_FROM_BEGINNING=false), counts what it leaves behind as skipped", async () => {
  const { consumer, skipped } = await setup({
    fromBeginning: false,
    logRange: new Map([
      [0, { low: 0n, high: 0n }],
      [1, { low: 10n, high: 40n }],
      [2, { low: 7n, high: 7n }],
      [3, { low: 0n, high: 0n }],
    ]),
  });
  assert.deepEqual(skipped, ["1:30 start-at-end"], "only the partition with messages before its end");
  assert.ok(!consumer.isPaused(1));
});

test("a partition whose position cannot be read is shown held back (positioning) until Kafka answers", async () => {
  let failing = true;
  const { consumer, forwarder } = await setup({
    assign: false,
    positionError: (p) => (failing && p === 2 ? new Error("The coordinator is not available") : undefined),
  });
  forwarder.onAssignment({ [TOPIC]: [2] });
  await until("held back", () => forwarder.status()[0]?.cause === "positioning");
  assert.match(forwarder.status()[0]?.reason ?? "", /coordinator is not available/);
  assert.equal(forwarder.heldBack().get("positioning"), 1);
  assert.ok(consumer.isPaused(2));
  failing = false;
  await until("positioned", () => !consumer.isPaused(2));
  assert.deepEqual(forwarder.status(), []);
});

test("an assignment pauses a partition whose job is open too (kafkajs restarted unpaused), until the job completes", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  await forwarder.handleBatch(batch(1, 0, 5), control);
  consumer.resume([{ topic: TOPIC, partitions: [1] }]); // a crashed and restarted kafkajs consumer
  forwarder.onAssignment({ [TOPIC]: [0, 1, 2, 3] });
  assert.ok(consumer.isPaused(1), "paused again at the assignment");
  await tick();
  assert.ok(!consumer.calls.includes("seek 1@0"), "not positioned: its watcher decides where to go on");
  await completeAll(sink, forwarder);
  await until("resumed after the commit", () => !consumer.isPaused(1));
  assert.ok(consumer.calls.includes("seek 1@4"), "from the job's last message");
});

test("a batch of a partition not positioned yet is not read: the partition is paused and positioned", async () => {
  const { consumer, sink, forwarder, control } = await setup({
    stored: new Map([[2, { offset: "3", metadata: null }]]),
    assign: false,
  });
  await forwarder.handleBatch(batch(2, 0, 5), control); // e.g. fetched before the assignment event
  assert.equal(sink.jobs.size, 0);
  assert.equal(consumer.calls[0], "pause 2");
  await until("positioned", () => consumer.calls.includes("seek 2@3") && !consumer.isPaused(2));
  await forwarder.handleBatch(batch(2, 3, 2), control);
  assert.equal(sink.only()[1].data.firstOffset, "3");
});

test("a partition held back for its log is checked again after a while: read on once the log is right", async () => {
  const { consumer, forwarder, logRange } = await setup({
    stored: new Map([[1, { offset: "5", metadata: "reads@4@1700000000004" }]]),
    logRange: new Map([[1, { low: 0n, high: 3n }]]),
    assign: false,
    repeatLogMs: 40,
  });
  forwarder.onAssignment({ [TOPIC]: [1] });
  await until("held back", () => forwarder.status()[0]?.state === "held-back");
  await tick(60);
  assert.equal(forwarder.status()[0]?.state, "held-back", "checked again: the log still ends too early");
  assert.ok(consumer.isPaused(1));
  // The log's end had been reported low (a leader change): the next check reads on.
  logRange.set(1, { low: 0n, high: 100n });
  await until("read on", () => forwarder.status().length === 0 && !consumer.isPaused(1), 1000);
  assert.ok(consumer.calls.includes("seek 1@4"), "from the last message applied, to check it");
});

test("a paused partition is expected back soon while its job is open or its position is being read, not while held back", async () => {
  const { sink, forwarder, control } = await setup();
  assert.equal(forwarder.resumeExpected(TOPIC, 3), false, "nothing open");
  await forwarder.handleBatch(batch(3, 0, 4), control);
  const [, job] = sink.only();
  assert.equal(forwarder.resumeExpected(TOPIC, 3), true, "its job is open");
  job.state = "failed";
  job.failedReason = "MongoDB refused 1 document(s)";
  await until("held back", () => forwarder.status()[0]?.state === "held-back");
  assert.equal(forwarder.resumeExpected(TOPIC, 3), false, "its job waits for a person");

  const shorter = await setup({
    stored: await appliedThrough4(),
    logRange: new Map([[2, { low: 0n, high: 3n }]]),
  });
  assert.equal(shorter.forwarder.status()[0]?.state, "held-back");
  assert.equal(shorter.forwarder.resumeExpected(TOPIC, 2), false, "held back for its log");

  const slow = await setup({ assign: false });
  slow.consumer.stored.get = () => {
    throw new Error("The group coordinator is not available");
  };
  slow.forwarder.onAssignment({ [TOPIC]: [1] });
  await tick();
  assert.ok(slow.consumer.isPaused(1));
  assert.equal(slow.forwarder.resumeExpected(TOPIC, 1), true, "being positioned");
});

test("a fetch outside the log positions a reading partition again; one with an open job waits for its commit", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  assert.equal(forwarder.outOfRange(TOPIC, 9), false, "not ours");
  // Reading: paused, positioned again from what Kafka holds as committed (nothing: the start).
  assert.equal(forwarder.outOfRange(TOPIC, 1), true);
  assert.ok(consumer.isPaused(1));
  await until("positioned again", () => !consumer.isPaused(1));
  assert.deepEqual(consumer.calls, ["pause 1", "seek 1@0", "resume 1"]);
  // An open job: paused until the job is committed, then read on after it, not positioned anew.
  await forwarder.handleBatch(batch(0, 0, 3), control);
  consumer.calls.length = 0;
  assert.equal(forwarder.outOfRange(TOPIC, 0), true);
  await tick();
  assert.deepEqual(consumer.calls, ["pause 0"]);
  await completeAll(sink, forwarder);
  await until("resumed", () => !consumer.isPaused(0));
  assert.deepEqual(consumer.calls, ["pause 0", "commit 0@3", "seek 0@2", "resume 0"]);
});

test("a rebalance while the range is being handed to the queue: no watch, and the partition is positioned anew", async () => {
  const { consumer, sink, forwarder, control } = await setup();
  const add = sink.add.bind(sink);
  sink.add = async (id, data) => {
    await add(id, data);
    forwarder.onAssignment({ [TOPIC]: [0] }); // meanwhile, partition 0 stays ours
  };
  await forwarder.handleBatch(batch(0, 0, 3), control);
  assert.equal(forwarder.openJobs(), 0, "the job is left for whoever reads the range next");
  await until("positioned again", () => !consumer.isPaused(0));
  sink.add = add;
  await forwarder.handleBatch(batch(0, 0, 3), control);
  assert.equal(forwarder.openJobs(), 1);
  assert.equal(sink.jobs.size, 1, "the range found its job by id");
});

test("a job completing while the ingestor drains is committed, but its partition is not resumed", async () => {
  const { consumer, sink, forwarder, control, committedEvents } = await setup();
  await forwarder.handleBatch(batch(0, 0, 3), control);
  const draining = forwarder.drain(10_000);
  await completeAll(sink, forwarder);
  assert.equal(await ticking(draining), 0);
  assert.deepEqual(consumer.commits, ["0@3"]);
  assert.deepEqual(committedEvents, ["0@3"]);
  assert.ok(consumer.isPaused(0), "not resumed while stopping");
});

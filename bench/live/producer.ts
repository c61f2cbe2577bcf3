// The open-loop producer of `bench:live`: sends are scheduled by the clock, not by the previous
// send's acknowledgement. Event i of a run at `rate` events/s is due i x 1000 / rate ms after
// the start; every tick hands kafkajs the events due by then, in sends of at most 5,000, keeping
// at most `maxInFlight` sends unacknowledged; what does not fit waits for the next tick and counts
// as the producer falling behind. Each message's Kafka timestamp is its scheduled time, so a late
// send adds to the measured end-to-end latency instead of hiding it.
import type { Kafka } from "kafkajs";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { producerOf } from "../lib/services.js";
import { articleSampler } from "../lib/zipf.js";

/** An event handed to kafkajs later than this after its scheduled time: the producer fell behind. */
export const BEHIND_THRESHOLD_MS = 250;
const MAX_BATCH = 5000;

/**
 * How many events are due `elapsedMs` after the start: those scheduled at or before it, i.e.
 * floor(rate x elapsed) + 1 (event 0 is due at once), never more than the run's total.
 */
export function dueBy(elapsedMs: number, rate: number, total: number): number {
  if (elapsedMs < 0) return 0;
  // The relative epsilon keeps an event due at its exact scheduled time (i x 1000 / rate ms),
  // which float rounding may put a hair before i.
  return Math.min(total, Math.floor(((rate * elapsedMs) / 1000) * (1 + 1e-12) + 1e-9) + 1);
}

type Spec = { topic: string } & Record<
  "partitions" | "rate" | "seconds" | "articles" | "skew" | "seed" | "maxInFlight" | "tickMs",
  number
>;

/** Produces rate x seconds events; `onStart` runs when the clock starts, with its performance.now(). */
export async function produceOpenLoop(
  kafka: Kafka,
  spec: Spec,
  signal: AbortSignal,
  onStart: (startedAt: number) => void,
) {
  const producer = producerOf(kafka);
  await producer.connect();
  const total = Math.round(spec.rate * spec.seconds);
  const next = articleSampler(spec.articles, spec.skew, spec.seed);
  /** Reads per article id (decimal string) in acknowledged sends. */
  const expected = new Map<string, number>();
  const pending = new Set<Promise<void>>();
  let [handed, acked, failed, maxLateMs, maxOwed] = [0, 0, 0, 0, 0];
  let firstError: string | null = null;
  const startedAt = performance.now();
  const startWallMs = Date.now();
  let lastAckAt = startedAt;
  onStart(startedAt);

  const send = (first: number, n: number) => {
    const aids = Array.from({ length: n }, (_, j) => next(first + j));
    const messages = aids.map((aid, j) => ({
      partition: (first + j) % spec.partitions,
      value: encodeReadEvent(BigInt(aid), BigInt(first + j + 1)),
      timestamp: String(Math.floor(startWallMs + ((first + j) * 1000) / spec.rate)),
    }));
    const p: Promise<void> = producer
      .send({ topic: spec.topic, messages, acks: -1 })
      .then(
        () => {
          acked += n;
          lastAckAt = performance.now();
          for (const aid of aids) expected.set(String(aid), (expected.get(String(aid)) ?? 0) + 1);
        },
        (err: unknown) => {
          failed += n;
          firstError ??= err instanceof Error ? err.message : String(err);
        },
      )
      .finally(() => pending.delete(p));
    pending.add(p);
  };

  try {
    while (handed < total && !signal.aborted) {
      const elapsed = performance.now() - startedAt;
      const due = dueBy(elapsed, spec.rate, total);
      while (handed < due && pending.size < spec.maxInFlight) {
        maxLateMs = Math.max(maxLateMs, elapsed - (handed * 1000) / spec.rate);
        const n = Math.min(due - handed, MAX_BATCH);
        send(handed, n);
        handed += n;
      }
      maxOwed = Math.max(maxOwed, due - handed);
      if (handed >= total) break;
      const nextTick = (Math.floor(elapsed / spec.tickMs) + 1) * spec.tickMs;
      await new Promise((r) => setTimeout(r, Math.max(0, nextTick - (performance.now() - startedAt))));
    }
    // Sends settle in any order: wait for the stragglers a settled one left behind.
    while (pending.size > 0) await Promise.allSettled([...pending]);
  } finally {
    await producer.disconnect().catch(() => {});
  }
  const seconds = (lastAckAt - startedAt) / 1000;
  const figures = {
    planned: total,
    /** Events in acknowledged sends, and in failed ones (which may be in the topic or not). */
    acked,
    failed,
    firstError: firstError as string | null,
    /** The producing period, from the start to the last acknowledgement; acked over it. */
    seconds: Math.round(seconds * 1000) / 1000,
    achievedRate: seconds > 0 ? Math.round(acked / seconds) : 0,
    /** The longest an event waited past its scheduled time; the most events due and not yet sent. */
    maxLateMs: Math.round(maxLateMs),
    maxOwed,
    fellBehind: maxLateMs > BEHIND_THRESHOLD_MS,
  };
  return {
    figures,
    interrupted: signal.aborted,
    startedAt,
    endedAt: lastAckAt,
    expected,
  };
}

export type ProducerFigures = Awaited<ReturnType<typeof produceOpenLoop>>["figures"];

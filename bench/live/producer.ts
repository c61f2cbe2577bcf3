// The open-loop producer: sends are scheduled by the clock, not by the previous send's
// acknowledgement. Every tick it hands kafkajs the events due by then (rate x elapsed), in
// sends of at most MAX_BATCH, keeping at most `maxInFlight` sends unacknowledged; whatever does
// not fit waits for the next tick and is reported as the producer falling behind. Each
// message's Kafka timestamp is its scheduled time, so a late send adds to the measured
// end-to-end latency instead of hiding it.
import { type Kafka, Partitioners } from "kafkajs";
import { encodeReadEvent } from "../../src/tools/read-event-producer.js";
import { articleSampler } from "../peers/zipf.js";
import {
  BEHIND_THRESHOLD_MS,
  dueBy,
  latenessMs,
  nextTickAt,
  planSends,
  ratePerSecond,
  scheduledEndMs,
  scheduledOffsetMs,
  totalEvents,
} from "./schedule.js";

/** Largest single send (messages). At 10 ms ticks a send carries rate/100 events. */
const MAX_BATCH = 5000;

export interface ProduceSpec {
  topic: string;
  partitions: number;
  rate: number;
  seconds: number;
  articles: number;
  skew: number;
  seed: number;
  maxInFlight: number;
  tickMs: number;
}

export interface ProduceResult {
  planned: number;
  /** Events handed to kafkajs. */
  handed: number;
  /** Events in acknowledged sends. */
  acked: number;
  /** Events in sends that failed (they may or may not be in the topic). */
  failed: number;
  firstError: string | null;
  /** Seconds from the start to the last acknowledgement: the producing period. */
  seconds: number;
  /** acked / seconds. */
  achievedRate: number;
  /** The longest an event waited past its scheduled time before it was handed to kafkajs. */
  maxLateMs: number;
  /** Most events due but not yet handed to kafkajs at once. */
  maxOwed: number;
  /** Most sends unacknowledged at once. */
  maxInFlightSeen: number;
  /** Last acknowledgement minus the scheduled end (how long acks trailed the schedule). */
  ackTailMs: number;
  fellBehind: boolean;
  interrupted: boolean;
  /** Wall-clock ms (Date.now()) of the start: event i is scheduled at startWallMs + i x 1000 / rate. */
  startWallMs: number;
  /** performance.now() of the start and of the last acknowledgement. */
  startedAt: number;
  endedAt: number;
  /** Reads per article id (decimal string) in acknowledged sends. */
  expected: Map<string, number>;
}

/** Runs once the producer is connected and the clock starts (performance.now()). */
export type OnStart = (startedAt: number) => void;

export async function produceOpenLoop(
  kafka: Kafka,
  spec: ProduceSpec,
  signal: AbortSignal,
  onStart?: OnStart,
): Promise<ProduceResult> {
  const producer = kafka.producer({
    allowAutoTopicCreation: false,
    createPartitioner: Partitioners.DefaultPartitioner,
  });
  await producer.connect();
  const total = totalEvents(spec.rate, spec.seconds);
  const next = articleSampler(spec.articles, spec.skew, spec.seed);
  const expected = new Map<string, number>();
  const pending = new Set<Promise<void>>();
  let handed = 0;
  let acked = 0;
  let failed = 0;
  let firstError: string | null = null;
  let inFlight = 0;
  let maxInFlightSeen = 0;
  let maxLateMs = 0;
  let maxOwed = 0;
  const startedAt = performance.now();
  const startWallMs = Date.now();
  let lastAckAt = startedAt;
  onStart?.(startedAt);

  const send = (first: number, n: number) => {
    const aids = new Uint32Array(n);
    const messages = Array.from({ length: n }, (_, j) => {
      const i = first + j;
      const aid = next(i);
      aids[j] = aid;
      return {
        partition: i % spec.partitions,
        value: encodeReadEvent(BigInt(aid), BigInt(i + 1)),
        timestamp: String(Math.floor(startWallMs + scheduledOffsetMs(i, spec.rate))),
      };
    });
    inFlight++;
    maxInFlightSeen = Math.max(maxInFlightSeen, inFlight);
    const p: Promise<void> = producer
      .send({ topic: spec.topic, messages, acks: -1 })
      .then(
        () => {
          acked += n;
          lastAckAt = performance.now();
          for (const aid of aids) {
            const key = String(aid);
            expected.set(key, (expected.get(key) ?? 0) + 1);
          }
        },
        (err: unknown) => {
          failed += n;
          firstError ??= err instanceof Error ? err.message : String(err);
        },
      )
      .finally(() => {
        inFlight--;
        pending.delete(p);
      });
    pending.add(p);
  };

  try {
    while (handed < total && !signal.aborted) {
      const elapsed = performance.now() - startedAt;
      const due = dueBy(elapsed, spec.rate, total);
      for (const n of planSends(due - handed, inFlight, spec.maxInFlight, MAX_BATCH)) {
        maxLateMs = Math.max(maxLateMs, latenessMs(handed, spec.rate, elapsed));
        send(handed, n);
        handed += n;
      }
      maxOwed = Math.max(maxOwed, due - handed);
      if (handed >= total) break;
      const wait = nextTickAt(elapsed, spec.tickMs) - (performance.now() - startedAt);
      await new Promise((r) => setTimeout(r, Math.max(0, wait)));
    }
    await Promise.allSettled([...pending]);
    // Sends settle in any order: wait for the stragglers a settled one left behind.
    while (pending.size > 0) await Promise.allSettled([...pending]);
  } finally {
    await producer.disconnect().catch(() => {});
  }
  const seconds = (lastAckAt - startedAt) / 1000;
  return {
    planned: total,
    handed,
    acked,
    failed,
    firstError,
    seconds: Math.round(seconds * 1000) / 1000,
    achievedRate: ratePerSecond(acked, seconds),
    maxLateMs: Math.round(maxLateMs),
    maxOwed,
    maxInFlightSeen,
    ackTailMs: Math.round(lastAckAt - startedAt - scheduledEndMs(total, spec.rate)),
    fellBehind: maxLateMs > BEHIND_THRESHOLD_MS,
    interrupted: signal.aborted,
    startWallMs,
    startedAt,
    endedAt: lastAckAt,
    expected,
  };
}

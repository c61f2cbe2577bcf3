// Processes dead letters: each is validated again. Still invalid: it fails at once (no retries)
// with its reason and stays in the dead-letter queue for a person. Valid now (say after a parser
// fix or a raised MAX_MESSAGE_BYTES): its read is counted exactly once, by dead-letter id, if the
// job applied for its range left the message to the dead-letter queue. Ingestors with different
// MAX_MESSAGE_BYTES may read one range differently; what the first job applied for it decided
// stands, so a message counted as an event is not counted again as a dead letter.
import { DelayedError, type Job, UnrecoverableError, Worker } from "bullmq";
import { cacheKey, type ReadCache } from "../src/cache/read-cache.js";
import type { Config } from "../src/config.js";
import { deadLetterMessage } from "../src/counting/plan-increments.js";
import { parseReadEvent } from "../src/events/parse-read-event.js";
import type { Logger } from "../src/logger.js";
import { type DeadLetterData, deadLetterId, deadLetterValue } from "../src/queue/dead-letter.js";
import type { RedisClient } from "../src/redis/connection.js";
import type { InteractiveStore } from "../src/store/interactives.js";
import { BIZ } from "./apply-read-group.js";

export interface DeadLetterResult {
  aid: string;
  /** Counted now; false when counted before, or when its range's job counted it as an event. */
  counted: boolean;
  /** What the job applied for the message's range made of it. */
  fate: "event" | "dead-letter";
}

/** How long a dead letter whose range is not applied yet waits before it is looked at again. */
const RANGE_WAIT_MS = 10_000;
/** A dead letter still waiting is logged again after this many waits (an hour). */
const WAITS_LOGGED_EVERY = 360;

export function startDeadLetterWorker(
  config: Pick<Config, "DEAD_LETTER_QUEUE" | "QUEUE_PREFIX" | "MAX_MESSAGE_BYTES">,
  connection: RedisClient,
  deps: { store: InteractiveStore; cache: ReadCache },
  log: Logger,
): Worker<DeadLetterData, DeadLetterResult, string> {
  const worker = new Worker<DeadLetterData, DeadLetterResult, string>(
    config.DEAD_LETTER_QUEUE,
    async (job: Job<DeadLetterData, DeadLetterResult, string>, token?: string) => {
      const d = job.data;
      if (d.truncated) throw new UnrecoverableError(`${d.reason} (value truncated to its first bytes)`);
      const parsed = parseReadEvent(deadLetterValue(d), config.MAX_MESSAGE_BYTES);
      if (!parsed.ok) throw new UnrecoverableError(parsed.reason);
      const id = deadLetterId(d);
      const message = deadLetterMessage(id);
      if (message === undefined) throw new UnrecoverableError(`dead letter id ${id} names no message`);
      const fate = d.inJob ? await deps.store.messageFate(message.key, message.offset) : "dead-letter";
      if (fate === "pending") {
        if (job.attemptsStarted % WAITS_LOGGED_EVERY === 1)
          log.warn(
            { deadLetter: id, partition: d.partition, waits: job.attemptsStarted },
            "a valid dead letter waits for its range's job to be applied (its partition held back, or " +
              "read under another KAFKA_TOPIC_INCARNATION?); it shows as delayed until then",
          );
        // Its range's job is not applied yet: look again later, without spending an attempt.
        await job.moveToDelayed(Date.now() + RANGE_WAIT_MS, token);
        throw new DelayedError();
      }
      const aid = parsed.event.aid.toString();
      if (fate === "event") {
        log.info({ deadLetter: id, aid }, "dead letter was counted as an event by its range's job");
        return { aid, counted: false, fate };
      }
      const counted = await deps.store.countDeadLetter(BIZ, parsed.event.aid, id, Date.now());
      // Dropped rather than brought forward: the document's version before this count is not
      // known here. The read path refills the key.
      await deps.cache.drop(cacheKey(BIZ, parsed.event.aid));
      log.info({ deadLetter: id, aid, counted }, "dead letter is valid now");
      return { aid, counted, fate };
    },
    { connection, prefix: config.QUEUE_PREFIX, concurrency: 4 },
  );
  worker.on("failed", (job, err) => {
    if (job === undefined) return;
    log.warn(
      { deadLetter: job.id, partition: job.data?.partition, offset: job.data?.offset, reason: err.message },
      "dead letter",
    );
  });
  worker.on("error", (err) => log.error({ err }, "dead-letter worker error"));
  return worker;
}

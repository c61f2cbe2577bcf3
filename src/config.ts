// The one place configuration is read. Every setting comes from the environment, is validated
// here, and has a default that points at the local services started by `npm run services:up`.
// An invalid value stops the process at start with a message naming the variable and the form.
import { z } from "zod";

type Env = Record<string, string | undefined>;

const hostPort = /^[A-Za-z0-9.\-_[\]:]+:\d{1,5}$/;
const bullName = /^[A-Za-z0-9_-]+$/;

// The messages below are built from the bounds, so a bound and its message cannot disagree.

/**
 * A whole number from `min` to `max`. The message reads "<unit>, <min> to <max>" (e.g.
 * "milliseconds, 1 to 60000"), or "an integer from <min> to <max>" without a unit; a note
 * follows in parentheses.
 */
function int(min: number, max: number, unit?: string, note?: string) {
  const range = unit === undefined ? `an integer from ${min} to ${max}` : `${unit}, ${min} to ${max}`;
  const form = note === undefined ? range : `${range} (${note})`;
  return z
    .string()
    .regex(/^\d+$/, { message: form })
    .transform(Number)
    .pipe(
      z
        .number({ message: form })
        .int({ message: form })
        .min(min, { message: form })
        .max(max, { message: form }),
    );
}

const tcpPort = int(0, 65535, "a TCP port", "0 for any free one");

/**
 * `min` to `max` characters, all matching `each` (a whole-string pattern such as /^[a-z]*$/).
 * The message reads "<form> (<min> to <max> characters)", or "(up to <max> characters)".
 */
function chars(min: number, max: number, each: RegExp, form: string) {
  const length = min === 0 ? `up to ${max} characters` : `${min} to ${max} characters`;
  const message = `${form} (${length})`;
  return z.string().min(min, { message }).max(max, { message }).regex(each, { message });
}

/** A secret of at least `min` characters; `what` names it ("a password"). */
function secret(min: number, what: string) {
  return z.string().min(min, { message: `${what} of at least ${min} characters` });
}

const bool = z
  .enum(["true", "false", "1", "0"], { message: "true or false" })
  .transform((v) => v === "true" || v === "1");

const schema = z.object({
  KAFKA_BROKERS: z
    .string()
    .transform((s) => s.split(",").map((b) => b.trim()))
    .pipe(z.array(z.string().regex(hostPort)).min(1))
    .default(["127.0.0.1:9092"]),
  KAFKA_TOPIC: chars(1, 249, /^[A-Za-z0-9._-]*$/, "a Kafka topic name of [A-Za-z0-9._-]").default(
    "article_read_event",
  ),
  KAFKA_GROUP_ID: z.string().min(1, { message: "a non-empty consumer group id" }).default("interactive"),
  // Names one life of the topic. Marks, job ids and dead-letter ids carry it, so after the topic
  // is deleted and re-created (or moved to another cluster), a new value starts fresh marks
  // instead of taking the new offsets for ones already applied. Empty: the first life.
  KAFKA_TOPIC_INCARNATION: chars(0, 32, /^[A-Za-z0-9_-]*$/, "letters, digits, _ or -").default(""),
  KAFKA_CLIENT_ID: z.string().min(1).default("interactive"),
  KAFKA_FROM_BEGINNING: bool.default(true),
  KAFKA_TOPIC_PARTITIONS: int(1, 10_000).default(6),
  // The fetch wait while some partition is paused (its job open): a partition resumed when its
  // job completed waits for the fetch in flight, so under load this adds directly to latency.
  KAFKA_MAX_WAIT_MS: int(1, 60_000, "milliseconds").default(25),
  // The fetch wait while none of the ingestor's paused partitions is expected back soon: an idle
  // ingestor then asks the broker once a second instead of 40 times, and no message waits longer
  // for it (see kafka/idle-fetch-wait.ts); the longer of the two waits is used. kafkajs sends a
  // heartbeat only between fetches, so one can be this much late: at most KAFKA_HEARTBEAT_MS.
  KAFKA_IDLE_WAIT_MS: int(1, 60_000, "milliseconds").default(1000),
  KAFKA_MAX_BYTES_PER_PARTITION: int(1024, 64 * 1024 * 1024, "bytes").default(4_194_304),
  // The most one fetch answer holds over all partitions (kafkajs's maxBytes; at least the per
  // partition size). Under a backlog, room for six partitions' full fetches keeps their ranges,
  // and so the worker's groups, whole: a partition cut short in one answer needs a round more.
  KAFKA_MAX_BYTES: int(1024, 1024 * 1024 * 1024, "bytes").default(25_165_824),
  // A killed ingestor's partitions move to another one after this long (plus a heartbeat):
  // shorter means faster recovery, but an event loop blocked that long costs a rebalance.
  KAFKA_SESSION_TIMEOUT_MS: int(6000, 300_000, "milliseconds").default(10_000),
  KAFKA_HEARTBEAT_MS: int(100, 60_000, "milliseconds").default(2000),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, { message: "a redis:// or rediss:// URL" })
    .default("redis://127.0.0.1:6379"),
  // REDIS_URL names one node of a Redis Cluster: the queue runs on the cluster (QUEUE_PREFIX must
  // then be a hash tag such as {bull}, so that each queue's keys share a slot, as BullMQ requires).
  REDIS_CLUSTER: bool.default(false),
  // The Redis of the cache hashes (interactive:<biz>:<id>) and the read API, when it is not the
  // queue's: webook's own cache Redis, which may evict. Default: REDIS_URL.
  CACHE_REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, { message: "a redis:// or rediss:// URL" })
    .optional(),
  // CACHE_REDIS_URL names a node of a Redis Cluster. Default: REDIS_CLUSTER when CACHE_REDIS_URL is
  // unset (the cache shares the queue's Redis), else false.
  CACHE_REDIS_CLUSTER: bool.optional(),
  MONGO_URL: z
    .string()
    .regex(/^mongodb(\+srv)?:\/\//, { message: "a mongodb:// or mongodb+srv:// URL" })
    .default("mongodb://127.0.0.1:27017/?directConnection=true"),
  MONGO_DB: chars(1, 63, /^[^/\\. "$]*$/, "a MongoDB database name").default("webook"),
  QUEUE_PREFIX: z
    .string()
    .regex(/^(\{[A-Za-z0-9_-]+\}|[A-Za-z0-9_-]+)$/, {
      message: "letters, digits, _ or -, or those in braces ({bull})",
    })
    .default("bull"),
  WORK_QUEUE: z.string().regex(bullName, { message: "letters, digits, _ or -" }).default("read-events"),
  DEAD_LETTER_QUEUE: z
    .string()
    .regex(bullName, { message: "letters, digits, _ or -" })
    .default("read-events-dead-letter"),
  JOB_MAX_EVENTS: int(1, 100_000).default(100_000),
  MAX_MESSAGE_BYTES: int(64, 16 * 1024 * 1024, "bytes").default(65536),
  GROUP_MAX_JOBS: int(1, 1000).default(32),
  GROUP_MAX_EVENTS: int(1, 1_000_000).default(600_000),
  GROUP_MAX_WAIT_MS: int(0, 60_000, "milliseconds").default(20),
  // Articles whose last written version and marks a worker remembers, to write them without a
  // read first (about 200 bytes each). 0: read before every write.
  WORKER_STATE_CACHE_ARTICLES: int(0, 10_000_000).default(200_000),
  WORKER_CONCURRENCY: int(1, 64, "groups applied at once").default(1),
  // A killed worker's jobs return to the queue within about twice this; a worker whose event loop
  // blocks longer loses its jobs to another (harmless: the marks skip what it applied).
  WORKER_LOCK_MS: int(1000, 600_000, "milliseconds").default(10_000),
  JOB_MAX_STALLS: int(0, 1000).default(3),
  JOB_ATTEMPTS: int(1, 1000).default(8),
  JOB_BACKOFF_MS: int(1, 3_600_000, "milliseconds").default(1000),
  // The ingestor learns that a job completed by finding it completed: a job removed sooner is
  // added again (three times in a row: held back, job-vanished). So completed jobs must outlive a
  // few watcher polls, and the count must exceed the partitions completing at once. A kept job
  // drops its events once completed (queue/applied-events.ts); one whose worker died before
  // that keeps them (about 9 bytes per event): Redis memory stays below about
  // (partitions + this) x JOB_MAX_EVENTS x 9 bytes.
  KEEP_COMPLETED_JOBS: int(10, 1_000_000).default(40),
  KEEP_COMPLETED_SECONDS: int(60, 30 * 86400, "seconds").default(86400),
  CACHE_TTL_SECONDS: int(1, 86400 * 30, "seconds").default(900),
  SHUTDOWN_TIMEOUT_MS: int(100, 600_000, "milliseconds").default(30_000),
  HTTP_HOST: z.string().min(1).default("127.0.0.1"),
  INGESTOR_HTTP_PORT: tcpPort.default(9101),
  WORKER_HTTP_PORT: tcpPort.default(9102),
  DASHBOARD_HOST: z.string().min(1).default("127.0.0.1"),
  DASHBOARD_PORT: tcpPort.default(3000),
  DASHBOARD_USER: z.string().min(1).optional(),
  DASHBOARD_PASSWORD: secret(8, "a password").optional(),
  DASHBOARD_TOKEN: secret(16, "a token").optional(),
  DASHBOARD_READ_ONLY: bool.default(false),
  LOG_LEVEL: z
    .enum(["fatal", "error", "warn", "info", "debug", "trace", "silent"], {
      message: "one of fatal, error, warn, info, debug, trace, silent",
    })
    .default("info"),
  LOG_PRETTY: bool.optional(),
});

export type Config = z.output<typeof schema>;

export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n  ${problems.join("\n  ")}`);
    this.name = "ConfigError";
  }
}

const forms: Partial<Record<keyof Config, string>> = {
  KAFKA_BROKERS: "comma-separated host:port list, e.g. 127.0.0.1:9092,kafka2:9092",
};

/** Parses and validates the configuration; throws ConfigError naming every bad variable. */
export function loadConfig(env: Env = process.env): Config {
  const input: Env = {};
  for (const key of Object.keys(schema.shape)) {
    const value = env[key];
    // An empty variable counts as unset, as in most twelve-factor tooling.
    if (value !== undefined && value !== "") input[key] = value;
  }
  const result = schema.safeParse(input);
  if (result.success) {
    const c = result.data;
    if ((c.DASHBOARD_USER === undefined) !== (c.DASHBOARD_PASSWORD === undefined)) {
      throw new ConfigError(["DASHBOARD_USER and DASHBOARD_PASSWORD: expected both or neither"]);
    }
    if (c.REDIS_CLUSTER && !/^\{.+\}$/.test(c.QUEUE_PREFIX)) {
      throw new ConfigError([
        `QUEUE_PREFIX: expected a hash tag such as {${c.QUEUE_PREFIX}} with REDIS_CLUSTER (BullMQ needs each queue's keys in one slot), got ${JSON.stringify(c.QUEUE_PREFIX)}`,
      ]);
    }
    if (c.KAFKA_HEARTBEAT_MS * 3 > c.KAFKA_SESSION_TIMEOUT_MS) {
      throw new ConfigError([
        `KAFKA_HEARTBEAT_MS: expected at most a third of KAFKA_SESSION_TIMEOUT_MS (${c.KAFKA_SESSION_TIMEOUT_MS}), got ${c.KAFKA_HEARTBEAT_MS}`,
      ]);
    }
    if (c.KAFKA_IDLE_WAIT_MS > c.KAFKA_HEARTBEAT_MS) {
      throw new ConfigError([
        `KAFKA_IDLE_WAIT_MS: expected at most KAFKA_HEARTBEAT_MS (${c.KAFKA_HEARTBEAT_MS}), since heartbeats go out between fetches, got ${c.KAFKA_IDLE_WAIT_MS}`,
      ]);
    }
    return c;
  }
  const problems = result.error.issues.map((issue) => {
    const key = String(issue.path[0]) as keyof Config;
    const got = input[key];
    const form = forms[key] ?? issue.message;
    return `${key}: expected ${form}, got ${JSON.stringify(got)}`;
  });
  throw new ConfigError([...new Set(problems)]);
}

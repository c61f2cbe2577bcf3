import assert from "node:assert/strict";
import { test } from "node:test";
import { ConfigError, loadConfig } from "../src/config.js";

test("defaults point at the local services and the Go system's names", () => {
  const c = loadConfig({});
  assert.deepEqual(c.KAFKA_BROKERS, ["127.0.0.1:9092"]);
  assert.equal(c.KAFKA_TOPIC, "article_read_event");
  assert.equal(c.KAFKA_GROUP_ID, "interactive");
  assert.equal(c.REDIS_URL, "redis://127.0.0.1:6379");
  assert.match(c.MONGO_URL, /^mongodb:\/\/127\.0\.0\.1:27017/);
  assert.equal(c.MONGO_DB, "webook");
});

test("values are parsed into their types; empty counts as unset", () => {
  const c = loadConfig({ KAFKA_BROKERS: "a:1, b:2", JOB_MAX_EVENTS: "500", MONGO_DB: "" });
  assert.deepEqual(c.KAFKA_BROKERS, ["a:1", "b:2"]);
  assert.equal(c.JOB_MAX_EVENTS, 500);
  assert.equal(c.MONGO_DB, "webook");
});

test("every invalid variable is named with the expected form", () => {
  assert.throws(
    () => loadConfig({ KAFKA_BROKERS: "localhost", JOB_MAX_EVENTS: "0", REDIS_URL: "localhost:6379" }),
    (err: unknown) => {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 3);
      assert.match(err.message, /KAFKA_BROKERS: expected comma-separated host:port list.*got "localhost"/);
      assert.match(err.message, /JOB_MAX_EVENTS: expected an integer from 1 to 100000, got "0"/);
      assert.match(err.message, /REDIS_URL: expected a redis:\/\/ or rediss:\/\/ URL/);
      return true;
    },
  );
});

test("settings that would break exactly-once are refused", () => {
  assert.throws(
    () => loadConfig({ KEEP_COMPLETED_JOBS: "0" }),
    /KEEP_COMPLETED_JOBS: expected an integer from 10/,
  );
  assert.throws(
    () => loadConfig({ KEEP_COMPLETED_SECONDS: "0" }),
    /KEEP_COMPLETED_SECONDS: expected seconds, 60/,
  );
  assert.throws(
    () => loadConfig({ KAFKA_SESSION_TIMEOUT_MS: "6000", KAFKA_HEARTBEAT_MS: "3000" }),
    /KAFKA_HEARTBEAT_MS: expected at most a third of KAFKA_SESSION_TIMEOUT_MS/,
  );
  assert.doesNotThrow(() => loadConfig({ KAFKA_IDLE_WAIT_MS: "2000", KAFKA_HEARTBEAT_MS: "2000" }));
  assert.throws(
    () => loadConfig({ KAFKA_IDLE_WAIT_MS: "2001", KAFKA_HEARTBEAT_MS: "2000" }),
    /KAFKA_IDLE_WAIT_MS: expected at most KAFKA_HEARTBEAT_MS \(2000\).*got 2001/,
  );
  assert.throws(() => loadConfig({ KAFKA_TOPIC_INCARNATION: "a:b" }), /KAFKA_TOPIC_INCARNATION/);
});

test("a killed ingestor's partitions move on within 15 s by default", () => {
  const c = loadConfig({});
  assert.ok(c.KAFKA_SESSION_TIMEOUT_MS + c.KAFKA_HEARTBEAT_MS + c.KAFKA_IDLE_WAIT_MS <= 15_000);
});

test("each message states the variable's actual bounds", () => {
  const problem = (env: Record<string, string>): string => {
    try {
      loadConfig(env);
    } catch (err) {
      assert.ok(err instanceof ConfigError);
      assert.equal(err.problems.length, 1);
      return err.problems[0] ?? "";
    }
    assert.fail(`accepted ${JSON.stringify(env)}`);
  };
  const integers = [
    "KAFKA_TOPIC_PARTITIONS",
    "KAFKA_MAX_WAIT_MS",
    "KAFKA_SESSION_TIMEOUT_MS",
    "MAX_MESSAGE_BYTES",
    "JOB_MAX_EVENTS",
    "KEEP_COMPLETED_JOBS",
    "KEEP_COMPLETED_SECONDS",
    "DASHBOARD_PORT",
  ];
  for (const key of integers) {
    // Whatever the input, the message names the range; the range must be the one enforced.
    const range = /(\d+) to (\d+)/.exec(problem({ [key]: "x" }));
    assert.ok(range, `${key}: no range in the message`);
    const [min, max] = [Number(range[1]), Number(range[2])];
    assert.doesNotThrow(() => loadConfig({ [key]: String(min) }), key);
    assert.doesNotThrow(() => loadConfig({ [key]: String(max) }), key);
    assert.match(problem({ [key]: String(max + 1) }), new RegExp(`^${key}: expected .*\\b${max}\\b`));
    if (min > 0) {
      assert.match(problem({ [key]: String(min - 1) }), new RegExp(`^${key}: expected .*\\b${min}\\b`));
    }
  }
  assert.equal(
    problem({ KAFKA_MAX_WAIT_MS: "60001" }),
    'KAFKA_MAX_WAIT_MS: expected milliseconds, 1 to 60000, got "60001"',
  );
  assert.equal(
    problem({ MAX_MESSAGE_BYTES: "16777217" }),
    'MAX_MESSAGE_BYTES: expected bytes, 64 to 16777216, got "16777217"',
  );
  // A number too large for a double still gets the form, not zod's own wording.
  assert.match(
    problem({ JOB_MAX_EVENTS: "9".repeat(400) }),
    /^JOB_MAX_EVENTS: expected an integer from 1 to 100000/,
  );
  // Lengths too.
  assert.doesNotThrow(() => loadConfig({ KAFKA_TOPIC_INCARNATION: "a".repeat(32) }));
  assert.match(problem({ KAFKA_TOPIC_INCARNATION: "a".repeat(33) }), /expected .*up to 32 characters/);
  assert.doesNotThrow(() => loadConfig({ KAFKA_TOPIC: "t".repeat(249) }));
  assert.match(problem({ KAFKA_TOPIC: "t".repeat(250) }), /^KAFKA_TOPIC: expected .*1 to 249 characters/);
  assert.match(
    problem({ DASHBOARD_TOKEN: "t".repeat(15) }),
    /^DASHBOARD_TOKEN: expected .*at least 16 characters/,
  );
  assert.doesNotThrow(() => loadConfig({ DASHBOARD_TOKEN: "t".repeat(16) }));
});

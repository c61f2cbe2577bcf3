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
  assert.throws(() => loadConfig({ KAFKA_TOPIC_INCARNATION: "a:b" }), /KAFKA_TOPIC_INCARNATION/);
});

test("a killed ingestor's partitions move on within 15 s by default", () => {
  const c = loadConfig({});
  assert.ok(c.KAFKA_SESSION_TIMEOUT_MS + c.KAFKA_HEARTBEAT_MS <= 15_000);
});

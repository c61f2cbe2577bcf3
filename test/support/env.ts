// Test helpers: configuration pointing at the services `npm run services:up` started (or the
// external ones named by KAFKA_BROKERS / REDIS_URL / MONGO_URL), with names unique per test so
// test files never see each other's topics, queues or databases.
import { randomBytes } from "node:crypto";
import { type Config, loadConfig } from "../../src/config.js";

export function uniqueName(prefix: string): string {
  return `${prefix}-${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
}

/**
 * The second local Redis, which evicts like a webook cache Redis (`npm run services:up --
 * redis-cache`), or the one CACHE_REDIS_URL names.
 */
export const EVICTING_REDIS_URL = process.env.CACHE_REDIS_URL ?? "redis://127.0.0.1:6380";

/** A node of the local Redis Cluster (`npm run services:up -- redis-cluster`), or REDIS_CLUSTER_URL. */
export const CLUSTER_REDIS_URL = process.env.REDIS_CLUSTER_URL ?? "redis://127.0.0.1:7000";

/**
 * Makes every Config of this test process use the Redis Cluster for the queue and the cache. Call
 * before the test module creates its configuration (then import it dynamically).
 */
export function useRedisCluster(): void {
  process.env.REDIS_URL = CLUSTER_REDIS_URL;
  process.env.REDIS_CLUSTER = "true";
  process.env.QUEUE_PREFIX = "{bull}";
  delete process.env.CACHE_REDIS_URL;
  delete process.env.CACHE_REDIS_CLUSTER;
}

/** A Config for one test: its own topic, group, queues and database. */
export function testConfig(overrides: Record<string, string> = {}): Config {
  const id = uniqueName("t");
  return loadConfig({
    ...process.env,
    KAFKA_TOPIC: `${id}-reads`,
    KAFKA_GROUP_ID: `${id}-group`,
    WORK_QUEUE: `${id}-work`,
    DEAD_LETTER_QUEUE: `${id}-dead`,
    MONGO_DB: id.replace(/-/g, "_"),
    LOG_LEVEL: process.env.LOG_LEVEL ?? "silent",
    INGESTOR_HTTP_PORT: "0",
    WORKER_HTTP_PORT: "0",
    DASHBOARD_PORT: "0",
    ...overrides,
  });
}

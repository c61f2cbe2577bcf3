// Redis connections, to a single Redis or to a Redis Cluster (REDIS_CLUSTER / CACHE_REDIS_CLUSTER:
// the URL then names one node to discover the cluster from). Two kinds: commands that must fail
// fast when Redis is away (the caller decides what to do), and BullMQ's blocking consumers, which
// retry forever.
import { Cluster, Redis, type RedisOptions } from "ioredis";
import type { Config } from "../config.js";

export type RedisClient = Redis | Cluster;

const COMMAND: RedisOptions = { maxRetriesPerRequest: 3, enableOfflineQueue: true };
const BLOCKING: RedisOptions = { maxRetriesPerRequest: null, enableReadyCheck: true };

export function connect(url: string, cluster: boolean, options: RedisOptions): RedisClient {
  if (!cluster) return new Redis(url, options);
  const u = new URL(url);
  const redisOptions: RedisOptions = {
    ...options,
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    ...(u.protocol === "rediss:" ? { tls: {} } : {}),
  };
  return new Cluster([{ host: u.hostname, port: Number(u.port || 6379) }], {
    redisOptions,
    ...(options.enableOfflineQueue === undefined ? {} : { enableOfflineQueue: options.enableOfflineQueue }),
  });
}

/** The queue's Redis, for commands (adding jobs, reading their state, Bull Board, status). */
export function commandConnection(config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER">): RedisClient {
  return connect(config.REDIS_URL, config.REDIS_CLUSTER, COMMAND);
}

/** The queue's Redis, for BullMQ's blocking consumers (Worker, QueueEvents). */
export function blockingConnection(config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER">): RedisClient {
  return connect(config.REDIS_URL, config.REDIS_CLUSTER, BLOCKING);
}

/**
 * The cache's Redis (CACHE_REDIS_URL, else the queue's). Commands fail fast when it is away.
 * A cluster when CACHE_REDIS_CLUSTER says so, or, without CACHE_REDIS_URL, when the queue's is one.
 */
export function cacheConnection(
  config: Pick<Config, "REDIS_URL" | "REDIS_CLUSTER" | "CACHE_REDIS_URL" | "CACHE_REDIS_CLUSTER">,
): RedisClient {
  const url = config.CACHE_REDIS_URL ?? config.REDIS_URL;
  const cluster =
    config.CACHE_REDIS_CLUSTER ?? (config.CACHE_REDIS_URL === undefined && config.REDIS_CLUSTER);
  // Named, so that CLIENT LIST shows which connections are the cache's.
  return connect(url, cluster, { ...COMMAND, connectionName: CACHE_CONNECTION_NAME });
}

export const CACHE_CONNECTION_NAME = "interactive-cache";

/** The masters of a cluster, or the one Redis: where per-server questions (INFO) must go. */
export function servers(client: RedisClient): Redis[] {
  return client instanceof Cluster ? client.nodes("master") : [client];
}

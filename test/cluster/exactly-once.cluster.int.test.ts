// The exactly-once tests (kill -9, rebalances, manual retries, a held-back partition, MongoDB
// restarts) with the queue and the cache on a Redis Cluster (three masters).
import { useRedisCluster } from "../support/env.js";

useRedisCluster();
await import("../pipeline/exactly-once.int.test.js");

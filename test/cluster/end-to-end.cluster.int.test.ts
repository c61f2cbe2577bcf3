// The end-to-end test with the queue and the cache on a Redis Cluster (three masters): BullMQ
// under a hash-tagged prefix, the cache script called once per hash slot.
import { useRedisCluster } from "../support/env.js";

useRedisCluster();
await import("../pipeline/end-to-end.int.test.js");

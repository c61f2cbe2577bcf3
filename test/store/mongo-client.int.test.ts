// The installed driver's pools take the check period connectMongo sets (see its header), and the
// client it returns works.
import assert from "node:assert/strict";
import { test } from "node:test";
import type { MongoClient } from "mongodb";
import { connectMongo, POOL_CHECK_MS } from "../../src/store/mongo-client.js";
import { testConfig } from "../support/env.js";

interface PoolView {
  options: { minPoolSizeCheckFrequencyMS: number };
}

/** Each server's connection pool: driver internals, the ones connectMongo relies on. */
function pools(client: MongoClient): PoolView[] {
  const { topology } = client as unknown as {
    topology?: { s: { servers: Map<string, { pool: PoolView }> } };
  };
  assert.ok(topology, "the connected client has a topology");
  return [...topology.s.servers.values()].map((s) => s.pool);
}

test("every connection pool checks itself every POOL_CHECK_MS, not every 100 ms", async () => {
  const config = testConfig();
  const client = await connectMongo(config.MONGO_URL);
  try {
    await client.db(config.MONGO_DB).command({ ping: 1 });
    const found = pools(client);
    assert.ok(found.length > 0);
    for (const pool of found) assert.equal(pool.options.minPoolSizeCheckFrequencyMS, POOL_CHECK_MS);
  } finally {
    await client.close();
  }
});

// The MongoDB client of the long-running processes (worker, dashboard).
//
// The driver's connection pool wakes every `minPoolSizeCheckFrequencyMS` (100 ms by default) to
// top the pool up to minPoolSize and prune connections that perished. That is 600 wake-ups a
// minute, about a third of an idle worker's CPU time (measured: 0.49 s a minute with it, 0.31 s
// with a 5 s period). The pool also prunes when a connection is checked out or in, and with
// minPoolSize 0 (the default) there is nothing to top up, so a 5 s period changes nothing else;
// a minPoolSize set in the URL grows by one connection every 5 s instead of every 100 ms.
//
// MongoClient's options do not accept the setting (the driver keeps it for its own tests), but
// the pool takes it from the client's parsed options, which connect() hands to each server's
// pool: it is set there, before connecting. test/store/mongo-client.int.test.ts checks that the
// installed driver's pools still take it.
import { MongoClient } from "mongodb";

export const POOL_CHECK_MS = 5000;

export async function connectMongo(url: string): Promise<MongoClient> {
  const client = new MongoClient(url);
  Object.assign(client.options, { minPoolSizeCheckFrequencyMS: POOL_CHECK_MS });
  return client.connect();
}

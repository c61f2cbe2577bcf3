// A completed read job keeps its range and drops its events (drop-applied-events.lua), so the
// queue's memory is bounded by the jobs still open, not by KEEP_COMPLETED_JOBS full jobs.
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import type { RedisClient } from "../redis/connection.js";
import { type ReadJobData, withoutEvents } from "./read-job.js";

const dropAppliedEventsLua = readFileSync(new URL("./drop-applied-events.lua", import.meta.url), "utf8");

interface WithScript {
  dropAppliedEvents(jobKey: string, ...args: string[]): Promise<number>;
}

/** A completion as BullMQ reports it to the worker that made it. */
export interface Completion {
  id: string;
  finishedOn: number;
  returnvalue: unknown;
  data: ReadJobData;
}

/**
 * Drops the completed job's events unless it was retried, replaced, edited or finished again
 * since. `toKey` names the queue's keys (a BullMQ Worker's or Queue's). True when it dropped them.
 */
export async function dropAppliedEvents(
  redis: RedisClient,
  toKey: (type: string) => string,
  done: Completion,
): Promise<boolean> {
  if (!("dropAppliedEvents" in redis))
    redis.defineCommand("dropAppliedEvents", { numberOfKeys: 1, lua: dropAppliedEventsLua });
  const dropped = await (redis as unknown as WithScript).dropAppliedEvents(
    toKey(done.id),
    String(done.finishedOn),
    JSON.stringify(done.returnvalue),
    // BullMQ stores JSON.stringify(data), and the worker's data is its JSON.parse: so this is
    // the stored string's digest unless someone has written the data since.
    createHash("sha1").update(JSON.stringify(done.data)).digest("hex"),
    JSON.stringify(withoutEvents(done.data)),
  );
  return dropped === 1;
}

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

/**
 * SHA-1 (hex) of a job's data as BullMQ stores it. A worker reads the stored string and
 * JSON.parses it, so the digest of its copy is the stored string's: a completed job's return value
 * names the data its worker applied by it (ReadJobResult.dataSha1).
 */
export function dataDigest(data: unknown): string {
  return createHash("sha1").update(JSON.stringify(data)).digest("hex");
}

/** The digest of the data applied that a completed read job's return value names, if any. */
function appliedDigest(returnvalue: unknown): string | undefined {
  if (typeof returnvalue !== "object" || returnvalue === null) return undefined;
  const { dataSha1 } = returnvalue as Record<string, unknown>;
  return typeof dataSha1 === "string" ? dataSha1 : undefined;
}

/** A completion as BullMQ reports it, with the job's data as the caller read it. */
export interface Completion {
  id: string;
  finishedOn: number;
  returnvalue: unknown;
  data: ReadJobData;
}

/**
 * Drops the completed job's events, only when `data` and the stored data are the data its worker
 * applied (the digest its return value names), and only while the job still records that
 * completion: a job retried, replaced, edited or finished again since keeps its data, and so does
 * one whose return value names no digest. `toKey` names the queue's keys (a BullMQ Worker's or
 * Queue's). True when the stored data was replaced.
 */
export async function dropAppliedEvents(
  redis: RedisClient,
  toKey: (type: string) => string,
  done: Completion,
): Promise<boolean> {
  const applied = appliedDigest(done.returnvalue);
  if (applied === undefined || dataDigest(done.data) !== applied) return false;
  if (!("dropAppliedEvents" in redis))
    redis.defineCommand("dropAppliedEvents", { numberOfKeys: 1, lua: dropAppliedEventsLua });
  const dropped = await (redis as unknown as WithScript).dropAppliedEvents(
    toKey(done.id),
    String(done.finishedOn),
    JSON.stringify(done.returnvalue),
    applied,
    JSON.stringify(withoutEvents(done.data)),
  );
  return dropped === 1;
}

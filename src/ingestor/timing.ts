// How long the ingestor's forwarder waits: polls, retries with backoff, repeated logs.
import type { Logger } from "../logger.js";

export interface ForwarderTiming {
  /** How often a watcher looks at its job when no event woke it. */
  pollMs: number;
  /** First and longest wait after an error (doubling in between). */
  retryMinMs: number;
  retryMaxMs: number;
  /** How often a held-back partition (or a repeated error) is logged again. */
  repeatLogMs: number;
  /** A job found missing this many times in a row counts as held back. */
  vanishedLimit: number;
  /** How long a watch waits for a completed job's events to be dropped before it commits anyway. */
  dropWaitMs: number;
}

export const DEFAULT_TIMING: ForwarderTiming = {
  pollMs: 1000,
  retryMinMs: 100,
  retryMaxMs: 5000,
  repeatLogMs: 60_000,
  vanishedLimit: 3,
  dropWaitMs: 1000,
};

/**
 * Sleeps `ms` on the global setTimeout, which node:test's mock timers replace, so the forwarder's
 * tests run its waits on fake time. (A setTimeout imported from node:timers/promises into an ES
 * module is bound at load and stays real under Node 20's mock timers.)
 */
export function wait(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Exponential backoff for a repeated error, logging it once per repeatLogMs. */
export class Backoff {
  private delay = 0;
  private lastLog = 0;

  constructor(private readonly timing: ForwarderTiming) {}

  next(): number {
    this.delay = this.delay === 0 ? this.timing.retryMinMs : Math.min(this.delay * 2, this.timing.retryMaxMs);
    return this.delay;
  }

  reset(): void {
    this.delay = 0;
  }

  note(err: unknown, log: Logger, fields: Record<string, unknown>, msg: string): void {
    if (this.delay !== 0 && Date.now() - this.lastLog < this.timing.repeatLogMs) return;
    this.lastLog = Date.now();
    log.warn({ ...fields, err }, msg);
  }
}

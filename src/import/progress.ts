// How the importer shows progress: a one-line bar on stderr for a person at a terminal, a pino
// line every few seconds otherwise (CI, a log file), or nothing (tests pass their own).
import type { Logger } from "../logger.js";

export interface ProgressReporter {
  /** `total`: rows to read, when known. */
  start(total: number | undefined): void;
  update(done: number): void;
  finish(): void;
}

export const silentProgress: ProgressReporter = { start() {}, update() {}, finish() {} };

const fmt = new Intl.NumberFormat("en-US");

function duration(seconds: number): string {
  if (!Number.isFinite(seconds)) return "?";
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  return m < 60
    ? `${m}m${String(s % 60).padStart(2, "0")}s`
    : `${Math.floor(m / 60)}h${String(m % 60).padStart(2, "0")}m`;
}

/** `[#########.....] 45% 90,000/200,000 rows 4,512 rows/s ETA 24s` (no bar when total unknown). */
export function formatProgress(
  done: number,
  total: number | undefined,
  elapsedMs: number,
  width = 30,
): string {
  const rate = elapsedMs > 0 ? done / (elapsedMs / 1000) : 0;
  const rateText = `${fmt.format(Math.round(rate))} rows/s`;
  if (total === undefined || total <= 0) return `${fmt.format(done)} rows ${rateText}`;
  const ratio = Math.min(1, done / total);
  const filled = Math.round(ratio * width);
  const eta = rate > 0 ? duration(Math.max(0, total - done) / rate) : "?";
  return (
    `[${"#".repeat(filled)}${".".repeat(width - filled)}] ${Math.floor(ratio * 100)}% ` +
    `${fmt.format(done)}/${fmt.format(total)} rows ${rateText} ETA ${eta}`
  );
}

/** Redraws one line in place, at most every `everyMs`. */
export class TtyProgress implements ProgressReporter {
  private total: number | undefined;
  private started = 0;
  private last = 0;
  private done = 0;

  constructor(
    private readonly out: NodeJS.WritableStream,
    private readonly everyMs = 100,
  ) {}

  start(total: number | undefined): void {
    this.total = total;
    this.started = performance.now();
    this.draw();
  }

  update(done: number): void {
    this.done = done;
    const now = performance.now();
    if (now - this.last >= this.everyMs) this.draw();
  }

  finish(): void {
    this.draw();
    this.out.write("\n");
  }

  private draw(): void {
    this.last = performance.now();
    // \x1b[K clears what a longer previous line left at the end.
    this.out.write(`\r${formatProgress(this.done, this.total, this.last - this.started)}\x1b[K`);
  }
}

/** Logs the progress every `everyMs` (and at the end) when nobody watches a terminal. */
export class LogProgress implements ProgressReporter {
  private total: number | undefined;
  private started = 0;
  private last = 0;
  private done = 0;

  constructor(
    private readonly log: Logger,
    private readonly everyMs = 5000,
  ) {}

  start(total: number | undefined): void {
    this.total = total;
    this.started = performance.now();
    this.last = this.started;
  }

  update(done: number): void {
    this.done = done;
    const now = performance.now();
    if (now - this.last < this.everyMs) return;
    this.last = now;
    this.log.info({ rows: done, total: this.total }, formatProgress(done, this.total, now - this.started));
  }

  finish(): void {
    this.log.info(
      { rows: this.done, total: this.total },
      formatProgress(this.done, this.total, performance.now() - this.started),
    );
  }
}

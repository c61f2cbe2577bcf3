// Watches the services a process depends on. Each is asked every intervalMs and must answer
// within timeoutMs: one that refuses shows at once, one that hangs (accepts connections but never
// answers: a paused process, a frozen VM, a full disk) shows after timeoutMs. Each change is
// logged once when it happens, /readyz reports the current state with the reason and since when,
// and interactive_dependency_up{dependency} carries it to the alerts.
import { Gauge, type Registry } from "prom-client";
import type { Logger } from "../logger.js";

export interface WatchTiming {
  intervalMs: number;
  timeoutMs: number;
  /** After the start, how long a dependency that has not answered yet is not logged as down. */
  startupGraceMs: number;
}

const DEFAULT_TIMING: WatchTiming = { intervalMs: 2000, timeoutMs: 2000, startupGraceMs: 30_000 };

/** A dependency's check: resolves when it answers, rejects (or never settles) when it does not. */
export type Check = () => Promise<unknown>;

interface State {
  /** undefined until the first answer (or timeout). */
  up: boolean | undefined;
  reason: string;
  since: number;
  /** When the check still waiting for its answer was sent. */
  askedAt: number | undefined;
  /** "dependency not answering" was logged and "answers again" was not yet. */
  reported: boolean;
}

export class DependencyWatch {
  private readonly states = new Map<string, State>();
  private readonly timer: NodeJS.Timeout;
  private readonly startedAt = Date.now();

  constructor(
    private readonly checks: Readonly<Record<string, Check>>,
    private readonly log: Logger,
    registry: Registry,
    private readonly timing: WatchTiming = DEFAULT_TIMING,
  ) {
    for (const name of Object.keys(checks)) {
      this.states.set(name, {
        up: undefined,
        reason: "not checked yet",
        since: this.startedAt,
        askedAt: undefined,
        reported: false,
      });
    }
    const states = this.states;
    new Gauge({
      name: "interactive_dependency_up",
      help: `1 while a dependency answers its check (within ${timing.timeoutMs} ms), else 0`,
      labelNames: ["dependency"],
      registers: [registry],
      collect() {
        for (const [dependency, s] of states) this.set({ dependency }, s.up === true ? 1 : 0);
      },
    });
    for (const name of this.states.keys()) this.ask(name);
    this.timer = setInterval(() => {
      for (const name of this.states.keys()) this.ask(name);
    }, timing.intervalMs);
    this.timer.unref();
  }

  /** Resolves when every dependency answered its latest check; else rejects naming those that did not. */
  async ready(): Promise<void> {
    const now = Date.now();
    const down = [...this.states]
      .filter(([, s]) => s.up !== true)
      .map(([name, s]) => `${name}: ${s.reason} (for ${Math.round((now - s.since) / 1000)} s)`);
    if (down.length > 0) throw new Error(down.join("; "));
  }

  stop(): void {
    clearInterval(this.timer);
  }

  private ask(name: string): void {
    const s = this.states.get(name);
    const check = this.checks[name];
    if (s === undefined || check === undefined) return;
    if (s.askedAt !== undefined) {
      // The last check has not come back: one at a time, so a hung service is not asked again
      // and again; it was marked down when its answer was timeoutMs late.
      return;
    }
    const askedAt = Date.now();
    s.askedAt = askedAt;
    const late = setTimeout(
      () => this.mark(name, false, `did not answer within ${this.timing.timeoutMs} ms`),
      this.timing.timeoutMs,
    );
    late.unref();
    let answer: Promise<unknown>;
    try {
      answer = check();
    } catch (err) {
      answer = Promise.reject(err);
    }
    answer
      .then(
        () => this.mark(name, true, "answers"),
        (err: unknown) => this.mark(name, false, err instanceof Error ? err.message : String(err)),
      )
      .finally(() => {
        clearTimeout(late);
        if (s.askedAt === askedAt) s.askedAt = undefined;
      });
  }

  private mark(name: string, up: boolean, reason: string): void {
    const s = this.states.get(name);
    if (s === undefined) return;
    const now = Date.now();
    const since = s.since;
    if (s.up !== up) s.since = now;
    s.reason = reason;
    if (up) {
      if (s.reported) this.log.info({ dependency: name, downMs: now - since }, "dependency answers again");
      s.reported = false;
    } else if (!s.reported && (s.up === true || now - this.startedAt >= this.timing.startupGraceMs)) {
      // Logged once: when a dependency that answered stops, or one never answered since the start
      // (a consumer group being joined, a service still starting) after the grace period.
      this.log.error({ dependency: name, reason }, "dependency not answering");
      s.reported = true;
    }
    s.up = up;
  }
}

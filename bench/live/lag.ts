// Consumer lag over a live run: the ingestor's interactive_consumer_lag gauge summed over its
// partitions, sampled while producing; whether it stayed bounded or kept growing. Pure.
import { parsePrometheusSeries } from "../peers/measure.js";

export const LAG_METRIC = "interactive_consumer_lag";

/** Sum of every sample of `name` in a Prometheus text, or undefined when it has none. */
export function sumMetric(text: string, name: string): number | undefined {
  let total: number | undefined;
  for (const s of parsePrometheusSeries(text)) {
    if (s.name === name) total = (total ?? 0) + s.value;
  }
  return total;
}

export interface LagSample {
  /** Seconds since the producing period started. */
  t: number;
  /** Messages behind, summed over the partitions. */
  lag: number;
}

export interface LagVerdict {
  /** True: below one second of production at the end of producing; null: no sample. */
  steady: boolean | null;
  text: string;
}

/** "steady" when the lag at the end of producing is below one second of production. */
export function lagVerdict(lagAtEnd: number | undefined, rate: number): LagVerdict {
  if (lagAtEnd === undefined) return { steady: null, text: "unknown (no lag sample at the end)" };
  if (lagAtEnd < rate) return { steady: true, text: "steady" };
  return {
    steady: false,
    text: `growing (${Math.round(lagAtEnd).toLocaleString("en-US")} messages behind at the end)`,
  };
}

/** Least-squares slope of lag over time, messages per second; undefined under 2 distinct times. */
export function lagSlope(samples: readonly LagSample[]): number | undefined {
  const n = samples.length;
  if (n < 2) return undefined;
  const meanT = samples.reduce((a, s) => a + s.t, 0) / n;
  const meanL = samples.reduce((a, s) => a + s.lag, 0) / n;
  let num = 0;
  let den = 0;
  for (const s of samples) {
    num += (s.t - meanT) * (s.lag - meanL);
    den += (s.t - meanT) ** 2;
  }
  return den > 0 ? num / den : undefined;
}

/** The samples taken in the second half of the producing period: where a growing lag shows. */
export function secondHalf(samples: readonly LagSample[], producingSeconds: number): LagSample[] {
  return samples.filter((s) => s.t >= producingSeconds / 2 && s.t <= producingSeconds);
}

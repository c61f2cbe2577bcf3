// Quantiles of a Prometheus histogram from its cumulative buckets. A bucket histogram knows
// only which bucket a quantile falls in, so a quantile is reported as that bucket's bounds
// ("<= 0.05 s", "in (1, 2.5] s", "> 300 s"), never as an interpolated value. Pure.
import type { PrometheusSample } from "../peers/measure.js";

interface CumulativeBucket {
  /** Upper bound in the metric's unit; Infinity for the `+Inf` bucket. */
  le: number;
  /** Observations at or below `le` (cumulative, as Prometheus exposes them). */
  count: number;
}

export interface BucketHistogram {
  /** Sorted by `le`, ending with the `+Inf` bucket. */
  buckets: CumulativeBucket[];
  sum: number;
  count: number;
}

/** The bucket a quantile falls in: (lower, upper]; lower null for the first, upper Infinity for +Inf. */
export interface BucketBound {
  lower: number | null;
  upper: number;
}

function parseLe(raw: string | undefined): number | undefined {
  if (raw === undefined) return undefined;
  if (raw === "+Inf" || raw === "Inf") return Number.POSITIVE_INFINITY;
  const n = Number(raw);
  return Number.isFinite(n) ? n : undefined;
}

/**
 * The histogram `name` (its `_bucket`, `_sum` and `_count` samples) summed over all its label
 * sets; undefined when the text has no bucket of it.
 */
export function histogramFromSamples(
  samples: readonly PrometheusSample[],
  name: string,
): BucketHistogram | undefined {
  const byLe = new Map<number, number>();
  let sum = 0;
  let count: number | undefined;
  for (const s of samples) {
    if (s.name === `${name}_bucket`) {
      const le = parseLe(s.labels.le);
      if (le !== undefined) byLe.set(le, (byLe.get(le) ?? 0) + s.value);
    } else if (s.name === `${name}_sum`) sum += s.value;
    else if (s.name === `${name}_count`) count = (count ?? 0) + s.value;
  }
  if (byLe.size === 0) return undefined;
  const total = count ?? byLe.get(Number.POSITIVE_INFINITY) ?? 0;
  if (!byLe.has(Number.POSITIVE_INFINITY)) byLe.set(Number.POSITIVE_INFINITY, total);
  const buckets = [...byLe].map(([le, c]) => ({ le, count: c })).sort((a, b) => a.le - b.le);
  return { buckets, sum, count: total };
}

/**
 * The bucket holding the q-quantile (0 < q <= 1) by nearest rank: the first bucket whose
 * cumulative count reaches ceil(q x count). q = 1 gives the bucket of the largest observation.
 * Undefined when the histogram has no observation.
 */
export function quantileBucket(h: BucketHistogram, q: number): BucketBound | undefined {
  if (!(q > 0 && q <= 1)) throw new RangeError(`quantileBucket: q must be in (0, 1], got ${q}`);
  if (h.count <= 0 || h.buckets.length === 0) return undefined;
  // The epsilon keeps 0.99 x 100 at rank 99 whatever the float rounding.
  const rank = Math.max(1, Math.ceil(q * h.count - 1e-9));
  let index = h.buckets.findIndex((b) => b.count >= rank);
  if (index === -1) index = h.buckets.length - 1;
  const upper = h.buckets[index]?.le ?? Number.POSITIVE_INFINITY;
  const lower = index === 0 ? null : (h.buckets[index - 1]?.le ?? null);
  return { lower, upper };
}

function formatBoundNumber(n: number): string {
  return String(n);
}

/** "<= 0.05 s" (first bucket), "in (1, 2.5] s", "> 300 s" (the +Inf bucket). */
export function formatBucket(b: BucketBound | undefined, unit = "s"): string {
  if (b === undefined) return "n/a";
  if (b.upper === Number.POSITIVE_INFINITY) {
    return b.lower === null ? `any (no finite bucket)` : `> ${formatBoundNumber(b.lower)} ${unit}`;
  }
  if (b.lower === null) return `<= ${formatBoundNumber(b.upper)} ${unit}`;
  return `in (${formatBoundNumber(b.lower)}, ${formatBoundNumber(b.upper)}] ${unit}`;
}

/** sum / count, or undefined with no observation. */
export function histogramMean(h: BucketHistogram): number | undefined {
  return h.count > 0 ? h.sum / h.count : undefined;
}

/** The buckets as JSON can hold them: `le` as Prometheus writes it ("0.05", "+Inf"). */
export function bucketsForJson(h: BucketHistogram): [le: string, cumulative: number][] {
  return h.buckets.map((b) => [b.le === Number.POSITIVE_INFINITY ? "+Inf" : String(b.le), b.count]);
}

export interface LatencySummary {
  /** Observations: one per job applied. */
  jobs: number;
  p50: BucketBound | undefined;
  p99: BucketBound | undefined;
  max: BucketBound | undefined;
  meanSeconds: number | undefined;
  buckets: [le: string, cumulative: number][];
}

export function summarizeLatency(h: BucketHistogram): LatencySummary {
  return {
    jobs: h.count,
    p50: quantileBucket(h, 0.5),
    p99: quantileBucket(h, 0.99),
    max: quantileBucket(h, 1),
    meanSeconds: histogramMean(h),
    buckets: bucketsForJson(h),
  };
}

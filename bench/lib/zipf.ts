// The benchmarks' article ids: a seeded Zipf(s) over 1..articles (rank k weighs 1/k^s, so
// article 1 is the hottest), drawn by binary search in the CDF; s = 0 is an even round robin.
// Pure, and deterministic for a given seed.

/** mulberry32: a small seeded PRNG of uniform doubles in [0, 1). */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32;
  };
}

/** cdf[k] = P(rank <= k + 1) for Zipf(s) over n ranks; the last entry is exactly 1. */
export function zipfCdf(n: number, s: number): Float64Array {
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`zipfCdf: n must be a positive integer, got ${n}`);
  const cdf = new Float64Array(n);
  let total = 0;
  for (let k = 0; k < n; k++) {
    total += (k + 1) ** -s;
    cdf[k] = total;
  }
  for (let k = 0; k < n; k++) cdf[k] = (cdf[k] ?? 0) / total;
  cdf[n - 1] = 1;
  return cdf;
}

/** The article id (1..articles) of event i; call it for i = 0, 1, 2, ... in order. */
export function articleSampler(articles: number, skew: number, seed: number): (i: number) => number {
  if (skew === 0) return (i) => 1 + (i % articles);
  const cdf = zipfCdf(articles, skew);
  const random = mulberry32(seed);
  return () => {
    // The smallest rank k with u < cdf[k].
    const u = random();
    let lo = 0;
    let hi = cdf.length - 1;
    while (lo < hi) {
      const mid = (lo + hi) >>> 1;
      if (u < (cdf[mid] ?? 1)) hi = mid;
      else lo = mid + 1;
    }
    return 1 + lo;
  };
}

export interface BacklogPlan {
  /** Article id of each event, in produce order. */
  aids: Uint32Array;
  /** Exact reads per article id (decimal string). */
  expected: Map<string, number>;
  /** Sum of all article ids modulo 2^32: what a reader of every event must arrive at. */
  aidChecksum: number;
  /** The article ids with the most reads, hottest first (ties: lower id first). */
  hottest(n: number): string[];
}

export function planBacklog(count: number, articles: number, skew: number, seed: number): BacklogPlan {
  const next = articleSampler(articles, skew, seed);
  const aids = new Uint32Array(count);
  const perArticle = new Map<number, number>();
  let aidChecksum = 0;
  for (let i = 0; i < count; i++) {
    const aid = next(i);
    aids[i] = aid;
    perArticle.set(aid, (perArticle.get(aid) ?? 0) + 1);
    aidChecksum = (aidChecksum + aid) >>> 0;
  }
  const expected = new Map([...perArticle].map(([aid, n]): [string, number] => [String(aid), n]));
  const hottest = (n: number) =>
    [...perArticle]
      .sort((a, b) => b[1] - a[1] || a[0] - b[0])
      .slice(0, n)
      .map(([aid]) => String(aid));
  return { aids, expected, aidChecksum, hottest };
}

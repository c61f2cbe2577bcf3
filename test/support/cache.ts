// The cache key of an article, as the worker and the read API name it (and the Go service does:
// test/cache/cache-key.test.ts holds the literal form).
import { cacheKey } from "../../src/cache/read-cache.js";

export function articleKey(aid: bigint | number | string): string {
  return cacheKey("article", String(aid));
}

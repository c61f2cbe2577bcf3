import assert from "node:assert/strict";
import { test } from "node:test";
import { cacheKey } from "../../src/cache/read-cache.js";

test("cache keys are the Go service's: interactive:<biz>:<biz id in decimal>", () => {
  assert.equal(cacheKey("article", 42n), "interactive:article:42");
  assert.equal(cacheKey("article", 9_223_372_036_854_775_807n), "interactive:article:9223372036854775807");
});

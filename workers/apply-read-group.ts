// Applies one group of read jobs: aggregate per article, read the stored per-partition marks,
// write MongoDB (one unordered bulk of conditional `$inc` upserts), then the Redis cache (one
// round trip: Lua increments where cached, deletes where a replay may have counted already).
import type { ReadCache } from "../src/cache/read-cache.js";
import { cacheKey } from "../src/cache/read-cache.js";
import { type ArticlePlan, aggregateGroup, planIncrements } from "../src/counting/plan-increments.js";
import type { ReadJobData } from "../src/queue/read-job.js";
import type { InteractiveStore } from "../src/store/interactives.js";

export const BIZ = "article";
const MAX_CONFLICT_ROUNDS = 10;

export interface GroupOutcome {
  jobs: number;
  events: number;
  articles: number;
  /** Events added to read_cnt now (fewer than `events` when some were applied before). */
  added: number;
  cacheIncremented: number;
  cacheInvalidated: number;
}

export interface ApplyDeps {
  store: InteractiveStore;
  cache: ReadCache;
  now?: () => number;
}

export async function applyReadGroup(deps: ApplyDeps, jobs: readonly ReadJobData[]): Promise<GroupOutcome> {
  const now = deps.now ?? Date.now;
  const events = aggregateGroup(jobs);
  const applied: ArticlePlan[] = [];
  let todo = [...events.keys()];
  for (let round = 0; todo.length > 0; round++) {
    if (round === MAX_CONFLICT_ROUNDS) {
      throw new Error(
        `marks of ${todo.length} articles kept moving for ${round} rounds (concurrent duplicate work?)`,
      );
    }
    const stored = await deps.store.readState(BIZ, todo);
    const subset = new Map(todo.map((aid) => [aid, events.get(aid) ?? new Map()]));
    const plans = planIncrements(subset, stored);
    const conflicts = await deps.store.applyPlans(BIZ, plans, now());
    for (const plan of plans) if (!conflicts.has(plan.aid)) applied.push(plan);
    // A conflict means another writer changed the document since we read it: re-read, re-plan.
    todo = [...conflicts];
  }

  const increments = new Map<string, number>();
  const invalidate: string[] = [];
  for (const plan of applied) {
    if (plan.replayed) invalidate.push(cacheKey(BIZ, plan.aid));
    else if (plan.delta > 0) increments.set(cacheKey(BIZ, plan.aid), plan.delta);
  }
  const cacheIncremented = await deps.cache.applyReads(increments, invalidate);
  return {
    jobs: jobs.length,
    events: jobs.reduce((n, j) => n + j.events, 0),
    articles: events.size,
    added: applied.reduce((n, p) => n + p.delta, 0),
    cacheIncremented,
    cacheInvalidated: invalidate.length,
  };
}

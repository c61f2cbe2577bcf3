// GET /api/interactive/:biz/:bizId -> {biz, bizId, readCnt, likeCnt, collectCnt}, cache-aside
// as the Go service: the hash interactive:<biz>:<bizId>; on a miss, MongoDB, written back with
// a TTL; a missing row reads as zeros (and is cached as zeros). bizId is a string: int64-exact.
import type { FastifyInstance } from "fastify";
import { cacheKey, type ReadCache } from "../cache/read-cache.js";
import type { Counts, InteractiveStore } from "../store/interactives.js";

const BIZ = /^[a-z][a-z0-9_]{0,31}$/;
const BIZ_ID = /^[1-9]\d{0,18}$/;
const INT64_MAX = 2n ** 63n - 1n;

export interface InteractiveView extends Counts {
  biz: string;
  bizId: string;
}

export function readApi(
  app: FastifyInstance,
  deps: { store: InteractiveStore; cache: ReadCache; ttlSeconds: number },
): void {
  app.get<{ Params: { biz: string; bizId: string } }>("/api/interactive/:biz/:bizId", async (req, reply) => {
    const { biz, bizId } = req.params;
    if (!BIZ.test(biz)) {
      return reply
        .code(400)
        .send({ error: `biz must be lower-case letters, digits or _ (got ${JSON.stringify(biz)})` });
    }
    if (!BIZ_ID.test(bizId) || BigInt(bizId) > INT64_MAX) {
      return reply.code(400).send({
        error: `bizId must be a positive int64 in decimal, 1 to ${INT64_MAX} (got ${JSON.stringify(bizId)})`,
      });
    }
    const key = cacheKey(biz, bizId);
    let counts = await deps.cache.get(key);
    if (counts === null) {
      counts = (await deps.store.find(biz, BigInt(bizId))) ?? { readCnt: 0, likeCnt: 0, collectCnt: 0 };
      await deps.cache.fill(key, counts, deps.ttlSeconds);
    }
    const view: InteractiveView = { biz, bizId, ...counts };
    return view;
  });
}

// GET /api/interactive/:biz/:bizId -> {biz, bizId, readCnt, likeCnt, collectCnt}, cache-aside
// as the Go service: the hash interactive:<biz>:<bizId>; on a miss, MongoDB, written back with
// a TTL and the document's version; a missing row reads as zeros (and is cached as zeros, at
// version 0). bizId is a string: int64-exact.
import type { FastifyInstance } from "fastify";
import { cacheKey, type ReadCache } from "../cache/read-cache.js";
import type { Counts, InteractiveStore, VersionedCounts } from "../store/interactives.js";

const BIZ = /^[a-z][a-z0-9_]{0,31}$/;
const BIZ_ID = /^[1-9]\d{0,18}$/;
const INT64_MAX = 2n ** 63n - 1n;
/** No document: zeros, at version 0 (the version a document's first write starts from). */
const ABSENT: VersionedCounts = { readCnt: 0, likeCnt: 0, collectCnt: 0, version: 0 };

interface InteractiveView extends Counts {
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
    const cached = await deps.cache.get(key);
    if (cached !== null) return { biz, bizId, ...cached } satisfies InteractiveView;
    const { version, ...counts } = (await deps.store.find(biz, BigInt(bizId))) ?? ABSENT;
    if (await deps.cache.fill(key, counts, version, deps.ttlSeconds)) {
      // A write that landed between our read and our fill found no key to bring forward, so the
      // key may hold the document one write behind. Read the version again: moved (or unknown),
      // drop the key. A write after this read finds the key at its version and brings it forward.
      const now = await deps.store.find(biz, BigInt(bizId)).catch(async (err: unknown) => {
        await deps.cache.drop(key);
        throw err;
      });
      if ((now?.version ?? 0) !== version) await deps.cache.drop(key);
    }
    return { biz, bizId, ...counts } satisfies InteractiveView;
  });
}

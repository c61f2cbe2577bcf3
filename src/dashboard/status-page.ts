// The dashboard's status page: /status (status-page.html, which refreshes itself) and the
// /status.json it renders (status/collect-status.ts). Behind the dashboard's auth, like the board.
import { readFileSync } from "node:fs";
import type { FastifyInstance } from "fastify";
import type { Admin } from "kafkajs";
import type { Config } from "../config.js";
import type { DeadLetterQueue, ReadQueue } from "../queue/queues.js";
import type { RedisClient } from "../redis/connection.js";
import { collectStatus } from "../status/collect-status.js";

const page = readFileSync(new URL("./status-page.html", import.meta.url), "utf8");

export function statusPage(
  app: FastifyInstance,
  config: Pick<Config, "KAFKA_TOPIC" | "KAFKA_GROUP_ID" | "QUEUE_PREFIX" | "WORK_QUEUE">,
  queues: { work: ReadQueue; dead: DeadLetterQueue; redis: RedisClient },
  admin: Admin,
): void {
  // Connected at the first request, and again after a failure (the lag then says why it is missing).
  let connecting: Promise<void> | undefined;
  const connect = () => {
    connecting ??= admin.connect().catch((err: unknown) => {
      connecting = undefined;
      throw err;
    });
    return connecting.catch(() => undefined);
  };
  app.get("/status", async (_req, reply) => reply.type("text/html; charset=utf-8").send(page));
  // One collection serves every request of the next 2 s (tabs refresh every 2 s each).
  let recent: { at: number; status: ReturnType<typeof collectStatus> } | undefined;
  const current = () => {
    if (recent === undefined || Date.now() - recent.at > 2000) {
      const status = connect().then(() => collectStatus(config, queues, admin));
      recent = { at: Date.now(), status };
      status.catch(() => {
        if (recent?.status === status) recent = undefined;
      });
    }
    return recent.status;
  };
  app.get("/status.json", async (_req, reply) =>
    reply.header("cache-control", "no-store").send(await current()),
  );
}

// The dashboard process: Bull Board for the work and dead-letter queues at /queues, the status
// page at /status, the read API, and /healthz, /readyz, /metrics, in one Fastify server.
import { createBullBoard } from "@bull-board/api";
import { BullMQAdapter } from "@bull-board/api/bullMQAdapter";
import { FastifyAdapter } from "@bull-board/fastify";
import type { FastifyInstance } from "fastify";
import { logLevel } from "kafkajs";
import { ReadCache } from "../cache/read-cache.js";
import type { Config } from "../config.js";
import { startProbeServer } from "../http/probe-server.js";
import { kafkaClient } from "../kafka/client.js";
import type { Logger } from "../logger.js";
import { createRegistry, queueGauges } from "../metrics/metrics.js";
import { type DeadLetterQueue, openQueues, type ReadQueue } from "../queue/queues.js";
import { queueConnection } from "../queue/redis-policy.js";
import { cacheConnection } from "../redis/connection.js";
import { InteractiveStore } from "../store/interactives.js";
import { connectMongo } from "../store/mongo-client.js";
import { type Credentials, dashboardCredentials, installAuth } from "./auth.js";
import { readApi } from "./read-api.js";
import { statusPage } from "./status-page.js";

const BOARD_PATH = "/queues";

/**
 * Bull Board's "update data" is refused for every job. A read job's data is the events of a Kafka
 * range the ingestor commits once the job completes; a dead letter's is the message itself.
 * Edited, either would count reads Kafka never carried, or lose some it did.
 */
function refuseDataEdits(app: FastifyInstance): void {
  app.addHook("onRequest", async (req, reply) => {
    // The route the request was routed to, not its raw URL (which may spell the path encoded).
    if (req.method === "PATCH" && (req.routeOptions.url ?? "").endsWith("/update-data")) {
      await reply.code(403).send({
        error: "job data cannot be edited here: a job's data is what Kafka holds for its range",
      });
    }
  });
}

/**
 * Bull Board at /queues (and / leads there) for the work and dead-letter queues, job data never
 * editable. In read-only mode (DASHBOARD_READ_ONLY) the board shows the queues and changes nothing:
 * Bull Board answers an action on a queue or a job (retry, promote, clean, pause, add, remove)
 * with 405 before it reaches Redis, and its pause-all and resume-all pass read-only queues by.
 */
async function installBoard(
  app: FastifyInstance,
  { work, dead }: { work: ReadQueue; dead: DeadLetterQueue },
  readOnlyMode: boolean,
): Promise<void> {
  refuseDataEdits(app);
  const board = new FastifyAdapter();
  board.setBasePath(BOARD_PATH);
  createBullBoard({
    queues: [
      new BullMQAdapter(work, {
        readOnlyMode,
        allowRetries: !readOnlyMode,
        displayName: "read events",
        description: "Jobs of Kafka offset ranges; a failed one holds its partition back until retried",
      }),
      new BullMQAdapter(dead, {
        readOnlyMode,
        allowRetries: !readOnlyMode,
        displayName: "dead letters",
        description:
          "Messages that are not valid ReadEvents; a retry validates again and counts a valid one once",
      }),
    ],
    serverAdapter: board,
    options: { uiConfig: { boardTitle: "interactive reads" } },
  });
  await app.register(board.registerPlugin(), { prefix: BOARD_PATH });
  app.get("/", async (_req, reply) => reply.redirect(BOARD_PATH));
}

/**
 * The dashboard's part of its probe app: the auth hook, the board, then the routes `more` adds
 * (the status page and the read API). The auth hook comes first so that a request without
 * credentials is answered 401 before any other hook (the refusal of data edits) says anything.
 */
export function dashboardSetup(
  o: {
    credentials: Credentials;
    queues: { work: ReadQueue; dead: DeadLetterQueue };
    readOnlyMode: boolean;
    log: Logger;
  },
  more: (app: FastifyInstance) => void,
): (app: FastifyInstance) => Promise<void> {
  return async (app) => {
    const auth = installAuth(app, o.credentials);
    await installBoard(app, o.queues, o.readOnlyMode);
    more(app);
    o.log.info({ auth, readOnly: o.readOnlyMode }, "dashboard configured");
  };
}

export interface Dashboard {
  url: string;
  stop(): Promise<void>;
}

export async function startDashboard(config: Config, log: Logger): Promise<Dashboard> {
  const credentials = dashboardCredentials(config); // before connecting anything
  const redis = await queueConnection(config);
  const cacheRedis = cacheConnection(config);
  const mongo = await connectMongo(config.MONGO_URL);
  const store = new InteractiveStore(mongo.db(config.MONGO_DB));
  const cache = new ReadCache(cacheRedis);
  const { work, dead } = openQueues(config, redis);
  // For the status page's lag (connected by its first request: a broker away does not keep the
  // board from starting).
  const admin = kafkaClient({
    clientId: "dashboard",
    brokers: config.KAFKA_BROKERS,
    logLevel: logLevel.NOTHING,
  }).admin();
  const registry = createRegistry("dashboard");
  queueGauges(registry, [work, dead]);

  const closeAll = async () => {
    await admin.disconnect().catch(() => undefined);
    await work.close();
    await dead.close();
    await mongo.close();
    redis.disconnect();
    cacheRedis.disconnect();
  };
  const app = await startProbeServer({
    host: config.DASHBOARD_HOST,
    port: config.DASHBOARD_PORT,
    log,
    registry,
    dependencies: {
      redis: () => redis.ping(),
      cacheRedis: () => cacheRedis.ping(),
      mongodb: () => mongo.db("admin").command({ ping: 1 }),
    },
    setup: dashboardSetup(
      { credentials, queues: { work, dead }, readOnlyMode: config.DASHBOARD_READ_ONLY, log },
      (app) => {
        statusPage(app, config, { work, dead, redis }, admin);
        readApi(app, { store, cache, ttlSeconds: config.CACHE_TTL_SECONDS });
      },
    ),
  }).catch(async (err: unknown) => {
    await closeAll();
    throw err;
  });
  const address = app.server.address();
  const port = typeof address === "object" && address ? address.port : config.DASHBOARD_PORT;
  const url = `http://${config.DASHBOARD_HOST.includes(":") ? `[${config.DASHBOARD_HOST}]` : config.DASHBOARD_HOST}:${port}`;
  log.info({ board: `${url}${BOARD_PATH}` }, "dashboard running");
  return {
    url,
    async stop() {
      await app.close();
      await closeAll();
    },
  };
}

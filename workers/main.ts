// `npm run worker`: one worker process (BullMQ -> Redis cache + MongoDB). Run as many as needed,
// on any machines; BullMQ shares the jobs.
import { runProcess } from "../src/main/run-process.js";
import { startWorkerProcess } from "./worker.js";

await runProcess("worker", (config, log) => startWorkerProcess(config, log));

// The pipeline's worker and ingestor started inside the test process (the child-process way is
// startChild in pipeline.ts), for tests that look at them through their own objects.
import type { Config } from "../../src/config.js";
import { startIngestor } from "../../src/ingestor/ingestor.js";
import type { Logger } from "../../src/logger.js";
import { startWorkerProcess } from "../../workers/worker.js";

/**
 * Starts a worker, then an ingestor (whose first jobs then find a worker). Their stops are pushed
 * onto `stops`, for the caller to run in reverse order.
 */
export async function startPipeline(
  config: Config,
  log: Logger,
  stops: (() => Promise<void>)[],
): Promise<void> {
  const worker = await startWorkerProcess(config, log);
  stops.push(() => worker.stop());
  const ingestor = await startIngestor(config, log, (err) => {
    throw err;
  });
  stops.push(() => ingestor.stop());
}

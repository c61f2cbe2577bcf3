// `npm run ingestor`: one ingestor process (Kafka -> BullMQ). Run as many as there are
// partitions to share; Kafka's consumer group divides them.
import { startIngestor } from "../ingestor/ingestor.js";
import { runProcess } from "./run-process.js";

await runProcess("ingestor", (config, log) =>
  startIngestor(config, log, () => {
    // Kafka offsets are committed only for completed jobs: exiting loses nothing.
    process.exit(1);
  }),
);

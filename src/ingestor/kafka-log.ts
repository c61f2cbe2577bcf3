// Routes kafkajs's own log lines into pino, as a child logger of the ingestor.
import { type LogEntry, logLevel } from "kafkajs";
import type { Logger } from "../logger.js";

export function kafkaLogCreator(log: Logger) {
  const child = log.child({ component: "kafkajs" });
  return () =>
    ({ namespace, level, log: entry }: LogEntry) => {
      const { message, timestamp: _timestamp, logger: _logger, ...rest } = entry;
      const fields = { ns: namespace, ...rest };
      if (level === logLevel.ERROR) child.error(fields, message);
      else if (level === logLevel.WARN) child.warn(fields, message);
      else if (level === logLevel.INFO) child.info(fields, message);
      else child.debug(fields, message);
    };
}

/** The kafkajs level for a pino level, so kafkajs does not build lines pino would drop. */
export function kafkaLogLevel(level: string): logLevel {
  switch (level) {
    case "silent":
      return logLevel.NOTHING;
    case "fatal":
    case "error":
      return logLevel.ERROR;
    case "warn":
    case "info":
      // kafkajs logs every pause/resume at INFO; those lines show at pino's debug level.
      return logLevel.WARN;
    case "debug":
      return logLevel.INFO;
    default:
      return logLevel.DEBUG;
  }
}

// pino JSON logs, one child logger per component. Pretty output only for a person at a
// terminal (stdout is a TTY), unless LOG_PRETTY says otherwise.
import { type Logger, pino } from "pino";
import type { Config } from "./config.js";

export type { Logger };

export function createLogger(config: Pick<Config, "LOG_LEVEL" | "LOG_PRETTY">, name: string): Logger {
  const pretty = config.LOG_PRETTY ?? process.stdout.isTTY === true;
  return pino({
    name,
    level: config.LOG_LEVEL,
    // Connection strings may carry credentials; never log them whole.
    redact: { paths: ["*.password", "*.url", "url", "password"], censor: "[redacted]" },
    ...(pretty ? { transport: { target: "pino-pretty", options: { translateTime: "HH:MM:ss.l" } } } : {}),
  });
}

// What every process entry point shares: validated configuration (an invalid value stops the
// process with a message naming the variable), a logger, and an orderly stop on SIGTERM/SIGINT
// within SHUTDOWN_TIMEOUT_MS (exit 0), or a forced exit 1 past it.
import { type Config, ConfigError, loadConfig } from "../config.js";
import { createLogger, type Logger } from "../logger.js";

export interface Running {
  stop(): Promise<void>;
}

/** The configuration, or exit 1 with a message naming every invalid variable. */
export function configOrExit(name: string): Config {
  try {
    return loadConfig();
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${name}: ${err.message}\n`);
      process.exit(1);
    }
    throw err;
  }
}

export async function runProcess(
  name: string,
  start: (config: Config, log: Logger) => Promise<Running>,
): Promise<void> {
  const config = configOrExit(name);
  const log = createLogger(config, name);
  let running: Running;
  try {
    running = await start(config, log);
  } catch (err) {
    log.fatal({ err }, "failed to start");
    process.exit(1);
  }
  let stopping = false;
  const stop = (signal: string) => {
    if (stopping) return;
    stopping = true;
    log.info({ signal }, "stopping");
    const force = setTimeout(() => {
      log.error({ timeoutMs: config.SHUTDOWN_TIMEOUT_MS + 5000 }, "did not stop in time; exiting");
      process.exit(1);
    }, config.SHUTDOWN_TIMEOUT_MS + 5000);
    force.unref();
    running.stop().then(
      () => {
        log.info("stopped");
        process.exit(0);
      },
      (err: unknown) => {
        log.error({ err }, "error while stopping");
        process.exit(1);
      },
    );
  };
  process.on("SIGTERM", () => stop("SIGTERM"));
  process.on("SIGINT", () => stop("SIGINT"));
}

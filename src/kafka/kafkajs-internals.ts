// The kafkajs classes this project changes (request-queue-fix.ts, idle-fetch-wait.ts) are not
// part of kafkajs's public API: they are loaded from its own files, and the changes were written
// against kafkajs 2.2.4 (package.json pins that version). Another version is refused until
// someone has checked the changes against it.
import { createRequire } from "node:module";

const WRITTEN_FOR = "2.2.4";
const require = createRequire(import.meta.url);

/** Throws unless `version` is the kafkajs version the changes were written for. */
export function assertKafkajsVersion(version: string): void {
  if (version === WRITTEN_FOR) return;
  throw new Error(
    `kafkajs ${version} is installed, but src/kafka/request-queue-fix.ts and idle-fetch-wait.ts change kafkajs ${WRITTEN_FOR}'s ` +
      "internals: check whether this version still needs them (see their headers), then update or remove them",
  );
}

/** A module of kafkajs's own (`path` under kafkajs/src), once the installed version is checked. */
export function kafkajsInternal<T>(path: string): T {
  assertKafkajsVersion((require("kafkajs/package.json") as { version: string }).version);
  return require(`kafkajs/src/${path}`) as T;
}

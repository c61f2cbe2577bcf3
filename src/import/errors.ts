// Failures of the importer that stop it with a message meant for the person running it, as
// opposed to bugs. The entry point prints the message alone (no stack) and exits non-zero.

/** Bad command-line arguments: the entry point prints the usage and exits 2. */
export class ImportUsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "ImportUsageError";
  }
}

/** MySQL or MongoDB could not be reached or refused the login: nothing was written. */
export class ImportConnectionError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "ImportConnectionError";
  }
}

/** The source table is missing or does not have the Go schema. */
export class ImportSourceError extends Error {
  constructor(message: string, options?: { cause: unknown }) {
    super(message, options);
    this.name = "ImportSourceError";
  }
}

/** What an error says, with the driver's code when it has one (ECONNREFUSED, ER_ACCESS_DENIED_ERROR). */
export function describeError(err: unknown): string {
  if (!(err instanceof Error)) return String(err);
  // A refused connection to a name with several addresses comes as an AggregateError whose own
  // message is empty; the first attempt's error says what happened.
  if (err instanceof AggregateError && err.message === "" && err.errors.length > 0) {
    return describeError(err.errors[0]);
  }
  const code = (err as { code?: unknown }).code;
  const message = err.message || err.name;
  return typeof code === "string" && !message.includes(code) ? `${code}: ${message}` : message;
}

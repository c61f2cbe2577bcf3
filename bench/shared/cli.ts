// What both benchmarks' command lines and reports share: flag errors, integer flags, the commit
// a report names, a section's heading, and writing a report's section of docs/benchmarks.md
// between its markers.
import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";

export class UsageError extends Error {
  override name = "UsageError";
}

export function integer(name: string, raw: string, min: number, max: number): number {
  const n = Number(raw);
  if (!/^\d+$/.test(raw) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new UsageError(`--${name}: expected an integer from ${min} to ${max}, got ${JSON.stringify(raw)}`);
  }
  return n;
}

/** The short commit of the checkout at `root`, marked when it has uncommitted changes. */
export function commitNote(root: string): string | null {
  try {
    const git = (...args: string[]) => execFileSync("git", args, { cwd: root, encoding: "utf8" }).trim();
    const head = git("rev-parse", "--short", "HEAD");
    return git("status", "--porcelain").length > 0 ? `${head} (with uncommitted changes)` : head;
  } catch {
    return null;
  }
}

/** The opening lines of a report's section: its title, when, where, at which commit, and the command. */
export function sectionHeading(
  title: string,
  info: { date: string; machine: string; commit: string | null; command: string },
): string[] {
  return [
    title,
    "",
    `${info.date}, this machine (${info.machine}), local services as \`npm run services:up\` starts them` +
      `${info.commit ? `, at commit ${info.commit}` : ""}:`,
    "",
    "```sh",
    info.command,
    "```",
  ];
}

/** Puts `section` into the markdown file `path` with `replace` (the file is created when missing). */
export function writeSection(
  path: string,
  section: string,
  replace: (doc: string, section: string) => string,
): void {
  let doc = "# Benchmarks\n";
  try {
    doc = readFileSync(path, "utf8");
  } catch {
    // no such file yet: a new one with its title
  }
  writeFileSync(path, replace(doc, section));
}

/** Replaces the text between the markers (markers included), or appends the section. */
export function replaceMarked(doc: string, section: string, start: string, end: string): string {
  const from = doc.indexOf(start);
  const to = doc.indexOf(end);
  if (from === -1 && to === -1) return `${doc.trimEnd()}\n\n${section}\n`;
  if (from === -1 || to === -1 || to < from) {
    throw new Error(`found only one of ${start} and ${end}, or them out of order`);
  }
  return doc.slice(0, from) + section + doc.slice(to + end.length);
}

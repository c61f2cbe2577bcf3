// Differential test: parseReadEvent against the real Go decoder (test/events/go-reference),
// which does exactly what the Go consumer does: json.Unmarshal into struct{ Aid, Uid int64 }.
// The unit tests pin the rules as we understand them; this one checks that understanding
// against encoding/json itself on many generated and mutated messages, so a rule we got wrong
// (or never thought of) shows up as a disagreement instead of a miscounted or dropped read.
//
// The messages come from a seeded PRNG, so a failure reproduces: the seed is printed, and
// PARSER_DIFF_SEED=<seed> reruns the same messages (or explores new ones).
import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { after, before, test } from "node:test";
import { fileURLToPath } from "node:url";
import { parseReadEvent } from "../../src/events/parse-read-event.js";

const GO_DIR = join(dirname(fileURLToPath(import.meta.url)), "go-reference");
const DEFAULT_SEED = 0x5eed_2024;
const MESSAGES = 24_000;
const MAX_REPORTED = 20;

// ---------------------------------------------------------------------------------------------
// Deterministic randomness

/** mulberry32: tiny, fast and good enough to spread messages over the generators below. */
class Rng {
  private state: number;
  constructor(seed: number) {
    this.state = seed >>> 0;
  }
  next(): number {
    this.state = (this.state + 0x6d2b79f5) >>> 0;
    let t = this.state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  }
  /** An integer in [0, n). */
  int(n: number): number {
    return Math.floor(this.next() * n);
  }
  chance(p: number): boolean {
    return this.next() < p;
  }
  pick<T>(items: readonly T[]): T {
    const item = items[this.int(items.length)];
    if (item === undefined) throw new Error("pick from an empty list");
    return item;
  }
}

// ---------------------------------------------------------------------------------------------
// Building byte strings: JS strings are UTF-8 encoded, number arrays are raw bytes (so invalid
// UTF-8 and encoded surrogates can be written, which a JS string cannot express).

type Part = string | Uint8Array | readonly number[];
const encoder = new TextEncoder();

function cat(...parts: Part[]): Uint8Array {
  const chunks = parts.map((p) => (typeof p === "string" ? encoder.encode(p) : Uint8Array.from(p)));
  const out = new Uint8Array(chunks.reduce((n, c) => n + c.length, 0));
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.length;
  }
  return out;
}

// ---------------------------------------------------------------------------------------------
// Pieces of messages

const JSON_SPACE = [" ", "\t", "\r", "\n"];
// Whitespace JSON does not allow (Go's scanner rejects each): \v, \f, NBSP, BOM, NEL, LS, NUL.
const NON_JSON_SPACE: Part[] = ["\v", "\f", "\u00a0", "\ufeff", "\u0085", "\u2028", [0x00]];

/** Mostly nothing, sometimes JSON whitespace, rarely whitespace JSON does not allow. */
function ws(r: Rng): Part {
  const roll = r.next();
  if (roll < 0.7) return "";
  if (roll < 0.985) {
    let s = "";
    const n = 1 + r.int(4);
    for (let i = 0; i < n; i++) s += r.pick(JSON_SPACE);
    return s;
  }
  return r.pick(NON_JSON_SPACE);
}

/** An id as the producer writes it: mostly positive, sometimes 0, negative or huge. */
function idText(r: Rng): string {
  const roll = r.next();
  if (roll < 0.5) return String(1 + r.int(1_000_000));
  if (roll < 0.7) {
    // Uniform over [0, 2^63): the full int64 range, far above 2^53.
    const hi = BigInt(r.int(2 ** 31));
    const lo = BigInt(r.int(2 ** 32));
    return String((hi << 32n) | lo);
  }
  if (roll < 0.8) return String(-(1 + r.int(1_000_000)));
  if (roll < 0.85) return "0";
  return r.pick(EDGE_INTEGERS);
}

const EDGE_INTEGERS = [
  "9223372036854775807",
  "-9223372036854775808",
  "9223372036854775806",
  "-9223372036854775807",
  "9007199254740993",
  "9007199254740992",
  "-9007199254740993",
  "4294967296",
  "2147483648",
  "1",
  "-1",
] as const;

/** Number literals, valid JSON or not, that an int64 field might meet. */
const NUMBER_TEXTS = [
  ...EDGE_INTEGERS,
  "9223372036854775808",
  "-9223372036854775809",
  "18446744073709551615",
  "18446744073709551616",
  "99999999999999999999999999999",
  "-0",
  "0",
  "00",
  "01",
  "-01",
  "007",
  "1.0",
  "1.5",
  "-1.5",
  "0.0",
  "-0.0",
  "1.",
  ".5",
  "1e3",
  "1E+2",
  "1e-2",
  "0e0",
  "-0e0",
  "1E0",
  "1e",
  "1e+",
  "1.0e0",
  "100000000000000000000e-1",
  "9223372036854775807.0",
  "9223372036854775807e0",
  "+1",
  "+0",
  "-",
  "--1",
  "- 1",
  "0x10",
  "0X1F",
  "0b1",
  "1_000",
  "Infinity",
  "-Infinity",
  "NaN",
  "\u0661", // Arabic-Indic digit one
  "\uff11", // fullwidth digit one
] as const;

function numberText(r: Rng): string {
  const roll = r.next();
  if (roll < 0.6) return r.pick(NUMBER_TEXTS);
  // A random digit string: any length up to 25, random sign, sometimes a fraction or exponent.
  let s = r.chance(0.3) ? "-" : "";
  const len = 1 + r.int(25);
  for (let i = 0; i < len; i++) s += String(r.int(10));
  if (r.chance(0.15)) s += `.${r.int(100)}`;
  if (r.chance(0.15)) s += `${r.pick(["e", "E"])}${r.pick(["", "+", "-"])}${r.int(30)}`;
  return s;
}

/** Keys that mean Aid to Go (exactly or folded, possibly escaped). */
const AID_KEYS = [
  '"Aid"',
  '"aid"',
  '"AID"',
  '"aId"',
  '"AiD"',
  '"aiD"',
  '"\\u0041id"',
  '"\\u0061\\u0069\\u0064"',
  '"A\\u0069d"',
  '"\\u0041\\u0049\\u0044"',
  '"\\u0041Id"',
  '"Ai\\u0064"',
] as const;
const UID_KEYS = [
  '"Uid"',
  '"uid"',
  '"UID"',
  '"uId"',
  '"UiD"',
  '"\\u0055id"',
  '"\\u0075\\u0069\\u0044"',
] as const;

const FIELD_KEYS = new Set<Part>([...AID_KEYS, ...UID_KEYS]);

/** Keys that look like Aid/Uid but (for Go to decide) may not be: Unicode folds and near misses. */
const LOOKALIKE_KEYS: Part[] = [
  '"A\u0130d"', // İ, capital I with dot above
  '"A\\u0130d"',
  '"A\u0131d"', // ı, dotless i
  '"a\\u0131d"',
  '"U\u0131d"',
  '"\uff21id"', // fullwidth A
  '"\\u212Aid"', // Kelvin sign: Go folds it to K (not to any letter of Aid/Uid)
  '"\u212a"',
  '"\u017fid"', // ſ long s: Go folds it to S
  '"\\u017F"',
  '"k"',
  '"s"',
  '"Aid "',
  '" Aid"',
  '"Aid\\u0000"',
  '"\\u0000Aid"',
  '"A_id"',
  '"A-id"',
  '"Ai"',
  '"Aidd"',
  '"Aid\\n"',
  '"\\/Aid"',
  '"Ai\\u0064\\u0000"',
  '"\\uD800Aid"',
  '"Aid\\uDC00"',
  '"\\uD83D\\uDE00"',
  '"A\u0301id"', // combining acute
  '"\ufeffAid"', // a byte order mark opening the key
  '"\\u0041\ufeffid"', // one after an escape, opening the key's next piece
  '"\\uFEFFUid"',
  [0x22, 0x41, 0xff, 0x69, 0x64, 0x22], // A, invalid byte, id
  [0x22, 0x41, 0x69, 0x64, 0xc0, 0x22], // truncated sequence after Aid
  [0x22, 0x41, 0xed, 0xa0, 0x80, 0x69, 0x64, 0x22], // UTF-8 encoded surrogate
  [0x22, 0xc1, 0x81, 0x69, 0x64, 0x22], // overlong 'A'
  '"AId"',
  '"UId"',
];

/** Random string content: plain, escaped, Unicode, surrogates, invalid UTF-8, control bytes. */
function stringBody(r: Rng): Part[] {
  const parts: Part[] = [];
  const n = r.int(6);
  for (let i = 0; i < n; i++) {
    const roll = r.next();
    if (roll < 0.3) parts.push(r.pick(["abc", "x", "Aid", "12", " ", "日本", "é", "😀", "\u2028"]));
    else if (roll < 0.45)
      parts.push(r.pick(['\\"', "\\\\", "\\/", "\\b", "\\f", "\\n", "\\r", "\\t", "\\u00e9", "\\u0000"]));
    else if (roll < 0.6) parts.push(`\\u${r.int(0x10000).toString(16).padStart(4, "0")}`);
    else if (roll < 0.7) parts.push(r.pick(["\\ud83d\\ude00", "\\uD834\\uDD1E", "\\uDBFF\\uDFFF"]));
    else if (roll < 0.78)
      parts.push(r.pick(["\\ud800", "\\udc00", "\\ud800\\ud800", "\\udc00\\ud800", "\\ud800x"]));
    else if (roll < 0.86)
      parts.push(
        r.pick([
          [0xff],
          [0xfe],
          [0xc0, 0x80],
          [0xe2, 0x82],
          [0xed, 0xa0, 0x80],
          [0xf4, 0x90, 0x80, 0x80],
          [0x80],
        ]),
      );
    else if (roll < 0.9)
      parts.push(r.pick([[0x7f], [0x01], [0x1f], [0x09], [0x0a]])); // DEL ok, controls not
    else if (roll < 0.94) parts.push(r.pick(["\\q", "\\u12", "\\u12G4", "\\U0041", "\\x41", "\\'", "\\"]));
    else parts.push("plain text");
  }
  return parts;
}

/** A random JSON value (and, rarely, a broken one), at most `depth` containers deep. */
function randomValue(r: Rng, depth: number): Uint8Array {
  const roll = r.next();
  if (roll < 0.2 || depth <= 0) {
    const s = r.next();
    if (s < 0.35) return cat(numberText(r));
    if (s < 0.5) return cat(r.pick(["true", "false", "null"]));
    if (s < 0.53) return cat(r.pick(["nul", "tru", "True", "NULL", "undefined", "'x'"]));
    return cat('"', ...stringBody(r), '"');
  }
  if (roll < 0.35) return cat('"', ...stringBody(r), '"');
  if (roll < 0.5) return cat(idText(r));
  if (roll < 0.75) {
    const items: Part[] = [];
    const n = r.int(4);
    for (let i = 0; i < n; i++) {
      if (i > 0) items.push(ws(r), ",", ws(r));
      items.push(randomValue(r, depth - 1));
    }
    if (n > 0 && r.chance(0.03)) items.push(","); // trailing comma
    return cat("[", ws(r), ...items, ws(r), "]");
  }
  const members: Part[] = [];
  const n = r.int(4);
  for (let i = 0; i < n; i++) {
    if (i > 0) members.push(ws(r), ",", ws(r));
    members.push(anyKey(r), ws(r), ":", ws(r), randomValue(r, depth - 1));
  }
  return cat("{", ws(r), ...members, ws(r), "}");
}

function unknownKey(r: Rng): Part {
  if (r.chance(0.5)) return r.pick(['"x"', '"id"', '"Bid"', '"aid_"', '"ts"', '""', '"uids"', '"Aidx"']);
  return cat('"', ...stringBody(r), '"');
}

function anyKey(r: Rng): Part {
  const roll = r.next();
  if (roll < 0.3) return r.pick(AID_KEYS);
  if (roll < 0.5) return r.pick(UID_KEYS);
  if (roll < 0.6) return r.pick(LOOKALIKE_KEYS);
  return unknownKey(r);
}

/** A value for an Aid/Uid key: usually a good id, otherwise any number form or type. */
function fieldValue(r: Rng): Part {
  const roll = r.next();
  if (roll < 0.6) return idText(r);
  if (roll < 0.75) return numberText(r);
  if (roll < 0.82) return "null";
  if (roll < 0.9) return r.pick(['"12"', '""', "true", "false", "[]", "[1]", "{}", '{"Aid":1}', '"1e3"']);
  return randomValue(r, 3);
}

// ---------------------------------------------------------------------------------------------
// Message generators

type Generator = (r: Rng) => Uint8Array;

/** The Go producer's exact format. */
const producer: Generator = (r) => cat(`{"Aid":${idText(r)},"Uid":${idText(r)}}`);

/** An object of random members: Aid/Uid under any spelling, duplicates, unknown keys. */
const object: Generator = (r) => {
  const members: Part[] = [];
  const n = r.int(6);
  // Most objects get a well-formed Aid first, so that later members decide the outcome.
  if (r.chance(0.7)) members.push(cat(r.pick(AID_KEYS), ws(r), ":", ws(r), idText(r)));
  for (let i = 0; i < n; i++) {
    const key = anyKey(r);
    const value = FIELD_KEYS.has(key) || r.chance(0.3) ? fieldValue(r) : randomValue(r, 4);
    members.push(cat(key, ws(r), ":", ws(r), value));
  }
  const body: Part[] = [];
  for (const [i, m] of members.entries()) {
    if (i > 0) body.push(ws(r), ",", ws(r));
    body.push(m);
  }
  return cat(ws(r), "{", ws(r), ...body, ws(r), "}", ws(r));
};

/** Number forms in the fields, the rest in the producer's format. */
const numbers: Generator = (r) => {
  const aid = r.chance(0.7) ? numberText(r) : idText(r);
  const uid = r.chance(0.5) ? numberText(r) : idText(r);
  return r.chance(0.5) ? cat(`{"Aid":${aid},"Uid":${uid}}`) : cat(`{"Uid":${uid},"Aid":${aid}}`);
};

/** Key spellings and lookalikes, alone or next to a real Aid. */
const keys: Generator = (r) => {
  const key = r.chance(0.5) ? r.pick(LOOKALIKE_KEYS) : r.pick([...AID_KEYS, ...UID_KEYS]);
  const value = idText(r);
  switch (r.int(3)) {
    case 0:
      return cat("{", key, ":", value, "}");
    case 1:
      return cat('{"Aid":5,', key, ":", value, "}");
    default:
      return cat("{", key, ":", value, ',"Aid":', idText(r), "}");
  }
};

/** Values that are not objects, and objects that are almost nothing. */
const TOP_LEVEL: Part[] = [
  "",
  " ",
  "\n",
  "\t\r\n ",
  "null",
  " null ",
  "null\n",
  "nul",
  "nulll",
  "null null",
  "NULL",
  "{}",
  " { } ",
  "{ }x",
  "[]",
  '[{"Aid":1}]',
  '"x"',
  '"{\\"Aid\\":1}"',
  "1",
  "-1",
  "1.5",
  "true",
  "false",
  "{",
  "}",
  "{}{}",
  "{},",
  "{}}",
  "{{}}",
  '{"Aid"}',
  '{"Aid":}',
  '{"Aid" 1}',
  "{:1}",
  '{"Aid":1,,"Uid":2}',
  '{,"Aid":1}',
  '\ufeff{"Aid":1}',
  "\ufeffnull",
  '\u00a0{"Aid":1}',
  '\v{"Aid":1}',
  '{"Aid":1}\u0000',
  [0x00],
  [0xff],
  [0xef, 0xbb, 0xbf],
];
const topLevel: Generator = (r) => cat(r.pick(TOP_LEVEL));

/** Nesting up to and beyond Go's limit of 10000, inside an unknown key, a field or at the top. */
const deep: Generator = (r) => {
  const n = r.chance(0.6) ? r.pick([9997, 9998, 9999, 10000, 10001, 10002]) : 1 + r.int(12_000);
  const style = r.int(3); // arrays, objects, mixed
  const opens: string[] = [];
  const closes: string[] = [];
  for (let i = 0; i < n - 1; i++) {
    const arr = style === 0 || (style === 2 && r.chance(0.5));
    opens.push(arr ? "[" : '{"k":');
    closes.push(arr ? "]" : "}");
  }
  const innermost = r.pick(["[]", "{}", "[1]", '{"a":null}']);
  closes.reverse();
  let nested = opens.join("") + innermost + closes.join("");
  if (r.chance(0.1)) nested = nested.slice(0, nested.length - 1 - r.int(5)); // unbalanced
  switch (r.int(4)) {
    case 0:
      return cat(nested);
    case 1:
      return cat('{"Aid":', nested, "}");
    default:
      return cat('{"Aid":', idText(r), ',"deep":', nested, ',"Uid":', idText(r), "}");
  }
};

/** Something after the object: another value, garbage, a trailing comma, whitespace. */
const TRAILERS: Part[] = [
  " ",
  "\n",
  "\r\n",
  ",",
  "}",
  "]",
  "{}",
  '{"Aid":2}',
  "null",
  " 1",
  "x",
  "\u0000",
  "\v",
  "\f",
  "\u00a0",
  "\ufeff",
  [0xff],
  "//c",
  "/* c */",
];
const trailing: Generator = (r) => cat(valid(r), r.pick(TRAILERS));

/** A valid-looking message cut short. */
const truncated: Generator = (r) => {
  const m = valid(r);
  return m.subarray(0, r.int(m.length));
};

const INTERESTING_BYTES = encoder.encode('{}[],:"\\0123456789-+.eEnulltrue \t\r\nAaIiDdUu');

/** A valid-looking message with a few bytes flipped, replaced, inserted, deleted or repeated. */
const mutated: Generator = (r) => {
  let m = Array.from(valid(r));
  const n = 1 + r.int(3);
  for (let k = 0; k < n; k++) {
    const at = r.int(m.length + 1);
    const byte = r.chance(0.7) ? (INTERESTING_BYTES[r.int(INTERESTING_BYTES.length)] ?? 0) : r.int(256);
    switch (r.int(6)) {
      case 0:
        if (at < m.length) m[at] = (m[at] ?? 0) ^ (1 << r.int(8));
        break;
      case 1:
        if (at < m.length) m[at] = byte;
        break;
      case 2:
        m.splice(at, 0, byte);
        break;
      case 3:
        m.splice(at, 1);
        break;
      case 4:
        m = [...m.slice(0, at), ...m.slice(at - r.int(at + 1), at), ...m.slice(at)];
        break;
      default:
        if (at + 1 < m.length) [m[at], m[at + 1]] = [m[at + 1] ?? 0, m[at] ?? 0];
    }
  }
  return Uint8Array.from(m);
};

function valid(r: Rng): Uint8Array {
  return r.chance(0.5) ? producer(r) : object(r);
}

/** Long values: long strings and many members, near the size limits a consumer sees. */
const large: Generator = (r) => {
  const pad = "x".repeat(1_000 + r.int(90_000));
  const members = Array.from({ length: r.int(200) }, (_, i) => `"k${i}":${i}`).join(",");
  return cat(`{"pad":"${pad}",${members}${members ? "," : ""}"Aid":${idText(r)}}`);
};

const GENERATORS: ReadonlyArray<readonly [string, number, Generator]> = [
  ["producer", 18, producer],
  ["object", 30, object],
  ["numbers", 10, numbers],
  ["keys", 8, keys],
  ["top-level", 3, topLevel],
  ["deep", 0.8, deep],
  ["trailing", 4, trailing],
  ["truncated", 6, truncated],
  ["mutated", 20, mutated],
  ["large", 0.2, large],
];

interface Case {
  generator: string;
  bytes: Uint8Array;
}

function generate(seed: number, count: number): Case[] {
  const r = new Rng(seed);
  const total = GENERATORS.reduce((n, [, w]) => n + w, 0);
  const cases: Case[] = [];
  // Empty input once for sure; everything else is drawn.
  cases.push({ generator: "empty", bytes: new Uint8Array(0) });
  while (cases.length < count) {
    let roll = r.next() * total;
    for (const [name, weight, gen] of GENERATORS) {
      roll -= weight;
      if (roll < 0) {
        cases.push({ generator: name, bytes: gen(r) });
        break;
      }
    }
  }
  return cases;
}

// ---------------------------------------------------------------------------------------------
// The Go reference

let workDir = "";
let goBinary = "";

before(() => {
  // Missing Go must fail, not skip: a skipped differential test silently stops protecting us.
  const version = spawnSync("go", ["version"], { encoding: "utf8" });
  if (version.error) {
    assert.fail(
      `the Go toolchain ('go') is not on PATH (${version.error.message}); this test builds ` +
        "test/events/go-reference and compares parseReadEvent with Go's encoding/json. Install Go " +
        "(scripts/test.sh installs Debian's golang-go) or put it on PATH.",
    );
  }
  workDir = mkdtempSync(join(tmpdir(), "goref-"));
  goBinary = join(workDir, "goref");
  const build = spawnSync("go", ["build", "-buildvcs=false", "-o", goBinary, "."], {
    cwd: GO_DIR,
    encoding: "utf8",
    // GOTOOLCHAIN=local: build with the installed Go, never download another toolchain.
    env: { ...process.env, GOTOOLCHAIN: "local" },
  });
  assert.equal(
    build.status,
    0,
    `go build in ${GO_DIR} failed (${version.stdout.trim()}):\n${build.stderr}${build.error?.message ?? ""}`,
  );
});

after(() => {
  if (workDir) rmSync(workDir, { recursive: true, force: true });
});

interface GoResult {
  ok: boolean;
  aid: string;
  uid: string;
}

function runGo(cases: readonly Case[]): GoResult[] {
  const input = `${cases.map((c) => Buffer.from(c.bytes).toString("base64")).join("\n")}\n`;
  const run = spawnSync(goBinary, { input, maxBuffer: 256 << 20, encoding: "utf8" });
  assert.equal(run.status, 0, `the Go reference failed: ${run.stderr}${run.error?.message ?? ""}`);
  const lines = run.stdout.split("\n");
  assert.equal(lines.pop(), "", "the Go reference's output must end with a newline");
  assert.equal(lines.length, cases.length, "the Go reference must answer every message");
  return lines.map((line) => {
    if (line === "err") return { ok: false, aid: "", uid: "" };
    const m = /^ok (-?\d+) (-?\d+)$/.exec(line);
    assert.ok(
      m?.[1] !== undefined && m[2] !== undefined,
      `unexpected Go output line: ${JSON.stringify(line)}`,
    );
    return { ok: true, aid: m[1], uid: m[2] };
  });
}

// ---------------------------------------------------------------------------------------------
// Reporting

function show(bytes: Uint8Array): string {
  const text = new TextDecoder("utf-8", { fatal: false }).decode(bytes);
  const shownText =
    text.length > 300
      ? `${JSON.stringify(text.slice(0, 300))}... (${text.length} chars)`
      : JSON.stringify(text);
  const hex = Buffer.from(bytes.subarray(0, 160)).toString("hex");
  const shownHex = bytes.length > 160 ? `${hex}... (${bytes.length} bytes)` : hex;
  return `    text: ${shownText}\n    hex:  ${shownHex}`;
}

test("parseReadEvent agrees with Go's encoding/json on generated messages", { timeout: 120_000 }, (t) => {
  const seed = process.env.PARSER_DIFF_SEED ? Number(process.env.PARSER_DIFF_SEED) >>> 0 : DEFAULT_SEED;
  t.diagnostic(`seed ${seed} (rerun with PARSER_DIFF_SEED=${seed}), ${MESSAGES} messages`);
  const cases = generate(seed, MESSAGES);
  const go = runGo(cases);

  const mismatches: string[] = [];
  let disagreements = 0;
  let bothValid = 0;
  let bothInvalid = 0;
  const perGenerator = new Map<string, { valid: number; invalid: number }>();
  for (const [i, c] of cases.entries()) {
    const ref = go[i];
    if (ref === undefined) throw new Error(`no Go result for message ${i}`);
    // The consumer accepts what Unmarshal accepts with Aid > 0 (Uid may be anything).
    const goAccepts = ref.ok && BigInt(ref.aid) > 0n;
    const ours = parseReadEvent(c.bytes, 1 << 20);
    const agree = ours.ok
      ? goAccepts && ours.event.aid.toString() === ref.aid && ours.event.uid.toString() === ref.uid
      : !goAccepts;
    const stats = perGenerator.get(c.generator) ?? { valid: 0, invalid: 0 };
    perGenerator.set(c.generator, stats);
    if (agree) {
      if (ours.ok) {
        bothValid++;
        stats.valid++;
      } else {
        bothInvalid++;
        stats.invalid++;
      }
      continue;
    }
    disagreements++;
    if (mismatches.length < MAX_REPORTED) {
      const goSaid = ref.ok
        ? `ok Aid=${ref.aid} Uid=${ref.uid}${goAccepts ? "" : " (Aid <= 0: reject)"}`
        : "err";
      const weSaid = ours.ok ? `ok Aid=${ours.event.aid} Uid=${ours.event.uid}` : `invalid: ${ours.reason}`;
      mismatches.push(`#${i} [${c.generator}]\n${show(c.bytes)}\n    Go:   ${goSaid}\n    ours: ${weSaid}`);
    }
  }

  const breakdown = [...perGenerator].map(([g, s]) => `${g} ${s.valid}/${s.invalid}`).join(", ");
  t.diagnostic(
    `both valid ${bothValid}, both invalid ${bothInvalid}; valid/invalid per generator: ${breakdown}`,
  );
  assert.equal(
    disagreements,
    0,
    `parseReadEvent disagrees with Go on ${disagreements} of ${cases.length} messages (seed ${seed}); ` +
      `first ${mismatches.length}:\n${mismatches.join("\n")}`,
  );
  // Guards against a vacuous pass, e.g. generators that only ever produce garbage.
  assert.ok(bothValid > 1000, `only ${bothValid} messages were valid for both (seed ${seed})`);
  assert.ok(bothInvalid > 1000, `only ${bothInvalid} messages were invalid for both (seed ${seed})`);
});

// Decides whether a Kafka message value is a ReadEvent exactly as the Go producer's consumer
// would: Go's encoding/json decoding into `struct { Aid int64; Uid int64 }`, plus `Aid > 0`.
//
// Go's rules, implemented here byte by byte (no JSON.parse: it rounds ids above 2^53):
// - the whole value must be valid JSON (RFC 8259 syntax, whitespace around it allowed);
// - a top-level `null` decodes to nothing (so Aid stays 0); any other non-object is a type error;
// - object keys match the field names case-insensitively (ASCII: no Unicode fold applies to
//   a, i, d or u), after unescaping; the last duplicate wins; unknown keys are ignored;
// - Aid/Uid must be JSON integers in int64 range (no fraction, no exponent), or null (no-op);
//   a string, bool, object, array or non-integer number is an error;
// - nesting deeper than 10000 is an error, as in Go.

interface ReadEvent {
  aid: bigint;
  uid: bigint;
}

export type ParseResult = { ok: true; event: ReadEvent } | { ok: false; reason: string };

const INT64_MIN = -(2n ** 63n);
const INT64_MAX = 2n ** 63n - 1n;
const MAX_DEPTH = 10_000;

class SyntaxFault extends Error {}

// Without `stream`, decode() keeps no state between calls: one decoder serves every value.
// ignoreBOM: a U+FEFF at the start of a piece of a string stays in it, as in Go (whose key
// "\uFEFFAid" is not Aid); TextDecoder drops it by default.
const UTF8 = new TextDecoder("utf-8", { fatal: false, ignoreBOM: true });

/** The character each one-letter escape after a backslash stands for, by its byte. */
const SIMPLE_ESCAPES: Readonly<Record<number, string>> = {
  34: '"',
  92: "\\",
  47: "/",
  98: "\b",
  102: "\f",
  110: "\n",
  114: "\r",
  116: "\t",
};

/** The text of buf[start, end): a short ASCII run without TextDecoder, whose call costs more. */
function decodeText(buf: Uint8Array, start: number, end: number): string {
  if (end - start > 32) return UTF8.decode(buf.subarray(start, end));
  let out = "";
  for (let i = start; i < end; i++) {
    const b = buf[i] ?? 0x80;
    if (b >= 0x80) return UTF8.decode(buf.subarray(start, end));
    out += String.fromCharCode(b);
  }
  return out;
}

function describe(byte: number | undefined): string {
  if (byte === undefined) return "end of input";
  if (byte >= 0x20 && byte < 0x7f) return `'${String.fromCharCode(byte)}'`;
  return `byte 0x${byte.toString(16).padStart(2, "0")}`;
}

/** A cursor over the bytes of one JSON text. Each read* method consumes one JSON value. */
class Scanner {
  pos = 0;
  constructor(readonly buf: Uint8Array) {}

  fault(what: string): never {
    throw new SyntaxFault(`invalid JSON at byte ${this.pos}: ${what}, found ${describe(this.buf[this.pos])}`);
  }

  skipSpace(): void {
    for (;;) {
      const b = this.buf[this.pos];
      if (b === 0x20 || b === 0x09 || b === 0x0a || b === 0x0d) this.pos++;
      else return;
    }
  }

  peek(): number | undefined {
    return this.buf[this.pos];
  }

  expect(byte: number, what: string): void {
    if (this.buf[this.pos] !== byte) this.fault(`expected ${what}`);
    this.pos++;
  }

  literal(word: string): void {
    for (let i = 0; i < word.length; i++) {
      if (this.buf[this.pos] !== word.charCodeAt(i)) this.fault(`expected '${word}'`);
      this.pos++;
    }
  }

  /** Reads a string; returns its decoded value (invalid UTF-8 becomes U+FFFD, as in Go). */
  readString(): string {
    this.expect(0x22, "'\"'");
    const parts: string[] = [];
    let start = this.pos;
    for (;;) {
      const b = this.buf[this.pos];
      if (b === undefined) this.fault("unterminated string");
      if (b === 0x22) {
        const last = decodeText(this.buf, start, this.pos);
        this.pos++;
        return parts.length === 0 ? last : parts.join("") + last;
      }
      if (b < 0x20) this.fault("control character in string");
      if (b !== 0x5c) {
        this.pos++;
        continue;
      }
      parts.push(decodeText(this.buf, start, this.pos));
      this.pos++;
      const e = this.buf[this.pos];
      const simple = e === undefined ? undefined : SIMPLE_ESCAPES[e];
      if (simple !== undefined) {
        parts.push(simple);
        this.pos++;
      } else if (e === 0x75) {
        this.pos++;
        let code = 0;
        for (let i = 0; i < 4; i++) {
          const h = this.buf[this.pos];
          const v = h === undefined ? -1 : hexValue(h);
          if (v < 0) this.fault("invalid \\u escape");
          code = code * 16 + v;
          this.pos++;
        }
        parts.push(String.fromCharCode(code));
      } else {
        this.fault("invalid escape in string");
      }
      start = this.pos;
    }
  }

  /** Reads a number; returns its literal text. */
  readNumber(): string {
    const start = this.pos;
    if (this.peek() === 0x2d) this.pos++;
    const first = this.peek();
    if (first === 0x30) this.pos++;
    else if (first !== undefined && first >= 0x31 && first <= 0x39) this.digits();
    else this.fault("expected a digit");
    if (this.peek() === 0x2e) {
      this.pos++;
      if (!isDigit(this.peek())) this.fault("expected a digit after '.'");
      this.digits();
    }
    if (this.peek() === 0x65 || this.peek() === 0x45) {
      this.pos++;
      if (this.peek() === 0x2b || this.peek() === 0x2d) this.pos++;
      if (!isDigit(this.peek())) this.fault("expected a digit in exponent");
      this.digits();
    }
    return decodeText(this.buf, start, this.pos);
  }

  private digits(): void {
    while (isDigit(this.peek())) this.pos++;
  }

  /** Skips any one value, checking its syntax, without recursion. */
  skipValue(depth: number): void {
    const stack: number[] = []; // open containers: 0x7d '}' or 0x5d ']'
    for (;;) {
      this.skipSpace();
      const b = this.peek();
      if (b === 0x7b || b === 0x5b) {
        if (depth + stack.length + 1 > MAX_DEPTH) this.fault("exceeded max nesting depth 10000");
        this.pos++;
        this.skipSpace();
        const close = b === 0x7b ? 0x7d : 0x5d;
        if (this.peek() === close) {
          this.pos++;
        } else {
          stack.push(close);
          if (close === 0x7d) this.objectKey();
          continue;
        }
      } else if (b === 0x22) this.readString();
      else if (b === 0x74) this.literal("true");
      else if (b === 0x66) this.literal("false");
      else if (b === 0x6e) this.literal("null");
      else if (b === 0x2d || isDigit(b)) this.readNumber();
      else this.fault("expected a value");
      // After a value: close containers or move to the next element.
      for (;;) {
        const close = stack[stack.length - 1];
        if (close === undefined) return;
        this.skipSpace();
        if (this.peek() === 0x2c) {
          this.pos++;
          if (close === 0x7d) {
            this.skipSpace();
            this.objectKey();
          }
          break;
        }
        this.expect(close, close === 0x7d ? "',' or '}'" : "',' or ']'");
        stack.pop();
      }
    }
  }

  /** Reads `"key" :` and returns the key. */
  objectKey(): string {
    this.skipSpace();
    if (this.peek() !== 0x22) this.fault("expected a string key");
    const key = this.readString();
    this.skipSpace();
    this.expect(0x3a, "':'");
    return key;
  }
}

function isDigit(b: number | undefined): boolean {
  return b !== undefined && b >= 0x30 && b <= 0x39;
}

function hexValue(b: number): number {
  if (b >= 0x30 && b <= 0x39) return b - 0x30;
  if (b >= 0x61 && b <= 0x66) return b - 0x57;
  if (b >= 0x41 && b <= 0x46) return b - 0x37;
  return -1;
}

function typeName(b: number | undefined): string {
  switch (b) {
    case 0x22:
      return "string";
    case 0x7b:
      return "object";
    case 0x5b:
      return "array";
    case 0x74:
    case 0x66:
      return "bool";
    default:
      return "number";
  }
}

/**
 * The field a key names: "aid" or "uid" in any ASCII case (of a character, c | 0x20 is a, i, d
 * or u for that letter in either case only).
 */
function fieldOf(key: string): "Aid" | "Uid" | undefined {
  if (key.length !== 3) return undefined;
  const [c0, c1, c2] = [key.charCodeAt(0) | 0x20, key.charCodeAt(1) | 0x20, key.charCodeAt(2) | 0x20];
  if (c1 !== 0x69 || c2 !== 0x64) return undefined; // "id"
  if (c0 === 0x61) return "Aid";
  if (c0 === 0x75) return "Uid";
  return undefined;
}

/**
 * Decodes one field value for an int64 struct field. Returns the value, null for JSON null
 * (Go leaves the field as it was), or a type-error message.
 */
function readInt64Field(s: Scanner, field: string): bigint | null | { error: string } {
  s.skipSpace();
  const b = s.peek();
  if (b === 0x6e) {
    s.literal("null");
    return null;
  }
  if (b === 0x2d || isDigit(b)) {
    const text = s.readNumber();
    if (!/^-?(0|[1-9]\d*)$/.test(text)) return { error: `${field} is ${text}, expected an integer` };
    const value = BigInt(text);
    if (value < INT64_MIN || value > INT64_MAX) return { error: `${field} is ${text}, outside int64 range` };
    return value;
  }
  const kind = typeName(b);
  s.skipValue(1);
  return { error: `${field} is a JSON ${kind}, expected an integer` };
}

/** Parses a Kafka message value; `null` is a tombstone (no value). */
export function parseReadEvent(value: Uint8Array | null, maxBytes: number): ParseResult {
  if (value === null) return { ok: false, reason: "message has no value (null)" };
  if (value.length > maxBytes) {
    return {
      ok: false,
      reason: `value is ${value.length} bytes, over the limit of ${maxBytes} (MAX_MESSAGE_BYTES)`,
    };
  }
  const s = new Scanner(value);
  let aid = 0n;
  let uid = 0n;
  let typeError: string | undefined;
  try {
    s.skipSpace();
    const first = s.peek();
    if (first === undefined) return { ok: false, reason: "value is empty, expected a JSON object" };
    if (first === 0x7b) {
      s.pos++;
      s.skipSpace();
      if (s.peek() === 0x7d) {
        s.pos++;
      } else {
        for (;;) {
          const field = fieldOf(s.objectKey());
          if (field !== undefined) {
            const v = readInt64Field(s, field);
            if (typeof v === "bigint") {
              if (field === "Aid") aid = v;
              else uid = v;
            } else if (v !== null) {
              typeError ??= v.error;
            }
          } else {
            s.skipValue(1);
          }
          s.skipSpace();
          if (s.peek() === 0x2c) {
            s.pos++;
            continue;
          }
          s.expect(0x7d, "',' or '}'");
          break;
        }
      }
    } else if (first === 0x6e) {
      s.literal("null");
    } else {
      const kind = typeName(first);
      s.skipValue(0);
      typeError = `value is a JSON ${kind}, expected an object`;
    }
    s.skipSpace();
    if (s.pos !== value.length) s.fault("unexpected data after the JSON value");
  } catch (err) {
    if (err instanceof SyntaxFault) return { ok: false, reason: err.message };
    throw err;
  }
  if (typeError !== undefined) return { ok: false, reason: typeError };
  if (aid <= 0n)
    return {
      ok: false,
      reason: aid === 0n ? "Aid is missing or 0, expected > 0" : `Aid is ${aid}, expected > 0`,
    };
  return { ok: true, event: { aid, uid } };
}

import assert from "node:assert/strict";
import { test } from "node:test";
import { parseReadEvent } from "../../src/events/parse-read-event.js";

const enc = (s: string) => new TextEncoder().encode(s);
const parse = (s: string, max = 65536) => parseReadEvent(enc(s), max);

function valid(s: string): { aid: bigint; uid: bigint } {
  const r = parse(s);
  assert.ok(r.ok, `expected ${JSON.stringify(s)} to be valid, got ${r.ok ? "" : r.reason}`);
  return r.event;
}

function invalid(s: string, reason: RegExp): void {
  const r = parse(s);
  assert.ok(!r.ok, `expected ${JSON.stringify(s)} to be invalid`);
  assert.match(r.reason, reason);
}

test("the Go producer's format decodes", () => {
  assert.deepEqual(valid('{"Aid":123,"Uid":456}'), { aid: 123n, uid: 456n });
});

test("ids above 2^53 are exact, up to int64 max", () => {
  assert.equal(valid('{"Aid":9007199254740993}').aid, 9007199254740993n);
  assert.equal(valid('{"Aid":9223372036854775807,"Uid":-9223372036854775808}').aid, 9223372036854775807n);
});

test("keys match case-insensitively (ASCII), after unescaping; last duplicate wins", () => {
  assert.equal(valid('{"aid":1}').aid, 1n);
  assert.equal(valid('{"AID":2,"uId":3}').aid, 2n);
  assert.equal(valid('{"\\u0041id":4}').aid, 4n);
  assert.equal(valid('{"Aid":1,"aid":5}').aid, 5n);
  invalid('{"A\u0130d":1}', /Aid is missing/); // İ does not fold to i in Go
  invalid('{"\ufeffAid":1}', /Aid is missing/); // a byte order mark is part of the key
  invalid('{"\\u0041\ufeffid":1}', /Aid is missing/);
});

test("unknown keys of any type are ignored; whitespace is allowed", () => {
  assert.deepEqual(valid(' {"x":[1,{"y":null}],"Aid" : 7 ,"z":"s\\n\\"","w":true,"v":-1.5e3}\n'), {
    aid: 7n,
    uid: 0n,
  });
});

test("null field values leave the field as it was, as in Go", () => {
  assert.equal(valid('{"Aid":8,"aid":null}').aid, 8n);
  assert.equal(valid('{"Aid":8,"Uid":null}').uid, 0n);
  invalid('{"Aid":null}', /Aid is missing or 0/);
});

test("numbers must be int64 integers: no fraction, no exponent, no strings, no overflow", () => {
  invalid('{"Aid":1.0}', /Aid is 1\.0, expected an integer/);
  invalid('{"Aid":1e3}', /expected an integer/);
  invalid('{"Aid":"12"}', /Aid is a JSON string, expected an integer/);
  invalid('{"Aid":true}', /Aid is a JSON bool/);
  invalid('{"Aid":[1]}', /Aid is a JSON array/);
  invalid('{"Aid":9223372036854775808}', /outside int64 range/);
  invalid('{"Aid":1,"Uid":"x"}', /Uid is a JSON string/);
  invalid('{"Aid":1,"Uid":1.5}', /Uid is 1\.5/);
});

test("Aid must be positive", () => {
  invalid('{"Uid":1}', /Aid is missing or 0/);
  invalid('{"Aid":0}', /Aid is missing or 0/);
  invalid('{"Aid":-0}', /Aid is missing or 0/);
  invalid('{"Aid":-5}', /Aid is -5, expected > 0/);
  invalid("{}", /Aid is missing/);
  invalid("null", /Aid is missing/);
});

test("non-objects are type errors", () => {
  invalid("[1]", /value is a JSON array, expected an object/);
  invalid('"x"', /JSON string/);
  invalid("42", /JSON number/);
  invalid("true", /JSON bool/);
});

test("syntax errors are reported with their position", () => {
  invalid("", /value is empty/);
  invalid("   ", /value is empty/);
  invalid("{", /invalid JSON at byte 1: expected a string key/);
  invalid('{"Aid":1', /expected ',' or '}'/);
  invalid('{"Aid":1,}', /expected a string key/);
  invalid('{"Aid":01}', /expected ',' or '}'/);
  invalid('{"Aid":1} x', /unexpected data after the JSON value/);
  invalid('{"Aid":1}{}', /unexpected data/);
  invalid("{'Aid':1}", /expected a string key/);
  invalid('{"Aid":1,"x":[1,]}', /expected a value/);
  invalid('{"Aid":1,"x":"a\tb"}', /control character/);
  invalid('{"Aid":1,"x":"\\q"}', /invalid escape/);
  invalid('{"Aid":1,"x":"\\u12"}', /invalid \\u escape/);
  invalid('{"Aid":1,"x":tru}', /expected 'true'/);
  invalid('{"Aid":1,"x":-}', /expected a digit/);
  invalid('{"Aid":1,"x":1.}', /expected a digit after '\.'/);
  invalid("\ufeff{}", /byte 0xef/); // Go rejects a byte-order mark
});

test("invalid UTF-8 inside strings is accepted, outside is a syntax error", () => {
  const inString = Uint8Array.from([...enc('{"x":"'), 0xff, ...enc('","Aid":3}')]);
  assert.deepEqual(parseReadEvent(inString, 100), { ok: true, event: { aid: 3n, uid: 0n } });
  const outside = Uint8Array.from([...enc('{"Aid":3'), 0xff, ...enc("}")]);
  assert.equal(parseReadEvent(outside, 100).ok, false);
});

test("nesting beyond 10000 is an error; deep but legal nesting is fine", () => {
  invalid(`{"Aid":1,"x":${"[".repeat(10_001)}${"]".repeat(10_001)}}`, /max nesting depth/);
  assert.equal(valid(`{"Aid":1,"x":${"[".repeat(9_000)}${"]".repeat(9_000)}}`).aid, 1n);
});

test("null values and oversized values are rejected with a reason", () => {
  assert.deepEqual(parseReadEvent(null, 100), { ok: false, reason: "message has no value (null)" });
  const r = parseReadEvent(enc(`{"Aid":1,"pad":"${"x".repeat(100)}"}`), 64);
  assert.ok(!r.ok);
  assert.match(r.reason, /over the limit of 64 \(MAX_MESSAGE_BYTES\)/);
});

// Redis Cluster's hash slots, as Redis documents them (CLUSTER KEYSLOT); key-slot.int.test.ts
// compares many more keys with a real cluster.
import assert from "node:assert/strict";
import { test } from "node:test";
import { bySlot, keySlot } from "../../src/redis/key-slot.js";

test("slots of plain keys are CRC16 modulo 16384", () => {
  assert.equal(keySlot("foo"), 12182);
  assert.equal(keySlot("bar"), 5061);
  assert.equal(keySlot("123456789"), 0x31c3 % 16384); // the CRC16/XMODEM check value
});

test("a hash tag decides the slot; an empty or unclosed one does not", () => {
  assert.equal(keySlot("{user1000}.following"), keySlot("{user1000}.followers"));
  assert.equal(keySlot("{bull}:read-events:wait"), keySlot("bull"));
  assert.equal(keySlot("foo{}{bar}"), keySlot("foo{}{bar}".slice(0)));
  assert.notEqual(keySlot("foo{}{bar}"), keySlot("bar"), "the first {} is empty: the whole key counts");
  assert.equal(keySlot("foo{{bar}}zap"), keySlot("{bar"));
  assert.equal(keySlot("foo{bar"), keySlot("foo{bar".slice(0)));
});

test("bySlot groups keys per slot, in order", () => {
  const groups = bySlot(["{a}1", "b", "{a}2"], (k) => k);
  assert.deepEqual(groups.get(keySlot("a")), ["{a}1", "{a}2"]);
  assert.deepEqual(groups.get(keySlot("b")), ["b"]);
});

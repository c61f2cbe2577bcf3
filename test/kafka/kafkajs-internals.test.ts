// The kafkajs internals this project changes are checked against the installed version.
import assert from "node:assert/strict";
import { test } from "node:test";
import { assertKafkajsVersion, kafkajsInternal } from "../../src/kafka/kafkajs-internals.js";

test("the installed kafkajs is the version the changes were written for", () => {
  assert.equal(
    typeof kafkajsInternal<{ prototype: object }>("consumer/consumerGroup.js").prototype,
    "object",
  );
});

test("another kafkajs version is refused until the changes are checked against it", () => {
  assert.doesNotThrow(() => assertKafkajsVersion("2.2.4"));
  assert.throws(
    () => assertKafkajsVersion("2.3.0"),
    /kafkajs 2\.3\.0 is installed, but .*request-queue-fix\.ts and idle-fetch-wait\.ts change kafkajs 2\.2\.4's internals/,
  );
});

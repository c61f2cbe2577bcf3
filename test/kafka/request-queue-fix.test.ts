// kafkajs's request queue with its timers fixed: no timer while nothing is pending, a pending
// request (throttled, or over the in-flight limit) is still sent, and requests are checked for a
// timeout every REQUEST_TIMEOUT_CHECK_MS.
import assert from "node:assert/strict";
import { mock, test } from "node:test";
import { setTimeout as sleep } from "node:timers/promises";
import { kafkajsInternal } from "../../src/kafka/kafkajs-internals.js";
import {
  patchRequestQueueTimers,
  REQUEST_TIMEOUT_CHECK_MS,
  type RequestQueueState,
} from "../../src/kafka/request-queue-fix.js";

interface Queue extends RequestQueueState {
  push(request: { entry: Entry; expectResponse: boolean; sendRequest(): void }): void;
  fulfillRequest(response: { correlationId: number; payload: Buffer; size: number }): void;
  maybeThrottle(ms: number): void;
  destroy(): void;
}
interface Entry {
  correlationId: number;
  resolve(): void;
  reject(err: unknown): void;
}
type QueueClass = new (options: Record<string, unknown>) => Queue;

const RequestQueue = kafkajsInternal<QueueClass>("network/requestQueue/index.js");
const quiet = { debug() {}, info() {}, warn() {}, error() {} };
patchRequestQueueTimers();

function queue(maxInFlightRequests: number | null = null): Queue {
  return new RequestQueue({
    maxInFlightRequests,
    requestTimeout: 30_000,
    enforceRequestTimeout: false,
    clientId: "test",
    broker: "localhost:9092",
    logger: quiet,
  });
}

/** Pushes request `id`; resolves `sent` when the queue hands it to the socket. */
function push(q: Queue, id: number): { sent: () => boolean } {
  let sent = false;
  q.push({
    entry: { correlationId: id, resolve() {}, reject() {} },
    expectResponse: true,
    sendRequest() {
      sent = true;
    },
  });
  return { sent: () => sent };
}

const answer = (q: Queue, id: number) =>
  q.fulfillRequest({ correlationId: id, payload: Buffer.alloc(0), size: 0 });

test("an answered request leaves no timer armed when nothing is pending (kafkajs 2.2.4 re-armed one every 1 ms)", () => {
  const q = queue();
  const r = push(q, 1);
  assert.ok(r.sent());
  answer(q, 1);
  assert.equal(q.throttleCheckTimeoutId, null);
  q.checkPendingRequests();
  assert.equal(q.throttleCheckTimeoutId, null);
});

test("a request throttled by the broker waits for the throttle to end, then is sent", async () => {
  const q = queue();
  q.maybeThrottle(40);
  const r = push(q, 1);
  assert.equal(r.sent(), false);
  assert.notEqual(q.throttleCheckTimeoutId, null);
  await sleep(20);
  assert.equal(r.sent(), false);
  await sleep(60);
  assert.ok(r.sent());
  assert.equal(q.throttleCheckTimeoutId, null);
  q.destroy();
});

test("a request over the in-flight limit is sent when the one before it is answered", async () => {
  const q = queue(1);
  const first = push(q, 1);
  const second = push(q, 2);
  assert.ok(first.sent());
  assert.equal(second.sent(), false);
  answer(q, 1);
  assert.ok(second.sent());
  answer(q, 2);
  // The check armed while the second was pending runs once and arms no other.
  await sleep(30);
  assert.equal(q.throttleCheckTimeoutId, null);
});

test("a request is timed out by a check every REQUEST_TIMEOUT_CHECK_MS (kafkajs checked every 100 ms)", (t) => {
  mock.timers.enable({ apis: ["setInterval", "Date"] });
  t.after(() => mock.timers.reset());
  const q = new RequestQueue({
    maxInFlightRequests: null,
    requestTimeout: 30_000,
    enforceRequestTimeout: true,
    clientId: "test",
    broker: "localhost:9092",
    logger: quiet,
  });
  let rejected: unknown;
  q.scheduleRequestTimeoutCheck();
  q.push({
    entry: { correlationId: 1, resolve() {}, reject: (err: unknown) => (rejected = err) },
    expectResponse: true,
    sendRequest() {},
  });
  // In steps of 100 ms: kafkajs's own check would time the request out at 30,100 ms.
  const advanceTo = (ms: number) => {
    while (Date.now() < ms) mock.timers.tick(100);
  };
  advanceTo(30_000 + REQUEST_TIMEOUT_CHECK_MS - 100);
  assert.equal(rejected, undefined, "not yet checked past its timeout");
  advanceTo(30_000 + REQUEST_TIMEOUT_CHECK_MS);
  assert.match(String(rejected), /timed out/i);
  q.destroy();
});

// kafkajs 2.2.4 keeps a timer running on every connection once that connection has answered a
// request. RequestQueue.scheduleCheckPendingRequests arms a timeout of (throttledUntil - now) ms
// even when nothing is pending and nothing is throttled; that delay is negative, so Node runs it
// after 1 ms, and its callback arms the next one. Each connection so wakes the event loop about a
// thousand times a second for nothing (kafkajs issues #1556, #1604 and #1704; the fix proposed in
// pull request #1667 was never released). An idle ingestor spent most of its CPU there.
//
// It also checks every connection's requests for a timeout every 100 ms (min(requestTimeout,
// 100), scheduleRequestTimeoutCheck), so an idle process with three connections wakes 30 times a
// second for requests that time out after 30 s.
//
// patchRequestQueueTimers() replaces both methods:
// - scheduleCheckPendingRequests keeps its contract without the loop: a pending request is
//   checked again when the broker's throttle ends, or after 10 ms when it is not throttled (as
//   kafkajs does), and with nothing pending no timer is armed. Nothing is lost by that: a request
//   becomes pending only through push(), which calls this method with the request already
//   queued, and a fulfilled or timed-out request checks the queue itself.
// - scheduleRequestTimeoutCheck does what kafkajs's does, every REQUEST_TIMEOUT_CHECK_MS (or
//   requestTimeout, if shorter): a request times out at most that much after its requestTimeout.
//
// The methods are replaced on kafkajs's own class (see kafkajs-internals.ts), so every client of
// the process gets them.
import { kafkajsInternal } from "./kafkajs-internals.js";

/** kafkajs's own retry interval for a queue throttled by the broker, in ms. */
const CHECK_PENDING_REQUESTS_INTERVAL_MS = 10;
/** How often each connection's requests are checked for a timeout (kafkajs: 100 ms). */
export const REQUEST_TIMEOUT_CHECK_MS = 1000;

/** The fields of kafkajs's RequestQueue that the method reads and writes. */
export interface RequestQueueState {
  pending: unknown[];
  /** Epoch ms until which the broker asked for no requests; -1: never throttled. */
  throttledUntil: number;
  throttleCheckTimeoutId: NodeJS.Timeout | null;
  checkPendingRequests(): void;
  scheduleCheckPendingRequests(): void;
  enforceRequestTimeout: boolean;
  requestTimeout: number;
  inflight: Map<number, { sentAt: number; requestTimeout: number; timeoutRequest(): void }>;
  requestTimeoutIntervalId?: NodeJS.Timeout;
  isConnected(): boolean;
  destroy(): void;
  scheduleRequestTimeoutCheck(): void;
}

interface RequestQueueClass {
  prototype: RequestQueueState;
}

let fixed = false;

/** Replaces two timer methods of kafkajs's RequestQueue (see the header). Idempotent. */
export function patchRequestQueueTimers(): void {
  if (fixed) return;
  const RequestQueue = kafkajsInternal<RequestQueueClass>("network/requestQueue/index.js");
  RequestQueue.prototype.scheduleCheckPendingRequests = function scheduleCheckPendingRequests(
    this: RequestQueueState,
  ): void {
    if (this.throttleCheckTimeoutId !== null || this.pending.length === 0) return;
    const untilUnthrottled = this.throttledUntil - Date.now();
    this.throttleCheckTimeoutId = setTimeout(
      () => {
        this.throttleCheckTimeoutId = null;
        this.checkPendingRequests();
      },
      untilUnthrottled > 0 ? untilUnthrottled : CHECK_PENDING_REQUESTS_INTERVAL_MS,
    );
  };
  RequestQueue.prototype.scheduleRequestTimeoutCheck = function scheduleRequestTimeoutCheck(
    this: RequestQueueState,
  ): void {
    if (!this.enforceRequestTimeout) return;
    this.destroy();
    this.requestTimeoutIntervalId = setInterval(
      () => {
        const now = Date.now();
        for (const request of this.inflight.values())
          if (now - request.sentAt > request.requestTimeout) request.timeoutRequest();
        if (!this.isConnected()) this.destroy();
      },
      Math.min(this.requestTimeout, REQUEST_TIMEOUT_CHECK_MS),
    );
  };
  fixed = true;
}

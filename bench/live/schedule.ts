// The open-loop producer's clock arithmetic: event i of a run at `rate` events/s is due
// i x 1000 / rate ms after the start, whatever happened to the events before it. Pure.

/** An event handed to kafkajs later than this after its scheduled time: the producer fell behind. */
export const BEHIND_THRESHOLD_MS = 250;

/** Events in a run: rate x seconds, rounded. */
export function totalEvents(rate: number, seconds: number): number {
  return Math.round(rate * seconds);
}

/** When event i (0-based) is due, in ms after the start. */
export function scheduledOffsetMs(i: number, rate: number): number {
  return (i * 1000) / rate;
}

/**
 * How many events are due `elapsedMs` after the start: those scheduled at or before it, i.e.
 * floor(rate x elapsed) + 1 (event 0 is due at once), never more than the run's total.
 */
export function dueBy(elapsedMs: number, rate: number, total: number): number {
  if (elapsedMs < 0) return 0;
  const x = (rate * elapsedMs) / 1000;
  // The relative epsilon keeps an event due at its exact scheduled time (i x 1000 / rate ms),
  // which float rounding may put a hair before i.
  return Math.min(total, Math.floor(x * (1 + 1e-12) + 1e-9) + 1);
}

/** When the last of `total` events is due, in ms after the start: the end of the producing period. */
export function scheduledEndMs(total: number, rate: number): number {
  return scheduledOffsetMs(Math.max(0, total - 1), rate);
}

/** The next tick boundary strictly after `elapsedMs` (ticks at 0, tickMs, 2 x tickMs, ...). */
export function nextTickAt(elapsedMs: number, tickMs: number): number {
  return (Math.floor(elapsedMs / tickMs) + 1) * tickMs;
}

/**
 * The sends to start now: `owed` events cut into sends of at most `maxBatch`, as many as the
 * free in-flight slots allow. What does not fit stays owed (the producer is behind).
 */
export function planSends(owed: number, inFlight: number, maxInFlight: number, maxBatch: number): number[] {
  const sends: number[] = [];
  let left = Math.max(0, owed);
  let slots = Math.max(0, maxInFlight - inFlight);
  while (left > 0 && slots > 0) {
    const n = Math.min(left, maxBatch);
    sends.push(n);
    left -= n;
    slots--;
  }
  return sends;
}

/** events / seconds, rounded to a whole event per second; 0 for no time. */
export function ratePerSecond(events: number, seconds: number): number {
  return seconds > 0 ? Math.round(events / seconds) : 0;
}

/** How late an event was handed to the Kafka client: elapsed minus its scheduled time, >= 0. */
export function latenessMs(i: number, rate: number, elapsedMs: number): number {
  return Math.max(0, elapsedMs - scheduledOffsetMs(i, rate));
}

// Sleeping and timers (Go's time package on the runtime timer heap, Go 1.23 semantics).
//
// Durations are milliseconds (fractions allowed); times are readings of the
// monotonic clock performance.now(). Timer and Ticker channels have a buffer
// of one, and Stop and Reset drain it, so after either returns no stale
// value is received: Go 1.23's "synchronous" timer channels. A Ticker whose
// reader falls behind drops ticks rather than queueing them, as Go's does.

import { PARK, type GoFn, type Op } from "./g.ts";
import { chan, HChan, type Chan } from "./chan.ts";
import { RuntimeError } from "./panic.ts";
import { getg, go, gopark, goready } from "./proc.ts";
import { addTimer, delTimer, RTimer } from "./timer.ts";
import type { G } from "./g.ts";

function readyGoroutine(g: G): void {
  goready(g, undefined);
}

/** Pauses the goroutine for at least ms milliseconds; ms ≤ 0 returns at once. */
export function* sleep(ms: number): Op<void> {
  if (!(ms > 0)) return;
  const t = new RTimer(readyGoroutine, getg());
  addTimer(t, performance.now() + ms);
  gopark("sleep");
  yield PARK;
}

/** Go's time.Timer: fires once, on its channel `c` or by calling a function. */
export class Timer {
  /** Receives the fire time (performance.now()) once; null for afterFunc timers. */
  readonly c: Chan<number> | null;
  readonly #t: RTimer;
  readonly #f: GoFn<[], unknown> | null;

  /** @internal use newTimer or afterFunc */
  constructor(ms: number, f: GoFn<[], unknown> | null) {
    this.#f = f;
    this.c = f === null ? new HChan<number>(1, 0) : null;
    this.#t = new RTimer(fireTimer, this);
    addTimer(this.#t, performance.now() + Math.max(0, durationOf(ms)));
  }

  /**
   * Stops the timer; true if that prevented it from firing. As in Go 1.23, a
   * value that fired but was not received is dropped and counts as prevented.
   */
  stop(): boolean {
    const drained = this.#drain();
    return delTimer(this.#t) || drained;
  }

  /** Re-arms the timer to fire after ms; true if it had been active (or had fired unreceived, as stop). */
  reset(ms: number): boolean {
    const drained = this.#drain();
    const active = this.#t.active;
    addTimer(this.#t, performance.now() + Math.max(0, durationOf(ms)));
    return active || drained;
  }

  /** @internal called by the timer heap */
  fire(now: number): void {
    if (this.#f !== null) go(this.#f);
    else (this.c as HChan<number>).pollSend(now);
  }

  /** Drops a fired, unreceived value; reports whether there was one. */
  #drain(): boolean {
    return this.c !== null && (this.c as HChan<number>).tryRecv() !== null;
  }
}

function fireTimer(t: Timer): void {
  t.fire(performance.now());
}

/** Go's time.Ticker: sends the time every period ms on `c`. */
export class Ticker {
  readonly c: Chan<number>;
  readonly #t: RTimer;

  /** @internal use newTicker */
  constructor(ms: number) {
    this.c = chan<number>(1, 0);
    this.#t = new RTimer(fireTicker, this);
    this.#t.period = positivePeriod(ms, "NewTicker");
    addTimer(this.#t, performance.now() + this.#t.period);
  }

  stop(): void {
    delTimer(this.#t);
    this.c.tryRecv();
  }

  /** Stops the ticker and restarts it with a new period. */
  reset(ms: number): void {
    this.#t.period = positivePeriod(ms, "Ticker.Reset");
    this.c.tryRecv();
    addTimer(this.#t, performance.now() + this.#t.period);
  }
}

function fireTicker(t: Ticker): void {
  t.c.trySend(performance.now());
}

function positivePeriod(ms: number, who: string): number {
  const d = durationOf(ms);
  if (!(d > 0)) throw new RuntimeError(`non-positive interval for ${who}`);
  return d;
}

function durationOf(ms: number): number {
  if (typeof ms !== "number" || Number.isNaN(ms)) throw new TypeError(`duration must be a number of milliseconds, got ${String(ms)}`);
  return ms;
}

/** A Timer that sends on its channel after ms. */
export function newTimer(ms: number): Timer {
  return new Timer(ms, null);
}

/** A Timer that runs f in its own goroutine after ms. */
export function afterFunc(ms: number, f: GoFn<[], unknown>): Timer {
  return new Timer(ms, f);
}

/** A channel that receives the time once, after ms (Go's time.After). */
export function after(ms: number): Chan<number> {
  return newTimer(ms).c!;
}

export function newTicker(ms: number): Ticker {
  return new Ticker(ms);
}

/** Go's time.Tick: a ticker's channel, for tickers that live as long as the program. */
export function tick(ms: number): Chan<number> {
  return newTicker(ms).c;
}

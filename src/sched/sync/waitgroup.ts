// WaitGroup (Go's sync/waitgroup.go, Go 1.25 with WaitGroup.Go).
//
// Go packs a counter and a waiter count into one atomic word; with one thread
// they are two plain fields. When add() brings the counter to zero with
// waiters parked, it resets the waiter count and releases the semaphore once
// per waiter. A waiter that wakes to find the group in use again panics, as
// in Go ("WaitGroup is reused before previous Wait has returned"). Go's other
// misuse panic, "Add called concurrently with Wait", cannot happen on one
// thread: the counter and waiters change together.
//
// Invariants:
//   - counter >= 0 (add throws instead of going negative, leaving it unchanged);
//   - waiters > 0 implies counter > 0: when the counter reaches 0 the waiters
//     are released and waiters reset to 0 in the same step.

import { type GoFn, type Op } from "../g.ts";
import { RuntimeError } from "../panic.ts";
import { go } from "../proc.ts";
import { Sema } from "../sema.ts";

/** Waits for a collection of goroutines or tasks to finish (Go's sync.WaitGroup). */
export class WaitGroup {
  /** Tasks started and not yet done. */
  declare private counter: number;
  /** Goroutines parked in wait() since the counter last reached 0. */
  declare private waiters: number;
  /** The waiters park here; add() releases one unit per waiter. */
  declare private readonly sema: Sema;

  constructor() {
    this.counter = 0;
    this.waiters = 0;
    this.sema = new Sema(0);
  }

  /**
   * Adds delta (which may be negative) to the counter; at 0 every waiter is
   * released. Throws RuntimeError "sync: negative WaitGroup counter" if the
   * counter would go below 0 (the counter is left unchanged).
   */
  add(delta: number): void {
    if (!Number.isSafeInteger(delta)) throw new TypeError(`sync: WaitGroup.add: delta must be an integer, got ${delta}`);
    const v = this.counter + delta;
    if (v < 0) throw new RuntimeError("sync: negative WaitGroup counter");
    this.counter = v;
    if (v > 0 || this.waiters === 0) return;
    let w = this.waiters;
    this.waiters = 0;
    for (; w > 0; w--) this.sema.release();
  }

  /** Decrements the counter by one: add(-1). */
  done(): void {
    this.add(-1);
  }

  /** Blocks until the counter is zero. */
  *wait(): Op<void> {
    if (this.counter === 0) return;
    this.waiters++;
    yield* this.sema.acquire("sync.WaitGroup.Wait");
    if (this.counter !== 0 || this.waiters !== 0) {
      throw new RuntimeError("sync: WaitGroup is reused before previous Wait has returned");
    }
  }

  /**
   * Runs f in a new goroutine counted by the group (Go 1.25's WaitGroup.Go):
   * add(1) now, done() when f returns or throws.
   */
  go(f: GoFn<[], unknown>): void {
    if (typeof f !== "function") throw new TypeError(`sync: WaitGroup.go: expected a generator function, got ${typeof f}`);
    go(counted(this, f)); // may throw (no program): then nothing was counted
    this.add(1); // the new goroutine has not run yet
  }
}

/** f wrapped to call wg.done() at its end; keeps f's name, which goroutine dumps show. */
function counted(wg: WaitGroup, f: GoFn<[], unknown>): GoFn<[], void> {
  const body = function* (): Op<void> {
    try {
      yield* f();
    } finally {
      wg.done();
    }
  };
  Object.defineProperty(body, "name", { value: f.name });
  return body;
}

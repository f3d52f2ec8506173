// Once (Go's sync/once.go).
//
// The fast path reads `done`; the slow path takes the mutex, so callers that
// arrive while f runs park on it and return only after f has finished, as
// Go guarantees. `done` is set in a finally block: if f throws, the Once is
// still done and later calls do not run f again, as in Go (where f's panic
// propagates through Do's deferred store).
//
// Invariants:
//   - done only goes from false to true, after f has returned or thrown;
//   - f runs at most once, with m held.

import { type GoFn, type Op } from "../g.ts";
import { Mutex } from "./mutex.ts";

/** Runs a function exactly once (Go's sync.Once). */
export class Once {
  /** Set once f has completed (returned or thrown). */
  declare private done: boolean;
  /** Held while f runs; concurrent callers wait on it. */
  declare private readonly m: Mutex;

  constructor() {
    this.done = false;
    this.m = new Mutex();
  }

  /**
   * Runs f if and only if this is the first call of do on this Once.
   * Concurrent callers block until that first f has completed. If f throws,
   * the error propagates to its caller and the Once counts as done.
   * f must not call do on the same Once: that deadlocks, as in Go.
   */
  *do(f: GoFn<[], unknown>): Op<void> {
    if (this.done) return;
    yield* this.doSlow(f);
  }

  private *doSlow(f: GoFn<[], unknown>): Op<void> {
    yield* this.m.lock();
    try {
      if (!this.done) yield* this.runOnce(f);
    } finally {
      this.m.unlock();
    }
  }

  private *runOnce(f: GoFn<[], unknown>): Op<void> {
    try {
      yield* f();
    } finally {
      this.done = true;
    }
  }
}

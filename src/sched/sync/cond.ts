// Condition variables (Go's sync/cond.go over runtime notifyList).
//
// wait() queues the goroutine on the Cond *before* unlocking L, as Go takes
// its notifyList ticket before Unlock, so a signal sent after L is released
// cannot be missed; then it parks, and relocks L once woken. signal() wakes
// the longest waiter, broadcast() all current waiters; goroutines that start
// waiting afterwards are not woken. Go's copy checker has no equivalent.
//
// A waiter is woken at most once: `notified` guards it, and it is readied
// only once it has parked, so a custom Locker whose unlock signals the Cond
// cannot wake a goroutine that is still running.
//
// Invariants:
//   - a waiter is in waitq iff it was added by wait() and not yet notified;
//   - notified waiters are readied exactly once.

import { Gwaiting, type G, type Op } from "../g.ts";
import { getg, goready, park } from "../proc.ts";
import { WaitQ, type Waiter } from "../sudog.ts";
import { type Locker } from "./mutex.ts";

/** A rendezvous point for goroutines waiting for a condition (Go's sync.Cond). */
export class Cond {
  /** The lock held while observing or changing the condition (Go's c.L). */
  declare readonly L: Locker;
  /** Goroutines in wait(), oldest first. */
  declare private readonly waitq: WaitQ<CondWaiter>;

  /** A Cond whose wait() releases and reacquires `locker`. */
  constructor(locker: Locker) {
    this.L = locker;
    this.waitq = new WaitQ();
  }

  /**
   * Unlocks L, parks until signal or broadcast wakes it, then locks L again
   * before returning. L must be held. As in Go, the condition may no longer
   * hold when wait returns: call it in a loop.
   */
  *wait(): Op<void> {
    const w = new CondWaiter(getg());
    this.waitq.enqueue(w);
    try {
      this.L.unlock();
      if (!w.notified) {
        w.parked = true;
        yield* park("sync.Cond.Wait");
      }
    } finally {
      this.waitq.remove(w); // only still queued if unlock or the park threw
    }
    yield* this.L.lock();
  }

  /** Wakes the goroutine that has waited longest, if any. Usable outside goroutines. */
  signal(): void {
    const w = this.waitq.dequeue();
    if (w !== null) notify(w);
  }

  /** Wakes every goroutine waiting now. Usable outside goroutines. */
  broadcast(): void {
    for (let w = this.waitq.dequeue(); w !== null; w = this.waitq.dequeue()) notify(w);
  }
}

function notify(w: CondWaiter): void {
  w.notified = true;
  if (w.parked && w.g.status === Gwaiting) goready(w.g, undefined);
}

/** One goroutine in Cond.wait. */
class CondWaiter implements Waiter {
  declare g: G;
  declare readonly sel: null;
  declare qnext: this | null;
  declare qprev: this | null;
  declare queued: boolean;
  /** Taken off the queue by signal or broadcast. */
  declare notified: boolean;
  /** The goroutine has parked (or is about to resume from parking). */
  declare parked: boolean;

  constructor(g: G) {
    this.g = g;
    this.sel = null;
    this.qnext = null;
    this.qprev = null;
    this.queued = false;
    this.notified = false;
    this.parked = false;
  }
}

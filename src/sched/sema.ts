// The runtime semaphore (Go's runtime/sema.go: semacquire / semrelease), the
// one primitive the sync types park on.
//
// A Sema is a count of available units plus a FIFO queue of goroutines parked
// in acquire. acquire takes a unit when the count is positive and parks at the
// tail otherwise. release hands its unit straight to the head waiter (Go's
// semrelease with handoff=true) instead of incrementing the count, so a unit
// released while someone waits can never be taken by a later acquirer:
// waiters are served strictly in arrival order, and the woken one runs next
// (goready puts it in runnext), as Go's handoff yields to it.
//
// Go keys semaphores by address in a treap; here the Sema object is the key.
// There is no spinning and no lifo re-queueing: with one thread, a woken
// waiter never loses a race it would have to re-queue for.
//
// The acquire operation is an iterator object rather than a generator (the
// hot-path rule of chan.ts): an uncontended Mutex.lock allocates one small
// object and resumes no generator.
//
// Invariants:
//   - count >= 0;
//   - count > 0 implies no live waiter: release with a live waiter hands over
//     instead of counting, and acquire only queues when count is 0;
//   - a waiter is queued iff its goroutine is parked in acquire and has not
//     yet been handed a unit (dead waiters of an ended program may linger;
//     WaitQ.dequeue skips them).

import { PARK, type G, type Op, type WaitReason, type Yield } from "./g.ts";
import { getg, gopark, goready } from "./proc.ts";
import { WaitQ, type Waiter } from "./sudog.ts";

const PARKED: IteratorYieldResult<Yield> = Object.freeze({ done: false, value: PARK });
const DONE: IteratorReturnResult<void> = Object.freeze({ done: true, value: undefined });

/** A counting semaphore with FIFO handoff; what Mutex, RWMutex and WaitGroup park on. */
export class Sema {
  /** Units available now; positive only while no live goroutine waits. */
  declare count: number;
  /** Goroutines parked in acquire, oldest first. */
  declare readonly waitq: WaitQ<SemaWaiter>;

  /** A semaphore holding `count` units. */
  constructor(count = 0) {
    if (!Number.isSafeInteger(count) || count < 0) throw new RangeError(`sema: bad initial count ${count}`);
    this.count = count;
    this.waitq = new WaitQ();
  }

  /**
   * Takes one unit, parking FIFO until one is handed over (Go's semacquire).
   * `reason` is the wait reason goroutine dumps show.
   */
  acquire(reason: WaitReason = "semacquire"): Op<void> {
    return new SemaWaiter(this, reason);
  }

  /** Takes a unit only if one is available now (Go's cansemacquire). */
  tryAcquire(): boolean {
    if (this.count === 0) return false;
    this.count--;
    return true;
  }

  /** Returns one unit: to the longest waiter if there is one, else to the count. Usable outside goroutines. */
  release(): void {
    const w = this.waitq.dequeue();
    if (w === null) this.count++;
    else goready(w.g!, undefined);
  }
}

/**
 * One acquire: the Op users delegate to, and the queue entry while parked.
 * next() runs once when a unit is free, twice when it parks: first to queue
 * and park, then after the handoff, which already transferred the unit.
 */
class SemaWaiter implements Waiter, Iterator<Yield, void, unknown> {
  declare readonly s: Sema;
  declare readonly reason: WaitReason;
  /** The parked goroutine; null until the acquire has to wait. */
  declare g: G | null;
  /** Never part of a select. */
  declare readonly sel: null;
  declare qnext: this | null;
  declare qprev: this | null;
  declare queued: boolean;

  constructor(s: Sema, reason: WaitReason) {
    this.s = s;
    this.reason = reason;
    this.g = null;
    this.sel = null;
    this.qnext = null;
    this.qprev = null;
    this.queued = false;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Yield, void> {
    if (this.g !== null) return DONE; // resumed: release handed us the unit
    const s = this.s;
    if (s.count > 0) {
      s.count--;
      return DONE;
    }
    this.g = getg();
    s.waitq.enqueue(this);
    gopark(this.reason);
    return PARKED;
  }

  /** An error thrown into the parked goroutine: leave the queue (no unit was handed over), rethrow. */
  throw(e: unknown): IteratorResult<Yield, void> {
    this.s.waitq.remove(this);
    throw e;
  }

  return(): IteratorResult<Yield, void> {
    this.s.waitq.remove(this);
    return DONE;
  }
}

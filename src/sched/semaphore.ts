// Weighted semaphore (golang.org/x/sync/semaphore).
//
// `size` tokens; acquire(ctx, n) takes n of them, waiting FIFO. Waiters are
// served strictly in order: when the head waiter needs more tokens than are
// free, nobody behind it is served either, so a large request is not starved
// by a stream of small ones (x/sync's notifyWaiters). A request larger than
// the whole semaphore can never succeed and waits only for ctx, without
// queueing, so it blocks nobody else.
//
// x/sync gives each waiter a `ready` channel and selects on it and
// ctx.Done(). Here a waiter parks once and is readied by whichever comes
// first, release() granting its tokens or ctx's cancelation (an onDone hook
// from context.ts); `state` records which one won, so exactly one does. The
// outcomes are x/sync's: a ctx already done fails even if tokens are free;
// tokens granted to a waiter whose ctx is canceled before it runs are given
// back and the acquire fails; a canceled head waiter lets the ones behind it
// through if the tokens now suffice.
//
// Invariants:
//   - 0 <= cur <= size;
//   - a waiter is queued iff its state is WAITING;
//   - tokens are free for the head waiter only when it is not queued:
//     after each release or cancelation, notifyWaiters serves the head
//     while it fits.

import { Gdead, Gwaiting, type G, type Op } from "./g.ts";
import { type Context, onDone } from "./context.ts";
import { RuntimeError } from "./panic.ts";
import { getg, goready, park } from "./proc.ts";
import { recv } from "./select.ts";
import { WaitQ, type Waiter } from "./sudog.ts";

const WAITING = 0;
const ACQUIRED = 1;
const CANCELED = 2;
type WaiterState = typeof WAITING | typeof ACQUIRED | typeof CANCELED;

/** A semaphore of `size` tokens acquired in weighted amounts (x/sync's semaphore.Weighted). */
export class Weighted {
  /** Total tokens. */
  declare readonly size: number;
  /** Tokens held now. */
  declare private cur: number;
  /** Parked acquirers, oldest first. */
  declare private readonly waitq: WaitQ<WeightedWaiter>;

  /** A semaphore with n tokens (x/sync's NewWeighted). */
  constructor(n: number) {
    checkWeight(n, "size");
    this.size = n;
    this.cur = 0;
    this.waitq = new WaitQ();
  }

  /**
   * Takes n tokens, waiting in FIFO order until they are free or ctx is
   * done. Evaluates to null on success, or to ctx.err() with the semaphore
   * unchanged. Fails at once if ctx is already done. n > size waits for ctx
   * only, since it can never succeed.
   */
  *acquire(ctx: Context, n = 1): Op<Error | null> {
    checkWeight(n, "acquire");
    const err = ctx.err();
    if (err !== null) return err;
    if (this.size - this.cur >= n && this.head() === null) {
      this.cur += n;
      return null;
    }
    if (n > this.size) {
      yield* recv(ctx.done()); // blocks forever if ctx cannot be canceled, as in x/sync
      return ctx.err();
    }
    return yield* this.wait(ctx, n);
  }

  private *wait(ctx: Context, n: number): Op<Error | null> {
    const w = new WeightedWaiter(getg(), n);
    this.waitq.enqueue(w);
    const stop = onDone(ctx, () => wake(w, CANCELED));
    try {
      if (w.state === WAITING) yield* park("semaphore acquire"); // else ctx was done at registration
    } finally {
      stop();
      if (w.state === WAITING) this.abandon(w); // an error was thrown into the goroutine
    }
    if (w.state === CANCELED) {
      this.abandon(w);
      return ctx.err();
    }
    const err = ctx.err(); // tokens granted, but ctx ended before we ran: give them back
    if (err !== null) this.release(n);
    return err;
  }

  /** Takes n tokens only if that cannot block (nobody waiting and enough free). */
  tryAcquire(n = 1): boolean {
    checkWeight(n, "tryAcquire");
    if (this.size - this.cur < n || this.head() !== null) return false;
    this.cur += n;
    return true;
  }

  /** Returns n tokens and serves waiters in order. Throws RuntimeError if more are released than held. */
  release(n = 1): void {
    checkWeight(n, "release");
    if (n > this.cur) throw new RuntimeError("semaphore: released more than held");
    this.cur -= n;
    this.notifyWaiters();
  }

  /** Takes a canceled (or failed) waiter out; if it was the head, those behind it may fit now. */
  private abandon(w: WeightedWaiter): void {
    const wasHead = this.head() === w;
    this.waitq.remove(w);
    if (wasHead && this.size > this.cur) this.notifyWaiters();
  }

  /** Grants tokens to waiters from the head while they fit; stops at the first that does not. */
  private notifyWaiters(): void {
    for (let w = this.head(); w !== null && this.size - this.cur >= w.n; w = this.head()) {
      this.cur += w.n;
      this.waitq.remove(w);
      wake(w, ACQUIRED);
    }
  }

  /** The first waiter, dropping dead ones left by an ended program. */
  private head(): WeightedWaiter | null {
    let w = this.waitq.first;
    while (w !== null && w.g.status === Gdead) {
      this.waitq.remove(w);
      w = this.waitq.first;
    }
    return w;
  }
}

/** A new weighted semaphore with n tokens (x/sync's NewWeighted). */
export function newWeighted(n: number): Weighted {
  return new Weighted(n);
}

/** Records the first outcome to arrive and readies w's goroutine if it has parked; later outcomes are ignored. */
function wake(w: WeightedWaiter, state: typeof ACQUIRED | typeof CANCELED): void {
  if (w.state !== WAITING) return;
  w.state = state;
  if (w.g.status === Gwaiting) goready(w.g, undefined);
}

function checkWeight(n: number, who: string): void {
  if (!Number.isSafeInteger(n) || n < 0) throw new RangeError(`semaphore: ${who}: bad weight ${n}`);
}

/** One parked acquire. */
class WeightedWaiter implements Waiter {
  declare g: G;
  declare readonly sel: null;
  declare qnext: this | null;
  declare qprev: this | null;
  declare queued: boolean;
  /** Tokens wanted. */
  declare readonly n: number;
  /** Who readied the goroutine, once someone has. */
  declare state: WaiterState;

  constructor(g: G, n: number) {
    this.g = g;
    this.sel = null;
    this.qnext = null;
    this.qprev = null;
    this.queued = false;
    this.n = n;
    this.state = WAITING;
  }
}

// Wait queues (Go's waitq, chan.go).
//
// A queue holds waiters (Go's sudogs: one goroutine waiting on one channel,
// or on one case of a select; the class is Sudog in chan.ts). Queues are
// intrusive doubly linked lists, so a select removes its losing waiters in
// O(1) once one case has fired.
//
// Invariants:
//   - a waiter is in at most one queue; `queued` says whether it is;
//   - all waiters of one select share one SelectState, and exactly one
//     waker may set `done` (whoever dequeues first wins, Go's selectDone);
//     waiters of a finished select stay queued until their goroutine resumes
//     and removes them, so dequeue skips them;
//   - a waiter whose goroutine is dead (its program ended) is skipped too.

import { Gdead, type G } from "./g.ts";

/** Shared by all waiters of one blocked select. */
export interface SelectState {
  done: boolean;
}

/** What a queue needs of a waiter. */
export interface Waiter {
  g: G | null;
  readonly sel: SelectState | null;
  qnext: this | null;
  qprev: this | null;
  queued: boolean;
}

/** A waiter can still be woken: its goroutine lives and its select has not fired. */
function live(w: Waiter): boolean {
  return w.g!.status !== Gdead && (w.sel === null || !w.sel.done);
}

export class WaitQ<W extends Waiter> {
  first: W | null = null;
  last: W | null = null;

  enqueue(w: W): void {
    w.queued = true;
    w.qnext = null;
    w.qprev = this.last;
    if (this.last === null) this.first = w;
    else this.last.qnext = w;
    this.last = w;
  }

  remove(w: W): void {
    if (!w.queued) return;
    w.queued = false;
    if (w.qprev === null) this.first = w.qnext;
    else w.qprev.qnext = w.qnext;
    if (w.qnext === null) this.last = w.qprev;
    else w.qnext.qprev = w.qprev;
    w.qnext = w.qprev = null;
  }

  /**
   * Takes the first waiter that can still be woken, dropping stale ones, and
   * claims its select so no other waker can take it.
   */
  dequeue(): W | null {
    for (let w = this.first; w !== null; w = this.first) {
      this.remove(w);
      if (!live(w)) continue;
      if (w.sel !== null) w.sel.done = true;
      return w;
    }
    return null;
  }
}

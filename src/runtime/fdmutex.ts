// Go's fdMutex (internal/poll/fd_mutex.go): the lifetime of a descriptor and
// the serialization of its reads and writes, in one state word.
//
// Every operation on an FD holds a reference while it may touch the
// descriptor number: reads take the read lock (rwlock(true)), writes the
// write lock (rwlock(false)), everything else (setsockopt, deadlines,
// shutdown) a plain reference (incref). Close marks the mutex closed and
// takes a reference (increfAndClose); from then on every lock and incref
// fails, and whoever drops the last reference (decref or rwunlock returning
// true) must destroy the FD: deregister it and close(2) the number. So no
// call can reach the kernel with a number that was closed and reused.
//
// The state word. Go packs one uint64:
//
//   bit  0       mutexClosed   set by increfAndClose; never cleared
//   bit  1       mutexRLock    the read lock is held
//   bit  2       mutexWLock    the write lock is held
//   bits 3-22    mutexRef      references (read + write + misc), 20 bits
//   bits 23-42   mutexRWait    goroutines waiting for the read lock, 20 bits
//   bits 43-62   mutexWWait    goroutines waiting for the write lock, 20 bits
//
// so that one CAS updates all of it from any thread. Here one thread touches
// it and JS bitwise operators are 32-bit, so `state` keeps Go's low 23 bits
// with the same values, and the two waiter counts are the fields rwait and
// wwait, with Go's 20-bit limits. Every transition below is Go's, and the
// impossible ones fail as Go's do ("inconsistent poll.fdMutex").
//
// Waiting. A goroutine that finds its lock held counts itself a waiter and
// acquires rsema (wsema); the unlocker subtracts one waiter and releases the
// semaphore, and the woken goroutine retries from the top (another may have
// taken the lock meanwhile: it waits again, as in Go). Sema is FIFO with
// hand-off, so waiters are woken in arrival order. increfAndClose releases
// every waiter at once; they retry, see closed, and fail.
//
// Invariants:
//   - refs (state >> 3) counts the holders of a reference; it is >= 1 while a
//     lock bit is set (the holder's);
//   - rwait (wwait) equals the goroutines parked on rsema (wsema) that no
//     unlock has released yet; both are 0 once closed;
//   - once closed, refs only decreases, and the call that takes it to 0
//     returns true, exactly once.

import type { Op } from "../sched/g.ts";
import { RuntimeError } from "../sched/panic.ts";
import { Sema } from "../sched/sema.ts";

const mutexClosed = 1 << 0;
const mutexRLock = 1 << 1;
const mutexWLock = 1 << 2;
const mutexRef = 1 << 3;
const mutexRefMask = ((1 << 20) - 1) << 3;
/** The largest waiter count (Go's 20-bit fields). */
const maxWaiters = (1 << 20) - 1;

const overflowMsg = "too many concurrent operations on a single file or socket (max 1048575)";

function inconsistent(): never {
  throw new RuntimeError("inconsistent poll.fdMutex");
}

/** tryRwlock results. */
export const LOCKED = 0;
export const CLOSED = 1;
export const BUSY = 2;
export type TryLock = typeof LOCKED | typeof CLOSED | typeof BUSY;

export class FdMutex {
  /** Go's low 23 bits: closed, read lock, write lock, 20 bits of references. */
  state = 0;
  /** Goroutines parked on rsema waiting for the read lock (Go's bits 23-42). */
  rwait = 0;
  /** Goroutines parked on wsema waiting for the write lock (Go's bits 43-62). */
  wwait = 0;
  readonly rsema = new Sema(0);
  readonly wsema = new Sema(0);

  /** The number of references held. */
  get refs(): number {
    return (this.state & mutexRefMask) >>> 3;
  }

  get closed(): boolean {
    return (this.state & mutexClosed) !== 0;
  }

  /** Adds a reference; false once closed. */
  incref(): boolean {
    const old = this.state;
    if ((old & mutexClosed) !== 0) return false;
    const next = old + mutexRef;
    if ((next & mutexRefMask) === 0) throw new RuntimeError(overflowMsg);
    this.state = next;
    return true;
  }

  /**
   * Marks closed and adds a reference; false if already closed. Every waiter
   * for a lock is released: it retries, sees closed, and fails.
   */
  increfAndClose(): boolean {
    const old = this.state;
    if ((old & mutexClosed) !== 0) return false;
    const next = (old | mutexClosed) + mutexRef;
    if ((next & mutexRefMask) === 0) throw new RuntimeError(overflowMsg);
    this.state = next;
    let r = this.rwait;
    let w = this.wwait;
    this.rwait = 0;
    this.wwait = 0;
    for (; r > 0; r--) this.rsema.release();
    for (; w > 0; w--) this.wsema.release();
    return true;
  }

  /** Drops a reference; true if that was the last one after close: the caller must destroy. */
  decref(): boolean {
    const old = this.state;
    if ((old & mutexRefMask) === 0) inconsistent();
    const next = old - mutexRef;
    this.state = next;
    return (next & (mutexClosed | mutexRefMask)) === mutexClosed;
  }

  /**
   * The lock without waiting: LOCKED (a reference and the lock taken),
   * CLOSED, or BUSY (someone holds it; rwlock waits).
   */
  tryRwlock(read: boolean): TryLock {
    const old = this.state;
    if ((old & mutexClosed) !== 0) return CLOSED;
    const bit = read ? mutexRLock : mutexWLock;
    if ((old & bit) !== 0) return BUSY;
    const next = (old | bit) + mutexRef;
    if ((next & mutexRefMask) === 0) throw new RuntimeError(overflowMsg);
    this.state = next;
    return LOCKED;
  }

  /** Takes a reference and the read (write) lock, waiting FIFO for it; false once closed. */
  *rwlock(read: boolean): Op<boolean> {
    for (;;) {
      const r = this.tryRwlock(read);
      if (r !== BUSY) return r === LOCKED;
      if (read) {
        if (this.rwait === maxWaiters) throw new RuntimeError(overflowMsg);
        this.rwait++;
        yield* this.rsema.acquire("semacquire");
      } else {
        if (this.wwait === maxWaiters) throw new RuntimeError(overflowMsg);
        this.wwait++;
        yield* this.wsema.acquire("semacquire");
      }
      // The releaser subtracted our wait count (or increfAndClose zeroed it).
    }
  }

  /**
   * Drops the read (write) lock and its reference, and releases one waiter;
   * true if that was the last reference after close: the caller must destroy.
   */
  rwunlock(read: boolean): boolean {
    const old = this.state;
    const bit = read ? mutexRLock : mutexWLock;
    if ((old & bit) === 0 || (old & mutexRefMask) === 0) inconsistent();
    const next = (old & ~bit) - mutexRef;
    this.state = next;
    if (read) {
      if (this.rwait > 0) {
        this.rwait--;
        this.rsema.release();
      }
    } else if (this.wwait > 0) {
      this.wwait--;
      this.wsema.release();
    }
    return (next & (mutexClosed | mutexRefMask)) === mutexClosed;
  }
}

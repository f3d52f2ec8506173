// Mutual exclusion locks (Go's sync/mutex.go and sync/rwmutex.go).
//
// Mutex is a Sema holding one unit: lock acquires it, unlock releases it.
// Because the Sema hands a released unit straight to its longest waiter,
// the mutex is always in what Go calls starvation mode: unlock passes
// ownership to the head of the queue, and a goroutine that calls lock later
// cannot barge in ahead of it. Go starts in normal mode (a woken waiter
// competes with new arrivals, which usually win) and only switches to
// handoff after a waiter has starved for 1ms; on one thread with no spinning,
// handoff costs nothing and keeps turns fair.
//
// RWMutex is Go's algorithm unchanged: a writer first takes the writer mutex
// `w`, then subtracts MAX_READERS from readerCount to announce itself (new
// readers see a negative count and park on readerSem), and waits on
// writerSem for the readers that were active at that moment (readerWait) to
// leave. Unlock adds MAX_READERS back and lets every reader that arrived
// meanwhile through, then releases `w`. So a blocked writer stops new
// readers (writer preference), and readers blocked by a writer go before the
// next writer.
//
// Neither lock belongs to a goroutine: one may lock and another unlock, as
// in Go. Misuse (unlocking what is not locked) throws RuntimeError with Go's
// message; Go makes it a fatal, unrecoverable error, here try/catch can
// catch it, and the lock's state is left as it was before the bad call.

import { type Op } from "../g.ts";
import { RuntimeError } from "../panic.ts";
import { Sema } from "../sema.ts";

/** Something that can be locked and unlocked (Go's sync.Locker): Mutex, RWMutex, rw.rLocker(). */
export interface Locker {
  /** Blocks until the lock is held: `yield* l.lock()`. */
  lock(): Op<void>;
  /** Releases the lock; throws RuntimeError if it was not held. */
  unlock(): void;
}

/** A mutual exclusion lock (Go's sync.Mutex) with FIFO handoff. The zero state is unlocked. */
export class Mutex implements Locker {
  /** One unit when unlocked, none when locked; its queue is the lock's waiters. */
  declare private readonly sema: Sema;

  constructor() {
    this.sema = new Sema(1);
  }

  /** Blocks until the mutex is held by the caller; waiters get it in arrival order. */
  lock(): Op<void> {
    return this.sema.acquire("sync.Mutex.Lock");
  }

  /** Locks the mutex if that cannot block; reports whether it did (Go's TryLock). */
  tryLock(): boolean {
    return this.sema.tryAcquire();
  }

  /**
   * Unlocks the mutex, handing it to the longest waiter if there is one.
   * Throws RuntimeError "sync: unlock of unlocked mutex" if it is not locked.
   */
  unlock(): void {
    if (this.sema.count !== 0) throw new RuntimeError("sync: unlock of unlocked mutex");
    this.sema.release();
  }

  /** Whether the mutex is held now (for assertions and debugging; Go has no such method). */
  get locked(): boolean {
    return this.sema.count === 0;
  }
}

/** Go's rwmutexMaxReaders: the bias a pending writer subtracts from readerCount. */
const MAX_READERS = 1 << 30;

/**
 * A reader/writer lock (Go's sync.RWMutex): any number of readers or one
 * writer. A writer waiting in lock() blocks new readers, so readers cannot
 * starve it; recursive read locking can therefore deadlock, as in Go.
 */
export class RWMutex implements Locker {
  /** Held by the writer that is pending or active; orders writers FIFO. */
  declare private readonly w: Mutex;
  /** A pending writer waits here for the departing readers. */
  declare private readonly writerSem: Sema;
  /** Readers wait here while a writer is pending or active. */
  declare private readonly readerSem: Sema;
  /** Readers holding or waiting for the lock, minus MAX_READERS while a writer is pending or active. */
  declare private readerCount: number;
  /** Readers the pending writer still waits for. */
  declare private readerWait: number;

  constructor() {
    this.w = new Mutex();
    this.writerSem = new Sema(0);
    this.readerSem = new Sema(0);
    this.readerCount = 0;
    this.readerWait = 0;
  }

  /** Locks for reading; blocks while a writer holds or waits for the lock. */
  *rLock(): Op<void> {
    if (++this.readerCount < 0) yield* this.readerSem.acquire("sync.RWMutex.RLock");
  }

  /** Locks for reading if that cannot block; reports whether it did. */
  tryRLock(): boolean {
    if (this.readerCount < 0) return false;
    this.readerCount++;
    return true;
  }

  /** Undoes one rLock; throws RuntimeError "sync: RUnlock of unlocked RWMutex" on misuse. */
  rUnlock(): void {
    const r = --this.readerCount;
    if (r < 0) this.rUnlockSlow(r);
  }

  private rUnlockSlow(r: number): void {
    if (r + 1 === 0 || r + 1 === -MAX_READERS) {
      this.readerCount++;
      throw new RuntimeError("sync: RUnlock of unlocked RWMutex");
    }
    // A writer is pending: the last departing reader lets it in.
    if (--this.readerWait === 0) this.writerSem.release();
  }

  /** Locks for writing: waits for other writers, then for the active readers to leave. */
  *lock(): Op<void> {
    yield* this.w.lock();
    const r = (this.readerCount -= MAX_READERS) + MAX_READERS;
    if (r !== 0 && (this.readerWait += r) !== 0) yield* this.writerSem.acquire("sync.RWMutex.Lock");
  }

  /** Locks for writing if that cannot block; reports whether it did. */
  tryLock(): boolean {
    if (!this.w.tryLock()) return false;
    if (this.readerCount !== 0) {
      this.w.unlock();
      return false;
    }
    this.readerCount = -MAX_READERS;
    return true;
  }

  /** Unlocks for writing: readers that queued meanwhile go first, then the next writer. */
  unlock(): void {
    const r = (this.readerCount += MAX_READERS);
    if (r >= MAX_READERS) {
      this.readerCount -= MAX_READERS;
      throw new RuntimeError("sync: Unlock of unlocked RWMutex");
    }
    for (let i = 0; i < r; i++) this.readerSem.release();
    this.w.unlock();
  }

  /** A Locker whose lock/unlock are rLock/rUnlock (Go's RLocker). */
  rLocker(): Locker {
    return { lock: () => this.rLock(), unlock: () => this.rUnlock() };
  }
}

// Channels (Go's chan.go).
//
// A channel is a FIFO ring of at most `cap` values plus two wait queues of
// sudogs: goroutines blocked sending (sendq) and receiving (recvq).
//
// Invariants (as chan.go states them):
//   - at least one of sendq and recvq is empty, except for an unbuffered
//     channel with one goroutine blocked on both sides through select;
//   - for a buffered channel, count > 0 implies recvq is empty, and
//     count < cap implies sendq is empty;
//   - once closed, a channel never reopens and its queues only drain.
//
// Blocked receivers and senders are served FIFO. On an unbuffered channel a
// send to a waiting receiver hands the value straight to it (no buffer) and
// the receiver runs next (runnext). A receive from a full buffer takes the
// head and moves the first blocked sender's value to the tail, as Go does, so
// values come out in the order they were sent.
//
// pollRecv / pollSend are the non-blocking halves, shared with select.ts.
//
// Performance rule for the objects made per operation (Sudog, and G in
// g.ts): fields are `declare`d and assigned in the constructor, and the class
// has no subclass. On Node 20's V8, class-field initializers made a channel
// round trip ~2x slower, and so did subclassing one op class per kind
// (measured with bench/sched.bench.ts); one monomorphic class is fastest.

import { PARK, type G, type Op, type Yield } from "./g.ts";
import { RuntimeError } from "./panic.ts";
import { getg, gopark, goready } from "./proc.ts";
import { WaitQ, type SelectState, type Waiter } from "./sudog.ts";

/** pollRecv results. */
export const RECV_OK = 0;
export const RECV_CLOSED = 1;
export const RECV_BLOCK = 2;

/** Value of the last pollRecv that returned RECV_OK (avoids a result object per receive). */
export let received: unknown = undefined;

/** Go's chan T, as users see it. */
export interface Chan<T> {
  /** Capacity of the buffer (0 for an unbuffered channel). */
  readonly cap: number;
  /** Number of values buffered now. */
  readonly len: number;
  /** Sends v, blocking until a receiver takes it or the buffer has room. Panics if closed. */
  send(v: T): Op<void>;
  /** Receives a value; on a closed, drained channel returns the zero value at once. */
  recv(): Op<T>;
  /** Receives a value and whether it came from a send (false: closed and drained). */
  recvOk(): Op<[value: T, ok: boolean]>;
  /** Closes the channel: receivers drain the buffer then get the zero value; senders panic. */
  close(): void;
  /** Sends only if that cannot block (Go's select with default); usable outside goroutines. */
  trySend(v: T): boolean;
  /** Receives only if that cannot block; null when it would. Usable outside goroutines. */
  tryRecv(): [value: T, ok: boolean] | null;
  /**
   * Go's `for v := range ch`, allocation-free:
   * `for (const r = ch.range(); yield* r.next(); ) use(r.value);`
   */
  range(): Range<T>;
  /** Runs body for each value until the channel is closed and drained, or body returns false. */
  forEach(body: (v: T) => Op<void | boolean>): Op<void>;
}

/** A range loop over a channel: next() receives, and is false once the channel is closed and drained. */
export interface Range<T> {
  next(): Op<boolean>;
  /** The value the last next() received. */
  readonly value: T;
}

/** Makes a channel with a buffer of `cap` values; `zero` is what a closed channel yields (Go's zero value). */
export function chan<T>(cap = 0, zero?: T): Chan<T> {
  if (!Number.isSafeInteger(cap) || cap < 0) throw new RangeError(`makechan: size out of range (${cap})`);
  return new HChan<T>(cap, zero as T);
}

export class HChan<T> implements Chan<T> {
  declare readonly cap: number;
  declare readonly zero: T;
  /** Ring of buffered values: `count` of them from `head`; grows up to cap on demand. */
  declare private buf: (T | undefined)[];
  declare private head: number;
  declare private count: number;
  declare closed: boolean;
  declare readonly recvq: WaitQ<Sudog<T>>;
  declare readonly sendq: WaitQ<Sudog<T>>;
  /**
   * One idle op of each kind, reused by the next operation: a channel op
   * that completes (or wakes) puts itself back here, so steady traffic
   * allocates nothing. An op handed out is out of the cache until it ends.
   */
  declare freeSend: Sudog<T> | null;
  declare freeRecv: Sudog<T> | null;
  declare freeRecvOk: Sudog<T> | null;

  constructor(cap: number, zero: T) {
    this.cap = cap;
    this.zero = zero;
    this.buf = [];
    this.head = 0;
    this.count = 0;
    this.closed = false;
    this.recvq = new WaitQ();
    this.sendq = new WaitQ();
    this.freeSend = null;
    this.freeRecv = null;
    this.freeRecvOk = null;
  }

  get len(): number {
    return this.count;
  }

  send(v: T): Op<void> {
    let op = this.freeSend;
    if (op === null) op = new Sudog<T>(OP_SEND, this, null, v, null, 0);
    else {
      this.freeSend = null;
      op.elem = v;
    }
    return op as Op<unknown> as Op<void>;
  }

  recv(): Op<T> {
    let op = this.freeRecv;
    if (op === null) op = new Sudog<T>(OP_RECV, this, null, undefined, null, 0);
    else this.freeRecv = null;
    return op as Op<unknown> as Op<T>;
  }

  recvOk(): Op<[T, boolean]> {
    let op = this.freeRecvOk;
    if (op === null) op = new Sudog<T>(OP_RECVOK, this, null, undefined, null, 0);
    else this.freeRecvOk = null;
    return op as Op<unknown> as Op<[T, boolean]>;
  }

  /** Takes back an op that has ended (Sudog.finish). */
  recycle(op: Sudog<T>): void {
    if (op.kind === OP_SEND) this.freeSend = op;
    else if (op.kind === OP_RECV) this.freeRecv = op;
    else if (op.kind === OP_RECVOK) this.freeRecvOk = op;
  }

  trySend(v: T): boolean {
    return this.pollSend(v);
  }

  tryRecv(): [T, boolean] | null {
    const st = this.pollRecv();
    if (st === RECV_OK) return [received as T, true];
    if (st === RECV_CLOSED) return [this.zero, false];
    return null;
  }

  range(): Range<T> {
    return new RangeOp(this);
  }

  *forEach(body: (v: T) => Op<void | boolean>): Op<void> {
    for (const r = this.range(); yield* r.next(); ) {
      if ((yield* body(r.value)) === false) return;
    }
  }

  close(): void {
    if (this.closed) throw new RuntimeError("close of closed channel");
    this.closed = true;
    for (let sg = this.recvq.dequeue(); sg !== null; sg = this.recvq.dequeue()) {
      sg.elem = this.zero;
      sg.success = false;
      wake(sg);
    }
    for (let sg = this.sendq.dequeue(); sg !== null; sg = this.sendq.dequeue()) {
      sg.success = false;
      wake(sg);
    }
  }

  /** Completes a send if that cannot block; panics on a closed channel. */
  pollSend(v: T): boolean {
    if (this.closed) throw new RuntimeError("send on closed channel");
    const sg = this.recvq.dequeue();
    if (sg !== null) {
      sg.elem = v;
      sg.success = true;
      wake(sg);
      return true;
    }
    if (this.count < this.cap) {
      this.push(v);
      return true;
    }
    return false;
  }

  /** Completes a receive if that cannot block: RECV_OK (value in `received`), RECV_CLOSED or RECV_BLOCK. */
  pollRecv(): number {
    if (this.count > 0) {
      received = this.shift();
      // A blocked sender's value now fits at the tail.
      const sg = this.sendq.dequeue();
      if (sg !== null) {
        this.push(sg.elem as T);
        sg.elem = undefined;
        sg.success = true;
        wake(sg);
      }
      return RECV_OK;
    }
    const sg = this.sendq.dequeue();
    if (sg !== null) {
      received = sg.elem;
      sg.elem = undefined;
      sg.success = true;
      wake(sg);
      return RECV_OK;
    }
    return this.closed ? RECV_CLOSED : RECV_BLOCK;
  }

  private push(v: T): void {
    let buf = this.buf;
    if (this.count === buf.length) buf = this.grow();
    let i = this.head + this.count;
    if (i >= buf.length) i -= buf.length;
    buf[i] = v;
    this.count++;
  }

  private shift(): T {
    const buf = this.buf;
    const v = buf[this.head] as T;
    buf[this.head] = undefined;
    if (++this.head === buf.length) this.head = 0;
    this.count--;
    return v;
  }

  /** Doubles the ring (up to cap), unwrapping it; buffers are made lazily so chan(1e9) costs nothing. */
  private grow(): (T | undefined)[] {
    const old = this.buf;
    const n = Math.min(this.cap, Math.max(8, old.length * 2));
    const buf: (T | undefined)[] = new Array(n);
    for (let i = 0; i < this.count; i++) buf[i] = old[(this.head + i) % old.length];
    this.buf = buf;
    this.head = 0;
    return buf;
  }
}

function wake<T>(sg: Sudog<T>): void {
  goready(sg.g!, sg);
}

// Sudog kinds: the direction, and what next() returns when used as an Op.
// A select's waiters are OP_SEND or OP_RECV sudogs with `sel` set, never iterated.
export const OP_SEND = 0;
export const OP_RECV = 1;
const OP_RECVOK = 2;
/** A range loop's receive: evaluates to ok and leaves the value in elem; owned by its Range, never recycled. */
const OP_RANGE = 3;
type OpKind = typeof OP_SEND | typeof OP_RECV | typeof OP_RECVOK | typeof OP_RANGE;

const PARKED: IteratorYieldResult<Yield> = Object.freeze({ done: false, value: PARK });
/**
 * The one result object of every completed channel op: yield* and the
 * scheduler read `done` and `value` as soon as next() returns, so it can be
 * reused instead of allocated per receive.
 */
const DONE: { done: true; value: unknown } = { done: true, value: undefined };

/**
 * Go's sudog, which here is also the channel operation itself: `ch.recv()`
 * returns a Sudog that `yield*` drives as an iterator (an Op), so a blocking
 * operation allocates one object and no generator. next() runs once when the
 * operation completes at once, twice when it blocks: first to try and park,
 * then after goready to report the outcome.
 */
export class Sudog<T> implements Waiter, Iterator<Yield, unknown, unknown> {
  declare readonly kind: OpKind;
  declare readonly c: HChan<T>;
  /** The waiting goroutine; null until the operation has to wait. */
  declare g: G | null;
  /** Send: the value offered. Receive: filled in by the waker. */
  declare elem: T | undefined;
  /** True when woken by a communication, false when woken by close. */
  declare success: boolean;
  /** Null except for the waiters of a select. */
  declare readonly sel: SelectState | null;
  /** Index of the select case this waiter stands for. */
  declare readonly caseIndex: number;
  declare qnext: this | null;
  declare qprev: this | null;
  declare queued: boolean;

  constructor(kind: OpKind, c: HChan<T>, g: G | null, elem: T | undefined, sel: SelectState | null, caseIndex: number) {
    this.kind = kind;
    this.c = c;
    this.g = g;
    this.elem = elem;
    this.success = false;
    this.sel = sel;
    this.caseIndex = caseIndex;
    this.qnext = null;
    this.qprev = null;
    this.queued = false;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(): IteratorResult<Yield, unknown> {
    return this.g === null ? this.attempt() : this.outcome();
  }

  /** First step: complete at once, or queue and park. */
  private attempt(): IteratorResult<Yield, unknown> {
    const c = this.c;
    if (this.kind === OP_SEND) {
      if (c.pollSend(this.elem as T)) return this.finish(undefined);
      return this.park(c.sendq, "chan send");
    }
    const st = c.pollRecv();
    if (st === RECV_BLOCK) return this.park(c.recvq, "chan receive");
    const ok = st === RECV_OK;
    return this.received(ok ? (received as T) : c.zero, ok);
  }

  /** Second step, after goready. */
  private outcome(): IteratorResult<Yield, unknown> {
    const ok = this.success;
    if (this.kind === OP_SEND) {
      this.finish(undefined);
      if (!ok) throw new RuntimeError("send on closed channel");
      return DONE;
    }
    return this.received(ok ? (this.elem as T) : this.c.zero, ok);
  }

  /** A receive has ended: its result by kind. */
  private received(v: T, ok: boolean): IteratorResult<Yield, unknown> {
    if (this.kind === OP_RECV) return this.finish(v);
    if (this.kind === OP_RECVOK) return this.finish([v, ok]);
    this.g = null;
    this.success = false;
    this.elem = v; // OP_RANGE: read through Range.value
    DONE.value = ok;
    return DONE;
  }

  /** The op has ended with value: reset it and hand it back to its channel for reuse. */
  private finish(value: unknown): IteratorResult<Yield, unknown> {
    this.g = null;
    this.elem = undefined;
    this.success = false;
    this.c.recycle(this);
    DONE.value = value;
    return DONE;
  }

  private park(q: WaitQ<Sudog<T>>, reason: "chan send" | "chan receive"): IteratorYieldResult<Yield> {
    this.g = getg();
    q.enqueue(this);
    gopark(reason);
    return PARKED;
  }

  /** An error thrown into the goroutine while it waits: leave the queue, then rethrow. */
  throw(e: unknown): IteratorResult<Yield, unknown> {
    this.leave();
    this.finish(undefined);
    throw e;
  }

  return(v?: unknown): IteratorResult<Yield, unknown> {
    this.leave();
    return this.finish(v);
  }

  /** Removes this waiter from its channel's queue, if it is still there. */
  leave(): void {
    (this.kind === OP_SEND ? this.c.sendq : this.c.recvq).remove(this);
  }
}

class RangeOp<T> implements Range<T> {
  readonly #op: Sudog<T>;
  constructor(c: HChan<T>) {
    this.#op = new Sudog<T>(OP_RANGE, c, null, undefined, null, 0);
  }
  next(): Op<boolean> {
    return this.#op as Op<unknown> as Op<boolean>;
  }
  get value(): T {
    return this.#op.elem as T;
  }
}

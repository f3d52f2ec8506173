// Contexts (Go's context/context.go): cancellation, deadlines and
// request-scoped values, carried down a tree of Context values.
//
// The shapes are Go's:
//   EmptyCtx          background() and todo(): never canceled, no values.
//   CancelCtx         withCancel / withCancelCause, and withDeadline /
//                     withTimeout (Go's timerCtx: same class with `deadlineAt`
//                     and a runtime timer, so there is no subclass).
//   ValueCtx          withValue: one key/value pair over a parent.
//   WithoutCancelCtx  withoutCancel: the parent's values, never canceled.
//   DoneHook          an internal canceler (Go's afterFuncCtx) that runs a
//                     callback when its parent is canceled: afterFunc,
//                     signalOf and the weighted semaphore use it.
//
// Propagation (Go's propagateCancel): a cancelable child registers itself in
// the `children` set of the nearest CancelCtx above it, found through the
// internal cancelCtxKey value as Go does, so a Context implemented outside
// this module that delegates value() still links up. A parent with no
// CancelCtx behind it (a foreign implementation) is watched by a goroutine
// selecting on both done channels, as Go does. Canceling a context closes
// its done channel, cancels its children with the same error and cause,
// removes it from its parent and stops its timer: a canceled subtree keeps
// no reference from above and no timer in the heap.
//
// Times are readings of performance.now() in milliseconds, the clock of the
// runtime timer heap. Deadline timers fire on the scheduler, which only runs
// while a program runs; canceling is non-blocking and may be done anywhere
// (in a goroutine, a timer callback, an AbortSignal listener, async code).
//
// Errors are Go's: err() is null until the context is canceled, then the
// singleton Canceled or DeadlineExceeded, so `err === Canceled` is Go's
// errors.Is. cause(ctx) is the error given to a CancelCauseFunc (or the
// deadline's cause), defaulting to err().

import { type GoFn, type Op } from "./g.ts";
import { chan, type Chan } from "./chan.ts";
import { go, holdExternal, running } from "./proc.ts";
import { recv, select } from "./select.ts";
import { addTimer, delTimer, RTimer } from "./timer.ts";

// ---- the interface ---------------------------------------------------------

/**
 * Carries a deadline, a cancellation signal and values across API boundaries
 * (Go's context.Context). Implementations must be safe to call from any
 * goroutine; the ones made here are.
 */
export interface Context {
  /** When the context will be canceled for its deadline (performance.now() ms), or null if it has none. */
  deadline(): number | null;
  /** A channel closed when the context is canceled; null if it can never be (acts as a nil channel in select). */
  done(): Chan<void> | null;
  /** null while done() is open; afterwards why: Canceled or DeadlineExceeded (the same value on every call). */
  err(): Error | null;
  /** The value bound to key by the nearest withValue above, or undefined. */
  value<T>(key: Key<T>): T | undefined;
}

/** Cancels a context (Go's CancelFunc). Idempotent; never blocks. */
export type CancelFunc = () => void;

/** Cancels a context with a cause, which cause(ctx) then returns (Go's CancelCauseFunc). */
export type CancelCauseFunc = (cause?: Error | null) => void;

/**
 * A typed key for withValue / ctx.value. Keys compare by identity, so each
 * newKey call makes a distinct key, as Go's unexported key types do.
 */
export class Key<T> {
  /** Shown by toString; not part of the identity. */
  declare readonly name: string;
  /** Phantom member binding the key to its value type; never set. */
  declare readonly __valueType?: (v: T) => T;

  constructor(name: string) {
    this.name = name;
  }

  toString(): string {
    return `Key(${this.name})`;
  }
}

/** A new key for values of type T. */
export function newKey<T>(name: string): Key<T> {
  return new Key<T>(name);
}

// ---- errors ----------------------------------------------------------------

/** The error of a context canceled by its CancelFunc (Go's context.Canceled). */
export class CanceledError extends Error {
  override name = "CanceledError";
  constructor() {
    super("context canceled");
  }
}

/** The error of a context whose deadline passed (Go's context.DeadlineExceeded). */
export class DeadlineExceededError extends Error {
  override name = "DeadlineExceededError";
  /** It is a timeout (Go's Timeout() method). */
  readonly timeout = true;
  /** Retrying may succeed (Go's Temporary() method). */
  readonly temporary = true;
  constructor() {
    super("context deadline exceeded");
  }
}

/** err() of a canceled context. */
export const Canceled: CanceledError = new CanceledError();
/** err() of a context whose deadline passed. */
export const DeadlineExceeded: DeadlineExceededError = new DeadlineExceededError();

// ---- cancelers and lookup ----------------------------------------------------

/** What a CancelCtx keeps in `children` (Go's canceler). */
interface Canceler {
  cancel(removeFromParent: boolean, err: Error, why: Error | null): void;
  done(): Chan<void> | null;
}

/** ctx.value(cancelCtxKey) is the nearest CancelCtx, as in Go. */
const cancelCtxKey = new Key<CancelCtx>("cancelCtx");

/** Value lookup up the chain, iteratively (Go's value()); keys compare by identity. */
function lookup<T>(c: Context, key: Key<T>): unknown {
  const k: object = key;
  for (;;) {
    if (c instanceof ValueCtx) {
      if (c.key === k) return c.val;
      c = c.parent;
    } else if (c instanceof CancelCtx) {
      if (k === cancelCtxKey) return c;
      c = c.parent;
    } else if (c instanceof WithoutCancelCtx) {
      if (k === cancelCtxKey) return undefined;
      c = c.parent;
    } else if (c instanceof EmptyCtx) {
      return undefined;
    } else {
      return c.value(key);
    }
  }
}

/**
 * The CancelCtx whose done channel parent.done() is, or null (Go's
 * parentCancelCtx): a parent that can never be canceled, or a foreign one.
 */
function parentCancelCtx(parent: Context): CancelCtx | null {
  const done = parent.done();
  if (done === null) return null;
  const p = lookup(parent, cancelCtxKey);
  return p instanceof CancelCtx && p.done() === done ? p : null;
}

/** Arranges for child to be canceled when parent is (Go's propagateCancel). */
function propagateCancel(parent: Context, child: Canceler): void {
  const done = parent.done();
  if (done === null) return; // never canceled
  if (done.tryRecv() !== null) {
    child.cancel(false, parent.err() ?? Canceled, cause(parent));
    return;
  }
  const p = parentCancelCtx(parent);
  if (p !== null) (p.children ??= new Set()).add(child);
  else go(watchParent, parent, child);
}

/** For a foreign parent: waits for either side to end (Go's goroutine in propagateCancel). */
function* watchParent(parent: Context, child: Canceler): Op<void> {
  const r = yield* select([recv(parent.done()), recv(child.done())]);
  if (r.index === 0) child.cancel(false, parent.err() ?? Canceled, cause(parent));
}

/** Unlinks a canceled child from its parent (Go's removeChild). */
function removeChild(parent: Context, child: Canceler): void {
  const p = parentCancelCtx(parent);
  if (p !== null && p.children !== null) p.children.delete(child);
}

/**
 * The cause of c's cancellation (Go's context.Cause): the error passed to a
 * CancelCauseFunc or deadline cause if one was, else c.err(); null while c
 * is not canceled.
 */
export function cause(c: Context): Error | null {
  const cc = lookup(c, cancelCtxKey);
  if (cc instanceof CancelCtx) return cc.causeErr;
  return c.err();
}

// ---- background ----------------------------------------------------------------

/** background() and todo(): never canceled, no deadline, no values. */
class EmptyCtx implements Context {
  declare readonly name: string;
  constructor(name: string) {
    this.name = name;
  }
  deadline(): number | null {
    return null;
  }
  done(): Chan<void> | null {
    return null;
  }
  err(): Error | null {
    return null;
  }
  value<T>(_key: Key<T>): T | undefined {
    return undefined;
  }
  toString(): string {
    return this.name;
  }
}

const backgroundCtx = new EmptyCtx("context.Background");
const todoCtx = new EmptyCtx("context.TODO");

/** The root of every context tree: never canceled, no deadline, no values (Go's Background). */
export function background(): Context {
  return backgroundCtx;
}

/** Like background(), for code that has not yet decided which context to use (Go's TODO). */
export function todo(): Context {
  return todoCtx;
}

// ---- cancelation ------------------------------------------------------------------

/** A cancelable context, with a deadline timer when deadlineAt is set (Go's cancelCtx and timerCtx). */
class CancelCtx implements Context, Canceler {
  declare readonly parent: Context;
  /** Own deadline (withDeadline), or null to report the parent's. */
  declare readonly deadlineAt: number | null;
  /** Cause recorded when the deadline fires. */
  declare readonly deadlineCause: Error | null;
  /** Made on first done() call; closed exactly once, when errv is set. */
  declare private ch: Chan<void> | null;
  /** Cancelable descendants linked to this one; null once canceled (Go drops the map too). */
  declare children: Set<Canceler> | null;
  /** null until canceled, then Canceled or DeadlineExceeded, never changed again. */
  declare private errv: Error | null;
  /** Set together with errv. */
  declare causeErr: Error | null;
  /** Pending deadline timer; null once fired, stopped or when there is no deadline. */
  declare private timer: RTimer | null;

  constructor(parent: Context, deadlineAt: number | null, deadlineCause: Error | null) {
    this.parent = parent;
    this.deadlineAt = deadlineAt;
    this.deadlineCause = deadlineCause;
    this.ch = null;
    this.children = null;
    this.errv = null;
    this.causeErr = null;
    this.timer = null;
  }

  deadline(): number | null {
    return this.deadlineAt ?? this.parent.deadline();
  }

  done(): Chan<void> {
    if (this.ch === null) {
      this.ch = chan<void>(0);
      if (this.errv !== null) this.ch.close();
    }
    return this.ch;
  }

  err(): Error | null {
    return this.errv;
  }

  value<T>(key: Key<T>): T | undefined {
    return lookup(this, key) as T | undefined;
  }

  /** Closes done, cancels the children, unlinks from the parent if asked, stops the timer. */
  cancel(removeFromParent: boolean, err: Error, why: Error | null): void {
    if (this.errv !== null) return; // already canceled
    this.errv = err;
    this.causeErr = why ?? err;
    if (this.ch !== null) this.ch.close();
    const children = this.children;
    this.children = null;
    if (children !== null) for (const child of children) child.cancel(false, err, this.causeErr);
    if (removeFromParent) removeChild(this.parent, this);
    this.stopTimer();
  }

  /** Starts the deadline timer (only while not canceled). */
  armTimer(when: number): void {
    this.timer = new RTimer(fireDeadline, this);
    addTimer(this.timer, when);
  }

  private stopTimer(): void {
    if (this.timer === null) return;
    delTimer(this.timer);
    this.timer = null;
  }

  toString(): string {
    const p = String(this.parent);
    return this.deadlineAt === null ? `${p}.WithCancel` : `${p}.WithDeadline(${this.deadlineAt.toFixed(3)}ms)`;
  }
}

function fireDeadline(c: CancelCtx): void {
  c.cancel(true, DeadlineExceeded, c.deadlineCause);
}

/**
 * A child of parent with its own done channel, closed when cancel is called
 * or when parent is canceled, whichever happens first (Go's WithCancel).
 * Call cancel when the work is done, to unlink the child from its parent.
 */
export function withCancel(parent: Context): [ctx: Context, cancel: CancelFunc] {
  const c = newCancelCtx(parent, null, null);
  return [c, () => c.cancel(true, Canceled, null)];
}

/** Like withCancel, but cancel takes the cause that cause(ctx) reports (Go's WithCancelCause). */
export function withCancelCause(parent: Context): [ctx: Context, cancel: CancelCauseFunc] {
  const c = newCancelCtx(parent, null, null);
  return [c, (why?: Error | null) => c.cancel(true, Canceled, why ?? null)];
}

function newCancelCtx(parent: Context, deadlineAt: number | null, deadlineCause: Error | null): CancelCtx {
  checkParent(parent);
  const c = new CancelCtx(parent, deadlineAt, deadlineCause);
  propagateCancel(parent, c);
  return c;
}

function checkParent(parent: Context): void {
  if (parent === null || typeof parent !== "object") throw new TypeError("context: cannot create context from null parent");
}

// ---- deadlines -----------------------------------------------------------------

/**
 * A child of parent that is also canceled, with DeadlineExceeded, at `when`
 * (a performance.now() reading, ms). If parent's deadline is earlier, this
 * is just withCancel(parent). A deadline already past cancels at once.
 */
export function withDeadline(parent: Context, when: number): [ctx: Context, cancel: CancelFunc] {
  return withDeadlineCause(parent, when, null);
}

/** withDeadline, recording `why` as the cause when the deadline fires (Go's WithDeadlineCause). */
export function withDeadlineCause(parent: Context, when: number, why: Error | null): [ctx: Context, cancel: CancelFunc] {
  checkParent(parent);
  if (typeof when !== "number" || Number.isNaN(when)) throw new TypeError(`context: deadline must be a number, got ${String(when)}`);
  const cur = parent.deadline();
  if (cur !== null && cur < when) return withCancel(parent); // the parent's deadline comes first
  const c = newCancelCtx(parent, when, why);
  if (when - performance.now() <= 0) {
    c.cancel(true, DeadlineExceeded, why);
    return [c, () => c.cancel(false, Canceled, null)];
  }
  if (c.err() === null) c.armTimer(when);
  return [c, () => c.cancel(true, Canceled, null)];
}

/** withDeadline(parent, performance.now() + ms) (Go's WithTimeout). */
export function withTimeout(parent: Context, ms: number): [ctx: Context, cancel: CancelFunc] {
  return withDeadlineCause(parent, performance.now() + ms, null);
}

/** withTimeout recording `why` as the cause when the timeout fires (Go's WithTimeoutCause). */
export function withTimeoutCause(parent: Context, ms: number, why: Error | null): [ctx: Context, cancel: CancelFunc] {
  return withDeadlineCause(parent, performance.now() + ms, why);
}

// ---- values ------------------------------------------------------------------------

/** One key/value pair over a parent (Go's valueCtx). */
class ValueCtx<V> implements Context {
  declare readonly parent: Context;
  declare readonly key: Key<V>;
  declare readonly val: V;

  constructor(parent: Context, key: Key<V>, val: V) {
    this.parent = parent;
    this.key = key;
    this.val = val;
  }
  deadline(): number | null {
    return this.parent.deadline();
  }
  done(): Chan<void> | null {
    return this.parent.done();
  }
  err(): Error | null {
    return this.parent.err();
  }
  value<T>(key: Key<T>): T | undefined {
    return lookup(this, key) as T | undefined;
  }
  toString(): string {
    return `${String(this.parent)}.WithValue(${String(this.key)})`;
  }
}

/** A child of parent in which value(key) is val (Go's WithValue). */
export function withValue<V>(parent: Context, key: Key<V>, val: V): Context {
  checkParent(parent);
  if (!(key instanceof Key)) throw new TypeError("context: key must be made by newKey");
  return new ValueCtx(parent, key, val);
}

/** parent's values, but never canceled and no deadline (Go's WithoutCancel). */
class WithoutCancelCtx implements Context {
  declare readonly parent: Context;
  constructor(parent: Context) {
    this.parent = parent;
  }
  deadline(): number | null {
    return null;
  }
  done(): Chan<void> | null {
    return null;
  }
  err(): Error | null {
    return null;
  }
  value<T>(key: Key<T>): T | undefined {
    return lookup(this, key) as T | undefined;
  }
  toString(): string {
    return `${String(this.parent)}.WithoutCancel`;
  }
}

/** A context with parent's values that is not canceled when parent is (Go's WithoutCancel). */
export function withoutCancel(parent: Context): Context {
  checkParent(parent);
  return new WithoutCancelCtx(parent);
}

// ---- callbacks on cancelation ------------------------------------------------------

/** Calls f once when its parent is canceled, unless stopped first (Go's afterFuncCtx, synchronous). */
class DoneHook implements Canceler {
  declare private readonly parent: Context;
  declare private readonly f: () => void;
  /** Fired or stopped: f will not be called (again). */
  declare private ended: boolean;
  /** Only made for a foreign parent's watcher goroutine; closed when ended. */
  declare private ch: Chan<void> | null;

  constructor(parent: Context, f: () => void) {
    this.parent = parent;
    this.f = f;
    this.ended = false;
    this.ch = null;
  }

  cancel(removeFromParent: boolean): void {
    if (!this.end(removeFromParent)) return;
    this.f();
  }

  /** Unregisters; true if that kept f from being called. */
  stop(): boolean {
    return this.end(true);
  }

  done(): Chan<void> {
    if (this.ch === null) {
      this.ch = chan<void>(0);
      if (this.ended) this.ch.close();
    }
    return this.ch;
  }

  private end(unlink: boolean): boolean {
    if (this.ended) return false;
    this.ended = true;
    if (this.ch !== null) this.ch.close();
    if (unlink) removeChild(this.parent, this);
    return true;
  }
}

/**
 * Calls f synchronously (it must not block) when ctx is canceled, or at once
 * if it already is. Returns stop, which unregisters f and reports whether it
 * did so before f was called. Runtime-internal: afterFunc, signalOf and the
 * weighted semaphore build on it.
 */
export function onDone(ctx: Context, f: () => void): () => boolean {
  const h = new DoneHook(ctx, f);
  propagateCancel(ctx, h);
  return () => h.stop();
}

/**
 * Runs f in its own goroutine once ctx is canceled (at once if it already
 * is), Go's context.AfterFunc. stop() unregisters f and returns true if that
 * prevented f from being started. Exported from the package index as
 * contextAfterFunc, since time's afterFunc has the name.
 */
export function afterFunc(ctx: Context, f: GoFn<[], unknown>): () => boolean {
  return onDone(ctx, () => {
    if (running()) go(f);
  });
}

// ---- AbortSignal bridges ------------------------------------------------------------

/** One signal per context, so repeated calls do not add listeners or hooks. */
const signals = new WeakMap<Context, AbortSignal>();

/**
 * An AbortSignal that aborts when ctx is canceled, with cause(ctx) as its
 * reason (Canceled, DeadlineExceeded or the cancel cause), for fetch and
 * other AbortSignal-taking APIs. The same signal is returned for the same
 * context; its hook is dropped when ctx is canceled. For a context that can
 * never be canceled the signal never aborts.
 */
export function signalOf(ctx: Context): AbortSignal {
  let s = signals.get(ctx);
  if (s === undefined) {
    s = makeSignal(ctx);
    signals.set(ctx, s);
  }
  return s;
}

function makeSignal(ctx: Context): AbortSignal {
  const err = ctx.err();
  if (err !== null) return AbortSignal.abort(cause(ctx) ?? err);
  const ac = new AbortController();
  if (ctx.done() !== null) onDone(ctx, () => ac.abort(cause(ctx) ?? ctx.err()));
  return ac.signal;
}

/**
 * A child of parent that is also canceled when `signal` aborts; cause(ctx)
 * is then the signal's reason (wrapped in an Error if it is not one) and
 * err() is Canceled. The listener is removed as soon as the context is
 * canceled by any route, so call cancel when done with it. While the
 * listener is registered, the running program holds an external reference
 * (as a pending `wait(promise)` does): goroutines blocked on ctx.done() are
 * waiting for something outside, not deadlocked.
 */
export function contextFromSignal(parent: Context, signal: AbortSignal): [ctx: Context, cancel: CancelFunc] {
  const [ctx, cancelCause] = withCancelCause(parent);
  const cancel = (): void => cancelCause(null);
  if (signal.aborted) {
    cancelCause(reasonError(signal.reason));
    return [ctx, cancel];
  }
  if (ctx.err() !== null) return [ctx, cancel]; // parent already canceled
  const onAbort = (): void => cancelCause(reasonError(signal.reason));
  signal.addEventListener("abort", onAbort, { once: true });
  const release = running() ? holdExternal() : noop;
  onDone(ctx, () => {
    signal.removeEventListener("abort", onAbort);
    release();
  });
  return [ctx, cancel];
}

function noop(): void {}

function reasonError(reason: unknown): Error {
  return reason instanceof Error ? reason : new Error(`aborted: ${String(reason)}`, { cause: reason });
}

// Blocking work off the scheduler thread: Go's syscall hand-off, as a pool.
//
// Go runs a blocking system call (or a cgo call such as getaddrinfo) on the
// goroutine's own thread and hands the P to another thread meanwhile
// (entersyscall/exitsyscall), so the other goroutines keep running. Here
// every goroutine shares one JS thread, so the call itself moves instead: to
// a small piscina pool of worker threads, while the goroutine parks on the
// Promise of the result (promise.ts wait, wait reason "promise", holding an
// external reference so that an idle program waiting on the pool is not
// reported as deadlocked). It is libuv's thread pool (4 threads by default)
// and tokio's spawn_blocking, open to users for their own blocking work.
//
// Tasks. A task is an exported function of a module, named by the module's
// URL and the export's name, so that the pool threads can load it:
//
//   // tasks.ts                              (loaded in the pool threads)
//   export function sha256(path: string): string { ... }
//
//   // in a goroutine                        (types from the module's own)
//   const tasks = taskModule<typeof import('./tasks.ts')>(new URL('./tasks.ts', import.meta.url));
//   const sum = yield* blocking(tasks.task('sha256'), '/etc/hosts');   // sum: string
//
// Arguments and results cross by structured clone; a task may return
// piscina's move(buffer) to transfer instead. A task may be async; the pool
// threads run a normal event loop (see "atomics" below). TypeScript task
// modules are loaded through tsx in the pool threads.
//
// Errors. An error thrown by a task is rethrown in the goroutine with its
// name, message, the pool thread's stack and its own fields (code, errno,
// isNotFound...). Built-in error classes come back as themselves, classes
// given to registerTaskError too (DNSError is registered), anything else as
// a TaskError whose name is the original name. Structured clone alone would
// keep neither the name nor the fields.
//
// Cancellation. blockingContext(ctx, ...) gives up when ctx is done and
// throws ctx.err() (the Canceled or DeadlineExceeded singleton) at once. What
// happens to the task depends on its cancel mode: "terminate" (the default
// for user tasks) aborts it through piscina, which drops it from the queue
// or, if it runs, terminates its thread and starts another; "abandon" (the
// built-in tasks) lets a running task finish and drops its result, and
// skips it if it has not started. A thread blocked in a system call cannot
// be terminated anyway until the call returns (peers.md section 4, item 6),
// and a new thread must boot tsx and koffi again: for getaddrinfo,
// abandoning is both cheaper and honest. Go does the same: a cgo
// getaddrinfo runs to its end after the lookup's context is done.
//
// The pool. Created on first use, with min(4, cores) threads at most
// (GORT_BLOCKING_THREADS, or configureBlockingPool, overrides), one kept
// warm, the others stopped after 30 s idle. piscina unrefs idle threads, so
// a program whose last blocking call has returned exits on its own; a task
// still running keeps the process alive until it returns.
// closeBlockingPool() terminates the threads (tests, orderly shutdown).
//
// atomics: 'disabled'. piscina's default ('sync') parks an idle thread in
// Atomics.wait, which saves a message hop per task but stalls whatever a
// task left running (a timer, a stream being flushed) until the next task
// comes (piscinajs/piscina#331). Tasks here are blocking calls, micro- to
// milliseconds long, so the hop does not matter; user tasks that start
// asynchronous work do. 'async' would also keep the loop running, but it is
// piscina's newest mode; 'disabled' is its plain message-passing path.

import { availableParallelism } from 'node:os';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { isAbsolute } from 'node:path';

import { Piscina } from 'piscina';

import type { Op } from '../sched/g.ts';
import { onDone, type Context } from '../sched/context.ts';
import { wait } from '../sched/promise.ts';
import {
  BUILTIN_MODULE, isFailedTask, type SerializedError, type TaskMessage,
} from './blocking-protocol.ts';
import type * as builtins from './blocking-worker.ts';
import { DNSError } from './dnserror.ts';

// ---- tasks -------------------------------------------------------------------

/** What happens to a task whose caller's context is done (see the top of the file). */
export type CancelMode = 'terminate' | 'abandon';

export interface TaskOptions {
  /** Default 'terminate'. */
  readonly cancel?: CancelMode;
}

/**
 * A function that runs in the blocking pool: A are its arguments, R what the
 * goroutine gets (the function's result, awaited). Made by defineTask or
 * taskModule(...).task; a plain description, so it can be made once at module
 * level and used from any goroutine.
 */
export interface BlockingTask<A extends unknown[], R> {
  /** The module, as a URL (href), or the built-in module's id. */
  readonly module: string;
  /** Name of the exported function. */
  readonly name: string;
  readonly cancel: CancelMode;
  /** Type-only: binds A and R; never set. */
  readonly __signature?: (...args: A) => R;
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type AnyFunction = (...args: any[]) => unknown;

/** The names of M's exports that are functions. */
export type TaskNames<M> = { [K in keyof M]: M[K] extends AnyFunction ? K : never }[keyof M] & string;

/** The task of export K of module M. */
export type TaskOf<M, K extends TaskNames<M>> =
  M[K] extends (...args: infer A) => infer R ? BlockingTask<A, Awaited<R>> : never;

/** A module URL: a URL object, a URL string, or an absolute path. */
export type ModuleRef = URL | string;

function moduleHref(module: ModuleRef): string {
  if (module instanceof URL) return module.href;
  if (typeof module !== 'string') throw new TypeError('blocking: a task module must be a URL or an absolute path');
  if (isAbsolute(module)) return pathToFileURL(module).href;
  try {
    return new URL(module).href;
  } catch {
    throw new TypeError(`blocking: task module ${JSON.stringify(module)} is neither a URL nor an absolute path ` +
      '(resolve it first: new URL("./tasks.ts", import.meta.url))');
  }
}

function makeTask<A extends unknown[], R>(module: string, name: string, opts: TaskOptions | undefined): BlockingTask<A, R> {
  if (typeof name !== 'string' || name === '') throw new TypeError('blocking: a task needs the name of an exported function');
  const cancel = opts?.cancel ?? 'terminate';
  if (cancel !== 'terminate' && cancel !== 'abandon') throw new TypeError(`blocking: bad cancel mode ${String(cancel)}`);
  return Object.freeze({ module, name, cancel });
}

/**
 * The task of export `name` of `module`, typed by F, the function's type:
 * `defineTask<typeof import('./tasks.ts').sha256>(new URL('./tasks.ts', import.meta.url), 'sha256')`.
 */
export function defineTask<F extends AnyFunction>(
  module: ModuleRef, name: string, opts?: TaskOptions,
): BlockingTask<Parameters<F>, Awaited<ReturnType<F>>> {
  return makeTask(moduleHref(module), name, opts);
}

/** The tasks of one module, typed by M, the module's type (`typeof import('./tasks.ts')`). */
export interface TaskModule<M> {
  readonly module: string;
  task<K extends TaskNames<M>>(name: K, opts?: TaskOptions): TaskOf<M, K>;
}

export function taskModule<M>(module: ModuleRef): TaskModule<M> {
  const href = moduleHref(module);
  return {
    module: href,
    task: <K extends TaskNames<M>>(name: K, opts?: TaskOptions) => makeTask(href, name, opts) as TaskOf<M, K>,
  };
}

/** Built-in tasks run until the end once started: see "Cancellation" above. */
function builtin<K extends TaskNames<typeof builtins>>(name: K): TaskOf<typeof builtins, K> {
  return makeTask(BUILTIN_MODULE, name, { cancel: 'abandon' }) as TaskOf<typeof builtins, K>;
}

/** getaddrinfo(host, family 0|4|6): the system resolver; see dns.ts for the lookups built on it. */
export const getaddrinfoTask = builtin('getaddrinfo');

/** readFile(path): a whole file as bytes, read in the pool. */
export const readFileTask = builtin('readFile');

// ---- errors ------------------------------------------------------------------------

/** An error thrown by a task whose class is not registered: name and fields are the original's. */
export class TaskError extends Error {
  constructor(name: string, message: string, options?: ErrorOptions) {
    super(message, options);
    this.name = name;
  }
}

/** A call in flight when closeBlockingPool ran. */
export class BlockingPoolClosedError extends Error {
  override name = 'BlockingPoolClosedError';
  constructor(options?: ErrorOptions) {
    super('blocking: pool closed', options);
  }
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type ErrorClass = abstract new (...args: any[]) => Error;

const nativeErrors = new Map<string, new (message: string) => Error>([
  ['Error', Error], ['TypeError', TypeError], ['RangeError', RangeError],
  ['SyntaxError', SyntaxError], ['ReferenceError', ReferenceError],
  ['EvalError', EvalError], ['URIError', URIError],
]);

const errorClasses = new Map<string, ErrorClass>();

/**
 * Errors named `name` (default: the class's name) thrown by tasks come back
 * as instances of cls (made without calling its constructor, then given the
 * original's message, stack and fields). Register on the scheduler side.
 */
export function registerTaskError(cls: ErrorClass, name: string = cls.name): void {
  if (typeof cls !== 'function' || !(cls.prototype instanceof Error)) throw new TypeError('registerTaskError: not an Error class');
  errorClasses.set(name, cls);
}

registerTaskError(DNSError);

function setHidden(o: object, key: string, value: unknown): void {
  Object.defineProperty(o, key, { value, writable: true, configurable: true, enumerable: false });
}

/** A SerializedError back to an Error of the right class. */
export function reviveError(s: SerializedError): Error {
  const cls = errorClasses.get(s.name);
  const native = nativeErrors.get(s.name);
  let e: Error;
  if (cls !== undefined) {
    e = Object.create(cls.prototype) as Error;
    setHidden(e, 'message', s.message);
    if (e.name !== s.name) setHidden(e, 'name', s.name);
  } else if (native !== undefined) {
    e = new native(s.message);
  } else {
    e = new TaskError(s.name, s.message);
  }
  setHidden(e, 'stack', s.stack ?? `${s.name}: ${s.message}`);
  Object.assign(e, s.props);
  if (s.cause !== null) setHidden(e, 'cause', reviveError(s.cause));
  return e;
}

// ---- the pool --------------------------------------------------------------------

export interface BlockingPoolOptions {
  /** Most threads (default min(4, cores), or GORT_BLOCKING_THREADS). */
  readonly maxThreads?: number;
  /** Threads kept when idle (default 1, at most maxThreads). */
  readonly minThreads?: number;
  /** ms an idle thread above minThreads lives (default 30 000). */
  readonly idleTimeout?: number;
}

interface Pool {
  readonly piscina: Piscina;
  closed: boolean;
}

let pool: Pool | null = null;
let settings: Required<BlockingPoolOptions> = { maxThreads: 0, minThreads: 1, idleTimeout: 30_000 };
/** Calls handed to piscina and not yet settled by it (an abandoned call counts until its task ends). */
let pending = 0;
/** Calls made since the process started. */
let calls = 0;

function defaultThreads(): number {
  const env = Number(process.env['GORT_BLOCKING_THREADS']);
  if (Number.isSafeInteger(env) && env > 0) return env;
  return Math.min(4, availableParallelism());
}

/** Sets the pool's size before it is created (first use, or after closeBlockingPool). */
export function configureBlockingPool(opts: BlockingPoolOptions): void {
  if (pool !== null) throw new Error('blocking: configureBlockingPool after the pool started (close it first)');
  for (const [k, v] of Object.entries(opts)) {
    if (v !== undefined && !(typeof v === 'number' && v >= 0 && (Number.isSafeInteger(v) || v === Infinity))) {
      throw new RangeError(`blocking: bad ${k}: ${String(v)}`);
    }
  }
  settings = { ...settings, ...opts };
}

function getPool(): Pool {
  if (pool !== null) return pool;
  const maxThreads = settings.maxThreads > 0 ? settings.maxThreads : defaultThreads();
  const piscina = new Piscina({
    filename: fileURLToPath(new URL('./blocking-worker.mjs', import.meta.url)),
    maxThreads,
    minThreads: Math.min(settings.minThreads, maxThreads),
    idleTimeout: settings.idleTimeout,
    atomics: 'disabled',
  });
  // A thread failing with no task on it: piscina emits 'error', which would
  // otherwise crash the process. It replaces the thread itself.
  piscina.on('error', (e: unknown) => {
    process.emitWarning(`blocking pool thread failed: ${e instanceof Error ? e.stack ?? e.message : String(e)}`);
  });
  pool = { piscina, closed: false };
  return pool;
}

/**
 * Terminates the pool's threads and waits until they have exited. Calls in
 * flight throw BlockingPoolClosedError. The next blocking call starts a new
 * pool.
 */
export async function closeBlockingPool(): Promise<void> {
  const p = pool;
  if (p === null) return;
  pool = null;
  p.closed = true;
  await p.piscina.destroy();
}

export interface BlockingPoolStats {
  /** The pool exists (it is created on first use). */
  readonly open: boolean;
  /** Live threads. */
  readonly threads: number;
  /** Tasks waiting for a thread. */
  readonly queued: number;
  /** Calls not yet settled by the pool, abandoned ones included. */
  readonly pending: number;
  /** Calls made since the process started. */
  readonly calls: number;
}

export function blockingPoolStats(): BlockingPoolStats {
  return {
    open: pool !== null,
    threads: pool === null ? 0 : pool.piscina.threads.length,
    queued: pool === null ? 0 : pool.piscina.queueSize,
    pending,
    calls,
  };
}

// ---- calls -----------------------------------------------------------------------

/** Rejection value of the race between a call and its context. */
const contextDone = Symbol('context done');

function* call<R>(ctx: Context | null, task: BlockingTask<unknown[], R>, args: unknown[]): Op<R> {
  if (ctx !== null) {
    if (typeof ctx !== 'object' || typeof ctx.err !== 'function' || typeof ctx.done !== 'function') {
      throw new TypeError('blocking: ctx must be a Context');
    }
    const err = ctx.err();
    if (err !== null) throw err;
  }
  if (typeof task !== 'object' || task === null || typeof task.module !== 'string') {
    throw new TypeError('blocking: not a task (make one with defineTask or taskModule)');
  }
  const p = getPool();
  const cancelable = ctx !== null && ctx.done() !== null;
  const abort = cancelable && task.cancel === 'terminate' ? new AbortController() : null;
  const flag = cancelable && task.cancel === 'abandon' ? new Int32Array(new SharedArrayBuffer(4)) : null;
  const msg: TaskMessage = { m: task.module, f: task.name, a: args, c: flag };
  calls++;
  pending++;
  const run = p.piscina.run(msg, abort === null ? {} : { signal: abort.signal });
  run.then(settled, settled);
  let result: Promise<unknown> = run;
  let stop: (() => boolean) | null = null;
  if (cancelable) {
    result = new Promise((resolve, reject) => {
      run.then(resolve, reject);
      stop = onDone(ctx, () => {
        reject(contextDone);
        if (flag !== null) Atomics.store(flag, 0, 1);
        // Terminating a thread and starting its replacement takes
        // milliseconds of this thread: let the goroutine run first.
        if (abort !== null) setImmediate(abortTask, abort, ctx.err());
      });
    });
  }
  try {
    return (yield* wait(result)) as R;
  } catch (e) {
    if (e === contextDone) throw ctx!.err()!;
    if (isFailedTask(e)) throw e.error === null ? new Error('blocking: task skipped') : reviveError(e.error);
    if (p.closed) throw new BlockingPoolClosedError({ cause: e });
    if (e instanceof Error) throw e; // piscina's own: an argument structured clone refuses, a thread that died
    // The thread failed after the task returned: piscina could not post its
    // result, and the worker's error arrives without its message.
    throw new TaskError('Error', `blocking: ${task.module} ${task.name}: the pool thread failed ` +
      `after the task (a result that structured clone cannot copy?)`, { cause: e });
  } finally {
    if (stop !== null) (stop as () => boolean)();
  }
}

/** An Op that throws e when run (validation errors surface at yield*, as the call's own would). */
// eslint-disable-next-line require-yield
function* refuse(e: Error): Op<never> {
  throw e;
}

function abortTask(abort: AbortController, reason: unknown): void {
  abort.abort(reason);
}

function settled(): void {
  pending--;
}

/**
 * Runs task(...args) in the blocking pool and evaluates to its result; the
 * goroutine parks meanwhile and the others run. A task's error is rethrown
 * here (see "Errors" at the top of the file).
 */
export function blocking<A extends unknown[], R>(task: BlockingTask<A, R>, ...args: A): Op<R> {
  return call(null, task as BlockingTask<unknown[], R>, args);
}

/**
 * blocking, given up when ctx is done: then it throws ctx.err() (Canceled or
 * DeadlineExceeded), at once if ctx already is. The task is terminated or
 * abandoned as its cancel mode says.
 */
export function blockingContext<A extends unknown[], R>(ctx: Context, task: BlockingTask<A, R>, ...args: A): Op<R> {
  return call(ctx, task as BlockingTask<unknown[], R>, args);
}

/** Reads a whole file in the blocking pool (readFileTask); fs errors keep their code, errno and path. */
export function readFile(path: string, ctx: Context | null = null): Op<Uint8Array> {
  // Not a number: fs would take it for a descriptor (0 is stdin, and would block a pool thread).
  if (typeof path !== 'string') return refuse(new TypeError(`blocking: readFile's path must be a string, not ${typeof path}`));
  return call(ctx, readFileTask as BlockingTask<unknown[], Uint8Array>, [path]);
}

// The goroutine scheduler (Go's proc.go, for one P on Node's main thread).
//
// Design. There is one processor: the JS thread. Runnable goroutines wait in
// a FIFO ring (runq) plus Go's `runnext` slot: a goroutine readied by the
// running one (a channel hand-off, a new goroutine) runs next, so a
// ping-pong pair keeps its data hot. To keep such a pair from starving the
// queue, runnext may win at most RUNNEXT_STREAK times in a row (Go gets the
// same effect from time-slice inheritance plus sysmon preemption).
//
// The scheduler lives inside Node's event loop. `schedule` runs goroutines
// until the queue is empty or a slice of SLICE_MS has passed, then returns
// to the loop (setImmediate) so Promises, Node timers and Node I/O run.
// Every TICK_MASK+1 switches it fires due timers and polls the network
// poller without blocking, as Go's schedule/findRunnable do. When nothing is
// runnable it sleeps: a single Node timer for the earliest runtime timer, or
// nothing at all while a Promise or the poller may still wake someone
// (external references). With none of those, the program is deadlocked.
//
// A program is one run(main): goroutines belong to it, and when main returns
// (or a goroutine panics, or the program deadlocks) every goroutine is
// dropped without running further, timers are cleared, and run() settles.
// One program runs at a time, as one Go process has one main.
//
// Invariants:
//   - `current` is the running goroutine, or null outside goroutine code;
//   - a goroutine is in runq/runnext iff its status is Grunnable;
//   - goready only takes Gwaiting goroutines: anything else is a bug and
//     throws "goready: bad g status".

import {
  G,
  type Coroutine,
  GOSCHED,
  Gdead,
  Grunnable,
  Grunning,
  Gwaiting,
  PARK,
  setJoinOf,
  type GoFn,
  type Goroutine,
  type Join,
  type Op,
  type WaitReason,
  type Yield,
} from "./g.ts";
import { DeadlockError, ExitedError, PanicError, RuntimeError } from "./panic.ts";
import { clearTimers, nextWhen, runTimers, setOnEarliest, timerCount } from "./timer.ts";

/** Time slice before returning to Node's event loop (ms). */
const SLICE_MS = 2;
/** Timers, poller and slice are checked every 64 switches (Go checks its global queue every 61 ticks). */
const TICK_MASK = 63;
/** Consecutive runnext wins before the queue head gets its turn. */
const RUNNEXT_STREAK = 64;

// ---- goroutine table -------------------------------------------------------

let goidgen = 0;
/** Event counters since the process started, for schedMetrics (never reset; subtract two readings for rates). */
let switches = 0; // goroutine runs (execute calls), added at the end of each slice
let parks = 0;
let timerFires = 0;
/**
 * Live goroutines of the current program (Go's allgs, minus the dead): an
 * intrusive list through G.allprev/allnext. A Set of a million goroutines
 * cost ~0.8 µs per add and per delete in hashing (bench/sched.bench.ts
 * spawn_join). The list is circular through a root G that never runs, so
 * add and delete have no branch: a branch taken once in thousands of exits
 * (deleting the newest goroutine) made V8 deoptimize goexit and the schedule
 * loop a few hundred times per million goroutines.
 * Invariant: g.allprev is null exactly when g is not in the list.
 */
class GList implements Iterable<G> {
  private readonly root: G = new G(0, "allgs", (function* root(): Generator<Yield, void> {})(), null, null);
  size = 0;

  constructor() {
    this.root.allprev = this.root.allnext = this.root;
  }

  add(g: G): void {
    const r = this.root;
    const n = r.allnext!;
    g.allprev = r;
    g.allnext = n;
    n.allprev = g;
    r.allnext = g;
    this.size++;
  }

  delete(g: G): void {
    const p = g.allprev;
    if (p === null) return; // not in the list
    const n = g.allnext!;
    p.allnext = n;
    n.allprev = p;
    g.allprev = g.allnext = null;
    this.size--;
  }

  /** Empties the list, unlinking every goroutine (so that a later delete of one is a no-op). */
  clear(): void {
    const r = this.root;
    for (let g = r.allnext!; g !== r; ) {
      const n = g.allnext!;
      g.allprev = g.allnext = null;
      g = n;
    }
    r.allprev = r.allnext = r;
    this.size = 0;
  }

  *[Symbol.iterator](): Generator<G> {
    const r = this.root;
    for (let g = r.allnext!; g !== r; g = g.allnext!) yield g;
  }
}

const allgs = new GList();
let current: G | null = null;
/** The execution tracer (trace.ts) while tracing is on; every hook is one `tracer !== null` check. */
let tracer: (SchedTracer & PollTracer) | null = null;
let creationStacks = process.env.GORT_CREATIONSTACKS === "1";

/** The running goroutine; throws outside goroutine code. */
export function getg(): G {
  if (current === null) throw new RuntimeError("blocking operation outside a goroutine");
  return current;
}

export function currentG(): G | null {
  return current;
}

export function liveGoroutines(): Iterable<G> {
  return allgs;
}

export function goroutineCount(): number {
  return allgs.size;
}

/** Record the JS stack of every go() call (costly; for debugging). Also GORT_CREATIONSTACKS=1. */
export function setCreationStacks(on: boolean): void {
  creationStacks = on;
}

/** Starts fn(...args) as a new goroutine of the running program. */
export function go<A extends unknown[], T>(fn: GoFn<A, T>, ...args: A): Goroutine<T> {
  if (program === null) throw new RuntimeError("go: no program is running (start one with run)");
  if (typeof fn !== "function") throw new TypeError(`go: expected a generator function, got ${typeof fn}`);
  const gen = coroutineOf(fn(...args), "go", fn);
  const stack = creationStacks ? captureStack() : null;
  const g = new G<T>(++goidgen, fn.name || "func", gen, current, stack);
  allgs.add(g);
  if (tracer !== null) tracer.create(g, current);
  runqputnext(g);
  kick();
  return g;
}

/** The iterator a goroutine runs, checked: a generator, or any Op whose iterator takes throw. */
function coroutineOf<T>(op: Op<T>, who: string, fn: Function): Coroutine<T> {
  const it: unknown =
    op !== null && typeof op === "object" && typeof op[Symbol.iterator] === "function" ? op[Symbol.iterator]() : null;
  const c = it as Partial<Coroutine<T>> | null;
  if (c === null || typeof c.next !== "function" || typeof c.throw !== "function") {
    throw new TypeError(`${who}: ${fn.name || "fn"} is not a generator function (write function*)`);
  }
  return c as Coroutine<T>;
}

function captureStack(): { stack?: string } {
  const holder: { stack?: string } = {};
  Error.captureStackTrace(holder, go);
  return holder;
}

class JoinOp<T> implements Join<T> {
  readonly #g: G<T>;
  constructor(g: G<T>) {
    this.#g = g;
  }

  *[Symbol.iterator](): Generator<Yield, T, unknown> {
    const g = this.#g;
    if (g.status !== Gdead) {
      const self = getg();
      onExit(g, () => goready(self, undefined));
      yield* park("join");
    }
    if (!g.returned) throw new ExitedError(`goroutine ${g.id} did not return`);
    return g.result as T;
  }

  then<R1 = T, R2 = never>(
    onfulfilled?: ((value: T) => R1 | PromiseLike<R1>) | null,
    onrejected?: ((reason: unknown) => R2 | PromiseLike<R2>) | null,
  ): PromiseLike<R1 | R2> {
    const g = this.#g;
    const p = new Promise<T>((resolve, reject) => {
      const settle = (): void => {
        if (g.returned) resolve(g.result as T);
        else reject(new ExitedError(`goroutine ${g.id} ended without returning (its program ended)`));
      };
      if (g.status === Gdead) settle();
      else onExit(g, settle);
    });
    return p.then(onfulfilled, onrejected);
  }
}

setJoinOf((g) => new JoinOp(g));

function onExit(g: G, f: () => void): void {
  (g.joiners ??= []).push(f);
}

// ---- run queue ---------------------------------------------------------------

let runq: (G | undefined)[] = new Array(256);
let runqhead = 0;
let runqtail = 0; // runq holds [head, tail) modulo its length, a power of two
let runnext: G | null = null;
let runnextStreak = 0;

function runqput(g: G): void {
  runq[runqtail] = g;
  runqtail = (runqtail + 1) & (runq.length - 1);
  if (runqtail === runqhead) growRunq();
}

function growRunq(): void {
  const old = runq;
  const n = old.length;
  runq = new Array(n * 2);
  for (let i = 0; i < n; i++) runq[i] = old[(runqhead + i) & (n - 1)];
  runqhead = 0;
  runqtail = n;
}

function runqget(): G | null {
  if (runqhead === runqtail) return null;
  const g = runq[runqhead]!;
  runq[runqhead] = undefined;
  runqhead = (runqhead + 1) & (runq.length - 1);
  return g;
}

/** Go's runqput(next=true): g runs next; the one it displaces goes to the tail. */
function runqputnext(g: G): void {
  if (runnext !== null) runqput(runnext);
  runnext = g;
}

export function runqLength(): number {
  return ((runqtail - runqhead) & (runq.length - 1)) + (runnext === null ? 0 : 1);
}

// ---- park / ready ---------------------------------------------------------------

/** Scheduler clock, refreshed every few switches: cheap enough to stamp every park. */
let nowCoarse = performance.now();

export function coarseNow(): number {
  return nowCoarse;
}

/**
 * gopark, first half: marks the running goroutine waiting. The caller must
 * already have put it where a waker will find it, and must then `yield PARK`
 * at once; that expression evaluates to the value passed to goready (or
 * throws the error of goreadyErr). Ops inline the yield rather than
 * delegating to a park generator: one generator level less on every resume.
 */
export function gopark(reason: WaitReason): G {
  const g = current!;
  parks++;
  g.status = Gwaiting;
  g.waitReason = reason;
  g.waitSince = nowCoarse;
  return g;
}

/** gopark and yield in one, for the cold paths. */
export function* park(reason: WaitReason): Op<unknown> {
  gopark(reason);
  return yield PARK;
}

/** goready: makes a waiting goroutine runnable; `yield PARK` in it evaluates to v. */
export function goready(g: G, v: unknown): void {
  if (g.status !== Gwaiting) {
    if (g.status === Gdead) return; // its program ended: wakers may still hold it
    throw new Error(`goready: bad g status ${g.statusString()} (goroutine ${g.id})`);
  }
  g.param = v;
  g.status = Grunnable;
  if (tracer !== null) tracer.ready(g, current);
  if (current !== null) {
    runqputnext(g); // inside the schedule loop: no kick needed
  } else {
    runqput(g);
    kick();
  }
}

/** Readies g so that it resumes by throwing err (a rejected Promise, a closed descriptor...). */
export function goreadyErr(g: G, err: unknown): void {
  if (g.status !== Gwaiting) return goready(g, undefined);
  g.err = err;
  g.hasErr = true;
  goready(g, undefined);
}

/** Yields the processor; the goroutine stays runnable (Go's runtime.Gosched). */
export function* gosched(): Op<void> {
  yield GOSCHED;
}

// ---- external wakers --------------------------------------------------------

/**
 * Something outside the goroutines (a pending Promise, the network poller,
 * user code holding a reference) may still wake a goroutine: while any is
 * held, an idle program waits instead of reporting a deadlock.
 */
let externalRefs = 0;
/** Bumped per program, so a reference taken by an ended program is not dropped twice. */
let programGen = 0;

/** Takes an external reference; call the returned function once to drop it. */
export function holdExternal(): () => void {
  externalRefs++;
  const gen = programGen;
  let held = true;
  return () => {
    if (!held || gen !== programGen) return;
    held = false;
    externalRefs--;
    if (externalRefs === 0) kick();
  };
}

/** The network poller plugs in here (netpoll.ts); the scheduler stays independent of it. */
export interface PollHook {
  /** Readies goroutines whose descriptors are ready, without blocking. */
  pollNonBlocking(): void;
  /** Nothing is runnable: let the poller wait for readiness and wake the scheduler. */
  idle(): void;
  /** Drops every waiter: the program ended. */
  programEnded(): void;
  /** Goroutines parked on descriptors, and the poller's event counters (schedMetrics). */
  counters(): PollCounters;
  /** Tracing started (a tracer) or stopped (null): see trace.ts. */
  trace(t: PollTracer | null): void;
}

export interface PollCounters {
  /** Goroutines parked on descriptors now (Go's netpollWaiters). */
  readonly waiters: number;
  /** Times the idle scheduler handed the blocking wait to the poller thread. */
  readonly handoffs: number;
  /** Goroutines readied by I/O readiness (not by close or deadline). */
  readonly ioReadied: number;
}

let pollHook: PollHook | null = null;
/** The poller's counters when it last stopped (its counters are cumulative), for schedMetrics. */
let lastPollCounters: PollCounters = { waiters: 0, handoffs: 0, ioReadied: 0 };

export function setPollHook(h: PollHook | null): void {
  if (pollHook !== null) lastPollCounters = { ...pollHook.counters(), waiters: 0 };
  pollHook = h;
  if (h !== null) h.trace(tracer);
}

// ---- tracing hooks (trace.ts) ----------------------------------------------------

/**
 * What the execution tracer is told (trace.ts). While tracing is off, each
 * hook below is one `tracer !== null` check; the running span of a goroutine
 * is recorded once, after it stops (ran), so a switch costs one check.
 */
export interface SchedTracer {
  /** g was just made by go() (parent: the running goroutine) or run() (null). */
  create(g: G, parent: G | null): void;
  /** g ran and stopped: parked (g.waitReason), yielded, returned or panicked. */
  ran(g: G): void;
  /** goready(g) by the running goroutine, or by null: a timer, the poller, a Node callback. */
  ready(g: G, by: G | null): void;
  /** The schedule loop read its clock (every 64 runs, and before it idles): a free timestamp; runs: in this slice so far. */
  clock(now: number, runs: number): void;
  /** The schedule loop starts (now: its clock reading) and ends. */
  sliceStart(now: number): void;
  sliceEnd(now: number): void;
  /** The program ended: its goroutines are dropped. */
  programEnd(failed: boolean): void;
}

/** What the network poller tells the tracer (through PollHook.trace). */
export interface PollTracer {
  /** The idle scheduler handed the blocking wait to the poller thread (waiters parked on I/O). */
  pollBlock(waiters: number): void;
  /** The main thread woke from that hand-off. */
  pollWake(): void;
  /** I/O readiness of (pd, mode) is about to ready g. */
  ioReady(g: G, pd: number, mode: number): void;
}

/** Installs (or, with null, removes) the execution tracer; trace.ts calls it. */
export function setTracer(t: (SchedTracer & PollTracer) | null): void {
  tracer = t;
  if (pollHook !== null) pollHook.trace(t);
}

// ---- the schedule loop -------------------------------------------------------

/** True while `schedule` is on the stack. */
let inSchedule = false;
/** True while a microtask or immediate will call `schedule`. */
let scheduled = false;
let hostTimer: NodeJS.Timeout | null = null;
let hostTimerWhen = Infinity;

/** Makes sure `schedule` will run soon (a no-op while it is running). */
function kick(): void {
  if (inSchedule || scheduled) return;
  scheduled = true;
  queueMicrotask(scheduleFromHost);
}

function scheduleFromHost(): void {
  scheduled = false;
  schedule();
}

function schedule(): void {
  if (inSchedule) return;
  inSchedule = true;
  try {
    switches += scheduleSlice();
  } finally {
    inSchedule = false;
    if (tracer !== null) tracer.sliceEnd(nowCoarse);
  }
}

/** Runs goroutines for one slice; returns how many it ran (context switches). */
function scheduleSlice(): number {
  const start = (nowCoarse = performance.now());
  if (tracer !== null) tracer.sliceStart(start);
  let ticks = 0;
  for (;;) {
    const g = pickNext();
    if (g === null) {
      if (checkTimersAndPoller(ticks)) continue;
      idle();
      return ticks;
    }
    execute(g);
    if (tracer !== null) tracer.ran(g);
    if ((++ticks & TICK_MASK) === 0) {
      checkTimersAndPoller(ticks);
      if (nowCoarse - start >= SLICE_MS) {
        if (program !== null) yieldToHost();
        return ticks;
      }
    }
  }
}

function pickNext(): G | null {
  const g = runnext;
  if (g !== null) {
    runnext = null;
    if (++runnextStreak <= RUNNEXT_STREAK || runqhead === runqtail) return g;
    runqput(g);
  }
  runnextStreak = 0;
  return runqget();
}

/** Fires due timers and polls the network; reports whether anything became runnable. ticks: runs so far in this slice. */
function checkTimersAndPoller(ticks: number): boolean {
  nowCoarse = performance.now();
  if (tracer !== null) tracer.clock(nowCoarse, ticks);
  timerFires += runTimers(nowCoarse);
  if (pollHook !== null) pollHook.pollNonBlocking();
  return runnext !== null || runqhead !== runqtail;
}

function yieldToHost(): void {
  scheduled = true;
  setImmediate(scheduleFromHost);
}

/** Nothing is runnable: sleep until a timer is due or something external wakes us. */
function idle(): void {
  if (program === null) return;
  if (pollHook !== null) pollHook.idle();
  const when = nextWhen();
  if (when !== Infinity) {
    armHostTimer(when);
    return;
  }
  if (externalRefs > 0) return;
  checkdead();
}

/** Longest delay Node's setTimeout takes as is (2^31-1 ms, about 24.8 days). */
const MAX_HOST_DELAY = 0x7fffffff;

function armHostTimer(when: number): void {
  if (hostTimer !== null) {
    if (hostTimerWhen <= when) return;
    clearTimeout(hostTimer);
  }
  hostTimerWhen = when;
  // Node turns a delay over 2^31-1 ms into 1 ms (TimeoutOverflowWarning): cap
  // it, and the early wake-up just re-arms for the rest.
  hostTimer = setTimeout(onHostTimer, Math.min(MAX_HOST_DELAY, Math.max(0, when - performance.now())));
}

/**
 * A timer became the earliest. Inside the schedule loop, or with a schedule
 * pending, idle() will arm for it; otherwise the scheduler sleeps, maybe on a
 * later host timer, and a Node callback armed this one: re-arm now.
 */
function timerEarliest(when: number): void {
  if (inSchedule || scheduled || program === null) return;
  armHostTimer(when);
}

setOnEarliest(timerEarliest);

function onHostTimer(): void {
  hostTimer = null;
  hostTimerWhen = Infinity;
  schedule();
}

function clearHostTimer(): void {
  if (hostTimer !== null) clearTimeout(hostTimer);
  hostTimer = null;
  hostTimerWhen = Infinity;
}

/** Runs g until it parks, yields, returns or throws. */
function execute(g: G): void {
  current = g;
  g.status = Grunning;
  let r: IteratorResult<Yield, unknown>;
  try {
    if (g.hasErr) {
      const e = g.err;
      g.err = undefined;
      g.hasErr = false;
      r = g.gen.throw(e);
    } else {
      const p = g.param;
      g.param = undefined;
      r = g.gen.next(p);
    }
  } catch (e) {
    current = null;
    g.status = Gdead;
    allgs.delete(g);
    endProgram(new PanicError(g, e));
    notifyJoiners(g); // no longer in allgs, so endProgram did not
    return;
  }
  current = null;
  if (r.done === true) goexit(g, r.value);
  else if (r.value === GOSCHED) {
    g.status = Grunnable;
    runqput(g);
  } else if (r.value !== PARK) {
    badYield(g, r.value);
  }
}

function badYield(g: G, v: unknown): void {
  const e = new RuntimeError(
    `goroutine ${g.id} yielded ${String(v)}: blocking operations are delegated with yield*, not yield`,
  );
  g.status = Gdead;
  allgs.delete(g);
  endProgram(new PanicError(g, e));
  notifyJoiners(g);
}

function goexit(g: G, v: unknown): void {
  g.status = Gdead;
  g.result = v;
  g.returned = true;
  allgs.delete(g);
  notifyJoiners(g);
  if (program !== null && g === program.main) endProgram(null);
}

function notifyJoiners(g: G): void {
  const js = g.joiners;
  if (js === null) return;
  g.joiners = null;
  for (const f of js) f();
}

// ---- deadlock ------------------------------------------------------------------

/** Formats live goroutines; traceback.ts registers the real formatter. */
let dumpFn: () => string = () => "";

export function setDumpFormatter(f: () => string): void {
  dumpFn = f;
}

/** Go's checkdead: nothing runnable, no timer, no external waker. */
function checkdead(): void {
  if (program === null || allgs.size === 0) return;
  endProgram(new DeadlockError(dumpFn()));
}

// ---- programs -------------------------------------------------------------------

interface Program {
  readonly main: G;
  readonly resolve: (v: unknown) => void;
  readonly reject: (e: unknown) => void;
}

let program: Program | null = null;

/**
 * Runs main as goroutine 1 of a new program and settles with its result when
 * it returns; goroutines still running then are dropped, as when a Go main
 * returns. Rejects with PanicError or DeadlockError if the program fails.
 */
export function run<T>(main: () => Op<T>): Promise<T> {
  if (program !== null) return Promise.reject(new RuntimeError("run: a program is already running"));
  if (typeof main !== "function") return Promise.reject(new TypeError("run: main must be a generator function"));
  return new Promise<T>((resolve, reject) => {
    const gen = coroutineOf(main(), "run", main);
    const g = new G<T>(++goidgen, main.name || "main", gen, null, null);
    program = { main: g, resolve: resolve as (v: unknown) => void, reject };
    allgs.add(g);
    if (tracer !== null) tracer.create(g, null);
    runqput(g);
    kick();
  });
}

/** Ends the program: drops every goroutine, timer and waiter, then settles run(). */
function endProgram(err: Error | null): void {
  const p = program;
  if (p === null) return;
  program = null;
  programGen++;
  externalRefs = 0;
  if (tracer !== null) tracer.programEnd(err !== null);
  for (const g of allgs) g.status = Gdead;
  const dead = [...allgs];
  allgs.clear();
  while (runqget() !== null);
  runnext = null;
  clearTimers();
  clearHostTimer();
  if (pollHook !== null) pollHook.programEnded();
  for (const g of dead) notifyJoiners(g);
  if (err === null) p.resolve(p.main.result);
  else p.reject(err);
}

/** Ends the program with err: a failure outside any goroutine (the poller thread died). */
export function fatal(err: Error): void {
  endProgram(err);
}

/** Whether a program is running. */
export function running(): boolean {
  return program !== null;
}

/** Counts for leak checks and statistics. */
export function schedStats(): { goroutines: number; runq: number; timers: number; externalRefs: number } {
  return { goroutines: allgs.size, runq: runqLength(), timers: timerCount(), externalRefs };
}

// ---- metrics -------------------------------------------------------------------------

/** The scheduler's state and counters: Go's schedtrace numbers, for metrics (schedtrace.ts prints them). */
export interface SchedMetrics {
  /** Live goroutines of the running program, and how many are in each state. */
  readonly goroutines: number;
  readonly running: number;
  readonly runnable: number;
  readonly waiting: number;
  /** Waiting goroutines by wait reason ("chan receive", "IO wait", ...); absent reasons are left out. */
  readonly waitReasons: Readonly<Record<string, number>>;
  /** Run-queue length (runnext included): the same as runnable. */
  readonly runq: number;
  /** Goroutines parked on descriptors (the poller's waiters). */
  readonly ioWaiters: number;
  /** Pending runtime timers (sleeps, timers, tickers, deadlines). */
  readonly timers: number;
  readonly externalRefs: number;
  /** Counters since the process started. */
  readonly created: number;
  /** Goroutine runs; counted at the end of each scheduler slice, so a reading from inside a goroutine lags by its slice. */
  readonly switches: number;
  readonly parks: number;
  readonly timerFires: number;
  /** Goroutines readied by I/O readiness, and idle hand-offs of the blocking wait to the poller thread. */
  readonly ioWakeups: number;
  readonly pollerHandoffs: number;
}

/**
 * The scheduler's numbers now. Walks the live goroutines to count them by
 * state and wait reason (O(goroutines)): meant for a periodic reading, not a hot loop.
 */
export function schedMetrics(): SchedMetrics {
  let running = 0;
  let waiting = 0;
  const waitReasons: Record<string, number> = {};
  for (const g of allgs) {
    if (g.status === Grunning) running++;
    else if (g.status === Gwaiting) {
      waiting++;
      waitReasons[g.waitReason] = (waitReasons[g.waitReason] ?? 0) + 1;
    }
  }
  const runnable = runqLength();
  const pc = pollHook === null ? lastPollCounters : pollHook.counters();
  return {
    goroutines: allgs.size,
    running,
    runnable,
    waiting,
    waitReasons,
    runq: runnable,
    ioWaiters: pc.waiters,
    timers: timerCount(),
    externalRefs,
    created: goidgen,
    switches,
    parks,
    timerFires,
    ioWakeups: pc.ioReadied,
    pollerHandoffs: pc.handoffs,
  };
}

/**
 * Runs main as a command, the way a Go binary runs: on a panic or deadlock
 * the failure goes to stderr and the process exits with status 2, as Go's do.
 */
export function runMain(main: () => Op<unknown>): void {
  run(main).catch((e: unknown) => {
    process.stderr.write(`${e instanceof Error ? e.message : String(e)}\n`);
    process.exit(2);
  });
}

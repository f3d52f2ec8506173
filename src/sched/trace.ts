// Execution tracing (Go's runtime/trace, for this scheduler): an opt-in
// record of what every goroutine does, written as Chrome trace-event JSON
// that opens in Perfetto (ui.perfetto.dev) or chrome://tracing.
//
//   startTrace(path?)   starts recording (one trace at a time);
//   stopTrace()         stops, formats, writes `path` (or returns the JSON);
//   GORT_TRACE=<file>   traces the whole process and writes <file> at exit;
//   GORT_TRACE_EVENTS=<n>  records kept (a ring: the last n; default 131072).
//
// What is recorded: goroutine create (and its parent), each run of a
// goroutine and how it stopped (parked with its wait reason, yielded,
// returned, panicked), ready (and who readied it: a goroutine, a timer, the
// poller, a Node callback), program end; timer fires; the poller: the idle
// scheduler handing the blocking wait to the poller thread and waking from
// it, and I/O readiness readying a goroutine. See docs/trace.md.
//
// Cost. proc.ts, timer.ts and netpoll.ts call the hooks only while a tracer
// is installed: off, each hook is one `tracer !== null` check, and a
// goroutine switch has one. On, a record is three int32 stores into a
// preallocated ring (plus a float64 time for the few records that carry
// one, and a name for go() and timer fires); formatting happens at stop. A
// run of a goroutine is one record, written when it stops (with its wait
// reason as a small code): it started when the last record before it that
// is not its own was written. A ready or go() made by a goroutine is a record
// without the maker: the maker is the goroutine whose run ends next. The
// last goroutine a run readied rides in that run's record (its third word)
// instead of a record of its own: a channel hand-off costs one record, not
// two; the formatter unfolds it back into a ready just before the run's end.
//
// Time. performance.now() costs ~60 ns here, a third of a channel ping-pong,
// so records do not read it. Exact times: slice starts and ends and the
// scheduler's own clock readings (every 64 runs, and before it idles), timer
// fires, poller hand-offs and wake-ups, and anything recorded outside the
// schedule loop. When runs are longer (a moving average over ~1 µs), the end
// of every few runs reads the clock too (of every run from ~6 µs), the stride
// adapting so the readings cost about 1% of the time. Records between two readings share
// the time by weight (a run 1, a record made inside a run 0.5, the
// scheduler's own 0.05): within such a window durations are estimates, and
// one long run among many short ones shows too short. The output says so
// (otherData.clock).

import { closeSync, openSync, writeSync } from "node:fs";

import { Gdead, Grunnable, Gwaiting, type G } from "./g.ts";
import { currentG, liveGoroutines, setTracer, type PollTracer, type SchedTracer } from "./proc.ts";
import { setFireHook, type RTimer } from "./timer.ts";

// ---- records ------------------------------------------------------------------------

// A record is three int32 words: w0 = kind | flags | arg << 16, w1 = a
// goroutine id (or a count); in a K_RAN record, w2 = the goroutine its run
// readied last (0: none), unused in the others. A record with HAS_TIME has
// its time in times[k]; objs[k] holds the name of a created goroutine or
// fired timer callback.
const K_TRACE_START = 1; // w1: the running goroutine (0: none)
const K_TRACE_STOP = 2; // w1: the running goroutine (0: none)
const K_SLICE_START = 3;
const K_SLICE_END = 4;
const K_CREATE = 5; // w1: new goroutine; parent: the next run's goroutine, or none (EXT)
const K_RAN = 6; // w1: goroutine; status << 8, RETURNED, wait reason code << 16
const K_READY = 7; // w1: goroutine; by: the next run's goroutine, or not a goroutine (EXT)
const K_TIMER = 8; // w1: lateness (µs); objs: callback name
const K_POLL_BLOCK = 9; // w1: goroutines parked on I/O
const K_POLL_WAKE = 10;
const K_IO_READY = 11; // w1: goroutine; pd << 16, mode << 13
const K_PROGRAM_END = 12; // arg: 1 if it failed
const K_CLOCK = 13; // the scheduler read its clock
const KIND = 0xf;
/** times[k] holds the record's time. */
const HAS_TIME = 0x10;
/** Made outside any goroutine (a timer, the poller, a Node callback). */
const EXT = 0x20;
const RETURNED = 0x1000;

/**
 * Read the clock at run ends every `stride` runs only up to this stride (runs
 * of ~1 µs and more); shorter runs are timed by the scheduler's own readings, every 64 runs.
 */
const MAX_STRIDE = 8;
/** Runs are stamped so that clock readings cost at most about 1/CLOCK_SHARE of the time (1%). */
const CLOCK_SHARE = 100;
/** No clock reading at run ends. */
const NO_STRIDE = 1 << 30;
const DEFAULT_MAX_RECORDS = 1 << 17;

/**
 * The ring and the hooks proc.ts, timer.ts and netpoll.ts call. A class, so
 * the hot hooks (ran, ready) reach their state through `this` fields rather
 * than module bindings.
 */
class Recorder implements SchedTracer, PollTracer {
  cap = 0;
  /** Three words per record (see K_*): one array, so that a record costs one bounds check. */
  i32 = new Int32Array(0);
  times = new Float64Array(0);
  /** Per record: the name of a created goroutine or of a fired timer's callback. */
  objs: unknown[] = [];
  /** Records written since the trace started; the next goes to slot `n & mask`. */
  n = 0;
  /** cap - 1 (cap is a power of two). */
  mask = 0;
  /**
   * The goroutine the running goroutine readied last, not yet recorded: it
   * goes into the run's K_RAN record. Invariant: 0 outside a run; any other
   * record written during the run first writes it out (flushReady), so the
   * records keep their order.
   */
  pend = 0;
  /** Inside the schedule loop: records there are timed by the stride; outside, each reads the clock. */
  inSlice = false;
  /** Read the clock at the end of every `stride`-th run (runs are long); else only the scheduler's readings time runs. */
  stamping = true;
  stride = 1;
  strideLeft = 1;
  /** The slice's run count at the last clock reading, for the scheduler's readings (clock) when not stamping. */
  runsAtStamp = 0;
  /** Moving average of a run (ns). */
  avgNs = 1e6;
  lastStampT = 0;
  /** Cost of one performance.now(), ns (measured at start). */
  clockNs = 60;
  /** Wait reasons by code, and a two-entry cache of the last ones seen (a Map lookup per park costs too much). */
  readonly reasons: string[] = [];
  readonly reasonCode = new Map<string, number>();
  r0 = "";
  c0 = 0;
  r1 = "";
  c1 = 0;

  alloc(n: number): void {
    if (n === this.cap) return;
    this.cap = n;
    this.mask = n - 1;
    this.i32 = new Int32Array(n * 3);
    this.times = new Float64Array(n);
    // Pushed, not new Array(n): a large `new Array(n)` is a dictionary, and stores to it are slow.
    const objs: unknown[] = [];
    for (let i = 0; i < n; i++) objs.push(null);
    this.objs = objs;
  }

  slot(): number {
    return this.n++ & this.mask;
  }

  /**
   * Picks the stride from the average run since the last reading (`runs`
   * runs), so that reading the clock costs about 1% of the time; beyond
   * MAX_STRIDE, runs are not stamped at all (the scheduler reads its clock every 64).
   */
  adapt(t: number, runs: number): void {
    if (runs > 0) {
      // A moving average over windows, so that a short run between long ones does not stop the stamping.
      const avgNs = (this.avgNs = this.avgNs * 0.75 + (((t - this.lastStampT) * 1e6) / runs) * 0.25);
      const s = avgNs > 0 ? Math.ceil((this.clockNs * CLOCK_SHARE) / avgNs) : NO_STRIDE;
      this.stamping = s <= MAX_STRIDE;
      this.stride = this.stamping ? s : NO_STRIDE;
    }
    this.lastStampT = t;
    this.strideLeft = this.stride;
  }

  /** The code of a wait reason, past the cache's first entry. */
  code(r: string): number {
    let c: number;
    if (r === this.r1) c = this.c1;
    else {
      const known = this.reasonCode.get(r);
      if (known === undefined) {
        c = this.reasons.length;
        this.reasons.push(r);
        this.reasonCode.set(r, c);
      } else c = known;
    }
    this.r1 = this.r0;
    this.c1 = this.c0;
    this.r0 = r;
    this.c0 = c;
    return c;
  }

  /** Writes the pending ready of the running goroutine as a record of its own (another record follows it). */
  flushReady(): void {
    const k = this.slot();
    this.i32[3 * k] = K_READY;
    this.i32[3 * k + 1] = this.pend;
    this.pend = 0;
  }

  put(w0: number, w1: number, obj: unknown, t: number | null): void {
    if (this.pend !== 0) this.flushReady();
    const k = this.slot();
    this.i32[3 * k + 1] = w1;
    this.objs[k] = obj;
    if (t !== null) {
      this.i32[3 * k] = w0 | HAS_TIME;
      this.times[k] = t;
    } else {
      this.i32[3 * k] = w0;
    }
  }

  /** A record of the scheduler's own, timed when made outside the schedule loop. */
  event(w0: number, w1: number): void {
    this.put(w0, w1, null, this.inSlice ? null : performance.now());
  }

  create(g: G, parent: G | null): void {
    if (this.pend !== 0) this.flushReady();
    const k = this.slot();
    const i32 = this.i32;
    i32[3 * k + 1] = g.id;
    this.objs[k] = g.name;
    if (parent !== null) i32[3 * k] = K_CREATE;
    else if (this.inSlice) i32[3 * k] = K_CREATE | EXT;
    else {
      i32[3 * k] = K_CREATE | EXT | HAS_TIME;
      this.times[k] = performance.now();
    }
  }

  ran(g: G): void {
    const k = this.n++ & this.mask;
    const st = g.status;
    // g.returned read on every run (it is true only once dead): a property read
    // behind a rarely taken branch would deoptimize the schedule loop at every
    // goroutine exit, for want of type feedback.
    let w0 = K_RAN | (st << 8) | (g.returned ? RETURNED : 0);
    if (st === Gwaiting) {
      const r = g.waitReason;
      w0 |= (r === this.r0 ? this.c0 : this.code(r)) << 16;
    }
    const i32 = this.i32;
    i32[3 * k + 1] = g.id;
    i32[3 * k + 2] = this.pend;
    this.pend = 0;
    if (this.stamping && --this.strideLeft === 0) this.stamp(k, w0);
    else i32[3 * k] = w0;
  }

  /** Times run record k from the clock (every `stride`-th run, when runs are long). */
  stamp(k: number, w0: number): void {
    const t = performance.now();
    this.adapt(t, this.stride);
    this.i32[3 * k] = w0 | HAS_TIME;
    this.times[k] = t;
  }

  ready(g: G, by: G | null): void {
    if (by !== null) {
      // Folded into the run's record unless the run readies another one after it.
      if (this.pend !== 0) this.flushReady();
      this.pend = g.id;
      return;
    }
    const k = this.slot();
    const i32 = this.i32;
    i32[3 * k + 1] = g.id;
    if (this.inSlice) i32[3 * k] = K_READY | EXT;
    else {
      i32[3 * k] = K_READY | EXT | HAS_TIME;
      this.times[k] = performance.now();
    }
  }

  clock(now: number, runs: number): void {
    this.put(K_CLOCK, 0, null, now);
    this.adapt(now, this.stamping ? this.stride - this.strideLeft : runs - this.runsAtStamp);
    this.runsAtStamp = runs;
  }

  sliceStart(now: number): void {
    this.put(K_SLICE_START, 0, null, now);
    this.inSlice = true;
    this.lastStampT = now;
    this.strideLeft = this.stride;
    this.runsAtStamp = 0;
  }

  sliceEnd(now: number): void {
    this.put(K_SLICE_END, 0, null, Math.max(now, this.lastStampT));
    this.inSlice = false;
  }

  programEnd(failed: boolean): void {
    this.event(K_PROGRAM_END | EXT | ((failed ? 1 : 0) << 16), 0);
  }

  pollBlock(waiters: number): void {
    this.event(K_POLL_BLOCK | EXT, waiters);
  }

  pollWake(): void {
    this.put(K_POLL_WAKE | EXT, 0, null, performance.now());
  }

  ioReady(g: G, pd: number, mode: number): void {
    this.event(K_IO_READY | EXT | ((mode & 3) << 13) | ((pd & 0xffff) << 16), g.id);
  }

  timerFire(t: RTimer, now: number): void {
    const lateUs = Math.min(0x7fffffff, Math.max(0, Math.round((now - t.when) * 1000)));
    this.put(K_TIMER | EXT, lateUs, t.f.name || "timer", now);
  }
}

const rec = new Recorder();
const onTimerFire = (t: RTimer, now: number): void => rec.timerFire(t, now);
let on = false;
let startT = 0;
let outPath: string | null = null;
/** Goroutines alive when tracing started (live) and stopped: names of those created before the trace. */
let snapshots: Array<[id: number, name: string, live: boolean]> = [];

// ---- API ------------------------------------------------------------------------------

export interface TraceOptions {
  /** Records kept (a ring: the most recent); rounded up to a power of two. Default 131072 (3 MB; 30-50 MB of JSON). */
  maxRecords?: number;
}

/** A Chrome trace-event JSON object (`{"traceEvents": [...]}`). */
export interface ChromeTrace {
  traceEvents: Array<Record<string, unknown>>;
  displayTimeUnit: "ns";
  otherData: Record<string, unknown>;
}

export interface TraceResult {
  /** The file written, or null when startTrace had no path (see `trace`). */
  readonly path: string | null;
  /** Records taken while tracing, and how many of the oldest are not in the trace (the ring dropped them). */
  readonly records: number;
  readonly dropped: number;
  /** Trace events written. */
  readonly events: number;
  /** The trace itself when there was no path; null otherwise. */
  readonly trace: ChromeTrace | null;
}

/** Whether a trace is being recorded. */
export function tracing(): boolean {
  return on;
}

/**
 * Starts recording an execution trace. With a path, stopTrace writes the
 * trace there; without, stopTrace returns it. One trace at a time.
 */
export function startTrace(path: string | null = null, opts: TraceOptions = {}): void {
  if (on) throw new Error("startTrace: a trace is already being recorded");
  const max = opts.maxRecords ?? DEFAULT_MAX_RECORDS;
  if (!(max >= 16) || !Number.isFinite(max)) throw new RangeError("startTrace: maxRecords must be a number ≥ 16");
  rec.alloc(2 ** Math.ceil(Math.log2(max)));
  rec.n = 0;
  rec.pend = 0;
  outPath = path;
  rec.clockNs = measureClock();
  const cur = currentG();
  rec.inSlice = cur !== null;
  rec.stamping = true;
  rec.avgNs = 1e6;
  rec.stride = 1;
  rec.strideLeft = 1;
  rec.runsAtStamp = 0;
  startT = rec.lastStampT = performance.now();
  snapshots = [];
  snapshotLive(true);
  rec.put(K_TRACE_START, cur === null ? 0 : cur.id, null, startT);
  on = true;
  setTracer(rec);
  setFireHook(onTimerFire);
}

/**
 * Stops recording and formats the trace: writes the file given to
 * startTrace, or returns the trace. Null when no trace was being recorded.
 */
export function stopTrace(): TraceResult | null {
  if (!on) return null;
  const cur = currentG();
  rec.put(K_TRACE_STOP, cur === null ? 0 : cur.id, null, Math.max(performance.now(), rec.lastStampT));
  on = false;
  setTracer(null);
  setFireHook(null);
  snapshotLive(false);
  const path = outPath;
  outPath = null;
  const total = rec.n;
  let events = 0;
  let trace: ChromeTrace | null = null;
  let other: Record<string, unknown>;
  if (path === null) {
    const list: Array<Record<string, unknown>> = [];
    other = format((e) => {
      list.push(e);
      events++;
    }, total);
    trace = { traceEvents: list, displayTimeUnit: "ns", otherData: other };
  } else {
    const fd = openSync(path, "w");
    try {
      writeSync(fd, '{"traceEvents":[\n');
      let chunk: string[] = [];
      other = format((e) => {
        chunk.push((events++ === 0 ? "" : ",\n") + JSON.stringify(e));
        if (chunk.length >= 4096) {
          writeSync(fd, chunk.join(""));
          chunk = [];
        }
      }, total);
      writeSync(fd, `${chunk.join("")}\n],\n"displayTimeUnit":"ns",\n"otherData":${JSON.stringify(other)}}\n`);
    } finally {
      closeSync(fd);
    }
  }
  snapshots = [];
  return { path, records: total, dropped: other.droppedRecords as number, events, trace };
}

function measureClock(): number {
  let best = Infinity;
  for (let r = 0; r < 5; r++) {
    const t0 = performance.now();
    let t = t0;
    for (let i = 0; i < 100; i++) t = performance.now();
    best = Math.min(best, ((t - t0) * 1e6) / 100);
  }
  // A busy machine inflates the measure; what it costs on a quiet one is what matters.
  return Math.min(100, Math.max(10, best));
}

function snapshotLive(atStart: boolean): void {
  for (const g of liveGoroutines()) snapshots.push([g.id, g.name, atStart]);
}

// ---- formatting -------------------------------------------------------------------------

const PID = 1;
const SCHED_TID = 2_000_000_001;
const POLLER_TID = 2_000_000_002;
const TIMERS_TID = 2_000_000_003;
const HOST_TID = 2_000_000_004;
/** Smallest gap between two records in the output (ns), so that every boundary is strict. */
const MIN_GAP_NS = 8;
/** How long after a record the next run starts (ns), at most: picking the next goroutine takes well under a µs. */
const AFTER_NS = 200;

interface GInfo {
  name: string;
  /** Flow to bind to the next run (0: none). */
  flow: number;
  live: boolean;
}

/** A callback outside any goroutine (a timer, I/O readiness, a Node callback) and the goroutines it readied. */
interface Source {
  tid: number;
  name: string;
  start: number;
  /** Index of its last record: it ended halfway to the next one. */
  last: number;
  args: Record<string, unknown>;
  flows: number[];
}

function us(ns: number): number {
  return ns / 1000;
}

/** The kept records in order, with every ready folded into a run's record unfolded into a record of its own. */
interface Records {
  n: number;
  w0: Int32Array;
  w1: Int32Array;
  times: Float64Array;
  objs: unknown[];
  /** 1 for a record unfolded from a K_RAN record's third word. */
  unfolded: Uint8Array;
}

/** Reads the ring oldest first (its `kept` records), unfolding each folded ready just before its run's record. */
function unfold(kept: number, first: number): Records {
  const { cap, i32, times, objs } = rec;
  const mask = cap - 1;
  let n = kept;
  for (let j = 0; j < kept; j++) {
    const r = (first + j) & mask;
    if ((i32[3 * r]! & KIND) === K_RAN && i32[3 * r + 2] !== 0) n++;
  }
  const out: Records = {
    n,
    w0: new Int32Array(n),
    w1: new Int32Array(n),
    times: new Float64Array(n),
    objs: new Array<unknown>(n).fill(null),
    unfolded: new Uint8Array(n),
  };
  let o = 0;
  for (let j = 0; j < kept; j++) {
    const r = (first + j) & mask;
    const w0 = i32[3 * r]!;
    if ((w0 & KIND) === K_RAN && i32[3 * r + 2] !== 0) {
      out.w0[o] = K_READY;
      out.w1[o] = i32[3 * r + 2]!;
      out.unfolded[o++] = 1;
    }
    out.w0[o] = w0;
    out.w1[o] = i32[3 * r + 1]!;
    out.times[o] = times[r]!;
    out.objs[o++] = objs[r];
  }
  return out;
}

/** Emits every trace event of the recorded ring; returns otherData. */
function format(emit: (e: Record<string, unknown>) => void, total: number): Record<string, unknown> {
  const { cap, reasons } = rec;
  const kept = Math.min(total, cap);
  const { n, w0: w0s, w1: w1s, times, objs, unfolded } = unfold(kept, total > cap ? total & rec.mask : 0);
  const w0Of = (j: number): number => w0s[j]!;
  const w1Of = (j: number): number => w1s[j]!;
  const ownRecord = (w0: number): boolean => ((w0 & KIND) === K_READY || (w0 & KIND) === K_CREATE) && (w0 & EXT) === 0;

  // Who made each ready and go record: the goroutine whose run ends next.
  const by = new Float64Array(n);
  let runner = 0;
  for (let j = n - 1; j >= 0; j--) {
    const w0 = w0Of(j);
    const kind = w0 & KIND;
    if (kind === K_RAN || kind === K_TRACE_STOP) runner = w1Of(j) >>> 0;
    else if (ownRecord(w0)) by[j] = runner;
  }

  // Times: exact at records that carry one; in between, the time is shared
  // out by weight: a goroutine run (up to its RAN record) weighs 1, a record
  // it made while running (ready, go) 0.5, and the scheduler's own records
  // (a clock reading, a timer fire, I/O readiness, program end) 0.05, since
  // they take next to no time. Then integer ns with a minimum gap, so that
  // run starts (midpoints) fall strictly between records.
  let j0 = 0;
  while (j0 < n && (w0Of(j0) & HAS_TIME) === 0) j0++;
  const ns = new Float64Array(n);
  const cum = new Float64Array(n);
  let ja = j0;
  for (let j = j0 + 1; j < n; j++) {
    const w0 = w0Of(j);
    const kind = w0 & KIND;
    const wt = kind === K_RAN || (kind === K_TRACE_STOP && w1Of(j) !== 0) ? 1 : ownRecord(w0) ? 0.5 : 0.05;
    cum[j] = cum[j - 1]! + wt;
    if ((w0 & HAS_TIME) === 0) continue;
    const ta = times[ja]!;
    const tb = times[j]!;
    const span = cum[j]! - cum[ja]!;
    for (let m = ja; m <= j; m++) ns[m] = (ta + ((tb - ta) * (cum[m]! - cum[ja]!)) / span - startT) * 1e6;
    ja = j;
  }
  if (j0 < n) ns[j0] = (times[j0]! - startT) * 1e6;
  for (let j = j0; j < n; j++) {
    let v = Math.round(ns[j]!);
    if (j > j0 && v < ns[j - 1]! + MIN_GAP_NS) v = ns[j - 1]! + MIN_GAP_NS;
    ns[j] = v;
  }
  /**
   * Just after record j: where the next run starts, or a callback ends. The
   * scheduler moves on at once, so at most AFTER_NS later; never past halfway
   * to the next record, so that boundaries stay strictly ordered.
   */
  const after = (j: number): number => ns[j]! + Math.min(AFTER_NS, Math.floor((ns[j + 1]! - ns[j]!) / 2));

  const gs = new Map<number, GInfo>();
  const info = (id: number): GInfo => {
    let g = gs.get(id);
    if (g === undefined) {
      g = { name: "", flow: 0, live: false };
      gs.set(id, g);
    }
    return g;
  };
  for (const [id, name, live] of snapshots) {
    const g = info(id);
    g.name = name;
    if (live) g.live = true;
  }
  const label = (id: number): string => {
    if (id === 0) return "a goroutine (its run fell off the ring)";
    const g = gs.get(id);
    return g !== undefined && g.name !== "" ? `goroutine ${id} (${g.name})` : `goroutine ${id}`;
  };

  let flowId = 0;
  /** The last record that is not the running goroutine's own: its run started just after. -1: unknown. */
  let lastBoundary = -1;
  let src: Source | null = null;
  let sliceStart = -1;
  let sliceRuns = 0;
  let pollWaitStart = -1;
  let pollWaiters = 0;
  let dropAt = -1;
  let dropSet: number[] = [];

  const instant = (tid: number, t: number, name: string, args: Record<string, unknown>): void =>
    emit({ ph: "i", s: "t", name, pid: PID, tid, ts: us(t), args });
  const slice = (tid: number, name: string, cat: string, from: number, to: number, args: Record<string, unknown>): void =>
    emit({ ph: "X", name, cat, pid: PID, tid, ts: us(from), dur: us(to - from), args });
  const closeSource = (): void => {
    if (src === null) return;
    const s = src;
    src = null;
    const end = after(s.last);
    slice(s.tid, s.name, s.tid === TIMERS_TID ? "timer" : s.tid === POLLER_TID ? "netpoll" : "host", s.start, end, s.args);
    const m = Math.floor((s.start + end) / 2);
    for (const id of s.flows) emit({ ph: "s", id, cat: "flow", name: "ready", pid: PID, tid: s.tid, ts: us(m) });
  };
  const openSource = (tid: number, name: string, j: number, args: Record<string, unknown>): void => {
    src = { tid, name, start: ns[j]!, last: j, args, flows: [] };
  };
  /** A ready or create: an instant on the goroutine's track and a flow from its waker to its next run. */
  const wake = (j: number, gid: number, waker: number, ext: boolean, what: "ready" | "created"): void => {
    const t = ns[j]!;
    const g = info(gid);
    g.live = true;
    const id = ++flowId;
    g.flow = id;
    if (!ext) {
      instant(gid, t, what, { by: label(waker) });
      if (waker !== 0) emit({ ph: "s", id, cat: "flow", name: "ready", pid: PID, tid: waker, ts: us(t) });
      return;
    }
    if (src === null) openSource(HOST_TID, "wake from a Node callback", j, {});
    const s = src!;
    s.last = j;
    s.flows.push(id);
    const byName = s.tid === TIMERS_TID ? "timer" : s.tid === POLLER_TID ? "netpoll (I/O ready)" : "Node callback (promise, trySend...)";
    instant(gid, t, what, { by: byName });
  };
  const runStart = (): number => after(lastBoundary);

  for (let j = j0; j < n; j++) {
    const w0 = w0s[j]!;
    const kind = w0 & KIND;
    const ext = (w0 & EXT) !== 0;
    const w1 = w1s[j]!;
    const gid = w1 >>> 0;
    const t = ns[j]!;
    if (dropAt >= 0) {
      // The goroutine whose run ended the program ends with that run; the others were dropped.
      const dead = kind === K_RAN ? gid : -1;
      for (const id of dropSet) {
        if (id === dead) continue;
        instant(id, dropAt, "end", { how: "dropped: its program ended" });
        info(id).live = false;
      }
      dropAt = -1;
      dropSet = [];
    }
    const own = ownRecord(w0);
    const joinsSource = src !== null && ext && (kind === K_READY || kind === K_CREATE);
    if (kind !== K_PROGRAM_END && !joinsSource) closeSource();
    switch (kind) {
      case K_TRACE_START:
      case K_CLOCK:
        break;
      case K_SLICE_START:
        sliceStart = t;
        sliceRuns = 0;
        break;
      case K_SLICE_END:
        if (sliceStart >= 0) slice(SCHED_TID, "schedule", "sched", sliceStart, t, { runs: sliceRuns });
        sliceStart = -1;
        break;
      case K_CREATE:
        info(gid).name = String(objs[j]);
        wake(j, gid, by[j]!, ext, "created");
        break;
      case K_READY:
        wake(j, gid, by[j]!, ext, "ready");
        break;
      case K_RAN: {
        const g = info(gid);
        const st = (w0 >> 8) & 0xf;
        const reason = st === Gwaiting ? (reasons[w0 >>> 16] ?? "?") : "";
        const end = st === Gwaiting ? `park: ${reason}` : st === Grunnable ? "gosched" : (w0 & RETURNED) !== 0 ? "return" : "panic";
        // A run whose start fell off the ring is left out.
        if (lastBoundary >= 0) {
          const start = runStart();
          slice(gid, g.name || `goroutine ${gid}`, "running", start, t, { goid: gid, end });
          if (g.flow !== 0) emit({ ph: "f", bp: "e", id: g.flow, cat: "flow", name: "ready", pid: PID, tid: gid, ts: us(Math.floor((start + t) / 2)) });
        }
        g.flow = 0;
        if (st === Gwaiting) {
          instant(gid, t, "park", { reason });
          g.live = true;
        } else if (st === Gdead) {
          instant(gid, t, "end", { how: (w0 & RETURNED) !== 0 ? "returned" : "panicked" });
          g.live = false;
        } else g.live = true;
        sliceRuns++;
        break;
      }
      case K_TIMER:
        openSource(TIMERS_TID, `timer: ${String(objs[j])}`, j, { callback: String(objs[j]), late_us: w1 });
        break;
      case K_IO_READY:
        openSource(POLLER_TID, "I/O ready", j, { pd: w0 >>> 16, mode: ((w0 >> 13) & 3) === 1 ? "read" : "write", goroutine: label(gid) });
        break;
      case K_POLL_BLOCK:
        pollWaitStart = t;
        pollWaiters = w1;
        break;
      case K_POLL_WAKE:
        // A wait handed over before the kept records began starts with them.
        slice(POLLER_TID, "netpoll wait (poller thread)", "netpoll", pollWaitStart >= 0 ? pollWaitStart : ns[j0]!, t, { ioWaiters: pollWaiters });
        pollWaitStart = -1;
        break;
      case K_PROGRAM_END:
        instant(SCHED_TID, t, "program end", { failed: (w0 >>> 16) !== 0 });
        dropAt = t;
        for (const [id, g] of gs) if (g.live) dropSet.push(id);
        break;
      case K_TRACE_STOP:
        if (gid !== 0 && lastBoundary >= 0) {
          slice(gid, info(gid).name || `goroutine ${gid}`, "running", runStart(), t, { goid: gid, end: "trace stopped" });
        }
        if (sliceStart >= 0) slice(SCHED_TID, "schedule", "sched", sliceStart, t, { runs: sliceRuns });
        if (pollWaitStart >= 0) slice(POLLER_TID, "netpoll wait (poller thread)", "netpoll", pollWaitStart, t, { ioWaiters: pollWaiters });
        break;
    }
    if (!own && kind !== K_PROGRAM_END) lastBoundary = j;
  }

  // Track names: the runtime's own tracks, then every goroutine seen.
  emit({ ph: "M", name: "process_name", pid: PID, args: { name: `gort (node pid ${process.pid})` } });
  const named: Array<[number, string, number]> = [
    [SCHED_TID, "scheduler (schedule loop slices)", -4],
    [POLLER_TID, "netpoll (poller thread)", -3],
    [TIMERS_TID, "timers", -2],
    [HOST_TID, "Node callbacks", -1],
  ];
  const ids = [...gs.keys()].sort((p, q) => p - q);
  for (const id of ids) named.push([id, label(id), id]);
  for (const [tid, name, order] of named) {
    emit({ ph: "M", name: "thread_name", pid: PID, tid, args: { name } });
    emit({ ph: "M", name: "thread_sort_index", pid: PID, tid, args: { sort_index: order } });
  }
  // Records that fell off the ring, and those before the first clock reading kept (no time to give them).
  let dropped = total - kept;
  for (let j = 0; j < j0; j++) dropped += 1 - unfolded[j]!;
  if (dropped > 0) {
    emit({ ph: "i", s: "g", name: "trace truncated", pid: PID, tid: SCHED_TID, ts: us(n > j0 ? ns[j0]! : 0), args: { droppedRecords: dropped, keptRecords: total - dropped } });
  }
  return {
    producer: "gort",
    version: 1,
    records: total,
    keptRecords: total - dropped,
    droppedRecords: dropped,
    truncated: dropped > 0,
    note:
      dropped > 0
        ? `the ring kept the last ${cap} records: ${dropped} older records (and the events they held) are missing; raise GORT_TRACE_EVENTS or maxRecords`
        : "complete",
    clock:
      "times are exact at slice starts and ends, the scheduler's clock readings (every 64 runs), timer fires, poller hand-offs and wake-ups, and, when runs average over ~1 µs, at the end of every few runs (every run from ~6 µs); records in between share the time by weight (a run 1, a ready or go inside it 0.5, the scheduler's own records 0.05)",
    goroutines: ids.length,
  };
}

// ---- GORT_TRACE -----------------------------------------------------------------------------

const envPath = process.env.GORT_TRACE;
if (envPath !== undefined && envPath !== "") {
  const max = Number(process.env.GORT_TRACE_EVENTS ?? DEFAULT_MAX_RECORDS);
  startTrace(envPath, { maxRecords: Number.isFinite(max) && max >= 16 ? max : DEFAULT_MAX_RECORDS });
  process.once("exit", () => {
    if (on) stopTrace();
  });
}

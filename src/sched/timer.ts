// The runtime timer heap (Go's time.go timers, one heap for the one P).
//
// Every sleep, time.After, Timer, Ticker, context deadline and (later) I/O
// deadline is an RTimer in this binary min-heap ordered by `when`, on the
// monotonic clock of performance.now(), in milliseconds. The scheduler fires
// due timers between goroutine runs and, when idle, arms a single Node timer
// for the earliest one: Node holds one handle, not one per sleeper. A timer
// armed from outside the scheduler (a Node callback) that becomes the
// earliest is reported through onEarliest, so that host timer is re-armed.
//
// A timer's callback runs on the scheduler, outside any goroutine; it must
// not block (it readies goroutines, sends without blocking, and so on).

export class RTimer {
  /** Due time on the performance.now() clock (ms). */
  when = 0;
  /** Re-arm interval for tickers (ms); 0 for one-shot timers. */
  period = 0;
  /** Position in the heap, -1 when not in it. */
  index = -1;
  /** Arming order: timers due at the same time fire in the order they were armed. */
  order = 0;
  /** Bumped on every (re)arm, so a callback can tell which arming fired it. */
  seq = 0;
  readonly f: (arg: unknown, seq: number) => void;
  readonly arg: unknown;

  /** A timer that calls f(arg, seq) on the scheduler when it fires. */
  constructor(f: (arg: never, seq: number) => void, arg: unknown) {
    // f's parameter type is checked at the call sites that pair it with arg.
    this.f = f as (arg: unknown, seq: number) => void;
    this.arg = arg;
  }

  get active(): boolean {
    return this.index >= 0;
  }
}

const heap: RTimer[] = [];
let orderGen = 0;

function less(a: RTimer, b: RTimer): boolean {
  return a.when < b.when || (a.when === b.when && a.order < b.order);
}

export function timerCount(): number {
  return heap.length;
}

/** Earliest due time, or Infinity when no timer is pending. */
export function nextWhen(): number {
  return heap.length === 0 ? Infinity : heap[0]!.when;
}

/** Told when a timer becomes the earliest; proc.ts re-arms its host timer if the scheduler sleeps. */
let onEarliest: (when: number) => void = () => {};

export function setOnEarliest(f: (when: number) => void): void {
  onEarliest = f;
}

/** Told of every timer about to fire, while tracing (trace.ts); null otherwise. */
let fireHook: ((t: RTimer, now: number) => void) | null = null;

export function setFireHook(f: ((t: RTimer, now: number) => void) | null): void {
  fireHook = f;
}

/** Arms t to fire at `when` (replacing any earlier arming). */
export function addTimer(t: RTimer, when: number): void {
  t.seq++;
  t.when = when;
  t.order = ++orderGen;
  if (t.index >= 0) {
    fix(t.index);
  } else {
    t.index = heap.length;
    heap.push(t);
    up(t.index);
  }
  if (t.index === 0) onEarliest(when);
}

/** Disarms t; reports whether it was pending (Go's Timer.Stop result). */
export function delTimer(t: RTimer): boolean {
  const i = t.index;
  if (i < 0) return false;
  t.seq++;
  const last = heap.pop()!;
  t.index = -1;
  if (i < heap.length) {
    heap[i] = last;
    last.index = i;
    fix(i);
  }
  return true;
}

/** Fires every timer due at `now`; returns how many fired. */
export function runTimers(now: number): number {
  let n = 0;
  while (heap.length > 0 && heap[0]!.when <= now) {
    const t = heap[0]!;
    const seq = t.seq;
    if (fireHook !== null) fireHook(t, now);
    if (t.period > 0) {
      // Ticker: next tick on the period grid, skipping missed ticks as Go does.
      const behind = Math.floor((now - t.when) / t.period) + 1;
      t.when += behind * t.period;
      t.order = ++orderGen;
      t.seq++;
      fix(0);
    } else {
      delTimer(t);
    }
    n++;
    t.f(t.arg, seq);
  }
  return n;
}

/** Drops every timer (the program ended). */
export function clearTimers(): void {
  for (const t of heap) t.index = -1;
  heap.length = 0;
}

function fix(i: number): void {
  if (!up(i)) down(i);
}

function up(i: number): boolean {
  const t = heap[i]!;
  const start = i;
  while (i > 0) {
    const p = (i - 1) >> 1;
    const pt = heap[p]!;
    if (!less(t, pt)) break;
    heap[i] = pt;
    pt.index = i;
    i = p;
  }
  heap[i] = t;
  t.index = i;
  return i !== start;
}

function down(i: number): void {
  const t = heap[i]!;
  const n = heap.length;
  for (;;) {
    let c = 2 * i + 1;
    if (c >= n) break;
    if (c + 1 < n && less(heap[c + 1]!, heap[c]!)) c++;
    const ct = heap[c]!;
    if (!less(ct, t)) break;
    heap[i] = ct;
    ct.index = i;
    i = c;
  }
  heap[i] = t;
  t.index = i;
}

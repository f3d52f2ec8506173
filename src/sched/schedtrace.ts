// schedtrace: Go's GODEBUG=schedtrace=X for this scheduler. Every X ms, one
// line on stderr with the scheduler's state and its event rates:
//
//   SCHED 1004ms: goroutines=12 running=0 runnable=0 waiting=12 [chan receive=10 IO wait=2] runq=0 iowait=2 timers=3 switches/s=123456 parks/s=61728 go/s=10 timerfires/s=3 iowakeups/s=100 handoffs/s=50
//
// The time is ms since the process started (Go: since the runtime started).
// The states are those of the running program's goroutines; waiting ones are
// broken down by wait reason. The rates are over the interval since the
// previous line: goroutine runs (context switches), parks, goroutines
// created, runtime timers fired, goroutines readied by I/O readiness, and
// idle hand-offs of the blocking wait to the poller thread.
//
// GORT_SCHEDTRACE=<ms> starts it for the whole process; startSchedtrace(ms)
// from code. It runs on an unref'd Node interval: it never keeps the process
// alive and is not a runtime timer (no program needs to run, and no runtime
// timer count or deadlock check sees it). The numbers are schedMetrics().

import { schedMetrics, type SchedMetrics } from "./proc.ts";

/** Formats one schedtrace line (no newline) from two readings `dtMs` apart. */
export function schedtraceLine(m: SchedMetrics, prev: SchedMetrics, dtMs: number, atMs: number): string {
  const rate = (a: number, b: number): number => (dtMs > 0 ? Math.round(((a - b) * 1000) / dtMs) : 0);
  const reasons = Object.entries(m.waitReasons)
    .sort((p, q) => q[1] - p[1] || (p[0] < q[0] ? -1 : 1))
    .map(([r, n]) => `${r}=${n}`)
    .join(" ");
  return (
    `SCHED ${Math.round(atMs)}ms: goroutines=${m.goroutines} running=${m.running} runnable=${m.runnable} ` +
    `waiting=${m.waiting} [${reasons}] runq=${m.runq} iowait=${m.ioWaiters} timers=${m.timers} ` +
    `switches/s=${rate(m.switches, prev.switches)} parks/s=${rate(m.parks, prev.parks)} ` +
    `go/s=${rate(m.created, prev.created)} timerfires/s=${rate(m.timerFires, prev.timerFires)} ` +
    `iowakeups/s=${rate(m.ioWakeups, prev.ioWakeups)} handoffs/s=${rate(m.pollerHandoffs, prev.pollerHandoffs)}`
  );
}

/**
 * Prints a schedtrace line every `ms` milliseconds through `write` (default:
 * stderr, one line each). Returns a function that stops it.
 */
export function startSchedtrace(ms: number, write: (line: string) => void = (l) => process.stderr.write(`${l}\n`)): () => void {
  if (!(ms > 0) || !Number.isFinite(ms)) throw new RangeError(`startSchedtrace: period must be a positive number of ms, got ${ms}`);
  let prev = schedMetrics();
  let prevAt = performance.now();
  const timer = setInterval(() => {
    const m = schedMetrics();
    const at = performance.now();
    write(schedtraceLine(m, prev, at - prevAt, at));
    prev = m;
    prevAt = at;
  }, ms);
  timer.unref();
  return () => clearInterval(timer);
}

const envMs = process.env.GORT_SCHEDTRACE;
if (envMs !== undefined && envMs !== "") {
  const ms = Number(envMs);
  if (ms > 0 && Number.isFinite(ms)) startSchedtrace(ms);
  else process.stderr.write(`gort: GORT_SCHEDTRACE=${envMs}: not a positive number of ms; ignored\n`);
}

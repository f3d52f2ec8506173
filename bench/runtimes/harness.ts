// The benchmark harness shared by every runtime: what a runtime module
// provides, and the child-process side (warm up, time, take the median).
//
// Each runtime runs in child processes of bench/sched.bench.ts, so heaps and
// JIT state never mix: one child for the timed figures, and one fresh child
// per parked-memory run (RSS never shrinks back within a process).

/** The timed figures, in nanoseconds per operation. */
export const TIMED = ["pingpong_ns", "buffered_ns", "spawn_join_ns", "select_ns"] as const;
export type Timed = (typeof TIMED)[number];

/** Heap and RSS of the process after a full GC. */
export interface Snapshot {
  readonly heap: number;
  readonly rss: number;
}

/** A timed figure: runs n operations and resolves with nanoseconds per operation. */
export type TimedFn = (n: number) => Promise<number>;

/**
 * A runtime under test. `counts` are the iteration counts (Go's, unless the
 * runtime is too slow for them); `notes` say how an operation was mapped
 * onto the runtime, or why it is null.
 */
export interface Runtime {
  readonly name: string;
  readonly counts: Readonly<Record<Timed | "parked", number>>;
  readonly notes: Readonly<Partial<Record<Timed | "parked" | "counts", string>>>;
  readonly timed: Readonly<Record<Timed, TimedFn | null>>;
  /**
   * Parks n goroutines on a channel receive, as Go's parked(): calls
   * snapshot() before making the channel and again once all n are parked,
   * then releases them and resolves with both snapshots.
   */
  parked(n: number, snapshot: () => Snapshot): Promise<[before: Snapshot, after: Snapshot]>;
}

export const RUNS = 3;

declare const gc: (() => void) | undefined;

function fullGc(): void {
  if (typeof gc !== "function") throw new Error("run node with --expose-gc");
  gc();
  gc();
}

export function snapshot(): Snapshot {
  fullGc();
  const m = process.memoryUsage();
  return { heap: m.heapUsed, rss: m.rss };
}

export function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 === 1 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
}

/** Rounds to 3 significant digits for printing. */
export function sig(x: number | null): number | null {
  return x === null || !Number.isFinite(x) ? null : Number(x.toPrecision(3));
}

/** Child, timed figures: per figure, one warm-up run at n/10 then RUNS runs at n; reports the median. */
export async function childTimed(rt: Runtime, only: readonly Timed[] | null, scale: number): Promise<object> {
  const out: Record<string, unknown> = {};
  const runs: Record<string, number[]> = {};
  // CPU time (user + system, all threads) per operation: on a shared machine
  // it is steadier than the wall clock, which counts time spent descheduled.
  const cpu: Record<string, number | null> = {};
  for (const f of TIMED) {
    const fn = rt.timed[f];
    if (fn === null || (only !== null && !only.includes(f))) {
      out[f] = null;
      continue;
    }
    const n = Math.max(1, Math.round(rt.counts[f] * scale));
    fullGc();
    await fn(Math.max(1, Math.floor(n / 10)));
    const xs: number[] = [];
    const cs: number[] = [];
    for (let i = 0; i < RUNS; i++) {
      fullGc();
      const c0 = process.cpuUsage();
      xs.push(await fn(n));
      const c = process.cpuUsage(c0);
      cs.push(((c.user + c.system) * 1000) / n);
    }
    out[f] = sig(median(xs));
    cpu[f] = sig(median(cs));
    runs[f] = xs.map((x) => sig(x)!);
    process.stderr.write(`  ${rt.name} ${f}: ${xs.map((x) => x.toFixed(1)).join(" ")} ns\n`);
  }
  out.runs = runs;
  out.cpu_ns = cpu;
  out.counts = Object.fromEntries(
    Object.entries(rt.counts).map(([k, v]) => [k, Math.max(k === "parked" ? 1000 : 1, Math.round(v * scale))]),
  );
  out.notes = rt.notes;
  return out;
}

/** Child, parked memory: a warm-up park of 1,000, then one measured park of n. */
export async function childParked(rt: Runtime, scale: number): Promise<object> {
  const n = Math.max(1000, Math.round(rt.counts.parked * scale));
  await rt.parked(1000, snapshot);
  const [before, after] = await rt.parked(n, snapshot);
  return { heap_each: (after.heap - before.heap) / n, rss_each: (after.rss - before.rss) / n, n };
}

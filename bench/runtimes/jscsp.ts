// js-csp (Clojure core.async for JS): processes are generators that yield
// put/take/alts instructions to js-csp's own scheduler, which resumes every
// step of every process through setImmediate (impl/process.js: schedule).
// The same operations as gosched/main.go, in js-csp's idiom.

import csp from "js-csp";
import type { Runtime, Snapshot } from "./harness.ts";

type Gen<T> = Generator<csp.Instruction, T, unknown>;

/** Runs a process to completion and resolves with its return value. */
function runProcess<T>(main: () => Gen<T>): Promise<T> {
  return new Promise((resolve) => csp.takeAsync(csp.go(main), (v) => resolve(v as T)));
}

/**
 * Go's sync.WaitGroup for js-csp, which has none: a counter, and a channel
 * that wait() takes from and the last done() closes. (A process starts
 * running inside csp.go, so the counter can touch zero while spawning; only
 * a waiting process is woken.)
 */
class WaitGroup {
  n = 0;
  waiter: csp.Channel | null = null;
  add(d: number): void {
    this.n += d;
    if (this.n === 0 && this.waiter !== null) {
      this.waiter.close();
      this.waiter = null;
    }
  }
  done(): void {
    this.add(-1);
  }
  *wait(): Gen<void> {
    if (this.n === 0) return;
    this.waiter = csp.chan();
    yield csp.take(this.waiter);
  }
}

function pingpong(n: number): Promise<number> {
  return runProcess(function* () {
    const a = csp.chan();
    const b = csp.chan();
    csp.go(function* () {
      for (;;) {
        const v = yield csp.take(a);
        if (v === csp.CLOSED) break;
        yield csp.put(b, v);
      }
      b.close();
    });
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      yield csp.put(a, i);
      yield csp.take(b);
    }
    a.close();
    return ((performance.now() - t) * 1e6) / n;
  });
}

function buffered(n: number): Promise<number> {
  return runProcess(function* () {
    const c = csp.chan(128);
    const done = csp.chan();
    csp.go(function* () {
      while ((yield csp.take(c)) !== csp.CLOSED);
      yield csp.put(done, true);
    });
    const t = performance.now();
    for (let i = 0; i < n; i++) yield csp.put(c, i);
    c.close();
    yield csp.take(done);
    return ((performance.now() - t) * 1e6) / n;
  });
}

function spawnJoin(n: number): Promise<number> {
  return runProcess(function* () {
    const wg = new WaitGroup();
    const body = function* (): Gen<void> {
      wg.done();
    };
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      wg.add(1);
      csp.go(body);
    }
    yield* wg.wait();
    return ((performance.now() - t) * 1e6) / n;
  });
}

/** BenchmarkSelectUncontended with alts. */
function selectBench(n: number): Promise<number> {
  return runProcess(function* () {
    const c1 = csp.chan(1);
    const c2 = csp.chan(1);
    yield csp.put(c1, 0);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const r = (yield csp.alts([c1, c2])) as csp.AltResult;
      if (r.channel === c1) yield csp.put(c2, 0);
      else yield csp.put(c1, 0);
    }
    return ((performance.now() - t) * 1e6) / n;
  });
}

/** js-csp refuses more than 1024 pending takes on one channel: park 1,000 per channel. */
const PER_CHANNEL = 1000;

function parked(n: number, snapshot: () => Snapshot): Promise<[Snapshot, Snapshot]> {
  return runProcess(function* () {
    const before = snapshot();
    const blocks: csp.Channel[] = [];
    for (let i = 0; i < n; i += PER_CHANNEL) blocks.push(csp.chan());
    const wg = new WaitGroup();
    const body = function* (block: csp.Channel): Gen<void> {
      wg.done();
      yield csp.take(block);
    };
    for (let i = 0; i < n; i++) {
      wg.add(1);
      csp.go(body, [blocks[(i / PER_CHANNEL) | 0]!]);
    }
    yield* wg.wait();
    const after = snapshot();
    for (const b of blocks) b.close();
    return [before, after] as [Snapshot, Snapshot];
  });
}

export const runtime: Runtime = {
  name: "js-csp",
  counts: {
    pingpong_ns: 50_000,
    buffered_ns: 200_000,
    spawn_join_ns: 1_000_000,
    select_ns: 100_000,
    parked: 100_000,
  },
  notes: {
    counts:
      "reduced from Go's for pingpong, buffered and select (every process step is a setImmediate: ~20 us per round trip, so Go's 2,000,000 would take 40 s a run)",
    spawn_join_ns: "WaitGroup emulated (counter + channel closed by the last done); csp.go runs a process's first step at once",
    parked: "100,000 processes parked on take, 1,000 per channel (js-csp allows at most 1,024 pending takes per channel)",
  },
  timed: { pingpong_ns: pingpong, buffered_ns: buffered, spawn_join_ns: spawnJoin, select_ns: selectBench },
  parked,
};

// Our scheduler, doing what ../shared/bench/gosched/main.go does, statement
// for statement (select mirrors Go's BenchmarkSelectUncontended, see
// bench/goselect/main.go). Each measurement is one program: run(main).

import { WaitGroup, chan, go, recv, run, select, type Chan, type Op } from "../../src/sched/index.ts";
import type { Runtime, Snapshot } from "./harness.ts";

function* echo(a: Chan<number>, b: Chan<number>): Op<void> {
  // for v := range a { b <- v }; close(b)
  for (const r = a.range(); yield* r.next(); ) yield* b.send(r.value);
  b.close();
}

function pingpong(n: number): Promise<number> {
  return run(function* main(): Op<number> {
    const a = chan<number>();
    const b = chan<number>();
    go(echo, a, b);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      yield* a.send(i);
      yield* b.recv();
    }
    a.close();
    return ((performance.now() - t) * 1e6) / n;
  });
}

function buffered(n: number): Promise<number> {
  return run(function* main(): Op<number> {
    const c = chan<number>(128);
    const done = chan<boolean>();
    go(function* (): Op<void> {
      // for range c {}
      for (const r = c.range(); yield* r.next(); );
      yield* done.send(true);
    });
    const t = performance.now();
    for (let i = 0; i < n; i++) yield* c.send(i);
    c.close();
    yield* done.recv();
    return ((performance.now() - t) * 1e6) / n;
  });
}

function spawnJoin(n: number): Promise<number> {
  return run(function* main(): Op<number> {
    const wg = new WaitGroup();
    // Go's `go func() { wg.Done() }()`, with the closure made once: V8 gives
    // every generator closure its own object map, so a fresh function* per
    // spawn costs two to three times more (see bench/README.md).
    const body = function* (): Op<void> {
      wg.done();
    };
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      wg.add(1);
      go(body);
    }
    yield* wg.wait();
    return ((performance.now() - t) * 1e6) / n;
  });
}

/** Go's BenchmarkSelectUncontended: exactly one of two cap-1 channels holds a value. */
function selectBench(n: number): Promise<number> {
  return run(function* main(): Op<number> {
    const c1 = chan<number>(1);
    const c2 = chan<number>(1);
    yield* c1.send(0);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const r = yield* select([recv(c1), recv(c2)]);
      if (r.index === 0) yield* c2.send(0);
      else yield* c1.send(0);
    }
    return ((performance.now() - t) * 1e6) / n;
  });
}

function parked(n: number, snapshot: () => Snapshot): Promise<[Snapshot, Snapshot]> {
  return run(function* main(): Op<[Snapshot, Snapshot]> {
    const before = snapshot();
    const block = chan<boolean>();
    const wg = new WaitGroup();
    const body = function* (): Op<void> {
      wg.done();
      yield* block.recv();
    };
    for (let i = 0; i < n; i++) {
      wg.add(1);
      go(body);
    }
    yield* wg.wait();
    const after = snapshot();
    block.close();
    return [before, after];
  });
}

export const runtime: Runtime = {
  name: "gort",
  counts: {
    pingpong_ns: 2_000_000,
    buffered_ns: 10_000_000,
    spawn_join_ns: 1_000_000,
    select_ns: 2_000_000,
    parked: 100_000,
  },
  notes: {
    parked: "100,000 goroutines (Go's gosched parks 1,000,000)",
  },
  timed: { pingpong_ns: pingpong, buffered_ns: buffered, spawn_join_ns: spawnJoin, select_ns: selectBench },
  parked,
};

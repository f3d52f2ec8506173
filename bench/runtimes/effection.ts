// effection 4 (structured concurrency over generators). Its channels are
// broadcast streams: send never blocks, each subscriber has its own unbounded
// queue, and a task receives with `yield* subscription.next()`. So:
//   - an unbuffered rendezvous does not exist; ping-pong is two channels,
//     each subscribed once up front, and the round trip is send + next on
//     each side;
//   - there is no bounded buffer: buffered_ns bounds the unbounded queue at
//     128 by hand (see buffered below);
//   - select is race([...]) over two subscription.next() operations;
//   - there is no WaitGroup: a counter and withResolvers() stand in for it.

import { createChannel, race, run, spawn, withResolvers, type Operation, type Subscription } from "effection";
import type { Runtime, Snapshot } from "./harness.ts";

/** Go's sync.WaitGroup for effection: wait() resolves when the counter returns to zero. */
class WaitGroup {
  n = 0;
  waiter: ReturnType<typeof withResolvers<void>> | null = null;
  add(d: number): void {
    this.n += d;
    if (this.n === 0 && this.waiter !== null) {
      this.waiter.resolve();
      this.waiter = null;
    }
  }
  done(): void {
    this.add(-1);
  }
  *wait(): Operation<void> {
    if (this.n === 0) return;
    this.waiter = withResolvers<void>();
    yield* this.waiter.operation;
  }
}

function pingpong(n: number): Promise<number> {
  return run(function* () {
    const a = createChannel<number, void>();
    const b = createChannel<number, void>();
    const subA = yield* a;
    const subB = yield* b;
    yield* spawn(function* () {
      for (;;) {
        const r = yield* subA.next();
        if (r.done === true) break;
        yield* b.send(r.value);
      }
      yield* b.close();
    });
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      yield* a.send(i);
      yield* subB.next();
    }
    yield* a.close();
    return ((performance.now() - t) * 1e6) / n;
  });
}

/**
 * Channels are unbounded and send never blocks, so a producer that never
 * waits queues all n values first, and effection's queue (items.unshift)
 * makes that quadratic. The 128-slot bound is emulated instead: after every
 * 128 values the consumer acknowledges on a second channel, and the producer
 * waits for that before sending more. That is also how Go's cap-128 channel
 * runs on one P: the producer fills the buffer, blocks, the consumer drains it.
 */
const CAP = 128;

function buffered(n: number): Promise<number> {
  return run(function* () {
    const c = createChannel<number, void>();
    const acks = createChannel<void, void>();
    const sub = yield* c;
    const subAcks = yield* acks;
    const done = withResolvers<void>();
    yield* spawn(function* () {
      for (let k = 1; (yield* sub.next()).done !== true; k++) if (k % CAP === 0) yield* acks.send();
      done.resolve();
    });
    const t = performance.now();
    for (let i = 1; i <= n; i++) {
      yield* c.send(i);
      if (i % CAP === 0) yield* subAcks.next();
    }
    yield* c.close();
    yield* done.operation;
    return ((performance.now() - t) * 1e6) / n;
  });
}

function spawnJoin(n: number): Promise<number> {
  return run(function* () {
    const wg = new WaitGroup();
    const body = function* (): Operation<void> {
      wg.done();
    };
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      wg.add(1);
      yield* spawn(body);
    }
    yield* wg.wait();
    return ((performance.now() - t) * 1e6) / n;
  });
}

function* tagged(sub: Subscription<number, void>, index: number): Operation<number> {
  yield* sub.next();
  return index;
}

/** BenchmarkSelectUncontended with race over two subscriptions. */
function selectBench(n: number): Promise<number> {
  return run(function* () {
    const c1 = createChannel<number, void>();
    const c2 = createChannel<number, void>();
    const s1 = yield* c1;
    const s2 = yield* c2;
    yield* c1.send(0);
    const t = performance.now();
    for (let i = 0; i < n; i++) {
      const w = yield* race([tagged(s1, 0), tagged(s2, 1)]);
      if (w === 0) yield* c2.send(0);
      else yield* c1.send(0);
    }
    return ((performance.now() - t) * 1e6) / n;
  });
}

function parked(n: number, snapshot: () => Snapshot): Promise<[Snapshot, Snapshot]> {
  return run(function* () {
    const before = snapshot();
    const block = createChannel<boolean, void>();
    const sub = yield* block;
    const wg = new WaitGroup();
    const body = function* (): Operation<void> {
      wg.done();
      yield* sub.next();
    };
    for (let i = 0; i < n; i++) {
      wg.add(1);
      yield* spawn(body);
    }
    yield* wg.wait();
    const after = snapshot();
    yield* block.close();
    return [before, after] as [Snapshot, Snapshot];
  });
}

export const runtime: Runtime = {
  name: "effection",
  counts: {
    pingpong_ns: 50_000,
    buffered_ns: 100_000,
    spawn_join_ns: 5_000,
    select_ns: 1_000,
    parked: 5_000,
  },
  notes: {
    counts:
      "reduced from Go's, and parked from 100,000 to 5,000 (a spawn costs 0.1-0.5 ms and a race 0.5-1.5 ms here, so Go's counts would take hours; the per-task figures are flat from 1,000 to 20,000)",
    pingpong_ns: "no rendezvous channel: two broadcast channels (send never blocks), each subscribed once",
    buffered_ns:
      "no bounded channel: the cap of 128 is emulated (the consumer acks every 128 values, the producer waits for the ack); without it the unbounded queue grows to n and its items.unshift makes the run quadratic",
    spawn_join_ns: "WaitGroup emulated (counter + withResolvers)",
    select_ns: "race([sub1.next(), sub2.next()]) (each wrapped to return its index); race spawns a task per operation and halts the loser",
    parked: "tasks parked in next() on one shared subscription of one channel",
  },
  timed: { pingpong_ns: pingpong, buffered_ns: buffered, spawn_join_ns: spawnJoin, select_ns: selectBench },
  parked,
};

// Sleeping, timers and tickers, after Go's time/sleep_test.go and tick_test.go
// (TestAfterQueuing, TestAfterStop, TestReset, TestAfterTimes, TestTicker,
// TestTeardown, TestAfterFunc, TestSleepZeroDeadlock, TestOverflowSleep and the
// Go 1.23 synchronous-channel checks of TestChan/testTimerChan).
// Durations are small: each test stays well under a second.

import assert from "node:assert/strict";

import {
  RuntimeError,
  after,
  afterFunc,
  chan,
  go,
  gosched,
  holdExternal,
  newTicker,
  newTimer,
  recv,
  run,
  schedStats,
  select,
  sleep,
  tick,
  wait,
  type Chan,
  type Goroutine,
  type Op,
} from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

const now = (): number => performance.now();

/** Asserts that nothing is ready on c now. */
function* noTick(c: Chan<number>, what = "extra tick"): Op<void> {
  const r = yield* select([recv(c)], { default: true });
  assert.equal(r.index, -1, what);
}

/** Waits up to `limit` ms for a value on c. */
function* assertTick(c: Chan<number>, limit = 500): Op<number> {
  const r = yield* select([recv(c), recv(after(limit))]);
  assert.equal(r.index, 0, "missing tick");
  return r.value;
}

describe("sched: time", function () {
  afterEach(checkNoLeaks);

  it("sleep lasts at least its duration", async function () {
    await run(function* main() {
      for (const ms of [1, 5, 20]) {
        const t0 = now();
        yield* sleep(ms);
        const dt = now() - t0;
        assert.ok(dt >= ms, `sleep(${ms}) slept ${dt}ms`);
        assert.ok(dt < ms + 200, `sleep(${ms}) slept ${dt}ms`);
      }
    });
  });

  it("sleepers wake in deadline order", async function () {
    await run(function* main() {
      const out = chan<string>(20);
      const plan: [string, number][] = [["e", 25], ["a", 5], ["c", 15], ["b", 10], ["d", 20], ["f", 30]];
      for (const [name, ms] of plan) {
        go(function* sleeper() {
          yield* sleep(ms);
          yield* out.send(name);
        });
      }
      const got: string[] = [];
      for (let i = 0; i < plan.length; i++) got.push(yield* out.recv());
      assert.deepEqual(got, ["a", "b", "c", "d", "e", "f"]);
    });
  });

  it("TestAfterQueuing: after() channels fire in deadline order, on time", async function () {
    const slots = [5, 3, 6, 6, 6, 1, 1, 2, 7, 9, 4, 8, 0];
    const delta = 8;
    await run(function* main() {
      const result = chan<[number, number]>(slots.length);
      const t0 = now();
      for (const slot of slots) {
        const ac = after(slot * delta);
        go(function* waiter() {
          yield* result.send([slot, yield* ac.recv()]);
        });
      }
      let last = -1;
      for (let i = 0; i < slots.length; i++) {
        const [slot, t] = yield* result.recv();
        assert.ok(slot >= last, `after() fired out of order: ${slot} after ${last}`);
        last = slot;
        const dt = t - t0;
        assert.ok(dt >= slot * delta && dt < slot * delta + 150, `after(${slot * delta}) fired at ${dt}`);
      }
    });
  });

  it("after() sends the time it fired, not the time it was received (TestAfterTimes)", async function () {
    await run(function* main() {
      const start = now();
      const c = after(5);
      yield* sleep(150);
      const t = yield* c.recv();
      assert.ok(t - start >= 5 && t - start < 100, `after(5) time is +${t - start}`);
    });
  });

  it("sleep(0) and negative durations return at once, without yielding", async function () {
    await run(function* main() {
      let ran = false;
      go(function* () {
        ran = true;
      });
      yield* sleep(0);
      yield* sleep(-5);
      yield* sleep(Number.NaN);
      assert.equal(ran, false, "sleep(0) gave up the processor");
      yield* gosched();
      assert.equal(ran, true);
      // TestSleepZeroDeadlock: sleep(0) mixed with channel work never strands anyone.
      const c = chan<boolean>();
      go(function* () {
        for (let i = 0; i < 100; i++) yield* gosched();
        yield* c.send(true);
      });
      for (let i = 0; i < 100; i++) {
        yield* sleep(0);
        const tmp = chan<boolean>(1);
        yield* tmp.send(true);
        yield* tmp.recv();
      }
      assert.equal(yield* c.recv(), true);
    });
  });

  it("TestAfterStop: stopped timers and afterFuncs never fire; stop reports it once", async function () {
    await run(function* main() {
      afterFunc(10, function* () {});
      const t0 = newTimer(5);
      const c1 = chan<boolean>(1);
      const t1 = afterFunc(15, function* () {
        yield* c1.send(true);
      });
      const c2 = after(25);
      assert.equal(t0.stop(), true, "failed to stop event 0");
      assert.equal(t1.stop(), true, "failed to stop event 1");
      yield* c2.recv();
      const r = yield* select([recv(t0.c!), recv(c1)], { default: true });
      assert.equal(r.index, -1, `event ${r.index} was not stopped`);
      assert.equal(t1.stop(), false, "stop returned true twice");
      assert.equal(t0.stop(), false, "stop returned true twice");
    });
  });

  it("TestReset: reset of a pending timer moves it; of an expired one reports false", async function () {
    const d = 15;
    await run(function* main() {
      const t0 = newTimer(2 * d);
      yield* sleep(d);
      assert.equal(t0.reset(3 * d), true, "resetting unfired timer returned false");
      yield* sleep(2 * d);
      yield* noTick(t0.c!, "timer fired early");
      yield* sleep(2 * d);
      const r = yield* select([recv(t0.c!)], { default: true });
      assert.equal(r.index, 0, "reset timer did not fire");
      assert.equal(t0.reset(50), false, "resetting expired timer returned true");
      t0.stop();
    });
  });

  it("Go 1.23: no stale value after stop or reset, and stop/reset count an unreceived fire as pending", async function () {
    await run(function* main() {
      const tim = newTimer(1_000_000);
      const c = tim.c!;
      // Simple stop; modify of a stopped timer.
      tim.stop();
      yield* noTick(c);
      tim.reset(1_000_000);
      yield* noTick(c);
      // Modify of a timer in the heap.
      tim.reset(1);
      yield* sleep(10);
      yield* assertTick(c);

      // A fired, unreceived value is dropped by stop, which reports the timer as stopped.
      tim.reset(1);
      yield* sleep(10);
      assert.equal(tim.stop(), true, "stop() of a fired but unreceived timer: want true (Go 1.23)");
      yield* noTick(c);

      // ... and by reset, which reports it as active.
      tim.reset(1);
      yield* sleep(10);
      assert.equal(tim.reset(1_000_000), true, "reset() of a fired but unreceived timer: want true (Go 1.23)");
      yield* noTick(c);
      yield* sleep(10);
      yield* noTick(c, "stale value after reset");

      tim.reset(60 * 60 * 1000);
      yield* noTick(c);
      assert.equal(tim.reset(1), true);
      yield* assertTick(c);
      yield* sleep(10);
      yield* noTick(c);
      assert.equal(tim.reset(60 * 60 * 1000), false, "reset of a fired and received timer: want false");
      yield* noTick(c);
      tim.stop();
    });
  });

  it("stop and reset while a goroutine is blocked on the timer channel", async function () {
    await run(function* main() {
      const tim = newTimer(1_000_000);
      const done = chan<number>(1);
      go(function* () {
        yield* done.send(yield* tim.c!.recv());
      });
      yield* sleep(5);
      yield* noTick(done, "early done");
      tim.reset(2_000_000);
      yield* sleep(5);
      yield* noTick(done, "early done");
      const t0 = now();
      tim.reset(1);
      const t = yield* assertTick(done);
      assert.ok(t >= t0 + 1, "fired before its deadline");
      yield* sleep(5);
      yield* noTick(tim.c!, "a one-shot timer fired twice");

      // Two goroutines in select on the same timer: exactly one gets the value.
      tim.reset(1_000_000);
      const got = chan<boolean>(2);
      const stop = chan<void>();
      const hs: Goroutine<void>[] = [];
      for (let i = 0; i < 2; i++) {
        hs.push(go(function* () {
          const r = yield* select([recv(tim.c!), recv(stop)]);
          if (r.index === 0) yield* got.send(true);
        }));
      }
      yield* sleep(5);
      tim.reset(3);
      yield* assertTick(got as unknown as Chan<number>);
      tim.stop();
      stop.close();
      for (const h of hs) yield* h.join();
      yield* noTick(got as unknown as Chan<number>, "a one-shot timer woke two receivers");
    });
  });

  it("a timer reset by async code (outside goroutines) wakes the idle program on time", async function () {
    let tim: ReturnType<typeof newTimer> | null = null;
    const fallback = chan<number>(1);
    const p = run(function* main() {
      const release = holdExternal(); // async code below will wake us
      tim = newTimer(1_000_000);
      const r = yield* select([recv(tim.c!), recv(fallback)]);
      release();
      return r.index;
    });
    await new Promise((r) => setTimeout(r, 5));
    // From a Node callback, while the scheduler sleeps on a host timer 1000 s away.
    const t0 = now();
    assert.equal(tim!.reset(1), true);
    const late = setTimeout(() => fallback.trySend(-1), 300);
    const index = await p;
    clearTimeout(late);
    assert.equal(index, 0, "the timer did not fire: the idle scheduler missed the reset");
    assert.ok(now() - t0 < 250);
  });

  it("a ticker made by a Node callback while the program idles ticks on time", async function () {
    const ch = chan<Chan<number>>(1);
    const p = run(function* main() {
      const release = holdExternal();
      const c = yield* ch.recv();
      const r = yield* select([recv(c), recv(after(300))]);
      release();
      return r.index;
    });
    await new Promise((r) => setTimeout(r, 5));
    // main now waits on the ticker's channel... after a host timer of 300 ms:
    const tk = newTicker(1_000_000);
    assert.equal(ch.trySend(tk.c), true);
    await new Promise((r) => setTimeout(r, 5));
    tk.reset(2); // made shorter from outside: must be honoured, not wait for the 300 ms timer
    const t0 = now();
    const index = await p;
    assert.equal(index, 0, "the ticker did not tick: the idle scheduler missed the reset");
    assert.ok(now() - t0 < 250);
  });

  it("afterFunc runs its function in a new goroutine; chains of afterFunc(0) (TestAfterFunc)", async function () {
    await run(function* main() {
      const c = chan<number>();
      let i = 10;
      const f = function* f(): Op<void> {
        i--;
        if (i >= 0) {
          afterFunc(0, f);
          yield* sleep(1000);
        } else {
          yield* c.send(i);
        }
      };
      afterFunc(0, f);
      assert.equal(yield* c.recv(), -1);

      const t0 = now();
      const d = chan<number>();
      const tm = afterFunc(10, function* () {
        yield* d.send(now());
      });
      assert.equal(tm.c, null);
      const t = yield* d.recv();
      assert.ok(t - t0 >= 10, `afterFunc(10) ran after ${t - t0}ms`);
      assert.equal(tm.stop(), false, "stop after it ran");
      // Reset re-arms it.
      assert.equal(tm.reset(1), false);
      yield* d.recv();
    });
  });

  it("a ticker ticks every period, can be reset, and stops (TestTicker)", async function () {
    await run(function* main() {
      const count = 6;
      const delta = 10;
      const ticker = newTicker(delta);
      const t0 = now();
      for (let i = 0; i < count / 2; i++) yield* ticker.c.recv();
      ticker.reset(delta * 2);
      for (let i = count / 2; i < count; i++) yield* ticker.c.recv();
      ticker.stop();
      const dt = now() - t0;
      const target = 3 * delta * (count / 2);
      assert.ok(dt >= target - 2 && dt < target + 150, `${count} ticks took ${dt}ms, expected ~${target}ms`);
      yield* sleep(2 * delta);
      yield* noTick(ticker.c, "ticker did not shut down");
    });
  });

  it("a ticker whose reader falls behind drops ticks instead of queueing them", async function () {
    await run(function* main() {
      const ticker = newTicker(2);
      yield* sleep(30);
      assert.equal(ticker.c.len, 1, "the tick buffer holds one tick");
      yield* ticker.c.recv();
      yield* noTick(ticker.c, "missed ticks were queued");
      // Ticks resume on the period grid.
      yield* assertTick(ticker.c, 100);
      // Go 1.23: reset and stop drop a tick that is waiting.
      yield* sleep(10);
      ticker.reset(1000);
      yield* noTick(ticker.c, "reset left a stale tick");
      ticker.reset(2);
      yield* sleep(10);
      ticker.stop();
      yield* noTick(ticker.c, "stop left a stale tick");
      yield* sleep(10);
      yield* noTick(ticker.c, "a stopped ticker ticked");
    });
  });

  it("TestTeardown: tickers made and stopped in a row", async function () {
    await run(function* main() {
      for (let i = 0; i < 3; i++) {
        const ticker = newTicker(5);
        yield* ticker.c.recv();
        ticker.stop();
      }
    });
  });

  it("a non-positive ticker period panics (TestNewTickerLtZeroDuration)", async function () {
    await run(function* main() {
      assert.throws(() => newTicker(-1), RuntimeError);
      assert.throws(() => newTicker(0), RuntimeError);
      const tk = newTicker(1000);
      assert.throws(() => tk.reset(0), RuntimeError);
      tk.stop();
      assert.throws(() => newTimer(Number.NaN), TypeError);
    });
  });

  it("tick() gives a channel that ticks", async function () {
    await run(function* main() {
      const c = tick(3);
      const t0 = now();
      yield* c.recv();
      yield* c.recv();
      assert.ok(now() - t0 >= 5);
    });
  });

  it("TestOverflowSleep: a huge duration never fires, a negative one fires at once", async function () {
    const warnings: string[] = [];
    const onWarning = (w: Error): void => void warnings.push(`${w.name}: ${w.message}`);
    process.on("warning", onWarning);
    try {
      await run(function* main() {
        // Nothing but a huge timer pending while main waits on a Promise: the
        // scheduler sleeps on the host timer, which must not overflow.
        go(function* () {
          yield* sleep(Number.MAX_SAFE_INTEGER);
        });
        yield* wait(new Promise((resolve) => setTimeout(resolve, 30)));
        const r1 = yield* select([recv(after(Number.MAX_SAFE_INTEGER)), recv(after(25))]);
        assert.equal(r1.index, 1, "big timeout fired");
        const r2 = yield* select([recv(after(-Number.MAX_SAFE_INTEGER)), recv(after(1000))]);
        assert.equal(r2.index, 0, "negative timeout didn't fire");
      });
    } finally {
      process.off("warning", onWarning);
    }
    // Node clamps a setTimeout beyond 2^31-1 ms to 1 ms, with a TimeoutOverflowWarning,
    // which would make the scheduler spin every millisecond.
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(warnings.filter((w) => w.includes("TimeoutOverflow")), []);
  });

  it("timers do not keep a program alive: pending timers are dropped when main returns", async function () {
    const t0 = now();
    await run(function* main() {
      newTimer(10_000);
      tick(1000);
      newTicker(5000);
      afterFunc(10_000, function* () {});
      go(function* () {
        yield* sleep(10_000);
      });
      yield* gosched();
      assert.equal(schedStats().timers, 5);
    });
    assert.ok(now() - t0 < 500, "run waited for timers");
    assert.equal(schedStats().timers, 0);
    // Nor do the dropped timers fire later in another program.
    await run(function* main() {
      yield* sleep(20);
    });
  });
});

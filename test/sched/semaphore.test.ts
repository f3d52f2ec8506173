// The weighted semaphore, after golang.org/x/sync/semaphore's tests
// (TestWeighted, TestWeightedPanic, TestWeightedTryAcquire,
// TestWeightedAcquire, TestWeightedDoesntBlockIfTooBig,
// TestLargeAcquireDoesntStarve, TestAllocCancelDoesntStarve,
// TestWeightedAcquireCanceled).

import assert from "node:assert/strict";

import {
  Canceled,
  DeadlineExceeded,
  DeadlockError,
  PanicError,
  RuntimeError,
  Weighted,
  background,
  go,
  gosched,
  newWeighted,
  run,
  schedStats,
  sleep,
  withCancel,
  withTimeout,
  type Op,
} from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

function* settle(n = 20): Op<void> {
  for (let i = 0; i < n; i++) yield* gosched();
}

/** Whether all `n` tokens of s are free now (takes and gives them back). */
function allFree(s: Weighted, n: number): boolean {
  if (!s.tryAcquire(n)) return false;
  s.release(n);
  return true;
}

describe("sched: weighted semaphore", function () {
  this.timeout(5000);
  afterEach(checkNoLeaks);

  it("never lets more than size tokens out (TestWeighted)", async function () {
    await run(function* () {
      const n = 8;
      const s = newWeighted(n);
      let held = 0;
      let maxHeld = 0;
      const hs = [];
      for (let i = 1; i <= n; i++) {
        hs.push(
          go(function* () {
            for (let j = 0; j < 20; j++) {
              assert.equal(yield* s.acquire(background(), i), null);
              held += i;
              maxHeld = Math.max(maxHeld, held);
              assert.ok(held <= n, `${held} tokens out of ${n}`);
              yield* gosched();
              held -= i;
              s.release(i);
              yield* gosched();
            }
          }),
        );
      }
      for (const h of hs) yield* h.join();
      assert.equal(held, 0);
      assert.equal(maxHeld, n, "the semaphore was filled at some point");
      assert.ok(allFree(s, n));
    });
  });

  it("tryAcquire takes weights only when they fit (TestWeightedTryAcquire)", async function () {
    await run(function* () {
      const s = newWeighted(2);
      assert.equal(s.size, 2);
      assert.equal(s.tryAcquire(1), true);
      assert.equal(s.tryAcquire(1), true);
      assert.equal(s.tryAcquire(1), false);
      s.release(1);
      assert.equal(s.tryAcquire(2), false);
      assert.equal(s.tryAcquire(1), true);
      s.release(2);
      assert.equal(s.tryAcquire(0), true, "a zero weight always fits");
      assert.ok(allFree(s, 2));
      yield* settle(1);
    });
  });

  it("releasing more than held panics (TestWeightedPanic)", async function () {
    await assert.rejects(
      run(function* () {
        const s = newWeighted(1);
        s.release(1);
      }),
      (e) => e instanceof PanicError && e.value instanceof RuntimeError && e.value.message === "semaphore: released more than held",
    );
  });

  it("is FIFO: a large request is not starved by small ones (TestLargeAcquireDoesntStarve)", async function () {
    await run(function* () {
      const s = newWeighted(4);
      const order: string[] = [];
      assert.equal(yield* s.acquire(background(), 3), null);
      go(function* () {
        assert.equal(yield* s.acquire(background(), 4), null); // the big one queues first
        order.push("big");
        yield* sleep(2);
        s.release(4);
      });
      yield* settle();
      // One token is free, but the big waiter is ahead: small requests queue behind it.
      assert.equal(s.tryAcquire(1), false);
      for (let i = 0; i < 3; i++) {
        go(function* () {
          assert.equal(yield* s.acquire(background(), 1), null);
          order.push(`small${i}`);
          s.release(1);
        });
        yield* settle();
      }
      assert.deepEqual(order, []);
      s.release(3);
      yield* sleep(10);
      assert.equal(order[0], "big");
      assert.deepEqual(order.slice(1).sort(), ["small0", "small1", "small2"]);
      assert.ok(allFree(s, 4));
    });
  });

  it("a canceled head waiter lets the ones behind it through (TestAllocCancelDoesntStarve)", async function () {
    await run(function* () {
      const s = newWeighted(10);
      assert.equal(yield* s.acquire(background(), 1), null);
      const [ctx, cancel] = withCancel(background());
      let bigErr: Error | null | undefined;
      go(function* () {
        bigErr = yield* s.acquire(ctx, 10);
      });
      yield* settle();
      let smallOk = false;
      go(function* () {
        assert.equal(yield* s.acquire(background(), 1), null);
        smallOk = true;
      });
      yield* settle();
      assert.equal(smallOk, false, "queued behind the big request");
      cancel();
      yield* settle();
      assert.equal(bigErr, Canceled);
      assert.equal(smallOk, true, "served once the head left");
      s.release(2);
      assert.ok(allFree(s, 10), "the canceled acquire left the semaphore unchanged");
    });
  });

  it("fails at once on a done context, even with tokens free", async function () {
    await run(function* () {
      const s = newWeighted(1);
      const [ctx, cancel] = withCancel(background());
      cancel();
      assert.equal(yield* s.acquire(ctx, 1), Canceled);
      assert.ok(allFree(s, 1));
    });
  });

  it("a request larger than size waits for its context only and blocks nobody (TestWeightedDoesntBlockIfTooBig)", async function () {
    await run(function* () {
      const s = newWeighted(1);
      const [ctx, cancel] = withTimeout(background(), 15);
      let err: Error | null | undefined;
      go(function* () {
        err = yield* s.acquire(ctx, 2);
      });
      yield* settle();
      assert.equal(err, undefined);
      assert.equal(yield* s.acquire(background(), 1), null, "the doomed request does not hold the queue");
      s.release(1);
      yield* sleep(30);
      assert.equal(err, DeadlineExceeded);
      assert.equal(schedStats().timers, 0);
      cancel();
    });
  });

  it("a timed-out waiter leaves the semaphore unchanged and no timer behind", async function () {
    await run(function* () {
      const s = newWeighted(2);
      assert.equal(yield* s.acquire(background(), 2), null);
      const [ctx, cancel] = withTimeout(background(), 10);
      const start = performance.now();
      assert.equal(yield* s.acquire(ctx, 1), DeadlineExceeded);
      assert.ok(performance.now() - start >= 9);
      cancel();
      assert.equal(schedStats().timers, 0);
      s.release(2);
      assert.ok(allFree(s, 2));
      // Canceled before the deadline: the timer goes too.
      assert.equal(yield* s.acquire(background(), 2), null);
      const [ctx2, cancel2] = withTimeout(background(), 60_000);
      go(function* () {
        yield* sleep(2);
        cancel2();
      });
      assert.equal(yield* s.acquire(ctx2, 1), Canceled);
      assert.equal(schedStats().timers, 0);
      s.release(2);
    });
  });

  it("tokens granted to a waiter whose context ends before it runs are given back", async function () {
    await run(function* () {
      const s = newWeighted(1);
      assert.equal(yield* s.acquire(background(), 1), null);
      const [ctx, cancel] = withCancel(background());
      let err: Error | null | undefined;
      go(function* () {
        err = yield* s.acquire(ctx, 1);
      });
      yield* settle();
      s.release(1); // grants the token to the waiter, which has not run yet...
      cancel(); // ...and its context ends first
      yield* settle();
      assert.equal(err, Canceled);
      assert.ok(allFree(s, 1));
    });
  });

  it("an acquire that can never complete is a deadlock, shown as semaphore acquire", async function () {
    await assert.rejects(
      run(function* () {
        const s = newWeighted(1);
        yield* s.acquire(background(), 1);
        yield* s.acquire(background(), 1);
      }),
      (e) => e instanceof DeadlockError && e.dump.includes("[semaphore acquire"),
    );
  });

  it("rejects bad weights", async function () {
    await run(function* () {
      assert.throws(() => newWeighted(-1), RangeError);
      const s = newWeighted(1);
      assert.throws(() => s.tryAcquire(1.5), RangeError);
      assert.throws(() => s.release(-1), RangeError);
      yield* settle(1);
    });
  });
});

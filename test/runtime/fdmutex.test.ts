// Go's fdMutex (src/runtime/fdmutex.ts): references, the read and write
// locks with FIFO waiters parked through the scheduler, increfAndClose
// releasing every waiter, and the impossible transitions failing loudly.

import assert from "node:assert/strict";

import { BUSY, CLOSED, FdMutex, LOCKED } from "../../src/runtime/fdmutex.ts";
import { go, gosched, run, RuntimeError, type Op } from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

function* settle(): Op<void> {
  for (let i = 0; i < 10; i++) yield* gosched();
}

describe("runtime/fdmutex", function () {
  afterEach(checkNoLeaks);

  it("counts references; decref reports the last one only after close", function () {
    const mu = new FdMutex();
    assert.ok(mu.incref());
    assert.ok(mu.incref());
    assert.equal(mu.refs, 2);
    assert.equal(mu.decref(), false);
    assert.ok(mu.increfAndClose());
    assert.ok(mu.closed);
    assert.equal(mu.refs, 2);
    assert.equal(mu.incref(), false, "incref after close");
    assert.equal(mu.increfAndClose(), false, "a second close");
    assert.equal(mu.tryRwlock(true), CLOSED);
    assert.equal(mu.decref(), false);
    assert.equal(mu.decref(), true, "the last reference after close");
    assert.equal(mu.refs, 0);
  });

  it("impossible transitions throw 'inconsistent poll.fdMutex'", function () {
    const mu = new FdMutex();
    assert.throws(() => mu.decref(), (e: unknown) => e instanceof RuntimeError && e.message === "inconsistent poll.fdMutex");
    assert.throws(() => mu.rwunlock(true), /inconsistent poll\.fdMutex/);
    assert.equal(mu.tryRwlock(false), LOCKED);
    assert.throws(() => mu.rwunlock(true), /inconsistent poll\.fdMutex/, "the read lock is not held");
    assert.equal(mu.rwunlock(false), false);
  });

  it("2^20 - 1 references at most, as Go's 20-bit field", function () {
    const mu = new FdMutex();
    for (let i = 0; i < (1 << 20) - 1; i++) mu.incref();
    assert.throws(() => mu.incref(), /too many concurrent operations/);
    assert.equal(mu.refs, (1 << 20) - 1);
  });

  it("the read and write locks are independent, and each takes a reference", function () {
    const mu = new FdMutex();
    assert.equal(mu.tryRwlock(true), LOCKED);
    assert.equal(mu.tryRwlock(true), BUSY);
    assert.equal(mu.tryRwlock(false), LOCKED);
    assert.equal(mu.refs, 2);
    assert.equal(mu.rwunlock(true), false);
    assert.equal(mu.rwunlock(false), false);
    assert.equal(mu.refs, 0);
  });

  it("waiters get the lock in arrival order", async function () {
    const order: number[] = [];
    const arrived: number[] = [];
    await run(function* main() {
      const mu = new FdMutex();
      assert.equal(yield* mu.rwlock(true), true);
      const gs = [1, 2, 3].map((id) =>
        go(function* reader() {
          arrived.push(id); // runnext: the last one spawned runs first
          assert.equal(yield* mu.rwlock(true), true);
          order.push(id);
          yield* gosched();
          mu.rwunlock(true);
        }),
      );
      yield* settle();
      assert.equal(mu.rwait, 3);
      assert.deepEqual(order, []);
      mu.rwunlock(true);
      for (const g of gs) yield* g.join();
      assert.equal(mu.rwait, 0);
      assert.equal(mu.refs, 0);
    });
    assert.equal(arrived.length, 3);
    assert.deepEqual(order, arrived);
  });

  it("increfAndClose releases every waiter, which then fails; the last unlock must destroy", async function () {
    await run(function* main() {
      const mu = new FdMutex();
      assert.equal(mu.tryRwlock(true), LOCKED);
      assert.equal(mu.tryRwlock(false), LOCKED);
      const results: string[] = [];
      const gs = [true, true, false].map((read, i) =>
        go(function* waiter() {
          results.push(`${i}:${String(yield* mu.rwlock(read))}`);
        }),
      );
      yield* settle();
      assert.deepEqual([mu.rwait, mu.wwait], [2, 1]);
      assert.ok(mu.increfAndClose());
      assert.deepEqual([mu.rwait, mu.wwait], [0, 0]);
      for (const g of gs) yield* g.join();
      assert.deepEqual(results.sort(), ["0:false", "1:false", "2:false"]);
      assert.equal(mu.refs, 3); // the two lock holders and close
      assert.equal(mu.decref(), false); // close's own
      assert.equal(mu.rwunlock(true), false);
      assert.equal(mu.rwunlock(false), true, "the last reference after close");
    });
  });
});

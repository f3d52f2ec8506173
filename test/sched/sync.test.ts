// sync: Mutex, RWMutex, WaitGroup, Once, Cond and the runtime Sema under them,
// after Go's sync/mutex_test.go, rwmutex_test.go, waitgroup_test.go,
// once_test.go and cond_test.go (mutual exclusion, fairness, writer
// preference, misuse panics, signal/broadcast order).

import assert from "node:assert/strict";

import {
  Cond,
  DeadlockError,
  Mutex,
  Once,
  PanicError,
  RWMutex,
  RuntimeError,
  Sema,
  WaitGroup,
  go,
  gosched,
  run,
  sleep,
  type Op,
} from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

/** Lets every other runnable goroutine run for a while. */
function* settle(n = 20): Op<void> {
  for (let i = 0; i < n; i++) yield* gosched();
}

/** The run failed with an unrecovered RuntimeError carrying Go's message. */
function isPanic(message: string): (e: unknown) => boolean {
  return (e) => e instanceof PanicError && e.value instanceof RuntimeError && e.value.message === message;
}

/** The error a generator throws, or null. */
function* caught(op: () => Op<unknown>): Op<unknown> {
  try {
    yield* op();
    return null;
  } catch (e) {
    return e;
  }
}

describe("sched: sync", function () {
  this.timeout(5000);
  afterEach(checkNoLeaks);

  describe("Sema", function () {
    it("counts units and serves waiters FIFO with handoff", async function () {
      await run(function* () {
        const s = new Sema(1);
        yield* s.acquire();
        assert.equal(s.tryAcquire(), false);
        const order: number[] = [];
        for (let i = 0; i < 3; i++) {
          go(function* () {
            yield* s.acquire();
            order.push(i);
          });
          yield* settle(); // queue in spawn order (the newest goroutine runs first)
        }
        assert.deepEqual(order, []);
        s.release();
        // A released unit goes to the head waiter, not to the count: a barging tryAcquire fails.
        assert.equal(s.tryAcquire(), false);
        yield* settle();
        assert.deepEqual(order, [0]);
        s.release();
        yield* settle();
        assert.deepEqual(order, [0, 1]);
        s.release();
        yield* settle();
        assert.deepEqual(order, [0, 1, 2]);
        assert.equal(s.count, 0);
        s.release();
        assert.equal(s.count, 1);
      });
    });
  });

  describe("Mutex", function () {
    it("excludes: one holder at a time across gosched (TestMutex)", async function () {
      await run(function* () {
        const m = new Mutex();
        let inside = 0;
        let maxInside = 0;
        let total = 0;
        const hs = [];
        for (let g = 0; g < 5; g++) {
          hs.push(
            go(function* () {
              for (let i = 0; i < 50; i++) {
                yield* m.lock();
                inside++;
                maxInside = Math.max(maxInside, inside);
                yield* gosched(); // others run and queue up while we hold it
                total++;
                inside--;
                m.unlock();
                yield* gosched();
              }
            }),
          );
        }
        for (const h of hs) yield* h.join();
        assert.equal(maxInside, 1);
        assert.equal(total, 250);
        assert.equal(m.locked, false);
      });
    });

    it("is fair: unlock hands over to the longest waiter, so relocking at once waits its turn", async function () {
      await run(function* () {
        const m = new Mutex();
        const N = 4;
        const ROUNDS = 25;
        const seq: number[] = [];
        const hs = [];
        for (let g = 0; g < N; g++) {
          hs.push(
            go(function* () {
              for (let i = 0; i < ROUNDS; i++) {
                yield* m.lock();
                seq.push(g);
                yield* gosched();
                m.unlock(); // and straight back to lock(): with barging this goroutine would win again
              }
            }),
          );
        }
        for (const h of hs) yield* h.join();
        assert.equal(seq.length, N * ROUNDS);
        for (let g = 0; g < N; g++) assert.equal(seq.filter((x) => x === g).length, ROUNDS);
        for (let i = N; i < seq.length; i++) assert.equal(seq[i], seq[i - N], `turn ${i} out of order: ${seq.join(",")}`);
      });
    });

    it("tryLock succeeds only when unlocked", async function () {
      await run(function* () {
        const m = new Mutex();
        assert.equal(m.tryLock(), true);
        assert.equal(m.tryLock(), false);
        m.unlock();
        yield* m.lock();
        assert.equal(m.tryLock(), false);
        m.unlock();
        assert.equal(m.tryLock(), true);
        m.unlock();
      });
    });

    it("unlock of an unlocked mutex panics the program", async function () {
      await assert.rejects(
        run(function* () {
          const m = new Mutex();
          yield* m.lock();
          m.unlock();
          m.unlock();
        }),
        isPanic("sync: unlock of unlocked mutex"),
      );
    });

    it("can be unlocked by another goroutine, and shows sync.Mutex.Lock in a deadlock dump", async function () {
      await run(function* () {
        const m = new Mutex();
        yield* m.lock();
        go(function* () {
          m.unlock();
        });
        yield* m.lock(); // unlocked by the other goroutine
        m.unlock();
      });
      await assert.rejects(
        run(function* () {
          const m = new Mutex();
          yield* m.lock();
          yield* m.lock();
        }),
        (e) => e instanceof DeadlockError && e.dump.includes("[sync.Mutex.Lock"),
      );
    });
  });

  describe("RWMutex", function () {
    it("lets readers in together", async function () {
      await run(function* () {
        const rw = new RWMutex();
        let readers = 0;
        let maxReaders = 0;
        const hs = [];
        for (let i = 0; i < 4; i++) {
          hs.push(
            go(function* () {
              yield* rw.rLock();
              readers++;
              maxReaders = Math.max(maxReaders, readers);
              yield* settle(5);
              readers--;
              rw.rUnlock();
            }),
          );
        }
        for (const h of hs) yield* h.join();
        assert.equal(maxReaders, 4);
        assert.equal(rw.tryLock(), true);
        rw.unlock();
      });
    });

    it("gives a writer exclusive access (TestRWMutex's hammer)", async function () {
      await run(function* () {
        const rw = new RWMutex();
        let activity = 0; // +1 per reader, +10000 per writer
        const hs = [];
        for (let g = 0; g < 6; g++) {
          const writer = g % 3 === 0;
          hs.push(
            go(function* () {
              for (let i = 0; i < 30; i++) {
                if (writer) {
                  yield* rw.lock();
                  activity += 10000;
                  assert.equal(activity, 10000, "writer not alone");
                  yield* gosched();
                  activity -= 10000;
                  rw.unlock();
                } else {
                  yield* rw.rLock();
                  activity++;
                  assert.ok(activity >= 1 && activity < 10000, "reader alongside a writer");
                  yield* gosched();
                  activity--;
                  rw.rUnlock();
                }
                yield* gosched();
              }
            }),
          );
        }
        for (const h of hs) yield* h.join();
        assert.equal(activity, 0);
      });
    });

    it("prefers writers: a waiting writer blocks new readers, and readers it blocked go before the next writer", async function () {
      await run(function* () {
        const rw = new RWMutex();
        const events: string[] = [];
        yield* rw.rLock(); // main is reader R0
        go(function* () {
          yield* rw.lock();
          events.push("W1 in");
          yield* settle(5);
          events.push("W1 out");
          rw.unlock();
        });
        yield* settle();
        assert.equal(rw.tryRLock(), false, "tryRLock must fail while a writer waits");
        go(function* () {
          yield* rw.rLock();
          events.push("R1 in");
          rw.rUnlock();
        });
        go(function* () {
          yield* rw.lock();
          events.push("W2 in");
          rw.unlock();
        });
        yield* settle();
        assert.equal(events.join(), "", "R1 must wait behind W1 although only readers hold the lock");
        events.push("R0 out");
        rw.rUnlock();
        yield* settle(40);
        assert.deepEqual(events, ["R0 out", "W1 in", "W1 out", "R1 in", "W2 in"]);
      });
    });

    it("tryLock / tryRLock and rLocker", async function () {
      await run(function* () {
        const rw = new RWMutex();
        assert.equal(rw.tryRLock(), true);
        assert.equal(rw.tryLock(), false, "tryLock with a reader in");
        assert.equal(rw.tryRLock(), true);
        rw.rUnlock();
        rw.rUnlock();
        assert.equal(rw.tryLock(), true);
        assert.equal(rw.tryRLock(), false);
        assert.equal(rw.tryLock(), false);
        rw.unlock();
        const rl = rw.rLocker();
        yield* rl.lock();
        yield* rl.lock();
        assert.equal(rw.tryLock(), false);
        rl.unlock();
        rl.unlock();
        assert.equal(rw.tryLock(), true);
        rw.unlock();
      });
    });

    it("throws Go's errors on misuse and keeps its state", async function () {
      await run(function* () {
        const rw = new RWMutex();
        const e1 = yield* caught(function* () {
          rw.rUnlock();
        });
        assert.ok(e1 instanceof RuntimeError && e1.message === "sync: RUnlock of unlocked RWMutex", String(e1));
        const e2 = yield* caught(function* () {
          rw.unlock();
        });
        assert.ok(e2 instanceof RuntimeError && e2.message === "sync: Unlock of unlocked RWMutex", String(e2));
        yield* rw.lock();
        const e3 = yield* caught(function* () {
          rw.rUnlock();
        });
        assert.ok(e3 instanceof RuntimeError && e3.message === "sync: RUnlock of unlocked RWMutex", String(e3));
        rw.unlock();
        assert.equal(rw.tryLock(), true, "state unchanged by the failed calls");
        rw.unlock();
      });
    });
  });

  describe("WaitGroup", function () {
    it("wait returns once every task is done", async function () {
      await run(function* () {
        const wg = new WaitGroup();
        const done: number[] = [];
        for (let i = 0; i < 5; i++) {
          wg.add(1);
          go(function* () {
            yield* sleep(1 + i);
            done.push(i);
            wg.done();
          });
        }
        const waiters: number[] = [];
        for (let j = 0; j < 2; j++) {
          go(function* () {
            yield* wg.wait();
            waiters.push(done.length);
          });
        }
        yield* wg.wait();
        assert.equal(done.length, 5);
        yield* settle();
        assert.deepEqual(waiters, [5, 5]);
        yield* wg.wait(); // counter 0: returns at once
      });
    });

    it("wg.go counts the goroutine until it returns", async function () {
      await run(function* () {
        const wg = new WaitGroup();
        let n = 0;
        for (let i = 0; i < 4; i++) {
          wg.go(function* task() {
            yield* sleep(2);
            n++;
          });
        }
        yield* wg.wait();
        assert.equal(n, 4);
      });
    });

    it("a negative counter panics", async function () {
      await assert.rejects(
        run(function* () {
          const wg = new WaitGroup();
          wg.add(1);
          wg.done();
          wg.done();
        }),
        isPanic("sync: negative WaitGroup counter"),
      );
    });
  });

  describe("Once", function () {
    it("runs f once; concurrent callers wait until it has completed", async function () {
      await run(function* () {
        const once = new Once();
        let runs = 0;
        let finished = false;
        const sawFinished: boolean[] = [];
        const f = function* () {
          runs++;
          yield* sleep(5);
          finished = true;
        };
        const hs = [];
        for (let i = 0; i < 5; i++) {
          hs.push(
            go(function* () {
              yield* once.do(f);
              sawFinished.push(finished);
            }),
          );
        }
        for (const h of hs) yield* h.join();
        yield* once.do(f);
        assert.equal(runs, 1);
        assert.deepEqual(sawFinished, [true, true, true, true, true]);
      });
    });

    it("is done even if f throws (TestOncePanic)", async function () {
      await run(function* () {
        const once = new Once();
        const boom = new Error("boom");
        const e = yield* caught(() =>
          once.do(function* () {
            throw boom;
          }),
        );
        assert.equal(e, boom);
        let ran = false;
        yield* once.do(function* () {
          ran = true;
        });
        assert.equal(ran, false);
      });
    });
  });

  describe("Cond", function () {
    it("signal wakes the longest waiter, broadcast all, each relocking L", async function () {
      await run(function* () {
        const m = new Mutex();
        const c = new Cond(m);
        const woke: number[] = [];
        let waiting = 0;
        for (let i = 0; i < 4; i++) {
          go(function* () {
            yield* m.lock();
            waiting++;
            yield* c.wait();
            assert.equal(m.locked, true, "wait returns with L held");
            woke.push(i);
            waiting--;
            m.unlock();
          });
          yield* settle(); // wait in spawn order
        }
        assert.equal(waiting, 4);
        assert.equal(m.locked, false, "wait released L");
        c.signal();
        yield* settle();
        assert.deepEqual(woke, [0]);
        c.signal();
        yield* settle();
        assert.deepEqual(woke, [0, 1]);
        c.broadcast();
        yield* settle();
        assert.deepEqual(woke.slice(0, 2), [0, 1]);
        assert.deepEqual(woke.slice(2).sort(), [2, 3]); // broadcast readies both; which runs first is the scheduler's choice
        c.signal(); // nobody waits: a no-op, not remembered
        let late = false;
        go(function* () {
          yield* m.lock();
          yield* c.wait();
          late = true;
          m.unlock();
        });
        yield* settle();
        assert.equal(late, false);
        c.broadcast();
        yield* settle();
        assert.equal(late, true);
      });
    });

    it("works as a producer/consumer queue", async function () {
      await run(function* () {
        const m = new Mutex();
        const notEmpty = new Cond(m);
        const queue: number[] = [];
        const got: number[] = [];
        const consumers = [];
        for (let k = 0; k < 3; k++) {
          consumers.push(
            go(function* () {
              for (;;) {
                yield* m.lock();
                while (queue.length === 0) yield* notEmpty.wait();
                const v = queue.shift()!;
                m.unlock();
                if (v < 0) return;
                got.push(v);
              }
            }),
          );
        }
        for (let v = 0; v < 30; v++) {
          yield* m.lock();
          queue.push(v);
          notEmpty.signal();
          m.unlock();
          if (v % 4 === 0) yield* gosched();
        }
        yield* m.lock();
        queue.push(-1, -1, -1);
        notEmpty.broadcast();
        m.unlock();
        for (const h of consumers) yield* h.join();
        assert.deepEqual(
          got.sort((a, b) => a - b),
          Array.from({ length: 30 }, (_, i) => i),
        );
      });
    });
  });
});

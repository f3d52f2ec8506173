// The scheduler core: goroutines and programs, fairness, the Node event loop,
// Promise interop, panics, misuse, deadlock detection and goroutine dumps.

import assert from "node:assert/strict";

import {
  DeadlockError,
  ExitedError,
  PanicError,
  RuntimeError,
  chan,
  go,
  goroutineDump,
  gosched,
  holdExternal,
  recv,
  run,
  select,
  setCreationStacks,
  sleep,
  wait,
  type GoFn,
  type Goroutine,
  type Op,
} from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

const tick = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** A Promise with its resolve function, for handing values out of a program. */
function deferred<T>(): { promise: Promise<T>; resolve: (v: T) => void } {
  let resolve!: (v: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

describe("sched: goroutines and programs", function () {
  afterEach(checkNoLeaks);

  it("run settles with main's return value", async function () {
    assert.equal(await run(function* main() {
      return 42;
    }), 42);
    const obj = { a: 1 };
    assert.equal(await run(function* main() {
      yield* gosched();
      return obj;
    }), obj);
    assert.equal(await run(function* main() {}), undefined);
  });

  it("go and join: yield* join() in a goroutine gives the result", async function () {
    const v = await run(function* main() {
      const h = go(function* square(x: number) {
        yield* gosched();
        return x * x;
      }, 7);
      assert.equal(typeof h.id, "number");
      const hs = [1, 2, 3].map((i) => go(function* (n: number): Op<string> {
        yield* sleep(5 - n);
        return `r${n}`;
      }, i));
      const rs: string[] = [];
      for (const g of hs) rs.push(yield* g.join());
      assert.deepEqual(rs, ["r1", "r2", "r3"]);
      // Joining a goroutine that already ended returns at once, as often as asked.
      const done = go(function* () {
        return "done";
      });
      yield* gosched();
      assert.equal(yield* done.join(), "done");
      assert.equal(yield* done.join(), "done");
      return yield* h.join();
    });
    assert.equal(v, 49);
  });

  it("async code awaits a goroutine's join()", async function () {
    const handle = deferred<Goroutine<string>>();
    const release = chan<void>();
    const p = run(function* main() {
      const h = go(function* worker() {
        yield* release.recv();
        return "from worker";
      });
      handle.resolve(h);
      const hold = holdExternal();
      yield* sleep(10);
      yield* release.send();
      hold();
      return yield* h.join();
    });
    const h = await handle.promise;
    assert.equal(await h.join(), "from worker");
    assert.equal(await p, "from worker");
    // And once it has ended.
    assert.equal(await h.join(), "from worker");
  });

  it("goroutines left running when main returns are dropped; awaiting them rejects with ExitedError", async function () {
    let spins = 0;
    const handles = deferred<Goroutine<unknown>[]>();
    await run(function* main() {
      const never = chan<number>();
      const blocked = go(function* blocked() {
        return yield* never.recv();
      });
      const spinner = go(function* spinner() {
        for (;;) {
          spins++;
          yield* gosched();
        }
      });
      const sleeper = go(function* sleeper() {
        yield* sleep(10);
        return "woke";
      });
      const runnable = go(function* runnable() {
        return "ran";
      });
      handles.resolve([blocked, spinner, sleeper, runnable]);
      yield* sleep(2);
    });
    const at = spins;
    assert.ok(at > 0);
    await tick(20);
    assert.equal(spins, at, "a goroutine kept running after main returned");
    const [blocked, spinner, sleeper, runnable] = await handles.promise;
    for (const h of [blocked!, spinner!, sleeper!]) await assert.rejects(Promise.resolve(h.join()), ExitedError);
    assert.equal(await runnable!.join(), "ran");
  });

  it("gosched: goroutines that yield take turns round-robin", async function () {
    const log = await run(function* main() {
      const log: string[] = [];
      const hs = ["a", "b", "c"].map((name) => go(function* () {
        for (let i = 0; i < 4; i++) {
          log.push(name);
          yield* gosched();
        }
      }));
      for (const h of hs) yield* h.join();
      return log;
    });
    assert.equal(log.length, 12);
    assert.deepEqual(new Set(log.slice(0, 3)), new Set(["a", "b", "c"]));
    for (let i = 3; i < 12; i++) assert.equal(log[i], log[i % 3], `turn ${i}: ${log.join("")}`);
  });

  it("runnext cannot starve the run queue: a ping-pong pair and a third goroutine", async function () {
    let stop = false;
    const timer = setTimeout(() => (stop = true), 1000);
    try {
      const r = await run(function* main() {
        const ping = chan<number>();
        const pong = chan<number>();
        let rounds = 0;
        let thirdDone = false;
        go(function* pinger() {
          while (!stop && !thirdDone) {
            yield* ping.send(1);
            yield* pong.recv();
            rounds++;
          }
        });
        go(function* ponger() {
          while (!stop && !thirdDone) {
            yield* ping.recv();
            yield* pong.send(1);
          }
        });
        const third = go(function* third() {
          for (let i = 0; i < 200; i++) yield* gosched();
          thirdDone = true;
          return { stopped: stop, rounds };
        });
        return yield* third.join();
      });
      assert.equal(r.stopped, false, "the third goroutine only progressed once the pair stopped");
      assert.ok(r.rounds > 200, `the pair made ${r.rounds} rounds meanwhile`);
    } finally {
      clearTimeout(timer);
    }
  });

  it("Node's event loop keeps running while goroutines compute", async function () {
    let timeoutFired = false;
    let immediateFired = false;
    let iterations = 0;
    let iterationsAtTimeout = -1;
    const t0 = performance.now();
    const starved = (): boolean => performance.now() - t0 > 1500;
    setImmediate(() => (immediateFired = true));
    setTimeout(() => {
      timeoutFired = true;
      iterationsAtTimeout = iterations;
    }, 15);
    const out = await run(function* main() {
      // Yielding workers and a channel ping-pong pair: always runnable, never on a timer.
      const workers = [0, 1, 2].map(() => go(function* worker() {
        while (!(timeoutFired && immediateFired)) {
          if (starved()) return "starved";
          iterations++;
          yield* gosched();
        }
        return "saw the callbacks";
      }));
      const ping = chan<boolean>();
      const pinger = go(function* pinger() {
        for (;;) {
          const more = !timeoutFired && !starved();
          yield* ping.send(more);
          if (!more) return timeoutFired ? "saw the callbacks" : "starved";
        }
      });
      const ponger = go(function* ponger() {
        while (yield* ping.recv()) iterations++;
      });
      const out: string[] = [];
      for (const h of [...workers, pinger]) out.push(yield* h.join());
      yield* ponger.join();
      return out;
    });
    assert.deepEqual(out, ["saw the callbacks", "saw the callbacks", "saw the callbacks", "saw the callbacks"]);
    // The callbacks fired while the goroutines were running (they only stop once they see them).
    assert.ok(iterationsAtTimeout > 0, "the timeout fired before the goroutines ran");
  });

  it("wait(promise) gives the value; a rejection is thrown into the goroutine and catchable", async function () {
    const v = await run(function* main() {
      assert.equal(yield* wait(Promise.resolve(5)), 5);
      assert.equal(yield* wait(7), 7);
      const thenable: PromiseLike<string> = { then: (f) => (f ? f("thenable") : undefined) as never };
      assert.equal(yield* wait(thenable), "thenable");
      const slow = new Promise<string>((r) => setTimeout(() => r("slow"), 20));
      assert.equal(yield* wait(slow), "slow");
      const boom = new Error("rejected");
      let caught: unknown = null;
      try {
        yield* wait(Promise.reject(boom));
      } catch (e) {
        caught = e;
      }
      assert.equal(caught, boom);
      // Many goroutines waiting on Promises at once, resolved out of order.
      const hs = [30, 10, 20].map((ms) => go(function* (): Op<number> {
        return yield* wait(new Promise<number>((r) => setTimeout(() => r(ms), ms)));
      }));
      const rs: number[] = [];
      for (const h of hs) rs.push(yield* h.join());
      assert.deepEqual(rs, [30, 10, 20]);
      return "ok";
    });
    assert.equal(v, "ok");
  });

  it("an uncaught rejection fails the program with a PanicError carrying the reason", async function () {
    const reason = new Error("nope");
    let id = -1;
    await assert.rejects(
      run(function* main() {
        const h = go(function* waiter() {
          yield* wait(new Promise((_, reject) => setTimeout(() => reject(reason), 5)));
        });
        id = h.id;
        yield* h.join();
      }),
      (e: unknown) => e instanceof PanicError && e.value === reason && e.goroutineId === id,
    );
  });

  it("no deadlock is reported while a goroutine waits on a pending Promise", async function () {
    const v = await run(function* main() {
      const c = chan<string>();
      go(function* () {
        const s = yield* wait(new Promise<string>((r) => setTimeout(() => r("late"), 40)));
        yield* c.send(s);
      });
      return yield* c.recv();
    });
    assert.equal(v, "late");
  });

  it("a panic fails the program: PanicError with goroutine id, value, cause and a Go-like message", async function () {
    let mainId = -1;
    let id = -1;
    let boom: Error | null = null;
    await assert.rejects(
      run(function* main() {
        mainId = Number(/^goroutine (\d+) \[running\]/.exec(goroutineDump())![1]);
        const h = go(function* exploder() {
          yield* gosched();
          throw (boom = new Error("boom"));
        });
        id = h.id;
        yield* sleep(1000);
      }),
      (e: unknown) => {
        assert.ok(e instanceof PanicError);
        assert.equal(e.name, "PanicError");
        assert.equal(e.goroutineId, id);
        assert.equal(e.value, boom);
        assert.equal(e.cause, boom);
        assert.ok(e.message.startsWith(`panic: Error: boom\n\ngoroutine ${id} [running]:\n`), e.message);
        assert.match(e.message, /\n {4}at exploder /, "the thrown error's stack frames");
        assert.ok(e.message.endsWith(`created by main in goroutine ${mainId}\n`), e.message);
        return true;
      },
    );
    // A thrown non-Error value, from main itself.
    await assert.rejects(
      run(function* main() {
        yield* gosched();
        throw "plain string";
      }),
      (e: unknown) => {
        assert.ok(e instanceof PanicError);
        assert.equal(e.value, "plain string");
        assert.match(e.message, /^panic: plain string\n\ngoroutine \d+ \[running\]:\n/);
        return true;
      },
    );
  });

  it("a panic drops the other goroutines; awaiting any goroutine of the program settles", async function () {
    const handles = deferred<Goroutine<unknown>[]>();
    let joinEarly: Promise<string> | null = null;
    await assert.rejects(
      run(function* main() {
        const never = chan<number>();
        const blocked = go(function* blocked() {
          yield* never.recv();
        });
        const exploder = go(function* exploder() {
          yield* sleep(5);
          throw new Error("boom");
        });
        handles.resolve([blocked, exploder]);
        joinEarly = Promise.resolve(exploder.join()).then(
          () => "resolved",
          (e: unknown) => (e instanceof ExitedError ? "ExitedError" : String(e)),
        );
        yield* never.recv();
      }),
      PanicError,
    );
    const [blocked, exploder] = await handles.promise;
    await assert.rejects(Promise.resolve(blocked!.join()), ExitedError);
    // The goroutine that panicked did not return either: awaiting it, from
    // before the panic (joinEarly) or after, rejects.
    const settled = await Promise.race([joinEarly!, tick(200).then(() => "still pending")]);
    assert.equal(settled, "ExitedError");
    await assert.rejects(Promise.resolve(exploder!.join()), ExitedError);
  });

  it("an exception caught inside the goroutine does not fail the program (recover)", async function () {
    const v = await run(function* main() {
      const h = go(function* () {
        try {
          yield* gosched();
          throw new Error("inner");
        } catch (e) {
          return (e as Error).message;
        }
      });
      return yield* h.join();
    });
    assert.equal(v, "inner");
  });

  it("a bare yield (instead of yield*) panics with a message that says so", async function () {
    const bare = function* bare() {
      yield;
    } as unknown as GoFn<[], void>;
    const c = chan<number>(1);
    const forgotStar = function* forgotStar() {
      yield c.recv();
    } as unknown as GoFn<[], void>;
    for (const f of [bare, forgotStar]) {
      await assert.rejects(
        run(function* main() {
          yield* go(f).join();
        }),
        (e: unknown) => {
          assert.ok(e instanceof PanicError);
          assert.ok(e.value instanceof RuntimeError);
          assert.match(e.message, /^panic: RuntimeError: goroutine \d+ yielded .*: blocking operations are delegated with yield\*, not yield/);
          return true;
        },
      );
    }
  });

  it("go() outside a program throws RuntimeError; go() of a plain function throws TypeError", async function () {
    assert.throws(() => go(function* () {}), RuntimeError);
    await run(function* main() {
      assert.throws(() => go((() => 1) as unknown as GoFn<[], number>), TypeError);
    });
    await assert.rejects(run((() => 1) as unknown as () => Op<number>), TypeError);
  });

  it("blocking operations outside a goroutine throw RuntimeError", function () {
    const c = chan<number>();
    assert.throws(() => c.recv()[Symbol.iterator]().next(), RuntimeError);
    assert.throws(() => c.send(1)[Symbol.iterator]().next(), RuntimeError);
    assert.throws(() => sleep(5)[Symbol.iterator]().next(), RuntimeError);
    assert.throws(() => gosched()[Symbol.iterator]().next() && c.recv()[Symbol.iterator]().next(), RuntimeError);
  });

  it("one program at a time: run while another runs rejects, the first is unharmed", async function () {
    const first = run(function* main() {
      yield* sleep(10);
      return "first";
    });
    await assert.rejects(run(function* second() {
      return "second";
    }), (e: unknown) => e instanceof RuntimeError && /already running/.test(e.message));
    // Nor from inside a goroutine.
    assert.equal(await first, "first");
    const nested = await run(function* main() {
      const p = run(function* inner() {});
      return yield* wait(p.then(() => "ran", (e: unknown) => (e instanceof RuntimeError ? "rejected" : "other")));
    });
    assert.equal(nested, "rejected");
  });

  it("deadlock: DeadlockError names every goroutine and why it waits", async function () {
    let ids: number[] = [];
    await assert.rejects(
      run(function* main() {
        const c = chan<number>();
        const d = chan<number>();
        const sender = go(function* sender() {
          yield* d.send(1);
        });
        const selector = go(function* selector() {
          yield* select([recv(c), recv(chan<number>())]);
        });
        yield* gosched();
        ids = [sender.id, selector.id];
        yield* c.recv();
      }),
      (e: unknown) => {
        assert.ok(e instanceof DeadlockError);
        assert.equal(e.name, "DeadlockError");
        assert.ok(e.message.startsWith("fatal error: all goroutines are asleep - deadlock!\n\n"), e.message);
        assert.ok(e.message.endsWith(e.dump));
        const [sid, selid] = ids;
        assert.match(e.dump, /^goroutine \d+ \[chan receive, \d+ms\]:\nmain\(\.\.\.\)\n/);
        assert.ok(e.dump.includes(`goroutine ${sid} [chan send, `), e.dump);
        assert.ok(e.dump.includes(`sender(...)\ncreated by main in goroutine `), e.dump);
        assert.ok(e.dump.includes(`goroutine ${selid} [select, `), e.dump);
        assert.ok(e.dump.includes("selector(...)"), e.dump);
        return true;
      },
    );
  });

  it("deadlock is reported once the last timer has fired, not before", async function () {
    const t0 = performance.now();
    await assert.rejects(
      run(function* main() {
        const c = chan<number>();
        go(function* sleeper() {
          yield* sleep(30);
        });
        yield* c.recv();
      }),
      DeadlockError,
    );
    assert.ok(performance.now() - t0 >= 30, "deadlock reported while a sleeper could still act");
  });

  it("deadlock is reported once the last external reference is dropped", async function () {
    const t0 = performance.now();
    await assert.rejects(
      run(function* main() {
        const release = holdExternal();
        setTimeout(release, 30);
        setTimeout(release, 35); // a second call is a no-op
        yield* chan<number>().recv();
      }),
      DeadlockError,
    );
    // Node's setTimeout counts from its cached loop time, so it may fire a little early.
    assert.ok(performance.now() - t0 >= 25, "deadlock reported while an external reference was held");
  });

  it("goroutineDump lists every goroutine by id: state, function, creator", async function () {
    const dump = await run(function* main() {
      const c = chan<number>();
      const w = go(function* worker() {
        yield* c.recv();
      });
      yield* gosched();
      const f = go(function* fresh() {});
      const d = goroutineDump();
      return { d, w: w.id, f: f.id };
    });
    const m = /^goroutine (\d+) \[running\]:\nmain\(\.\.\.\)\n/.exec(dump.d);
    assert.ok(m, dump.d);
    const mainId = m[1];
    assert.equal(
      dump.d.replace(/, \d+ms\]/g, ", Nms]"),
      `goroutine ${mainId} [running]:\nmain(...)\n\n` +
        `goroutine ${dump.w} [chan receive, Nms]:\nworker(...)\ncreated by main in goroutine ${mainId}\n\n` +
        `goroutine ${dump.f} [runnable]:\nfresh(...)\ncreated by main in goroutine ${mainId}\n`,
    );
    // Outside a program there is nothing to list.
    assert.equal(goroutineDump(), "");
  });

  it("with creation stacks on, dumps and panics show where go() was called", async function () {
    setCreationStacks(true);
    try {
      const dump = await run(function* main() {
        go(function* worker() {
          yield* chan<number>().recv();
        });
        yield* gosched();
        return goroutineDump();
      });
      assert.match(dump, /worker\(\.\.\.\)\ncreated by main in goroutine \d+\n {4}at .*proc\.test\.ts/);
    } finally {
      setCreationStacks(false);
    }
  });
});

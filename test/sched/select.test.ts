// select, after Go's runtime/chan_test.go (TestSelfSelect, TestSelectStress,
// TestSelectFairness, TestPseudoRandomSend, TestNonblockSelectRace,
// TestSelectDuplicateChannel, TestChanSendInterface) and the language spec.

import assert from "node:assert/strict";

import {
  DeadlockError,
  RuntimeError,
  chan,
  go,
  gosched,
  recv,
  run,
  seedRand,
  select,
  send,
  type Chan,
  type Goroutine,
  type Op,
} from "../../src/sched/index.ts";
import { HChan } from "../../src/sched/chan.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

function* settle(n = 20): Op<void> {
  for (let i = 0; i < n; i++) yield* gosched();
}

describe("sched: select", function () {
  afterEach(checkNoLeaks);

  it("completes the ready case, with its value", async function () {
    await run(function* main() {
      const a = chan<number>(1);
      const b = chan<string>(1);
      yield* b.send("hello");
      const r = yield* select([recv(a), recv(b)]);
      assert.equal(r.index, 1);
      assert.equal(r.value, "hello");
      assert.equal(r.ok, true);
      assert.equal(b.len, 0, "the value was taken");

      const s = yield* select([recv(a), send(b, "again")]);
      assert.deepEqual([s.index, s.value, s.ok], [1, undefined, true]);
      assert.deepEqual(b.tryRecv(), ["again", true]);
    });
  });

  it("default: taken only when no case is ready", async function () {
    await run(function* main() {
      const a = chan<number>();
      const b = chan<number>(1);
      const r = yield* select([recv(a), send(a, 1), recv(b)], { default: true });
      assert.deepEqual([r.index, r.value, r.ok], [-1, undefined, false]);
      yield* b.send(5);
      const s = yield* select([recv(a), recv(b)], { default: true });
      assert.deepEqual([s.index, s.value], [1, 5]);
      // An empty select with default does not block.
      const e = yield* select([], { default: true });
      assert.equal(e.index, -1);
      // A full buffer is not ready for sending.
      yield* b.send(6);
      const f = yield* select([send(b, 7)], { default: true });
      assert.equal(f.index, -1);
      assert.deepEqual(b.tryRecv(), [6, true]);
      assert.equal(b.tryRecv(), null, "the send case of a select that took default sent anyway");
    });
  });

  it("nil channel cases are never ready and never chosen", async function () {
    await run(function* main() {
      const c = chan<number>();
      const r = yield* select([recv<number>(null), send<number>(null, 1)], { default: true });
      assert.equal(r.index, -1);
      go(function* () {
        yield* settle();
        yield* c.send(42);
      });
      for (let i = 0; i < 1; i++) {
        const s = yield* select([recv<number>(null), send<number>(null, 0), recv(c)]);
        assert.deepEqual([s.index, s.value, s.ok], [2, 42, true]);
      }
    });
  });

  it("a receive or an empty select on nil channels blocks forever (deadlock if alone)", async function () {
    for (const [body, reason] of [
      [function* () { yield* recv<number>(null); }, "chan receive (nil chan)"],
      [function* () { yield* send<number>(null, 1); }, "chan send (nil chan)"],
      [function* () { yield* select([recv<number>(null), send<number>(null, 1)]); }, "select (no cases)"],
      [function* () { yield* select([]); }, "select (no cases)"],
    ] as const) {
      await assert.rejects(
        run(function* main() {
          const h = go(function* blocked() {
            yield* body();
          });
          yield* h.join();
        }),
        (e: unknown) => {
          assert.ok(e instanceof DeadlockError);
          assert.match(e.dump, /goroutine \d+ \[join, \d+ms\]:\nmain\(\.\.\.\)\n/);
          assert.match(e.dump, new RegExp(`goroutine \\d+ \\[${reason.replace(/[()]/g, "\\$&")}, `));
          return true;
        },
      );
    }
  });

  it("mixes send and receive cases; the one with a partner fires", async function () {
    await run(function* main() {
      const a = chan<number>();
      const b = chan<number>();
      const h = go(function* () {
        return yield* a.recv();
      });
      yield* settle();
      const r = yield* select([recv(b), send(a, 10)]);
      assert.equal(r.index, 1);
      assert.equal(yield* h.join(), 10);

      // Blocked, then woken by a sender on the receive case.
      go(function* () {
        yield* settle();
        yield* b.send(20);
      });
      const s = yield* select([send(a, 11), recv(b)]);
      assert.deepEqual([s.index, s.value], [1, 20]);

      // Blocked, then woken by a receiver on the send case.
      const g = go(function* () {
        yield* settle();
        return yield* a.recv();
      });
      const t = yield* select([recv(b), send(a, 12)]);
      assert.equal(t.index, 1);
      assert.equal(yield* g.join(), 12);
    });
  });

  it("a receive case on a closed channel is ready with the zero value and ok false", async function () {
    await run(function* main() {
      const c = chan<number>(2, -7);
      yield* c.send(1);
      c.close();
      const open = chan<number>();
      const r1 = yield* select([recv(open), recv(c)]);
      assert.deepEqual([r1.index, r1.value, r1.ok], [1, 1, true]);
      const r2 = yield* select([recv(open), recv(c)]);
      assert.deepEqual([r2.index, r2.value, r2.ok], [1, -7, false]);

      // Blocked in select when the channel is closed.
      const d = chan<number>(0, -8);
      go(function* () {
        yield* settle();
        d.close();
      });
      const r3 = yield* select([recv(open), recv(d)]);
      assert.deepEqual([r3.index, r3.value, r3.ok], [1, -8, false]);
    });
  });

  it("a send case on a closed channel panics (recoverable), polled or while blocked", async function () {
    await run(function* main() {
      const c = chan<number>();
      c.close();
      const open = chan<number>();
      let caught: unknown = null;
      try {
        yield* select([send(c, 1), recv(open)]);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof RuntimeError);
      assert.equal(caught.message, "send on closed channel");

      const d = chan<number>();
      go(function* () {
        yield* settle();
        d.close();
      });
      caught = null;
      try {
        yield* select([recv(open), send(d, 1)]);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof RuntimeError);
      assert.equal(caught.message, "send on closed channel");
      // The panicking select left no waiter behind on the other channel.
      assert.equal(open.trySend(1), false);
    });
  });

  it("losing cases are dequeued: a value sent later goes to a plain receiver", async function () {
    await run(function* main() {
      const a = chan<string>();
      const b = chan<string>();
      const sel = go(function* selector() {
        const r = yield* select([recv(b), recv(a)]);
        return r.index;
      });
      yield* settle();
      yield* a.send("to select");
      assert.equal(yield* sel.join(), 1);
      // No ghost receiver of the finished select is left on b.
      assert.equal(b.trySend("lost?"), false, "a finished select still receives on b");
      const plain = go(function* plainReceiver() {
        return yield* b.recv();
      });
      yield* settle();
      yield* b.send("to plain");
      assert.equal(yield* plain.join(), "to plain");

      // The same for losing send cases: nothing more is sent on them.
      const x = chan<number>();
      const y = chan<number>();
      const sender = go(function* () {
        return (yield* select([send(x, 1), send(y, 2)])).index;
      });
      yield* settle();
      assert.equal(yield* y.recv(), 2);
      assert.equal(yield* sender.join(), 1);
      assert.equal(x.tryRecv(), null, "a finished select still sends on x");

      // Many selects that always fire on one channel leave no waiter queued on the other.
      const hot = chan<number>();
      const cold = chan<number>();
      go(function* () {
        for (let i = 0; i < 1000; i++) yield* hot.send(i);
      });
      for (let i = 0; i < 1000; i++) assert.equal((yield* select([recv(cold), recv(hot)])).index, 1);
      // (A boolean: the reporter would try to print a list of 1000 linked waiters.)
      assert.ok((cold as HChan<number>).recvq.first === null, "losing waiters left on the channel's queue");
    });
  });

  it("TestSelectDuplicateChannel: one goroutine queued twice on a channel", async function () {
    await run(function* main() {
      const c = chan<number>();
      const d = chan<number>();
      const e = chan<number>();
      go(function* a() {
        yield* select([recv(c), recv(c), recv(d)]);
        yield* e.send(9);
      });
      yield* settle();
      const b = go(function* b() {
        return yield* c.recv();
      });
      yield* settle();
      yield* d.send(7); // wakes a, which leaves c's queue
      assert.equal(yield* e.recv(), 9);
      yield* c.send(8); // must go to b
      assert.equal(yield* b.join(), 8);
    });
  });

  it("TestSelfSelect: send and receive on one channel in one select never self-receive", async function () {
    await run(function* main() {
      for (const cap of [0, 10]) {
        const c = chan<number>(cap);
        const hs: Goroutine<void>[] = [];
        for (let p = 0; p < 2; p++) {
          hs.push(go(function* () {
            for (let i = 0; i < 1000; i++) {
              const r = p === 0 || i % 2 === 0
                ? yield* select([send(c, p), recv(c)])
                : yield* select([recv(c), send(c, p)]);
              const isRecv = (p === 0 || i % 2 === 0) ? r.index === 1 : r.index === 0;
              if (cap === 0 && isRecv && r.value === p) throw new Error("self receive");
            }
          }));
        }
        for (const h of hs) yield* h.join();
      }
    });
  });

  it("TestSelectStress: plain and select senders and receivers on four channels", async function () {
    await run(function* main() {
      const c: Chan<number>[] = [chan<number>(), chan<number>(), chan<number>(2), chan<number>(3)];
      const N = 5000;
      const hs: Goroutine<void>[] = [];
      for (let k = 0; k < 4; k++) {
        hs.push(go(function* () {
          for (let i = 0; i < N; i++) yield* c[k]!.send(0);
        }));
        hs.push(go(function* () {
          for (let i = 0; i < N; i++) yield* c[k]!.recv();
        }));
      }
      const sendOrder = [3, 2, 0, 1];
      hs.push(go(function* selectSender() {
        const n = [0, 0, 0, 0];
        const c1: (Chan<number> | null)[] = [...c];
        for (let i = 0; i < 4 * N; i++) {
          const r = yield* select(sendOrder.map((k) => send(c1[k]!, 0)));
          const k = sendOrder[r.index]!;
          if (++n[k]! === N) c1[k] = null;
        }
      }));
      hs.push(go(function* selectReceiver() {
        const n = [0, 0, 0, 0];
        const c1: (Chan<number> | null)[] = [...c];
        for (let i = 0; i < 4 * N; i++) {
          const r = yield* select(c1.map((ch) => recv(ch)));
          if (++n[r.index]! === N) c1[r.index] = null;
        }
      }));
      for (const h of hs) yield* h.join();
    });
  });

  it("TestNonblockSelectRace (1 and 2): a select sees the channels at one moment", async function () {
    await run(function* main() {
      const done = chan<boolean>(1);
      for (const closeC2 of [false, true]) {
        for (let i = 0; i < 1000; i++) {
          const c1 = chan<number>(1);
          const c2 = chan<number>(closeC2 ? 0 : 1);
          yield* c1.send(1);
          go(function* () {
            const r = yield* select([recv(c1), recv(c2)], { default: true });
            yield* done.send(r.index !== -1);
          });
          if (closeC2) c2.close();
          else yield* c2.send(1);
          yield* select([recv(c1)], { default: true });
          assert.equal(yield* done.recv(), true, "no chan is ready");
        }
      }
    });
  });

  it("TestChanSendInterface: sends of objects in selects with default", async function () {
    await run(function* main() {
      const m = { name: "mt" };
      const c = chan<object>(1);
      yield* c.send(m);
      const r1 = yield* select([send(c, m)], { default: true });
      assert.equal(r1.index, -1);
      const r2 = yield* select([send(c, m), send(c, {})], { default: true });
      assert.equal(r2.index, -1);
      assert.equal(yield* c.recv(), m);
    });
  });

  it("fairness: among always-ready cases each is chosen uniformly (seeded)", async function () {
    seedRand(12345);
    await run(function* main() {
      const N = 10_000;
      for (const k of [2, 3]) {
        const cs = Array.from({ length: k }, () => chan<number>(1));
        for (const c of cs) yield* c.send(0);
        const counts = new Array<number>(k).fill(0);
        for (let i = 0; i < N; i++) {
          const r = yield* select(cs.map((c) => recv(c)));
          counts[r.index]!++;
          yield* cs[r.index]!.send(0); // ready again
        }
        for (let j = 0; j < k; j++) {
          const share = counts[j]! / N;
          assert.ok(Math.abs(share - 1 / k) < 0.03, `${k} cases: case ${j} chosen ${(share * 100).toFixed(1)}% (${counts.join(",")})`);
        }
      }
      // Send cases too: both sides of a partner are ready.
      const c = chan<number>(N);
      let ones = 0;
      for (let i = 0; i < N; i++) {
        yield* select([send(c, 1), send(c, 0)]);
        ones += (yield* c.recv());
      }
      assert.ok(Math.abs(ones / N - 0.5) < 0.03, `send cases: ${ones} ones of ${N}`);
    });
  });

  it("fairness holds for any seed, not only a lucky one", async function () {
    for (const seed of [1, 2, 0xdeadbeef, 0]) {
      seedRand(seed);
      await run(function* main() {
        const a = chan<number>(1);
        const b = chan<number>(1);
        yield* a.send(0);
        yield* b.send(0);
        let n0 = 0;
        for (let i = 0; i < 4000; i++) {
          const r = yield* select([recv(a), recv(b)]);
          if (r.index === 0) {
            n0++;
            yield* a.send(0);
          } else {
            yield* b.send(0);
          }
        }
        assert.ok(Math.abs(n0 / 4000 - 0.5) < 0.05, `seed ${seed}: ${n0} of 4000`);
      });
    }
  });

  it("TestPseudoRandomSend: a select of two sends to one receiver sends both values", async function () {
    await run(function* main() {
      const n = 100;
      for (const cap of [0, n]) {
        const c = chan<number>(cap);
        const l: number[] = [];
        const h = go(function* () {
          for (let i = 0; i < n; i++) {
            yield* gosched();
            l.push(yield* c.recv());
          }
        });
        for (let i = 0; i < n; i++) yield* select([send(c, 1), send(c, 0)]);
        yield* h.join();
        const n1 = l.reduce((s, v) => s + v, 0);
        const n0 = n - n1;
        assert.ok(n0 > n / 10 && n1 > n / 10, `want pseudorandom, got ${n0} zeros and ${n1} ones (cap ${cap})`);
      }
    });
  });

  it("the same seed gives the same choices", async function () {
    const choices = async (): Promise<number[]> =>
      run(function* main() {
        const cs = [chan<number>(100), chan<number>(100), chan<number>(100)];
        for (const c of cs) for (let i = 0; i < 30; i++) yield* c.send(i);
        const out: number[] = [];
        for (let i = 0; i < 30; i++) out.push((yield* select([recv(cs[0]!), recv(cs[1]!), recv(cs[2]!)])).index);
        return out;
      });
    seedRand(99);
    const x = await choices();
    seedRand(99);
    const y = await choices();
    assert.deepEqual(x, y);
    assert.ok(new Set(x).size === 3);
  });

  it("results are typed per case (checked by tsc)", async function () {
    await run(function* main() {
      const nums = chan<number>(1);
      const strs = chan<string>(1);
      const flags = chan<boolean>(1);
      yield* strs.send("s");
      const r = yield* select([recv(nums), recv(strs), send(flags, true)]);
      if (r.index === 0) {
        const v: number = r.value;
        void v;
        // @ts-expect-error a number case does not give a string
        const w: string = r.value;
        void w;
      } else if (r.index === 1) {
        const v: string = r.value;
        assert.equal(v, "s");
      } else {
        const v: undefined = r.value;
        const ok: true = r.ok;
        void v;
        void ok;
      }
      // @ts-expect-error without default, index -1 cannot happen
      if (r.index === -1) assert.fail();
      const d = yield* select([recv(nums)], { default: true });
      if (d.index === -1) {
        const ok: false = d.ok;
        assert.equal(ok, false);
      } else {
        const v: number = d.value;
        void v;
      }
      // @ts-expect-error the value must match the channel's element type
      void send(nums, "not a number");
    });
  });

  it("rejects cases that are not recv()/send() and channels not made by chan()", async function () {
    await run(function* main() {
      let caught: unknown = null;
      try {
        yield* select([{} as never]);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof TypeError);
      assert.throws(() => recv({} as Chan<number>), TypeError);
    });
  });
});

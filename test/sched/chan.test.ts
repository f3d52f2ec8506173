// Channel semantics, after Go's runtime/chan_test.go (TestChan, TestNonblockRecvRace,
// TestMultiConsumer...): blocking, FIFO order, hand-off, len/cap, close, panics.

import assert from "node:assert/strict";

import {
  PanicError,
  RuntimeError,
  chan,
  go,
  gosched,
  holdExternal,
  run,
  select,
  recv,
  send,
  type Chan,
  type Goroutine,
  type Op,
} from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";

/** Lets every other runnable goroutine run for a while. */
function* settle(n = 20): Op<void> {
  for (let i = 0; i < n; i++) yield* gosched();
}

function* joinAll(hs: Goroutine<unknown>[]): Op<void> {
  for (const h of hs) yield* h.join();
}

describe("sched: channels", function () {
  afterEach(checkNoLeaks);

  it("TestChan: blocking, non-blocking, close, FIFO and len/cap for caps 0..16", async function () {
    await run(function* main() {
      for (let cap = 0; cap <= 16; cap++) {
        {
          // A receive from an empty channel blocks.
          const c = chan<number>(cap);
          let recv1 = false;
          let recv2 = false;
          go(function* () {
            yield* c.recv();
            recv1 = true;
          });
          go(function* () {
            yield* c.recvOk();
            recv2 = true;
          });
          yield* settle();
          assert.equal(recv1 || recv2, false, `chan[${cap}]: receive from empty chan`);
          // ... and a non-blocking one does not.
          assert.equal(c.tryRecv(), null);
          const r = yield* select([recv(c)], { default: true });
          assert.equal(r.index, -1, `chan[${cap}]: select received from empty chan`);
          yield* c.send(0);
          yield* c.send(0);
          yield* settle();
          assert.ok(recv1 && recv2, `chan[${cap}]: receivers not woken`);
        }
        {
          // A send to a full channel blocks.
          const c = chan<number>(cap);
          for (let i = 0; i < cap; i++) yield* c.send(i);
          let sent = false;
          go(function* () {
            yield* c.send(0);
            sent = true;
          });
          yield* settle();
          assert.equal(sent, false, `chan[${cap}]: send to full chan`);
          assert.equal(c.trySend(0), false, `chan[${cap}]: trySend to full chan`);
          const r = yield* select([send(c, 0)], { default: true });
          assert.equal(r.index, -1);
          yield* c.recv();
          yield* settle();
          assert.equal(sent, true, `chan[${cap}]: blocked sender not woken by receive`);
        }
        {
          // A closed channel yields its buffer, then zero values.
          const c = chan<number>(cap, 0);
          for (let i = 0; i < cap; i++) yield* c.send(i);
          c.close();
          for (let i = 0; i < cap; i++) assert.equal(yield* c.recv(), i);
          assert.equal(yield* c.recv(), 0);
          assert.deepEqual(yield* c.recvOk(), [0, false]);
        }
        {
          // Close unblocks a receive.
          const c = chan<number>(cap, 0);
          const done = chan<boolean>();
          go(function* () {
            const [v, ok] = yield* c.recvOk();
            yield* done.send(v === 0 && ok === false);
          });
          yield* settle();
          c.close();
          assert.equal(yield* done.recv(), true, `chan[${cap}]: received non zero from closed chan`);
        }
        {
          // 100 integers arrive in FIFO order, with recv and with recvOk.
          const c = chan<number>(cap);
          go(function* () {
            for (let i = 0; i < 100; i++) yield* c.send(i);
          });
          for (let i = 0; i < 100; i++) assert.equal(yield* c.recv(), i);
          go(function* () {
            for (let i = 0; i < 100; i++) yield* c.send(i);
          });
          for (let i = 0; i < 100; i++) assert.deepEqual(yield* c.recvOk(), [i, true]);

          // 4 senders and 4 receivers of 1000 values each: every value arrives P times.
          const P = 4;
          const L = 1000;
          for (let p = 0; p < P; p++) {
            go(function* () {
              for (let i = 0; i < L; i++) yield* c.send(i);
            });
          }
          const done = chan<Map<number, number>>();
          for (let p = 0; p < P; p++) {
            go(function* () {
              const got = new Map<number, number>();
              for (let i = 0; i < L; i++) {
                const v = yield* c.recv();
                got.set(v, (got.get(v) ?? 0) + 1);
              }
              yield* done.send(got);
            });
          }
          const total = new Map<number, number>();
          for (let p = 0; p < P; p++) {
            for (const [k, n] of yield* done.recv()) total.set(k, (total.get(k) ?? 0) + n);
          }
          assert.equal(total.size, L);
          for (const n of total.values()) assert.equal(n, P);
        }
        {
          const c = chan<number>(cap);
          assert.equal(c.len, 0);
          assert.equal(c.cap, cap);
          for (let i = 0; i < cap; i++) yield* c.send(i);
          assert.equal(c.len, cap);
          assert.equal(c.cap, cap);
        }
      }
    });
  });

  it("blocked senders and receivers are served in FIFO order", async function () {
    await run(function* main() {
      // Receivers, in the order they blocked.
      const c = chan<number>();
      const out = chan<string>(10);
      for (const name of ["a", "b", "c"]) {
        go(function* () {
          const v = yield* c.recv();
          yield* out.send(`${name}${v}`);
        });
        yield* settle(2);
      }
      for (let i = 1; i <= 3; i++) yield* c.send(i);
      const got = [yield* out.recv(), yield* out.recv(), yield* out.recv()].sort();
      assert.deepEqual(got, ["a1", "b2", "c3"]);

      // Senders on a full buffer: buffer first, then blocked senders in order.
      const b = chan<number>(2);
      yield* b.send(1);
      yield* b.send(2);
      for (const v of [3, 4, 5]) {
        go(function* () {
          yield* b.send(v);
        });
        yield* settle(2);
      }
      assert.equal(b.len, 2);
      const vs: number[] = [];
      for (let i = 0; i < 5; i++) vs.push(yield* b.recv());
      assert.deepEqual(vs, [1, 2, 3, 4, 5]);
      assert.equal(b.len, 0);
    });
  });

  it("a send hands the value straight to a waiting receiver, which runs next", async function () {
    await run(function* main() {
      for (const cap of [0, 4]) {
        const c = chan<string>(cap);
        const log: string[] = [];
        go(function* receiver() {
          log.push(`got ${yield* c.recv()}`);
        });
        yield* settle();
        // Runnable before the send, yet the woken receiver goes ahead of it (runnext).
        go(function* bystander() {
          log.push("bystander");
        });
        yield* c.send("x");
        // The value bypassed the buffer.
        assert.equal(c.len, 0, `cap ${cap}`);
        log.push("sent");
        yield* gosched();
        assert.deepEqual(log, ["sent", "got x", "bystander"], `cap ${cap}`);
      }
    });
  });

  it("len and cap follow the buffer", async function () {
    await run(function* main() {
      const c = chan<number>(3);
      assert.equal(c.cap, 3);
      assert.equal(c.len, 0);
      yield* c.send(1);
      yield* c.send(2);
      assert.equal(c.len, 2);
      yield* c.recv();
      assert.equal(c.len, 1);
      c.close();
      assert.equal(c.len, 1);
      yield* c.recv();
      assert.equal(c.len, 0);
      const u = chan<number>();
      assert.equal(u.cap, 0);
      assert.equal(u.len, 0);
      // A huge capacity costs nothing up front.
      const big = chan<number>(1e9);
      assert.equal(big.cap, 1e9);
      for (let i = 0; i < 100; i++) assert.equal(big.trySend(i), true);
      assert.equal(big.len, 100);
      for (let i = 0; i < 100; i++) assert.deepEqual(big.tryRecv(), [i, true]);
    });
  });

  it("recvOk reports false only once a closed channel is drained", async function () {
    await run(function* main() {
      const c = chan<string>(2);
      yield* c.send("a");
      yield* c.send("b");
      c.close();
      assert.deepEqual(yield* c.recvOk(), ["a", true]);
      assert.deepEqual(yield* c.recvOk(), ["b", true]);
      assert.deepEqual(yield* c.recvOk(), [undefined, false]);
      assert.deepEqual(yield* c.recvOk(), [undefined, false]);
      assert.equal(yield* c.recv(), undefined);
    });
  });

  it("a closed channel yields the zero value given to chan(cap, zero)", async function () {
    await run(function* main() {
      for (const cap of [0, 1]) {
        const c = chan<string>(cap, "none");
        const r = go(function* () {
          return yield* c.recvOk();
        });
        yield* settle();
        c.close();
        assert.deepEqual(yield* r.join(), ["none", false]);
        assert.equal(yield* c.recv(), "none");
        assert.deepEqual(c.tryRecv(), ["none", false]);
        const s = yield* select([recv(c)]);
        assert.deepEqual([s.value, s.ok], ["none", false]);
      }
    });
  });

  it("send on a closed channel panics; try/catch in the goroutine recovers", async function () {
    const v = await run(function* main() {
      const c = chan<number>(1);
      c.close();
      let caught: unknown = null;
      try {
        yield* c.send(1);
      } catch (e) {
        caught = e;
      }
      assert.ok(caught instanceof RuntimeError);
      assert.equal(caught.message, "send on closed channel");
      // A sender blocked when the channel closes panics too.
      const d = chan<number>();
      const h = go(function* () {
        try {
          yield* d.send(1);
          return "sent";
        } catch (e) {
          return e instanceof RuntimeError ? e.message : "other";
        }
      });
      yield* settle();
      d.close();
      assert.equal(yield* h.join(), "send on closed channel");
      return "recovered";
    });
    assert.equal(v, "recovered");
  });

  it("an unrecovered send on a closed channel fails the program with a PanicError", async function () {
    let id = -1;
    await assert.rejects(
      run(function* main() {
        const c = chan<number>();
        c.close();
        const h = go(function* sender() {
          yield* c.send(1);
        });
        id = h.id;
        yield* h.join();
        return "unreachable";
      }),
      (e: unknown) => {
        assert.ok(e instanceof PanicError);
        assert.equal(e.goroutineId, id);
        assert.ok(e.value instanceof RuntimeError);
        assert.equal((e.value as Error).message, "send on closed channel");
        assert.equal(e.cause, e.value);
        assert.match(e.message, /^panic: RuntimeError: send on closed channel\n/);
        assert.match(e.message, new RegExp(`goroutine ${id} \\[running\\]:`));
        return true;
      },
    );
  });

  it("close of a closed channel panics", async function () {
    await run(function* main() {
      const c = chan<number>();
      c.close();
      assert.throws(() => c.close(), (e: unknown) => e instanceof RuntimeError && e.message === "close of closed channel");
    });
    // Also outside any program.
    const c = chan<number>(1);
    c.close();
    assert.throws(() => c.close(), RuntimeError);
  });

  it("close wakes every blocked receiver and sender", async function () {
    await run(function* main() {
      const r = chan<number>(0, -1);
      const receivers = [];
      for (let i = 0; i < 5; i++) receivers.push(go(function* () {
        return yield* r.recvOk();
      }));
      const s = chan<number>();
      const senders = [];
      for (let i = 0; i < 5; i++) senders.push(go(function* () {
        try {
          yield* s.send(i);
          return "sent";
        } catch (e) {
          return (e as Error).message;
        }
      }));
      yield* settle();
      r.close();
      s.close();
      for (const h of receivers) assert.deepEqual(yield* h.join(), [-1, false]);
      for (const h of senders) assert.equal(yield* h.join(), "send on closed channel");
    });
  });

  it("trySend and tryRecv never block, inside or outside goroutines", async function () {
    // Outside any program.
    const c = chan<number>(1);
    assert.equal(c.tryRecv(), null);
    assert.equal(c.trySend(1), true);
    assert.equal(c.trySend(2), false);
    assert.deepEqual(c.tryRecv(), [1, true]);
    assert.equal(c.tryRecv(), null);
    c.close();
    assert.deepEqual(c.tryRecv(), [undefined, false]);
    assert.throws(() => c.trySend(3), (e: unknown) => e instanceof RuntimeError && e.message === "send on closed channel");
    const u = chan<number>();
    assert.equal(u.trySend(1), false, "unbuffered, nobody waiting");
    assert.equal(u.tryRecv(), null);

    await run(function* main() {
      // trySend hands over to a waiting receiver; tryRecv takes from a waiting sender.
      const d = chan<number>();
      const h = go(function* () {
        return yield* d.recv();
      });
      yield* settle();
      assert.equal(d.trySend(7), true);
      assert.equal(yield* h.join(), 7);
      go(function* () {
        yield* d.send(8);
      });
      yield* settle();
      assert.deepEqual(d.tryRecv(), [8, true]);
      assert.equal(d.tryRecv(), null);
    });

    // From async code while a program runs (holding an external reference, or
    // the idle program would be deadlocked): wakes the receiving goroutine.
    const e = chan<string>();
    let release: (() => void) | null = null;
    const p = run(function* main() {
      release = holdExternal();
      return yield* e.recv();
    });
    await new Promise((r) => setTimeout(r, 5));
    assert.equal(e.trySend("from outside"), true);
    release!();
    assert.equal(await p, "from outside");
  });

  it("forEach runs until the channel is closed and drained, or the body returns false", async function () {
    await run(function* main() {
      const c = chan<number>(3);
      go(function* () {
        for (let i = 1; i <= 10; i++) yield* c.send(i);
        c.close();
      });
      const seen: number[] = [];
      yield* c.forEach(function* (v) {
        seen.push(v);
      });
      assert.deepEqual(seen, [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);

      const d = chan<number>(10);
      for (let i = 1; i <= 5; i++) yield* d.send(i);
      const got: number[] = [];
      yield* d.forEach(function* (v) {
        got.push(v);
        return v < 3;
      });
      assert.deepEqual(got, [1, 2, 3]);
      assert.equal(d.len, 2, "forEach took values after its body said stop");
    });
  });

  it("range() receives every value in order, blocking and not, and ends once closed and drained", async function () {
    await run(function* main() {
      for (const cap of [0, 1, 4]) {
        const c = chan<string>(cap, "zero");
        go(function* () {
          for (let i = 0; i < 20; i++) {
            yield* c.send(`v${i}`);
            if (i % 3 === 0) yield* gosched();
          }
          c.close();
        });
        const seen: string[] = [];
        const r = c.range();
        while (yield* r.next()) seen.push(r.value);
        assert.deepEqual(seen, Array.from({ length: 20 }, (_, i) => `v${i}`), `cap ${cap}`);
        assert.equal(r.value, "zero", "after the last value, range shows the zero value");
        assert.equal(yield* r.next(), false, "a finished range stays finished");
      }
    });
  });

  it("an op reused from a channel's cache does not carry over a previous value or goroutine", async function () {
    await run(function* main() {
      const c = chan<number>();
      const got: number[] = [];
      // Two receivers block on the same channel; each must get its own value.
      const a = go(function* () { return yield* c.recv(); });
      const b = go(function* () { return yield* c.recv(); });
      yield* gosched();
      yield* c.send(1);
      yield* c.send(2);
      got.push(yield* a.join(), yield* b.join());
      assert.deepEqual(got.sort(), [1, 2]);
      // An op taken and not yet used is not handed to anyone else.
      const held = c.recv();
      go(function* () { yield* c.send(3); });
      go(function* () { yield* c.send(4); });
      const other = yield* c.recv();
      const mine = yield* held;
      assert.deepEqual([other, mine].sort(), [3, 4]);
    });
  });

  it("chan() rejects a negative or non-integer capacity with RangeError", function () {
    assert.throws(() => chan(-1), RangeError);
    assert.throws(() => chan(1.5), RangeError);
    assert.throws(() => chan(Number.NaN), RangeError);
    assert.throws(() => chan(Infinity), RangeError);
    assert.equal(chan(0).cap, 0);
  });

  it("TestNonblockRecvRace: a ready buffered value is seen by a non-blocking receive", async function () {
    await run(function* main() {
      for (let i = 0; i < 1000; i++) {
        const c = chan<number>(1);
        yield* c.send(1);
        const h = go(function* () {
          const r = yield* select([recv(c)], { default: true });
          return r.index;
        });
        c.close();
        yield* c.recv();
        assert.equal(yield* h.join(), 0, "chan is not ready");
      }
    });
  });

  it("TestMultiConsumer: workers fan out and in with the right count and sum", async function () {
    await run(function* main() {
      const nwork = 23;
      const niter = 27183;
      const pn = [2, 3, 7, 11, 13, 17, 19, 23, 27, 31];
      const q = chan<number>(nwork * 3);
      const r = chan<number>(nwork * 3);
      const workers: Goroutine<void>[] = [];
      for (let w = 0; w < nwork; w++) {
        workers.push(go(function* worker() {
          yield* q.forEach(function* (v) {
            if (pn[w % pn.length] === v) yield* gosched();
            yield* r.send(v);
          });
        }));
      }
      let expect = 0;
      go(function* feeder() {
        for (let i = 0; i < niter; i++) {
          const v = pn[i % pn.length]!;
          expect += v;
          yield* q.send(v);
        }
        q.close();
        yield* joinAll(workers);
        r.close();
      });
      let n = 0;
      let s = 0;
      yield* r.forEach(function* (v) {
        n++;
        s += v;
      });
      assert.equal(n, niter);
      assert.equal(s, expect);
    });
  });

  it("many producers and consumers: every value delivered exactly once (checksums)", async function () {
    for (const cap of [0, 1, 7, 100]) {
      await run(function* main() {
        const P = 8;
        const C = 5;
        const N = 500;
        const c: Chan<number> = chan<number>(cap);
        const producers: Goroutine<void>[] = [];
        for (let p = 0; p < P; p++) {
          producers.push(go(function* producer() {
            for (let i = 0; i < N; i++) {
              yield* c.send(p * N + i);
              if (i % 97 === p) yield* gosched();
            }
          }));
        }
        const consumers: Goroutine<[number, number, number]>[] = [];
        for (let k = 0; k < C; k++) {
          consumers.push(go(function* consumer() {
            let count = 0;
            let sum = 0;
            let xor = 0;
            yield* c.forEach(function* (v) {
              count++;
              sum += v;
              xor ^= v * 2654435761;
            });
            return [count, sum, xor] as [number, number, number];
          }));
        }
        yield* joinAll(producers);
        c.close();
        let count = 0;
        let sum = 0;
        let xor = 0;
        for (const h of consumers) {
          const [n, s, x] = yield* h.join();
          count += n;
          sum += s;
          xor ^= x;
        }
        const total = P * N;
        let wantXor = 0;
        for (let v = 0; v < total; v++) wantXor ^= v * 2654435761;
        assert.equal(count, total, `cap ${cap}: count`);
        assert.equal(sum, (total * (total - 1)) / 2, `cap ${cap}: sum`);
        assert.equal(xor, wantXor, `cap ${cap}: xor`);
      });
    }
  });
});

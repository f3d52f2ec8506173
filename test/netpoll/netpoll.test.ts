// The network poller against real descriptors, once per backend: epoll, and
// event ports (on Linux through native/portemu). Each test is one invariant
// of ../shared/netpoll-protocol.md section 6 (the letter and number are
// given). The poller is one per process: each backend's block starts it and
// stops it, and the lifecycle block checks that stopPoller really stops the
// worker thread, releases the kernel poller, and that the other backend
// starts after it.
//
// Every test is bounded: waits that would hang on a lost wake-up carry a
// deadline, and what must not happen is checked by a deadline that expires.
// After each test: no goroutine parked on I/O, PollDescs and descriptors
// back to the baseline, the scheduler at rest.

import assert from "node:assert/strict";
import { once } from "node:events";
import { readdirSync, readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { Worker } from "node:worker_threads";
import koffi from "koffi";

import {
  ERR_CLOSING,
  ERR_NONE,
  ERR_TIMEOUT,
  MODE_R,
  MODE_W,
  ioWaiters,
  openPollDescs,
  pollClose,
  pollerKind,
  pollOpen,
  pollReset,
  pollUnblock,
  pollWait,
  setDeadline,
  startPoller,
  stopPoller,
  type PollErr,
} from "../../src/netpoll/netpoll.ts";
import { type BackendKind } from "../../src/netpoll/backend.ts";
import { pollerWorkerScript } from "../../src/netpoll/worker-bundle.ts";
import { portPollBits as POLL } from "../../src/netpoll/eventport_ffi.ts";
import {
  CTL_DOWN,
  CTL_FAULT,
  CTL_INPOLL,
  CTL_MODE,
  CTL_UP,
  MODE_POLL,
  PD_FDSEQ,
  PD_USER,
  SEM_NIL,
  SEM_PARKED,
  SEM_READY,
  cookieOf,
  pdw,
  createShm,
  semWord,
  type Shm,
} from "../../src/netpoll/shm.ts";
import { abi } from "../../src/runtime/abi/index.ts";
import { PanicError, go, gosched, run, sleep, wait, type Op } from "../../src/sched/index.ts";
import {
  EAGAIN,
  EPIPE,
  closeFd,
  drain,
  fill,
  isReady,
  pipe,
  portEmu,
  readFd,
  readOp,
  shutdownFd,
  socketPair,
  writeFd,
  writeOp,
} from "../support/netpoll-fds.ts";
import { killChildren, startTs } from "../support/child.ts";
import { baseline, checkLeaks, fdTable, startAndWarmUp, waitUntil, type Baseline, type Started } from "../support/netpoll-harness.ts";

const ONE = Uint8Array.of(1);

function spinUs(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

/** Opens a socket pair and a PollDesc for its second end: [peer, fd, pd]. */
function openPair(): [number, number, number] {
  const [a, b] = socketPair();
  return [a, b, pollOpen(b)];
}

/** Close as internal/poll does it: evict (pollUnblock), deregister and free (pollClose), then close(2). */
function closePd(pd: number, ...fds: number[]): void {
  pollUnblock(pd);
  pollClose(pd);
  for (const fd of fds) closeFd(fd);
}

/**
 * The wait of one operation, as Go's operation loops do it but without
 * consuming data: pollReset, then pollWait until the descriptor really is
 * ready (poll(2) says a read or write would not fail with EAGAIN) or the wait
 * fails. A wait can end with ERR_NONE for nothing (B4: readiness published
 * for a registration edge, or consumed meanwhile): the loop waits again, as
 * an operation retrying its syscall would. wakes.n counts the ERR_NONE ends.
 * For writes the socket buffer is filled first.
 */
function* waitReady(pd: number, mode: typeof MODE_R | typeof MODE_W, fd: number, wakes?: { n: number }): Op<PollErr> {
  let err = pollReset(pd, mode);
  if (err !== ERR_NONE) return err;
  if (mode === MODE_W) fill(fd);
  for (;;) {
    if (isReady(fd, mode)) return ERR_NONE;
    err = yield* pollWait(pd, mode);
    if (err !== ERR_NONE) return err;
    if (wakes !== undefined) wakes.n++;
  }
}

// ---- the writer thread of the lost-wake-up test ----------------------------------------

// Writes one byte to workerData.fd each time ctl[0] changes, after a random
// busy-wait of up to workerData.maxUs microseconds; ctl[0] < 0 stops it.
const writerSource = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const ctl = new Int32Array(workerData.sab);
const one = Buffer.from([1]);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  const req = Atomics.load(ctl, 0);
  if (req < 0) break;
  seen = req;
  const end = performance.now() + (Math.random() * workerData.maxUs) / 1000;
  while (performance.now() < end);
  fs.writeSync(workerData.fd, one);
}
`;

// ---- the suite, once per backend --------------------------------------------------------

function suite(backend: BackendKind): void {
  let started: Started;
  let preStart: Map<number, string>;
  let base: Baseline;

  before(async function () {
    this.timeout(30000);
    assert.equal(pollerKind(), null, "a poller is still running from an earlier block");
    preStart = fdTable();
    started = await startAndWarmUp(backend);
    base = baseline();
  });

  after(async function () {
    this.timeout(10000);
    await stopPoller();
    assert.equal(pollerKind(), null);
    await checkLeaks({ fds: preStart, pds: 0 });
  });

  afterEach(async function () {
    await checkLeaks(base);
  });

  const shm = (): Shm => started.shm;

  it("runs on the requested backend, its worker thread in the kernel poller", function () {
    assert.equal(pollerKind(), backend);
    assert.equal(started.kind, backend);
    assert.equal(openPollDescs(), 0);
  });

  it("B1: no lost wake-up between EAGAIN and park (a thread writes at random moments)", async function () {
    this.timeout(60000);
    const [k, kb, keep] = openPair();
    const [a, b] = socketPair();
    const sab = new SharedArrayBuffer(8);
    const ctl = new Int32Array(sab);
    const writer = new Worker(writerSource, { eval: true, workerData: { sab, fd: a, maxUs: 150 } });
    const exited = new Promise((resolve) => writer.once("exit", resolve));
    const i32 = shm().i32;
    const ITER = 1000;
    const phases = ["handoff", "busy", "mixed", "window"] as const;
    const stats = Object.fromEntries(phases.map((p) => [p, { waited: 0, immediate: 0, readyBeforePark: 0 }]));
    let req = 0;
    try {
      await run(function* main() {
        const pd = pollOpen(b);
        const buf = new Uint8Array(16);
        // A goroutine parked elsewhere, so that the poller thread polls
        // whenever the main thread idles.
        const keeper = go(function* () {
          return yield* pollWait(keep, MODE_R);
        });
        // handoff: the main thread idles while the reader waits, the poller
        //   thread takes the event and hands the goroutine over;
        // busy: another goroutine keeps the main thread running, it polls
        //   for itself between goroutines;
        // mixed: both;
        // window: the poller thread is blocked in the kernel while the
        //   reader, after EAGAIN, dawdles up to 200 µs before it waits, so
        //   the readiness is often published in between (SEM_READY before
        //   the park), which the wait must consume.
        for (const phase of phases) {
          const st = stats[phase]!;
          let spinning = phase === "busy" || phase === "mixed";
          const spinner = go(function* spin() {
            let i = 0;
            while (spinning) {
              if (phase === "mixed" && ++i % 50 === 0) yield* sleep(0.2);
              else yield* gosched();
            }
          });
          // ITER iterations, more (up to 5x) while fewer than a tenth had to
          // wait: on a loaded machine the writer thread often wins outright.
          for (let i = 0; i < 5 * ITER && (i < ITER || st.waited < ITER / 10); i++) {
            if (phase === "window") {
              if (Atomics.load(i32, CTL_MODE) !== MODE_POLL) yield* wait(new Promise((r) => setImmediate(r)));
              const end = performance.now() + 2;
              while (Atomics.load(i32, CTL_INPOLL) !== 1 && performance.now() < end);
            }
            Atomics.store(ctl, 0, ++req);
            Atomics.notify(ctl, 0);
            setDeadline(pd, MODE_R, performance.now() + 5000);
            // readOp, counting whether it had to wait.
            let err = pollReset(pd, MODE_R);
            assert.equal(err, ERR_NONE);
            let n: number;
            let parked = false;
            for (;;) {
              n = readFd(b, buf);
              if (n !== -EAGAIN) break;
              parked = true;
              if (phase === "window") spinUs(Math.random() * 200);
              if (Atomics.load(i32, semWord(shm(), pd, MODE_R)) === SEM_READY) st.readyBeforePark++;
              err = yield* pollWait(pd, MODE_R);
              assert.equal(err, ERR_NONE, `${phase} iteration ${i}: a wake-up was lost (wait ended with ${err})`);
            }
            assert.equal(n, 1, `${phase} iteration ${i}: read gave ${n}`);
            if (parked) st.waited++;
            else st.immediate++;
          }
          spinning = false;
          yield* spinner.join();
        }
        setDeadline(pd, MODE_R, null);
        closePd(pd);
        closePd(keep);
        assert.equal(yield* keeper.join(), ERR_CLOSING);
      });
    } finally {
      Atomics.store(ctl, 0, -1);
      Atomics.notify(ctl, 0);
      await exited;
      for (const fd of [a, b, k, kb]) closeFd(fd);
    }
    if (process.env.NETPOLL_TEST_VERBOSE) console.log(`      ${JSON.stringify(stats)}`);
    // The writer raced the reader: in every phase reads had to wait.
    for (const p of phases) assert.ok(stats[p]!.waited >= ITER / 10, `${p}: only ${stats[p]!.waited} reads waited`);
    // Epoll publishes the readiness on its own (no arm needed), so the window was hit.
    if (backend === "epoll") assert.ok(stats.window!.readyBeforePark > 0, "readiness never arrived between EAGAIN and park");
  });

  it("B2: readiness before anyone waits is remembered once", async function () {
    const [k, kb, keep] = openPair();
    const [a, b, pd] = openPair();
    await run(function* main() {
      // A goroutine parked elsewhere keeps the poller polling.
      const keeper = go(function* () {
        return yield* pollWait(keep, MODE_R);
      });
      // Event ports arm on wait: wait once (it times out) so POLLIN is associated.
      setDeadline(pd, MODE_R, performance.now() + 5);
      assert.equal(yield* waitReady(pd, MODE_R, b), ERR_TIMEOUT);
      setDeadline(pd, MODE_R, null);
      assert.equal(Atomics.load(shm().i32, semWord(shm(), pd, MODE_R)), SEM_NIL);

      writeFd(a, ONE);
      yield* waitUntil(() => Atomics.load(shm().i32, semWord(shm(), pd, MODE_R)) === SEM_READY, "readiness to be published");
      // The next wait returns at once: it does not park (a goroutine made
      // runnable just before would run first if it did).
      let ranMeanwhile = false;
      go(function* () {
        ranMeanwhile = true;
      });
      assert.equal(yield* pollWait(pd, MODE_R), ERR_NONE);
      assert.equal(ranMeanwhile, false, "the wait parked although readiness was remembered");
      assert.equal(readFd(b, new Uint8Array(16)), 1);
      yield* sleep(20); // let an event of the re-armed association (event ports) land, if any
      // A second operation's wait parks: the readiness was consumed.
      setDeadline(pd, MODE_R, performance.now() + 30);
      const t = performance.now();
      assert.equal(yield* waitReady(pd, MODE_R, b), ERR_TIMEOUT);
      assert.ok(performance.now() - t >= 25, "the second wait did not park");
      setDeadline(pd, MODE_R, null);
      closePd(keep);
      assert.equal(yield* keeper.join(), ERR_CLOSING);
      closePd(pd);
    });
    for (const fd of [k, kb, a, b]) closeFd(fd);
  });

  for (const mode of [MODE_R, MODE_W] as const) {
    const dir = mode === MODE_R ? "read" : "write";
    it(`B3: a second ${dir} wait on a parked PollDesc throws "double wait"; the first waiter is unharmed`, async function () {
      const [a, b, pd] = openPair();
      await run(function* main() {
        setDeadline(pd, mode, performance.now() + 5000);
        const first = go(function* () {
          return yield* waitReady(pd, mode, b);
        });
        yield* waitUntil(() => ioWaiters() === 1, "the first waiter to park");
        // Let a stray readiness (the registration's edge, under epoll) land
        // first: the first waiter must be parked, not just readied, when the
        // second comes.
        yield* sleep(20);
        yield* waitUntil(() => ioWaiters() === 1, "the first waiter to park again");
        assert.equal(Atomics.load(shm().i32, semWord(shm(), pd, mode)), SEM_PARKED);
        let caught: unknown = null;
        const second = go(function* () {
          try {
            yield* pollWait(pd, mode);
          } catch (e) {
            caught = e;
          }
        });
        yield* second.join();
        assert.ok(caught instanceof Error && caught.message === "netpoll: double wait", `got ${String(caught)}`);
        assert.equal(ioWaiters(), 1);
        // The first waiter still gets its readiness.
        if (mode === MODE_R) writeFd(a, ONE);
        else drain(a);
        assert.equal(yield* first.join(), ERR_NONE);
        setDeadline(pd, mode, null);
        closePd(pd);
      });
      closeFd(a);
      closeFd(b);
    });
  }

  it("B3: an uncaught double wait panics the program", async function () {
    const [a, b, pd] = openPair();
    await assert.rejects(
      run(function* main() {
        go(function* () {
          yield* waitReady(pd, MODE_R, b);
        });
        yield* waitUntil(() => ioWaiters() === 1, "the first waiter to park");
        yield* pollWait(pd, MODE_R);
      }),
      (e: unknown) => e instanceof PanicError && /netpoll: double wait/.test(e.message),
    );
    // The program's end dropped the parked goroutine.
    assert.equal(ioWaiters(), 0);
    closePd(pd, a, b);
  });

  it("A4: close wakes every waiter (reader and writer on one PollDesc) with ERR_CLOSING, then ops fail fast", async function () {
    const [a, b, pd] = openPair();
    await run(function* main() {
      const reader = go(function* () {
        return yield* readOp(pd, b, new Uint8Array(16));
      });
      const writer = go(function* () {
        for (;;) {
          const r = yield* writeOp(pd, b, new Uint8Array(65536));
          if (r.err !== ERR_NONE || r.n < 0) return r;
        }
      });
      yield* waitUntil(() => ioWaiters() === 2, "reader and writer to park");
      pollUnblock(pd);
      assert.deepEqual(yield* reader.join(), { n: 0, err: ERR_CLOSING });
      assert.deepEqual(yield* writer.join(), { n: 0, err: ERR_CLOSING });
      // After Close: everything fails fast with the closing error.
      assert.equal(pollReset(pd, MODE_R), ERR_CLOSING);
      assert.equal(pollReset(pd, MODE_W), ERR_CLOSING);
      assert.equal(yield* pollWait(pd, MODE_R), ERR_CLOSING);
      assert.equal(setDeadline(pd, MODE_R | MODE_W, performance.now() + 10), ERR_CLOSING);
      assert.throws(() => pollUnblock(pd), /unblock on closing polldesc/);
      pollClose(pd);
    });
    closeFd(a);
    closeFd(b);
  });

  it("A4: close at random moments, before or after the waiters park, always ends both with ERR_CLOSING", async function () {
    this.timeout(30000);
    await run(function* main() {
      for (let i = 0; i < 200; i++) {
        const [a, b, pd] = openPair();
        const reader = go(function* () {
          return (yield* readOp(pd, b, new Uint8Array(16))).err;
        });
        const writer = go(function* () {
          for (;;) {
            const r = yield* writeOp(pd, b, new Uint8Array(65536));
            if (r.err !== ERR_NONE) return r.err;
          }
        });
        const r = Math.random();
        if (r < 0.3) yield* gosched();
        else if (r < 0.6) yield* sleep(Math.random());
        else if (r < 0.9) yield* waitUntil(() => ioWaiters() === 2, "the waiters to park");
        pollUnblock(pd);
        assert.equal(yield* reader.join(), ERR_CLOSING, `iteration ${i}: reader`);
        assert.equal(yield* writer.join(), ERR_CLOSING, `iteration ${i}: writer`);
        pollClose(pd);
        closeFd(a);
        closeFd(b);
      }
    });
  });

  describe("C: deadlines", function () {
    it("C1: a deadline wakes a parked reader with ERR_TIMEOUT; later ops fail fast until it is reset", async function () {
      const [a, b, pd] = openPair();
      await run(function* main() {
        const t = performance.now();
        setDeadline(pd, MODE_R, t + 20);
        assert.deepEqual(yield* readOp(pd, b, new Uint8Array(16)), { n: 0, err: ERR_TIMEOUT });
        const took = performance.now() - t;
        assert.ok(took >= 19 && took < 2000, `timed out after ${took} ms`);
        assert.equal(pollReset(pd, MODE_R), ERR_TIMEOUT);
        assert.equal(yield* pollWait(pd, MODE_R), ERR_TIMEOUT);
        // The write direction has no deadline.
        assert.equal(pollReset(pd, MODE_W), ERR_NONE);
        setDeadline(pd, MODE_R, null);
        assert.equal(pollReset(pd, MODE_R), ERR_NONE);
        writeFd(a, ONE);
        assert.deepEqual(yield* readOp(pd, b, new Uint8Array(16)), { n: 1, err: ERR_NONE });
        closePd(pd);
      });
      closeFd(a);
      closeFd(b);
    });

    it("C1: a write deadline, and one deadline for both directions, time out both waiters", async function () {
      const [a, b, pd] = openPair();
      await run(function* main() {
        setDeadline(pd, MODE_W, performance.now() + 15);
        assert.equal(yield* waitReady(pd, MODE_W, b), ERR_TIMEOUT);
        setDeadline(pd, MODE_W, null);
        drain(a);
        setDeadline(pd, MODE_R | MODE_W, performance.now() + 20);
        const r = go(function* () {
          return yield* waitReady(pd, MODE_R, b);
        });
        const w = go(function* () {
          return yield* waitReady(pd, MODE_W, b);
        });
        assert.equal(yield* r.join(), ERR_TIMEOUT);
        assert.equal(yield* w.join(), ERR_TIMEOUT);
        setDeadline(pd, MODE_R | MODE_W, null);
        closePd(pd);
      });
      closeFd(a);
      closeFd(b);
    });

    it("C3: a deadline moved later before it fires: the op keeps waiting and succeeds", async function () {
      const [a, b, pd] = openPair();
      await run(function* main() {
        const t = performance.now();
        setDeadline(pd, MODE_R, t + 20);
        let done = false;
        const reader = go(function* () {
          const r = yield* readOp(pd, b, new Uint8Array(16));
          done = true;
          return r;
        });
        yield* sleep(5);
        setDeadline(pd, MODE_R, performance.now() + 2000);
        yield* sleep(50); // well past the first deadline
        assert.equal(done, false, "the reader timed out on the deadline that was moved");
        writeFd(a, ONE);
        assert.deepEqual(yield* reader.join(), { n: 1, err: ERR_NONE });
        assert.ok(performance.now() - t < 2000);
        setDeadline(pd, MODE_R, null);
        closePd(pd);
      });
      closeFd(a);
      closeFd(b);
    });

    it("C2: a deadline that fired, reset before the woken goroutine runs: it waits again and succeeds", async function () {
      const [a, b, pd] = openPair();
      await run(function* main() {
        let wakes = 0;
        const reader = go(function* () {
          const r = yield* readOp(pd, b, new Uint8Array(16));
          wakes++;
          return r;
        });
        yield* waitUntil(() => ioWaiters() === 1, "the reader to park");
        // Fire: a past deadline expires at once and readies the reader...
        setDeadline(pd, MODE_R, performance.now() - 1);
        assert.equal(ioWaiters(), 0, "the expired deadline did not wake the reader");
        // ...and before it runs, the deadline moves to the future.
        setDeadline(pd, MODE_R, performance.now() + 5000);
        yield* waitUntil(() => ioWaiters() === 1, "the reader to park again");
        assert.equal(wakes, 0);
        writeFd(a, ONE);
        assert.deepEqual(yield* reader.join(), { n: 1, err: ERR_NONE });
        setDeadline(pd, MODE_R, null);
        closePd(pd);
      });
      closeFd(a);
      closeFd(b);
    });

    it("C4: null clears a deadline", async function () {
      const [a, b, pd] = openPair();
      await run(function* main() {
        setDeadline(pd, MODE_R, performance.now() + 15);
        setDeadline(pd, MODE_R, null);
        let done = false;
        const reader = go(function* () {
          const r = yield* readOp(pd, b, new Uint8Array(16));
          done = true;
          return r;
        });
        yield* sleep(50);
        assert.equal(done, false, "a cleared deadline fired");
        writeFd(a, ONE);
        assert.deepEqual(yield* reader.join(), { n: 1, err: ERR_NONE });
        // Clearing an expired deadline makes the descriptor usable again.
        setDeadline(pd, MODE_R, performance.now() - 1);
        assert.equal(pollReset(pd, MODE_R), ERR_TIMEOUT);
        setDeadline(pd, MODE_R, null);
        assert.equal(pollReset(pd, MODE_R), ERR_NONE);
        closePd(pd);
      });
      closeFd(a);
      closeFd(b);
    });

    it("C1/C4: a past (or present) deadline expires immediately, for new and for parked ops", async function () {
      const [a, b, pd] = openPair();
      await run(function* main() {
        setDeadline(pd, MODE_R, performance.now() - 1000);
        assert.equal(pollReset(pd, MODE_R), ERR_TIMEOUT);
        assert.deepEqual(yield* readOp(pd, b, new Uint8Array(16)), { n: 0, err: ERR_TIMEOUT });
        setDeadline(pd, MODE_R, performance.now()); // t == now counts as expired
        assert.equal(pollReset(pd, MODE_R), ERR_TIMEOUT);
        setDeadline(pd, MODE_R, null);
        // A parked op: a past deadline wakes it at once.
        const reader = go(function* () {
          return yield* readOp(pd, b, new Uint8Array(16));
        });
        yield* waitUntil(() => ioWaiters() === 1, "the reader to park");
        const t = performance.now();
        setDeadline(pd, MODE_R, t - 1);
        assert.deepEqual(yield* reader.join(), { n: 0, err: ERR_TIMEOUT });
        assert.ok(performance.now() - t < 100);
        setDeadline(pd, MODE_R, null);
        closePd(pd);
      });
      closeFd(a);
      closeFd(b);
    });
  });

  it("A3: a stale event (closed slot, reused by a new file on the same fd number) is dropped", async function () {
    const inject = staleInjector(backend, started);
    const [a1, b1, pdA] = openPair();
    const seqA = Atomics.load(shm().i32, pdw(shm(), pdA, PD_FDSEQ));
    closePd(pdA, a1, b1);
    const [a2, b2, pdB] = openPair();
    assert.equal(b2, b1, "the new file did not get the old descriptor number");
    assert.equal(pdB, pdA, "the new file did not get the old slot");
    const seqB = Atomics.load(shm().i32, pdw(shm(), pdB, PD_FDSEQ));
    assert.notEqual(seqB, seqA);
    try {
      await run(function* main() {
        // B's reader and writer wait (the socket is neither readable nor
        // writable), counting every wake-up.
        const wakes = { [MODE_R]: { n: 0 }, [MODE_W]: { n: 0 } };
        const gs = ([MODE_R, MODE_W] as const).map((m) =>
          go(function* () {
            return yield* waitReady(pdB, m, b2, wakes[m]);
          }),
        );
        const settled = function* () {
          yield* waitUntil(() => ioWaiters() === 2, "B's waiters to park");
          yield* sleep(20); // stray readiness (the registration's edge) lands
          yield* waitUntil(() => ioWaiters() === 2, "B's waiters to park again");
        };
        yield* settled();
        const before = [wakes[MODE_R].n, wakes[MODE_W].n];
        const user = Atomics.load(shm().i32, pdw(shm(), pdB, PD_USER));
        // The old owner's event: read and write ready, cookie (slot, seqA).
        inject(pdA, seqA);
        yield* sleep(100);
        yield* waitUntil(() => ioWaiters() === 2, "B's waiters to park");
        assert.deepEqual([wakes[MODE_R].n, wakes[MODE_W].n], before, "A's event woke B's waiters");
        assert.equal(Atomics.load(shm().i32, pdw(shm(), pdB, PD_USER)), user, "A's event changed B's interest set");
        for (const m of [MODE_R, MODE_W] as const) assert.equal(Atomics.load(shm().i32, semWord(shm(), pdB, m)), SEM_PARKED);
        // Control: the same injection with B's generation wakes both (so the
        // event above did reach the poller and was dropped for its tag).
        inject(pdB, seqB);
        yield* waitUntil(() => wakes[MODE_R].n > before[0]! && wakes[MODE_W].n > before[1]!, "B's generation to wake B", 2000);
        pollUnblock(pdB);
        for (const g of gs) assert.equal(yield* g.join(), ERR_CLOSING);
        pollClose(pdB);
      });
    } finally {
      inject.cleanup();
      closeFd(a2);
      closeFd(b2);
    }
  });

  it("B7: directions that did not fire stay armed (readable wakes only the reader, then writable the writer)", async function () {
    const [a, b, pd] = openPair();
    await run(function* main() {
      setDeadline(pd, MODE_R | MODE_W, performance.now() + 5000);
      let readerDone = false;
      let writerDone = false;
      const reader = go(function* () {
        const e = yield* waitReady(pd, MODE_R, b);
        readerDone = true;
        return e;
      });
      const writer = go(function* () {
        const e = yield* waitReady(pd, MODE_W, b);
        writerDone = true;
        return e;
      });
      yield* waitUntil(() => ioWaiters() === 2, "reader and writer to park");
      writeFd(a, ONE);
      assert.equal(yield* reader.join(), ERR_NONE);
      assert.equal(readFd(b, new Uint8Array(16)), 1);
      yield* sleep(30);
      assert.equal(writerDone, false, "the writer woke although the socket never became writable");
      assert.equal(ioWaiters(), 1);
      drain(a);
      assert.equal(yield* writer.join(), ERR_NONE, "the writer's interest was lost when the read event fired");
      assert.ok(readerDone && writerDone);
      setDeadline(pd, MODE_R | MODE_W, null);
      closePd(pd);
    });
    closeFd(a);
    closeFd(b);
  });

  it("B8: HUP wakes both directions (peer shuts down: HUP, not writable)", async function () {
    const [a, b, pd] = openPair();
    await run(function* main() {
      setDeadline(pd, MODE_R | MODE_W, performance.now() + 5000);
      const reader = go(function* () {
        return yield* waitReady(pd, MODE_R, b);
      });
      const writer = go(function* () {
        return yield* waitReady(pd, MODE_W, b);
      });
      yield* waitUntil(() => ioWaiters() === 2, "reader and writer to park");
      shutdownFd(a, abi.socket.SHUT_RDWR);
      assert.equal(yield* reader.join(), ERR_NONE);
      assert.equal(yield* writer.join(), ERR_NONE);
      assert.equal(readFd(b, new Uint8Array(16)), 0, "EOF");
      assert.equal(writeFd(b, ONE), -EPIPE);
      setDeadline(pd, MODE_R | MODE_W, null);
      closePd(pd);
    });
    closeFd(a);
    closeFd(b);
  });

  it("B8: HUP wakes both directions (peer closes)", async function () {
    const [a, b, pd] = openPair();
    let aOpen = true;
    try {
      await run(function* main() {
        setDeadline(pd, MODE_R | MODE_W, performance.now() + 5000);
        const reader = go(function* () {
          return yield* waitReady(pd, MODE_R, b);
        });
        const writer = go(function* () {
          return yield* waitReady(pd, MODE_W, b);
        });
        yield* waitUntil(() => ioWaiters() === 2, "reader and writer to park");
        closeFd(a);
        aOpen = false;
        assert.equal(yield* reader.join(), ERR_NONE);
        assert.equal(yield* writer.join(), ERR_NONE);
        // The peer closed with our data unread: ECONNRESET, or EOF.
        const n = readFd(b, new Uint8Array(16));
        assert.ok(n === 0 || n === -abi.errno.ECONNRESET, `read gave ${n}`);
        setDeadline(pd, MODE_R | MODE_W, null);
        closePd(pd);
      });
    } finally {
      if (aOpen) closeFd(a);
      closeFd(b);
    }
  });

  it("B8: pipes: HUP alone wakes a reader, ERR alone wakes a writer", async function () {
    {
      const [r, w] = pipe();
      const pd = pollOpen(r);
      await run(function* main() {
        setDeadline(pd, MODE_R, performance.now() + 5000);
        const reader = go(function* () {
          return yield* waitReady(pd, MODE_R, r);
        });
        yield* waitUntil(() => ioWaiters() === 1, "the reader to park");
        closeFd(w);
        assert.equal(yield* reader.join(), ERR_NONE);
        assert.equal(readFd(r, new Uint8Array(16)), 0);
        setDeadline(pd, MODE_R, null);
        closePd(pd, r);
      });
    }
    {
      const [r, w] = pipe();
      const pd = pollOpen(w);
      await run(function* main() {
        setDeadline(pd, MODE_W, performance.now() + 5000);
        const writer = go(function* () {
          return yield* waitReady(pd, MODE_W, w);
        });
        yield* waitUntil(() => ioWaiters() === 1, "the writer to park");
        closeFd(r);
        assert.equal(yield* writer.join(), ERR_NONE);
        assert.equal(writeFd(w, ONE), -EPIPE);
        setDeadline(pd, MODE_W, null);
        closePd(pd, w);
      });
    }
  });
}

// ---- injecting an event with a chosen cookie -------------------------------------------

interface Injector {
  (pd: number, seq: number): void;
  cleanup(): void;
}

/**
 * Makes the kernel poller report "read and write ready" with the cookie
 * (pd, seq), as a stale event would be: epoll gets a registration of a
 * readable and writable socket carrying that cookie (one edge, then
 * removed); an event port gets a port_send of POLLIN|POLLOUT with it (the
 * backend reads any non-alert event as a descriptor event).
 */
function staleInjector(backend: BackendKind, started: Started): Injector {
  if (backend === "eventports") {
    const emu = portEmu();
    const f = ((pd: number, seq: number) => {
      assert.equal(emu.port_send(started.pollfd, POLL.POLLIN | POLL.POLLOUT, cookieOf(pd, seq)), 0, "port_send");
    }) as Injector;
    f.cleanup = () => {};
    return f;
  }
  const EV = abi.epoll!;
  const libc = koffi.load(abi.libraries.libc);
  const epollCtl = libc.func("int epoll_ctl(int epfd, int op, int fd, void *event)") as (
    epfd: number,
    op: number,
    fd: number,
    ev: Uint8Array | null,
  ) => number;
  const [x, y] = socketPair();
  writeFd(y, ONE); // x: readable and writable
  let registered = false;
  const f = ((pd: number, seq: number) => {
    if (registered) epollCtl(started.pollfd, EV.EPOLL_CTL_DEL, x, null);
    const ev = new Uint8Array(12);
    const v = new DataView(ev.buffer);
    v.setUint32(0, EV.EPOLLIN | EV.EPOLLOUT | EV.EPOLLET, true);
    v.setUint32(4, pd, true);
    v.setUint32(8, seq, true);
    assert.equal(epollCtl(started.pollfd, EV.EPOLL_CTL_ADD, x, ev), 0, `epoll_ctl ADD: errno ${koffi.errno()}`);
    registered = true;
  }) as Injector;
  f.cleanup = () => {
    if (registered) epollCtl(started.pollfd, EV.EPOLL_CTL_DEL, x, null);
    closeFd(x);
    closeFd(y);
  };
  return f;
}

// ---- the blocks ----------------------------------------------------------------------------

describe("netpoll", function () {
  describe("poller lifecycle", function () {
    afterEach(async function () {
      await stopPoller();
    });

    for (const [first, second] of [
      ["epoll", "eventports"],
      ["eventports", "epoll"],
    ] as const) {
      it(`stopPoller stops a ${first} worker blocked in the kernel and frees its descriptors; ${second} starts after it`, async function () {
        this.timeout(60000);
        const pre = fdTable();
        const s1 = await startAndWarmUp(first);
        assert.throws(() => startPoller({ backend: second }), /stop it before starting/);
        // Leave the worker blocked in the kernel: a wait that only its
        // deadline ends (on the main thread) while the worker polls.
        const [a, b, pd] = openPair();
        await run(function* main() {
          setDeadline(pd, MODE_R, performance.now() + 30);
          assert.equal(yield* waitReady(pd, MODE_R, b), ERR_TIMEOUT);
          closePd(pd);
        });
        closeFd(a);
        closeFd(b);
        assert.equal(Atomics.load(s1.shm.i32, CTL_MODE), MODE_POLL);
        assert.equal(Atomics.load(s1.shm.i32, CTL_INPOLL), 1, "the worker is not in the kernel poller");
        const t = performance.now();
        await stopPoller();
        assert.ok(performance.now() - t < 2000, `stopPoller took ${performance.now() - t} ms`);
        assert.equal(pollerKind(), null);
        assert.equal(Atomics.load(s1.shm.i32, CTL_INPOLL), 0, "the worker did not leave the kernel poller");
        await checkLeaks({ fds: pre, pds: 0 });
        await stopPoller(); // a second stop is a no-op

        // The other backend, through the worker hand-off.
        const s2 = await startAndWarmUp(second);
        assert.equal(pollerKind(), second);
        assert.notEqual(s2.shm, s1.shm);
        const [c, d, pd2] = openPair();
        await run(function* main() {
          go(function* () {
            yield* sleep(5);
            writeFd(c, ONE);
          });
          assert.deepEqual(yield* readOp(pd2, d, new Uint8Array(4)), { n: 1, err: ERR_NONE });
          closePd(pd2);
        });
        closeFd(c);
        closeFd(d);
        await stopPoller();
        await checkLeaks({ fds: pre, pds: 0 });
        assert.equal(fdTable().size, pre.size);
      });
    }
    it("the poller thread runs from one bundled script: koffi by absolute path, cached under the OS temporary directory", function () {
      this.timeout(30000);
      const a = pollerWorkerScript();
      assert.equal(pollerWorkerScript(), a);
      const dir = path.join(tmpdir(), "gort-netpoll");
      assert.ok(
        readdirSync(dir).some((f) => f.endsWith(".cjs") && readFileSync(path.join(dir, f), "utf8") === a),
        "the script is cached in " + dir,
      );
      assert.ok(!a.includes('require("koffi")'), "koffi is required by path");
      assert.match(a, /require\("\/[^"]*koffi[^"]*"\)/);
      assert.ok(!/import\.meta/.test(a), "no import.meta is left in a CommonJS script");
    });

    for (const backend of ["epoll", "eventports"] as const) {
      it(`${backend}: while the poller thread boots, an idle program still sees I/O (the main thread polls)`, async function () {
        this.timeout(30000);
        const pre = fdTable();
        const { shm } = startPoller({ backend });
        const [a, b, pd] = openPair();
        // Readiness comes from a Node callback while the only goroutine is
        // parked: nobody runs, so only a poll can notice it. The worker takes
        // hundreds of milliseconds to load its modules; the wait is woken
        // long before that.
        let upAtWake = -1;
        await run(function* main() {
          setTimeout(() => writeFd(a, ONE), 5);
          setDeadline(pd, MODE_R, performance.now() + 20000);
          assert.equal(yield* waitReady(pd, MODE_R, b), ERR_NONE);
          upAtWake = Atomics.load(shm.i32, CTL_UP);
          closePd(pd, a, b);
        });
        assert.equal(upAtWake, 0, "the wait ended only once the poller thread was up");
        await stopPoller();
        await checkLeaks({ fds: pre, pds: 0 });
      });
    }
    it("a process that exits while its poller thread boots or polls exits cleanly: the exit hook stops the worker before Node terminates it", async function () {
      // Without the hook's wait, about 3% of exits 10-20 ms into the boot died
      // of SIGABRT (koffi's "napi_throw" on a terminated worker), and every
      // exit in the first milliseconds printed "down 0".
      this.timeout(60000);
      try {
        await exitEachWay();
      } finally {
        killChildren();
      }
    });
    /** Children that exit 0-30 ms into the poller thread's boot, and after it: two at a time. */
    async function exitEachWay(): Promise<void> {
      const waits = ["0", "5", "10", "15", "20", "25", "30", "up"];
      for (const backend of ["epoll", "eventports"] as const) {
        for (let i = 0; i < waits.length; i += 2) {
          const pair = waits.slice(i, i + 2).map((w) => ({ w, p: startTs("test/testprog/exit-booting.ts", [backend, w]) }));
          for (const { w, p } of pair) {
            const { code, signal } = await p.exited;
            const what = `${backend}, exit after ${w}`;
            assert.equal(signal, null, `${what}: killed by ${signal}; stderr:\n${p.err()}`);
            assert.equal(code, 0, `${what}: stderr:\n${p.err()}`);
            assert.equal(p.err(), "", what);
            assert.equal(p.out(), "down 1\n", what);
          }
        }
      }
    }
    it("a poller thread whose backend fails to attach reports the fault and sets CTL_DOWN, so the exit hook does not wait out its bound", async function () {
      // Attaching used to run before the worker's try: its exception reached
      // the 'error' event, CTL_DOWN stayed 0, and an exit waited the full 2 s.
      this.timeout(30000);
      const shm = createShm(64);
      const handles = { kind: "eventports", pollfd: -1, wakefd: -1, library: "/nonexistent/libportemu.so" };
      const w = new Worker(pollerWorkerScript(), { eval: true, workerData: { sab: shm.sab, maxPds: 64, handles } });
      const errors: Error[] = [];
      w.on("error", (e) => errors.push(e));
      // Both listeners first: the worker may exit before the message is handled here.
      const [[msg]] = (await Promise.all([once(w, "message"), once(w, "exit")])) as [[{ fault?: string }], unknown];
      assert.deepEqual(errors, [], "the failure is reported as a fault message, not an uncaught error");
      assert.match(msg.fault ?? "", /nonexistent\/libportemu\.so/);
      assert.equal(Atomics.load(shm.i32, CTL_FAULT), -1);
      assert.equal(Atomics.load(shm.i32, CTL_DOWN), 1, "the worker set CTL_DOWN");
      assert.equal(Atomics.load(shm.i32, CTL_UP), 0, "the worker never entered its loop");
    });
    it("a poller thread that fails ends the running program with a fatal error, and stopPoller still cleans up", async function () {
      this.timeout(60000);
      const pre = fdTable();
      const s = await startAndWarmUp("eventports");
      const [a, b] = socketPair();
      // Someone closes the port under the poller thread (a double close in
      // user code would): the emulation makes its port_getn fail (EBADFD).
      setTimeout(() => portEmu().close(s.pollfd), 20);
      await assert.rejects(
        run(function* main() {
          const pd = pollOpen(b);
          setDeadline(pd, MODE_R, performance.now() + 10000);
          return yield* waitReady(pd, MODE_R, b);
        }),
        (e: unknown) => e instanceof Error && /^fatal error: netpoll: poller thread failed: .*port_getn failed/.test(e.message),
      );
      const t = performance.now();
      await stopPoller();
      assert.ok(performance.now() - t < 2000, "stopPoller hung on a poller thread that had already exited");
      assert.equal(pollerKind(), null);
      closeFd(a);
      closeFd(b);
      await checkLeaks({ fds: pre, pds: 0 });
    });
  });

  for (const backend of ["epoll", "eventports"] as const) {
    describe(backend, function () {
      suite(backend);
    });
  }
});

// The use-after-close race of Go issue 7410 (../shared/netpoll-protocol.md
// section 2.4, invariant A1 of section 6), for real, on the event-port backend
// over native/portemu, whose close() counts every port_associate made for a
// descriptor after it was closed.
//
// One cycle: a socket pair, a PollDesc for one end, a reader (arms POLLIN)
// and a writer (arms POLLOUT) parked on it. The socket is always writable, so
// POLLOUT fires at once, and handling it re-associates the POLLIN the reader
// still wants: the step that raced close in Go before 199e7030. The cycle
// then closes as internal/poll does: pollUnblock, pollClose, close(2)
// through the emulation.
//
// The race needs the poller *thread* to handle the event while the main
// thread closes. The main thread polls for itself whenever it runs out of
// goroutines, and an armed POLLOUT is ready at once, so a cycle that simply
// idled would always find the event on the main thread first. Instead the
// poller thread is kept blocked in port_getn (CTL_MODE = MODE_POLL: a
// goroutine parked on another descriptor, and an idle moment whenever the
// worker has handed control back), the cycle arms while it is in there
// (CTL_INPOLL), and the main thread goes on to close after a short random
// spin. The poller thread's injected delay (CTL_DELAY, after it took the
// event and before it re-associates) widens the window. After close(2) the
// main thread spins as long as that delay before the next cycle, because the
// next socketpair gets the same descriptor numbers: an association that
// lands on a new file is invisible to the counter (a wrong file, not a
// closed one).
//
// With the protocol (closing checked under the PollDesc lock) the emulation
// must count no violation. With CTL_VARIANT = PROTO_PREFIX (the poller
// before the fix: no lock, no closing or fdseq check) the same stress must
// count some, which shows the test can fail. PROTO_PREFIX also loses
// wake-ups (it hands a new owner an old owner's readiness), so cycles wait
// for their goroutines with a time limit, and a cycle whose goroutines do not
// come back is abandoned until the program ends; under the protocol that
// must not happen either.

import assert from "node:assert/strict";

import { ERR_CLOSING, ERR_NONE, MODE_R, MODE_W, pollClose, pollOpen, pollReset, pollUnblock, pollWait, stopPoller, type PollErr } from "../../src/netpoll/netpoll.ts";
import { CTL_DELAY, CTL_INPOLL, CTL_MODE, CTL_VARIANT, MODE_POLL, PROTO_CURRENT, PROTO_PREFIX, type Shm } from "../../src/netpoll/shm.ts";
import { after as afterMs, chan, go, gosched, recv, run, select, wait, type Chan, type Op } from "../../src/sched/index.ts";
import { closeFd, portEmu, socketPair } from "../support/netpoll-fds.ts";
import { baseline, checkLeaks, fdTable, startAndWarmUp, type Baseline } from "../support/netpoll-harness.ts";

/** Cycles per variant, and the poller thread's injected delay (µs, random up to). */
const CYCLES = 2000;
const DELAY_US = 300;
/** The main thread's random spin between arming and closing (µs, up to). */
const CLOSE_SPIN_US = 50;
/** Wall-clock budget of one variant (ms); a variant stops early past it. About 1 s when the machine is quiet; the margin is for a loaded CI machine. */
const BUDGET_MS = 15000;
/** How long a cycle waits for its goroutines after pollUnblock before abandoning it. */
const CYCLE_WAIT_MS = 20;

function spin(us: number): void {
  const end = performance.now() + us / 1000;
  while (performance.now() < end);
}

interface StressResult {
  cycles: number;
  violations: number;
  byKind: { associateAfterClose: number; associateBadFd: number; dissociateBadFd: number };
  /** Cycles whose waiters did not come back after pollUnblock (lost wake-ups). */
  abandoned: number;
  /** Cycles that armed while the poller thread was blocked in port_getn. */
  armedWhileWorkerPolled: number;
  /** Reader results other than ERR_CLOSING (the reader's socket never becomes readable). */
  readerNotClosing: number;
  /** Writer results: woken by readiness (the poller got there first) or by the close. */
  writerReady: number;
  writerClosing: number;
  ms: number;
}

interface Open {
  pd: number;
  a: number;
  b: number;
}

function stress(shm: Shm, variant: number): Promise<StressResult> {
  const emu = portEmu();
  const i32 = shm.i32;
  Atomics.store(i32, CTL_VARIANT, variant);
  Atomics.store(i32, CTL_DELAY, DELAY_US);
  emu.resetViolations();
  const res: StressResult = {
    cycles: 0,
    violations: 0,
    byKind: { associateAfterClose: 0, associateBadFd: 0, dissociateBadFd: 0 },
    abandoned: 0,
    armedWhileWorkerPolled: 0,
    readerNotClosing: 0,
    writerReady: 0,
    writerClosing: 0,
    ms: 0,
  };
  const abandoned: Open[] = [];
  let current: Open | null = null;
  const [k, kb] = socketPair();
  const keep = pollOpen(kb);
  const t0 = performance.now();

  function* cycle(): Op<void> {
    // Hand the kernel poller to the worker thread if it gave it back...
    if (Atomics.load(i32, CTL_MODE) !== MODE_POLL) yield* wait(new Promise((r) => setImmediate(r)));
    // ...and arm while it is blocked in port_getn (bounded: it may be busy).
    const end = performance.now() + 2;
    while (Atomics.load(i32, CTL_INPOLL) !== 1 && performance.now() < end);
    if (Atomics.load(i32, CTL_INPOLL) === 1) res.armedWhileWorkerPolled++;

    const [a, b] = socketPair();
    const pd = pollOpen(b);
    current = { pd, a, b };
    const done: Chan<[typeof MODE_R | typeof MODE_W, PollErr]> = chan(2);
    for (const mode of [MODE_R, MODE_W] as const) {
      go(function* () {
        pollReset(pd, mode);
        yield* done.send([mode, yield* pollWait(pd, mode)]);
      });
    }
    yield* gosched(); // both arm and park
    spin(Math.random() * CLOSE_SPIN_US);

    pollUnblock(pd);
    for (let n = 0; n < 2; n++) {
      const r = yield* select([recv(done), recv(afterMs(CYCLE_WAIT_MS))]);
      if (r.index === 1) {
        // A waiter that nobody will wake: leave the PollDesc until the program ends.
        res.abandoned++;
        abandoned.push(current);
        current = null;
        return;
      }
      const [mode, err] = r.value!;
      if (mode === MODE_R) {
        if (err !== ERR_CLOSING) res.readerNotClosing++;
      } else if (err === ERR_NONE) res.writerReady++;
      else res.writerClosing++;
    }
    pollClose(pd);
    closeFd(b);
    closeFd(a);
    current = null;
    // Let a delayed re-association land before the numbers are reused.
    spin(DELAY_US);
  }

  return run(function* main() {
    const keeper = go(function* () {
      return yield* pollWait(keep, MODE_R);
    });
    for (let i = 0; i < CYCLES && performance.now() - t0 < BUDGET_MS; i++) {
      yield* cycle();
      res.cycles++;
    }
    pollUnblock(keep);
    yield* keeper.join();
  }).finally(() => {
    // Past the program's end nobody waits: free what it left.
    Atomics.store(i32, CTL_VARIANT, PROTO_CURRENT);
    Atomics.store(i32, CTL_DELAY, 0);
    const left: Open[] = current === null ? abandoned : [...abandoned, current];
    for (const o of left) {
      pollClose(o.pd);
      closeFd(o.b);
      closeFd(o.a);
    }
    pollClose(keep);
    closeFd(kb);
    closeFd(k);
    res.ms = Math.round(performance.now() - t0);
    res.violations = emu.violations();
    res.byKind = {
      associateAfterClose: emu.violationsOf(1),
      associateBadFd: emu.violationsOf(2),
      dissociateBadFd: emu.violationsOf(3),
    };
    emu.resetViolations();
  }).then(() => res);
}

describe("netpoll: close races the poller thread (event ports, Go issue 7410)", function () {
  let shm: Shm;
  let preStart: Map<number, string>;
  let base: Baseline;

  before(async function () {
    this.timeout(30000);
    preStart = fdTable();
    shm = (await startAndWarmUp("eventports")).shm;
    base = baseline();
  });

  after(async function () {
    this.timeout(10000);
    await stopPoller();
    await checkLeaks({ fds: preStart, pds: 0 });
  });

  afterEach(async function () {
    await checkLeaks(base);
  });

  it(`the protocol: ${CYCLES} open/arm/close cycles under a POLLOUT storm, no association after close`, async function () {
    this.timeout(20000);
    const r = await stress(shm, PROTO_CURRENT);
    if (process.env.NETPOLL_TEST_VERBOSE) console.log("      protocol:", JSON.stringify(r));
    assert.equal(r.cycles, CYCLES, `only ${r.cycles} cycles in ${BUDGET_MS} ms`);
    assert.equal(r.violations, 0, `the emulation counted ${JSON.stringify(r.byKind)}`);
    assert.equal(r.abandoned, 0, "waiters were not woken by pollUnblock");
    assert.equal(r.readerNotClosing, 0, "a reader of a never-readable socket was woken by readiness");
    // The stress reached the poller thread: most cycles armed while it was in port_getn.
    assert.ok(r.armedWhileWorkerPolled > CYCLES / 2, `only ${r.armedWhileWorkerPolled} cycles armed while the worker polled`);
  });

  it("the protocol before Go's fix (PROTO_PREFIX), same stress: the emulation counts violations", async function () {
    this.timeout(20000);
    const r = await stress(shm, PROTO_PREFIX);
    if (process.env.NETPOLL_TEST_VERBOSE) console.log("      prefix:", JSON.stringify(r));
    assert.ok(r.violations > 0, `no violation in ${r.cycles} cycles: the stress does not reach the race (${JSON.stringify(r)})`);
  });
});

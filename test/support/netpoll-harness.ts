// Poller-level helpers for the netpoll tests and benchmark: starting a
// backend and waiting for its worker thread to be up, finding the kernel
// poller's descriptor (to inject events, as the "FFI fake" of
// netpoll-protocol.md section 6 would), waiting from a goroutine, and the
// leak checks of a test.

import assert from "node:assert/strict";
import { readdirSync, readFileSync, readlinkSync } from "node:fs";

import type { BackendKind } from "../../src/netpoll/backend.ts";
import {
  ERR_TIMEOUT,
  ioWaiters,
  MODE_R,
  openPollDescs,
  pollClose,
  pollOpen,
  pollUnblock,
  pollWait,
  setDeadline,
  pollerKind,
  startPoller,
  stopPoller,
} from "../../src/netpoll/netpoll.ts";
import { bindPortEmu } from "../../src/netpoll/eventport_ffi.ts";
import { ipStackCapabilities } from "../../src/runtime/netaddr.ts";
import { CTL_INPOLL, type Shm } from "../../src/netpoll/shm.ts";
import { go, run, schedStats, sleep, type Op } from "../../src/sched/index.ts";
import { closeFd, setCloseThroughEmulation, socketPair, writeFd } from "./netpoll-fds.ts";

/**
 * fd number -> what it refers to. Files the module loader (tsx, in this
 * thread or the poller's) holds open for a moment are left out: they come and
 * go under the tests' feet.
 */
export function fdTable(): Map<number, string> {
  const m = new Map<number, string>();
  for (const name of readdirSync("/proc/self/fd")) {
    try {
      const link = readlinkSync(`/proc/self/fd/${name}`);
      if (!/\/tsx-\d+|\/node_modules\//.test(link)) m.set(Number(name), link);
    } catch {
      // the directory's own descriptor, closed since
    }
  }
  return m;
}

/**
 * The kernel poller of a freshly started backend: among the epoll instances
 * that appeared since `before`, the one whose interest list holds the
 * wake-up descriptor with the all-ones cookie (epoll.ts WAKE_PD, or
 * portemu's KICK). The worker thread's own libuv loop also makes an epoll
 * instance, so "the new eventpoll" alone is ambiguous.
 */
export function findPollerFd(before: Map<number, string>): number {
  for (const [fd, link] of fdTable()) {
    if (before.get(fd) === link || link !== "anon_inode:[eventpoll]") continue;
    let info: string;
    try {
      info = readFileSync(`/proc/self/fdinfo/${fd}`, "utf8");
    } catch {
      continue;
    }
    if (/data:\s*(ffffffff|ffffffffffffffff)\b/.test(info)) return fd;
  }
  throw new Error("netpoll test: cannot find the poller's epoll descriptor");
}

/** Waits (sleeping 1 ms at a time) until cond() holds; fails after ms. */
export function* waitUntil(cond: () => boolean, what: string, ms = 5000): Op<void> {
  const end = performance.now() + ms;
  while (!cond()) {
    if (performance.now() > end) throw new Error(`timed out after ${ms} ms waiting for ${what}`);
    yield* sleep(1);
  }
}

export interface Started {
  kind: BackendKind;
  shm: Shm;
  /** The kernel poller's descriptor (epoll instance, or the emulated port). */
  pollfd: number;
}

/**
 * Starts the poller with backend and returns once its worker thread has
 * booted and blocked in the kernel once (it loads TypeScript through tsx,
 * which takes a while): a goroutine parks on a socket and the data is
 * written only when the worker is seen inside its blocking poll.
 */
export async function startAndWarmUp(backend: BackendKind): Promise<Started> {
  setCloseThroughEmulation(backend === "eventports");
  const before = fdTable();
  const { kind, shm } = startPoller({ backend });
  assert.equal(kind, backend);
  const pollfd = findPollerFd(before);
  const [a, b] = socketPair();
  await run(function* warmUp() {
    const pd = pollOpen(b);
    setDeadline(pd, MODE_R, performance.now() + 20000);
    go(function* () {
      yield* waitUntil(() => Atomics.load(shm.i32, CTL_INPOLL) === 1, "the poller thread to block", 20000);
      writeFd(a, Uint8Array.of(1));
    });
    const err = yield* pollWait(pd, MODE_R);
    assert.notEqual(err, ERR_TIMEOUT, "warm-up: the poller thread never woke the reader");
    pollUnblock(pd);
    pollClose(pd);
  });
  closeFd(a);
  closeFd(b);
  return { kind, shm, pollfd };
}

export interface Baseline {
  fds: Map<number, string>;
  pds: number;
}

export function baseline(): Baseline {
  return { fds: fdTable(), pds: openPollDescs() };
}

/**
 * The leak checks of one test: nobody parked on a descriptor, every PollDesc
 * the test opened closed, the scheduler at rest, and the process's
 * descriptors back to the baseline. Descriptor churn from other threads
 * (the worker thread's loader) is transient, so the fd check retries briefly.
 */
export async function checkLeaks(base: Baseline): Promise<void> {
  assert.equal(ioWaiters(), 0, "goroutines still parked on descriptors");
  assert.equal(openPollDescs(), base.pds, "PollDescs left open");
  const s = schedStats();
  assert.deepEqual(
    { goroutines: s.goroutines, timers: s.timers, externalRefs: s.externalRefs, runq: s.runq },
    { goroutines: 0, timers: 0, externalRefs: 0, runq: 0 },
    "scheduler left state behind",
  );
  for (let i = 0; ; i++) {
    if (fdTable().size === base.fds.size) return;
    if (i === 20) break;
    await new Promise((r) => setTimeout(r, 25));
  }
  const now = fdTable();
  const added = [...now].filter(([fd, l]) => base.fds.get(fd) !== l).map(([fd, l]) => `${fd} ${l}`);
  const gone = [...base.fds].filter(([fd, l]) => now.get(fd) !== l).map(([fd, l]) => `${fd} ${l}`);
  assert.fail(`descriptors leaked or lost: +[${added.join(", ")}] -[${gone.join(", ")}]`);
}

/**
 * The hooks of a suite run once per backend (fd, net and reliability
 * tests): start the poller and warm it up before the suite, stop it after
 * with every descriptor back; after each test nothing is left parked, open
 * or scheduled, and the event-port emulation recorded no use after close.
 * The IP stack is probed once before the baseline (it opens descriptors of
 * its own the first time).
 */
export function backendHooks(backend: BackendKind): void {
  let preStart: Map<number, string>;
  let base: Baseline;
  const emu = backend === "eventports" ? bindPortEmu() : null;
  before(async function () {
    this.timeout(30_000);
    assert.equal(pollerKind(), null, "a poller is still running from an earlier block");
    preStart = fdTable();
    await startAndWarmUp(backend);
    ipStackCapabilities();
    base = baseline();
    emu?.resetViolations();
  });
  after(async function () {
    this.timeout(10_000);
    await stopPoller();
    await checkLeaks({ fds: preStart, pds: 0 });
  });
  afterEach(async function () {
    await checkLeaks(base);
    if (emu !== null) {
      const v = JSON.stringify(emu.lastViolation(), (_, x: unknown) => (typeof x === "bigint" ? String(x) : x));
      assert.equal(emu.violations(), 0, `portemu recorded a violation: ${v}`);
    }
  });
}

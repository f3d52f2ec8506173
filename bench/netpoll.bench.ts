// Network poller benchmark: one JSON line per backend (epoll, eventports).
//
//   npm run bench:netpoll                       both backends
//   npm run bench:netpoll -- --backend epoll    one (and it runs here, not in a child)
//   options: --samples N (latency samples, default 2000), --seconds S
//            (throughput run, default 2), --pairs P (default 64)
//
// Figures:
//   wake_us       wake-up latency, from readiness to the parked goroutine
//                 running, with the main thread idle: the hand-off path. A
//                 writer thread waits until the poller thread is blocked in
//                 the kernel (CTL_INPOLL), then stamps the time
//                 (process.hrtime, one clock for every thread) and writes one
//                 byte to the peer of a socket a goroutine waits to read; the
//                 goroutine stamps again as soon as its pollWait returns.
//                 p50/p90/p99/max over `samples` waits, after 200 warm-up ones.
//                 The path: kernel wakes the poller thread, it handles the event
//                 under the PollDesc lock, pushes a ring record, notifies
//                 CTL_WAKE; the main thread's Atomics.waitAsync resolves, drains
//                 the ring, readies the goroutine, the scheduler runs it.
//   pingpong      `pairs` socket pairs, a goroutine on each end: one writes a
//                 byte and reads the reply, the other reads and replies, for
//                 `seconds`. msgs_per_s counts the one-byte messages received
//                 (each a read that found its byte or waited on the poller for
//                 it), events_per_s the reads that had to wait, i.e. readiness
//                 events delivered to a parked goroutine through the poller.
//                 The main thread is busy here, so it mostly polls for itself.
//
// Each backend runs in a child process of this script (a poller is one per
// process, and JIT state should not carry over).

import { spawnSync } from "node:child_process";
import { loadavg } from "node:os";
import { fileURLToPath } from "node:url";
import { Worker } from "node:worker_threads";

import type { BackendKind } from "../src/netpoll/backend.ts";
import { ERR_NONE, MODE_R, pollClose, pollOpen, pollReset, pollUnblock, pollWait, stopPoller } from "../src/netpoll/netpoll.ts";
import { CTL_INPOLL } from "../src/netpoll/shm.ts";
import { go, run, sleep, type Op } from "../src/sched/index.ts";
import { EAGAIN, closeFd, readFd, readOp, socketPair, writeOp } from "../test/support/netpoll-fds.ts";
import { startAndWarmUp } from "../test/support/netpoll-harness.ts";

interface Args {
  backend: BackendKind | null;
  samples: number;
  seconds: number;
  pairs: number;
}

function parseArgs(argv: string[]): Args {
  const a: Args = { backend: null, samples: 2000, seconds: 2, pairs: 64 };
  for (let i = 0; i < argv.length; i++) {
    const k = argv[i]!;
    const v = argv[++i];
    if (v === undefined) throw new Error(`${k} needs a value`);
    if (k === "--backend") {
      if (v !== "epoll" && v !== "eventports") throw new Error(`--backend: epoll or eventports, not ${v}`);
      a.backend = v;
    } else if (k === "--samples") a.samples = Number(v);
    else if (k === "--seconds") a.seconds = Number(v);
    else if (k === "--pairs") a.pairs = Number(v);
    else throw new Error(`unknown option ${k}`);
  }
  return a;
}

const round = (x: number): number => Math.round(x * 10) / 10;

function percentiles(xs: number[]): { p50: number; p90: number; p99: number; max: number; mean: number } {
  const s = [...xs].sort((p, q) => p - q);
  const at = (q: number): number => s[Math.min(s.length - 1, Math.floor(q * s.length))]!;
  return { p50: round(at(0.5)), p90: round(at(0.9)), p99: round(at(0.99)), max: round(s[s.length - 1]!), mean: round(s.reduce((x, y) => x + y, 0) / s.length) };
}

// The writer thread: for each request (ctl[0] changes), waits until the
// poller thread is in the kernel (shm CTL_INPOLL), spins a random 20-100 µs,
// stamps stamp[0] with process.hrtime (ns) and writes one byte.
const writerSource = `
const { workerData } = require("node:worker_threads");
const fs = require("node:fs");
const ctl = new Int32Array(workerData.ctl);
const stamp = new BigInt64Array(workerData.stamp);
const shm = new Int32Array(workerData.shm);
const one = Buffer.from([1]);
let seen = 0;
for (;;) {
  Atomics.wait(ctl, 0, seen);
  const req = Atomics.load(ctl, 0);
  if (req < 0) break;
  seen = req;
  const limit = performance.now() + 50;
  while (Atomics.load(shm, workerData.inpoll) !== 1 && performance.now() < limit);
  const end = performance.now() + (20 + Math.random() * 80) / 1000;
  while (performance.now() < end);
  stamp[0] = process.hrtime.bigint();
  fs.writeSync(workerData.fd, one);
}
`;

async function wakeLatency(shmSab: SharedArrayBuffer, samples: number): Promise<{ us: number[]; notParked: number }> {
  const [a, b] = socketPair();
  const ctl = new Int32Array(new SharedArrayBuffer(4));
  const stamp = new BigInt64Array(new SharedArrayBuffer(8));
  const writer = new Worker(writerSource, {
    eval: true,
    workerData: { ctl: ctl.buffer, stamp: stamp.buffer, shm: shmSab, inpoll: CTL_INPOLL, fd: a },
  });
  const exited = new Promise((r) => writer.once("exit", r));
  const us: number[] = [];
  let notParked = 0;
  const WARMUP = 200;
  try {
    await run(function* main() {
      const pd = pollOpen(b);
      const buf = new Uint8Array(8);
      for (let i = 1; i <= samples + WARMUP; i++) {
        Atomics.store(ctl, 0, i);
        Atomics.notify(ctl, 0);
        pollReset(pd, MODE_R);
        let n = readFd(b, buf);
        if (n !== -EAGAIN) {
          notParked++;
          continue;
        }
        let woke = 0n;
        while (n === -EAGAIN) {
          if ((yield* pollWait(pd, MODE_R)) !== ERR_NONE) throw new Error("wait failed");
          woke = process.hrtime.bigint();
          n = readFd(b, buf);
        }
        if (n !== 1) throw new Error(`read gave ${n}`);
        if (i > WARMUP) us.push(Number(woke - stamp[0]!) / 1000);
      }
      pollUnblock(pd);
      pollClose(pd);
    });
  } finally {
    Atomics.store(ctl, 0, -1);
    Atomics.notify(ctl, 0);
    await exited;
    closeFd(a);
    closeFd(b);
  }
  return { us, notParked };
}

async function pingPong(pairs: number, seconds: number): Promise<{ msgs: number; waits: number; ms: number }> {
  const fds = Array.from({ length: pairs }, () => socketPair());
  let msgs = 0;
  let waits = 0;
  let counting = false;
  let stop = false;
  let t0 = 0;
  let t1 = 0;
  function* reader(pd: number, fd: number, buf: Uint8Array): Op<boolean> {
    let err = pollReset(pd, MODE_R);
    for (;;) {
      if (err !== ERR_NONE) return false;
      const n = readFd(fd, buf);
      if (n > 0) {
        if (counting) msgs++;
        return true;
      }
      if (n !== -EAGAIN) return false;
      if (counting) waits++;
      err = yield* pollWait(pd, MODE_R);
    }
  }
  await run(function* main() {
    const pds = fds.map(([x, y]) => [pollOpen(x), pollOpen(y)] as const);
    const gs = [];
    for (let i = 0; i < pairs; i++) {
      const [x, y] = fds[i]!;
      const [px, py] = pds[i]!;
      gs.push(
        go(function* ping() {
          const buf = new Uint8Array(1);
          while (!stop) {
            if ((yield* writeOp(px, x, buf)).n !== 1) return;
            if (!(yield* reader(px, x, buf))) return;
          }
        }),
        go(function* pong() {
          const buf = new Uint8Array(1);
          for (;;) {
            if (!(yield* reader(py, y, buf))) return;
            if ((yield* writeOp(py, y, buf)).n !== 1) return;
          }
        }),
      );
    }
    go(function* clock() {
      yield* sleep(300); // warm-up
      counting = true;
      t0 = performance.now();
      yield* sleep(seconds * 1000);
      counting = false;
      t1 = performance.now();
      stop = true;
      // Pongs wait for a ping that will not come: closing ends them.
      for (const [px, py] of pds) {
        pollUnblock(px);
        pollUnblock(py);
      }
    });
    for (const g of gs) yield* g.join();
    for (const [px, py] of pds) {
      pollClose(px);
      pollClose(py);
    }
  });
  for (const [x, y] of fds) {
    closeFd(x);
    closeFd(y);
  }
  return { msgs, waits, ms: t1 - t0 };
}

async function child(a: Args): Promise<void> {
  const backend = a.backend!;
  const started = await startAndWarmUp(backend);
  const lat = await wakeLatency(started.shm.sab, a.samples);
  const pp = await pingPong(a.pairs, a.seconds);
  await stopPoller();
  const line = {
    bench: "netpoll",
    backend,
    node: process.version,
    wake_us: { ...percentiles(lat.us), samples: lat.us.length, not_parked: lat.notParked },
    pingpong: {
      pairs: a.pairs,
      seconds: round(pp.ms / 1000),
      msgs_per_s: Math.round((pp.msgs / pp.ms) * 1000),
      events_per_s: Math.round((pp.waits / pp.ms) * 1000),
    },
    loadavg: round(loadavg()[0]!),
  };
  console.log(JSON.stringify(line));
}

const args = parseArgs(process.argv.slice(2));
if (args.backend !== null) {
  await child(args);
} else {
  const self = fileURLToPath(import.meta.url);
  for (const backend of ["epoll", "eventports"] as const) {
    const extra = process.argv.slice(2);
    const r = spawnSync(process.execPath, ["--import", "tsx", self, "--backend", backend, ...extra], { stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) process.exitCode = 1;
  }
}

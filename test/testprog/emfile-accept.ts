// An accept loop that runs out of descriptors (test/runtime/net.test.ts).
//
// Listens on 127.0.0.1:0 and prints "port N"; then lowers its own
// RLIMIT_NOFILE so that only a few more descriptors can be opened, and
// serves `want` connections (argv[3]) with acceptRetry: each connection
// echoes until end of stream. Once the limit is reached, accept fails with
// EMFILE, and acceptRetry backs off ("backoff <ms> <message>" on stderr)
// until connections close. After `want` connections it prints
// "done <served> <backoffs>" and exits 0. argv[2] names the poller backend.

import { closeSync, openSync, readdirSync } from "node:fs";
import koffi from "koffi";

import { startPoller, type PollerOptions } from "../../src/netpoll/netpoll.ts";
import { CTL_INPOLL } from "../../src/netpoll/shm.ts";
import { abi } from "../../src/runtime/abi/index.ts";
import { acceptRetry, listen } from "../../src/runtime/net.ts";
import { WaitGroup, chan, go, runMain, sleep } from "../../src/sched/index.ts";
import { echo } from "../support/net.ts";

const [backend, wantArg] = process.argv.slice(2) as [PollerOptions["backend"], string];
const want = Number(wantArg);
const { shm } = startPoller({ backend });

const RLIMIT_NOFILE = process.platform === "linux" ? 7 : 5; // Linux; illumos
const libc = koffi.load(abi.libraries.libc);
const setrlimit = libc.func("int setrlimit(int resource, const void *rlim)") as (r: number, rlim: BigUint64Array) => number;
const getrlimit = libc.func("int getrlimit(int resource, _Out_ void *rlim)") as (r: number, rlim: BigUint64Array) => number;

/**
 * Leaves exactly `room` descriptors free: lowers the soft limit to just
 * above the highest open one, fills every free number below it with
 * /dev/null, then closes `room` of those.
 */
function tighten(room: number): number {
  const highest = Math.max(...readdirSync("/proc/self/fd").map(Number));
  const lim = new BigUint64Array(2);
  if (getrlimit(RLIMIT_NOFILE, lim) !== 0) throw new Error("getrlimit failed");
  lim[0] = BigInt(highest + 1 + room);
  if (setrlimit(RLIMIT_NOFILE, lim) !== 0) throw new Error("setrlimit failed");
  const fillers: number[] = [];
  for (;;) {
    try {
      fillers.push(openSync("/dev/null", "r"));
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code === "EMFILE") break;
      throw e;
    }
  }
  for (let i = 0; i < room && fillers.length > 0; i++) closeSync(fillers.pop()!);
  return highest + 1 + room;
}

runMain(function* main() {
  const ln = yield* listen("tcp", "127.0.0.1:0");
  let backoffs = 0;
  let served = 0;
  const wg = new WaitGroup();
  const finished = chan<void>();
  go(function* acceptor() {
    while (served < want) {
      const c = yield* acceptRetry(ln, {
        onError: (e, delay) => {
          backoffs++;
          process.stderr.write(`backoff ${delay} ${e.message}\n`);
        },
      });
      served++;
      wg.add(1);
      go(echo, c, null, wg);
    }
    finished.close();
  });
  // The poller thread loads its modules (files) as it boots: lower the limit
  // only once it is up, blocked in the kernel for the parked accept.
  while (Atomics.load(shm.i32, CTL_INPOLL) !== 1) yield* sleep(5);
  const limit = tighten(3);
  process.stdout.write(`port ${(ln.addr as { port: number }).port} limit ${limit}\n`);
  yield* finished.recv();
  yield* ln.close();
  yield* wg.wait();
  process.stdout.write(`done ${served} ${backoffs}\n`);
});

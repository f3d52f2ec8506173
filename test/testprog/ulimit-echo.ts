// An echo server for a process started under a low descriptor limit
// (test/reliability/faults.test.ts runs it as
// `bash -c 'ulimit -n 64; exec node --import tsx test/testprog/ulimit-echo.ts BACKEND'`).
//
// Accepts with acceptRetry (on EMFILE it logs "backoff <ms> <message>" on
// stderr and retries, 5 ms doubling to 1 s) and echoes every connection
// until end of stream (test/support/net.ts's echo: an error panics, and the
// test sees the child's fatal error). Prints "port N limit L open O" once
// the poller thread is up (L the soft RLIMIT_NOFILE, O the descriptors open
// then), and runs until killed.

import { readdirSync, readFileSync } from "node:fs";

import { startPoller, type PollerOptions } from "../../src/netpoll/netpoll.ts";
import { CTL_INPOLL } from "../../src/netpoll/shm.ts";
import { acceptRetry, listen } from "../../src/runtime/net.ts";
import { go, runMain, sleep } from "../../src/sched/index.ts";
import { echo } from "../support/net.ts";

const backend = process.argv[2] as PollerOptions["backend"];
const { shm } = startPoller({ backend });

runMain(function* main() {
  const ln = yield* listen("tcp4", "127.0.0.1:0");
  let served = 0;
  go(function* acceptor() {
    for (;;) {
      const c = yield* acceptRetry(ln, {
        onError: (e, delay) => process.stderr.write(`backoff ${delay} ${e.message}\n`),
      });
      served++;
      go(echo, c);
    }
  });
  while (Atomics.load(shm.i32, CTL_INPOLL) !== 1) yield* sleep(5);
  const limit = /^Max open files\s+(\d+)/m.exec(readFileSync("/proc/self/limits", "utf8"))?.[1] ?? "?";
  process.stdout.write(`port ${(ln.addr as { port: number }).port} limit ${limit} open ${readdirSync("/proc/self/fd").length}\n`);
  for (;;) {
    yield* sleep(1000);
    if (served < 0) break; // never: runs until killed
  }
});

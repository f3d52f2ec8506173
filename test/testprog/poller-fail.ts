// The poller thread fails under a running program (test/reliability/faults.test.ts).
//
// argv[2] names the backend. A program with a goroutine parked in a read that
// nothing else would ever end; then the kernel poller is broken under the
// poller thread: on epoll, /dev/null is dup2'd onto the epoll descriptor (the
// next epoll_wait fails with EINVAL); on event ports, the emulation closes the
// port (port_getn fails with EBADFD). A byte written to the parked
// connection makes the poller thread go round its loop into that failure.
// The program must end with "fatal error: netpoll: ..." and exit status 2
// (runMain), never hang; the parent kills it after a bound.

import { openSync } from "node:fs";
import koffi from "koffi";

import { portEmu } from "../support/netpoll-fds.ts";
import { tcpPair } from "../support/net.ts";
import { fdTable, findPollerFd } from "../support/netpoll-harness.ts";
import { startPoller, type PollerOptions } from "../../src/netpoll/netpoll.ts";
import { CTL_INPOLL } from "../../src/netpoll/shm.ts";
import { abi } from "../../src/runtime/abi/index.ts";
import { go, runMain, sleep } from "../../src/sched/index.ts";

const backend = process.argv[2] as NonNullable<PollerOptions["backend"]>;
const before = fdTable();
const { shm } = startPoller({ backend });
const pollfd = findPollerFd(before);
const dup2 = koffi.load(abi.libraries.libc).func("int dup2(int oldfd, int newfd)") as (a: number, b: number) => number;

runMain(function* main() {
  const [, client, server] = yield* tcpPair();
  const reader = go(function* reader() {
    const buf = new Uint8Array(1);
    for (;;) {
      if ((yield* server.read(buf)) === 0) return; // reads until the fatal error ends the program
    }
  });
  // The poller thread blocks in the kernel once the program is idle, the reader parked.
  while (Atomics.load(shm.i32, CTL_INPOLL) !== 1) yield* sleep(2);
  if (backend === "epoll") {
    if (dup2(openSync("/dev/null", "r"), pollfd) < 0) throw new Error("dup2 failed");
  } else {
    portEmu().close(pollfd);
  }
  process.stderr.write("broken\n");
  yield* sleep(50);
  yield* client.write(Uint8Array.of(1));
  yield* reader.join();
  process.stdout.write("not reached\n");
});

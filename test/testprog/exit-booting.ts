// A program that exits while the poller thread may still be booting (it
// declares its koffi types then) or polling: Node terminates a live worker at
// exit, and a termination inside a koffi call aborts the process. The exit
// hook of netpoll.ts must have stopped the worker first: an 'exit' listener
// added after the poller's own prints whether the worker had left its loop.
// argv: backend, then how long to keep the main thread busy (ms), or "up" to
// wait until the worker has booted.

import { CTL_DOWN } from "../../src/netpoll/shm.ts";
import { pollerUp, startPoller, type PollerOptions } from "../../src/netpoll/netpoll.ts";

const [backend, wait] = process.argv.slice(2) as [PollerOptions["backend"], string];
const { shm } = startPoller({ backend });
process.on("exit", () => process.stdout.write(`down ${Atomics.load(shm.i32, CTL_DOWN)}\n`));
const t0 = performance.now();
const done = wait === "up" ? pollerUp : () => performance.now() - t0 >= Number(wait);
while (!done()) if (performance.now() - t0 > 10_000) throw new Error("the poller thread did not boot in 10 s");

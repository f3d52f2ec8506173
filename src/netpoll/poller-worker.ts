// The poller thread: blocks in the kernel poller (epoll_wait or port_getn,
// through koffi) while the main thread is idle, handles each event under its
// PollDesc lock (backend.poll), pushes a (pd, mode, fdseq) record for every
// parked goroutine to wake, and wakes the main thread through CTL_WAKE.
//
// Hand-off (Go's findRunnable: only an idle M blocks in netpoll):
//   main idle:  main sets CTL_MODE = MODE_POLL and waits on CTL_WAKE
//   worker:     polls (blocking); after delivering, notifies CTL_WAKE and,
//               while CTL_MODE is still MODE_POLL, polls again
//   main wakes: sets MODE_POLL -> MODE_HOLD: it polls for itself without
//               blocking every few scheduler ticks, so a busy server pays no
//               thread hop per event. The worker sees MODE_HOLD when its
//               poll returns, and waits on CTL_MODE.
// A main thread that wakes, runs briefly and idles again (one connection,
// request and answer) finds the worker still polling: no futex wake and
// wait per message.
// Boot: the thread starts from a bundle of this code (worker-bundle.ts); until it sets
// CTL_UP, the idle main thread polls the kernel itself every millisecond.
// Shutdown: main sets MODE_STOP and breaks the poller (eventfd, port_alert);
// the worker returns from the kernel, leaves the loop and sets CTL_DOWN, which
// the main thread waits for at process exit (netpoll.ts, stopAtExit). It takes
// no koffi callbacks and makes no async koffi calls (../shared/peers.md, section 4).

import { parentPort, workerData } from "node:worker_threads";

import { backendModule, type Backend, type BackendHandles, type Mode } from "./backend.ts";
import { ringPush } from "./ring.ts";
import { attachShm, CTL_DOWN, CTL_FAULT, CTL_INPOLL, CTL_MODE, CTL_UP, CTL_WAKE, MODE_HOLD, MODE_STOP } from "./shm.ts";

interface PollerData {
  sab: SharedArrayBuffer;
  maxPds: number;
  handles: BackendHandles;
}

const data = workerData as PollerData;
const shm = attachShm(data.sab, data.maxPds);
const i32 = shm.i32;

let pushed = 0;
function onParked(pd: number, mode: Mode, seq: number): void {
  ringPush(shm, pd, mode, seq);
  pushed++;
}

function loop(backend: Backend): void {
  Atomics.store(i32, CTL_UP, 1);
  for (;;) {
    const m = Atomics.load(i32, CTL_MODE);
    if (m === MODE_STOP) return;
    if (m === MODE_HOLD) {
      Atomics.wait(i32, CTL_MODE, MODE_HOLD);
      continue;
    }
    pushed = 0;
    Atomics.store(i32, CTL_INPOLL, 1);
    backend.poll(-1, onParked);
    Atomics.store(i32, CTL_INPOLL, 0);
    if (pushed > 0) {
      Atomics.store(i32, CTL_WAKE, 1);
      Atomics.notify(i32, CTL_WAKE);
    }
  }
}

// Attaching is inside the try: a backend that fails to attach (its library
// does not load) is a fault like any other, and still sets CTL_DOWN, so the
// exit hook does not wait out its bound.
try {
  loop(backendModule(data.handles.kind).attachBackend(shm, data.handles));
} catch (e) {
  Atomics.store(i32, CTL_FAULT, -1);
  parentPort!.postMessage({ fault: e instanceof Error ? (e.stack ?? e.message) : String(e) });
} finally {
  Atomics.store(i32, CTL_DOWN, 1);
  Atomics.notify(i32, CTL_DOWN);
}

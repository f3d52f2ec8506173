// The network poller, main-thread side (Go's netpoll.go: poll_runtime_*).
//
// Goroutines wait for descriptor readiness on PollDescs: slots of the shared
// slab (shm.ts) with a read and a write semaphore each. The protocol:
//
//   pollOpen(fd)          takes a slot from the free list (LIFO, like Go's
//                         pollCache), resets it under its lock, registers fd.
//   pollReset(pd, mode)   at the start of an operation: fails fast when the
//                         descriptor is closing or the deadline expired, and
//                         discards a stale notification.
//   pollWait(pd, mode)    after EAGAIN: arms (event ports), then netpollblock:
//                         consume SEM_READY, or CAS SEM_NIL -> SEM_PARKED and
//                         park. Evaluates to 0, ERR_CLOSING or ERR_TIMEOUT.
//   pollUnblock(pd)       Close: closing = 1 under the lock, then wakes both
//                         directions with an error.
//   pollClose(pd)         after the last operation returned: deregisters the
//                         descriptor (before the caller's close(2)) and frees
//                         the slot: fdseq++ under the lock, so the kernel's
//                         stale cookies no longer match.
//   setDeadline(pd, ...)  read/write deadlines on the scheduler's timer heap.
//
// Who wakes a parked goroutine: the poller (worker thread: a ring record;
// or the main thread's own non-blocking poll), close, or a deadline.
// Whoever moves the semaphore off SEM_PARKED owns the wake-up, so each parked
// goroutine is readied exactly once.
//
// Invariants:
//   - waitG[slot*2 + mode-1] is non-null iff that semaphore is SEM_PARKED, or
//     SEM_READY with a ring record still to drain;
//   - a slot is freed only when no goroutine waits on it (Go throws
//     "blocked read on closing polldesc"; so do we);
//   - `waiters` counts parked goroutines; while it is > 0 the worker is ref'd
//     (Node stays alive) and the scheduler holds an external reference (no
//     false deadlock), as Go's netpollWaiters.

import { Worker } from "node:worker_threads";

import { PARK, type G, type Op } from "../sched/g.ts";
import { fatal, getg, gopark, goready, holdExternal, setPollHook, type PollCounters, type PollTracer } from "../sched/proc.ts";
import { addTimer, delTimer, RTimer } from "../sched/timer.ts";
import { backendKind, backendModule, type Backend, type BackendKind, type Mode } from "./backend.ts";
import { ringDrain } from "./ring.ts";
import { pollerWorkerScript } from "./worker-bundle.ts";
import {
  CTL_DOWN,
  CTL_MODE,
  CTL_UP,
  CTL_WAKE,
  MODE_HOLD,
  MODE_POLL,
  MODE_R,
  MODE_STOP,
  MODE_W,
  PD_CLOSING,
  PD_FD,
  PD_FDSEQ,
  PD_HUP,
  PD_USER,
  SEM_NIL,
  SEM_PARKED,
  SEM_READY,
  createShm,
  lockPd,
  pdRead,
  pdw,
  semWord,
  unlockPd,
  type Shm,
} from "./shm.ts";

/** pollWait / pollReset results (Go's pollNoError, pollErrClosing, pollErrTimeout). */
export const ERR_NONE = 0;
export const ERR_CLOSING = 1;
export const ERR_TIMEOUT = 2;
export type PollErr = typeof ERR_NONE | typeof ERR_CLOSING | typeof ERR_TIMEOUT;

export { MODE_R, MODE_W, type Mode };

/** Slots in the slab; a power of two. 65536 descriptors at 32 bytes each, plus the ring. */
const DEFAULT_MAX_PDS = 1 << 16;
/** How long the exit waits for the worker to leave koffi: its boot (~25 ms here) plus a wake-up, with room for a loaded machine. */
const EXIT_WAIT_MS = 2000;

export interface PollerOptions {
  /** Force a backend (else NETPOLL_BACKEND, else the OS default). */
  backend?: BackendKind;
  /** Descriptors that can be open at once (a power of two). */
  maxPds?: number;
}

/** Everything the main thread keeps for one poller. */
class Poller {
  readonly shm: Shm;
  readonly backend: Backend;
  readonly kind: BackendKind;
  readonly worker: Worker;
  /** Parked goroutines, two per slot: [slot*2] read, [slot*2+1] write. */
  readonly waitG: (G | null)[];
  /** Deadlines per slot and direction (ms on performance.now(); 0 none), and expiry flags. */
  readonly deadline: Float64Array;
  readonly expired: Uint8Array;
  readonly timers: (RTimer | null)[];
  /** Free slots (LIFO) and the high-water mark of slots ever handed out. */
  readonly free: number[] = [];
  used = 0;
  waiters = 0;
  releaseRef: (() => void) | null = null;
  /** True while a waitAsync on CTL_WAKE is pending. */
  sleeping = false;
  /** The boot-time poll (bootPoll) while one is due. */
  bootTimer: NodeJS.Timeout | null = null;
  stopped = false;
  /** The worker thread has exited (its 'exit' event fired). */
  exited = false;
  /** Why the poller thread failed, once it has. */
  failure: Error | null = null;

  constructor(opts: PollerOptions) {
    const maxPds = opts.maxPds ?? DEFAULT_MAX_PDS;
    if (!Number.isInteger(Math.log2(maxPds))) throw new RangeError("netpoll: maxPds must be a power of two");
    this.kind = backendKind(opts.backend);
    this.shm = createShm(maxPds);
    this.backend = backendModule(this.kind).openBackend(this.shm);
    this.waitG = new Array<G | null>(maxPds * 2).fill(null);
    this.deadline = new Float64Array(maxPds * 2);
    this.expired = new Uint8Array(maxPds * 2);
    this.timers = new Array<RTimer | null>(maxPds * 2).fill(null);
    this.worker = new Worker(pollerWorkerScript(), {
      eval: true,
      workerData: { sab: this.shm.sab, maxPds, handles: this.backend.handles },
    });
    this.worker.on("message", (m: { fault?: string }) => this.fault(`poller thread failed: ${m.fault}`));
    this.worker.on("error", (e) => this.fault(`poller thread failed: ${e.stack ?? e.message}`));
    const atExit = (): void => this.stopAtExit();
    process.once("exit", atExit);
    this.worker.on("exit", (code) => {
      this.exited = true;
      process.off("exit", atExit);
      if (!this.stopped) this.fault(`poller thread exited (code ${code})`);
    });
    // After the listeners: a 'message' listener refs the worker's port again.
    this.worker.unref();
  }

  /**
   * The kernel poller failed, seen by the worker (which has left its loop)
   * or by this thread's own poll. Ends the running program, and makes every
   * later use of the poller fail instead of waiting on a dead thread. The
   * worker is told to stop and broken out of a wait it may still be in (a
   * poller descriptor replaced under it leaves it blocked on the old one,
   * and a thread blocked in a koffi call keeps the process from exiting);
   * the break itself may fail, with the poller broken, and is then moot.
   */
  fault(msg: string): void {
    if (this.stopped) return;
    this.stopped = true;
    Atomics.store(this.shm.i32, CTL_MODE, MODE_STOP);
    Atomics.notify(this.shm.i32, CTL_MODE);
    try {
      this.backend.wake();
    } catch {
      // the poller is broken; a worker still blocked in it has nothing to wait for either
    }
    this.failure = new Error(`fatal error: netpoll: ${msg}`);
    fatal(this.failure);
  }

  stop(): void {
    if (this.stopped) return;
    this.stopped = true;
    if (this.bootTimer !== null) clearTimeout(this.bootTimer);
    Atomics.store(this.shm.i32, CTL_MODE, MODE_STOP);
    Atomics.notify(this.shm.i32, CTL_MODE);
    this.backend.wake();
  }

  /**
   * At process exit Node terminates a live worker, and a termination that
   * lands while the worker is inside koffi (its boot declares the FFI types)
   * aborts the whole process: "FATAL ERROR: Error::ThrowAsJavaScriptException
   * napi_throw", seen in ~3% of exits 10-20 ms into the worker's boot, on both
   * backends (Koromix/koffi#190 has the same message). So the worker is
   * stopped and waited for, synchronously, until it has left its loop
   * (CTL_DOWN); termination then finds it in plain JS. This runs for every
   * worker still alive at exit, one that stopPoller is still waiting for
   * included. The wait is bounded: a worker stuck in a broken kernel poller
   * would hold the exit anyway.
   */
  stopAtExit(): void {
    this.stop();
    Atomics.wait(this.shm.i32, CTL_DOWN, 0, EXIT_WAIT_MS);
  }
}

let poller: Poller | null = null;

/** Starts the poller (once per process); later calls return the running one. */
export function startPoller(opts: PollerOptions = {}): { kind: BackendKind; shm: Shm } {
  if (poller === null) {
    poller = new Poller(opts);
    setPollHook({ pollNonBlocking, idle, programEnded, counters, trace: (t) => (tracer = t) });
  } else if (opts.backend !== undefined && opts.backend !== poller.kind) {
    throw new Error(`netpoll: the ${poller.kind} poller is running; stop it before starting ${opts.backend}`);
  }
  return { kind: poller.kind, shm: poller.shm };
}

/**
 * Stops the poller thread and closes the kernel poller. The worker is broken
 * out of the kernel first, since a thread blocked in a koffi call never exits.
 */
export async function stopPoller(): Promise<void> {
  const p = poller;
  if (p === null) return;
  poller = null;
  setPollHook(null);
  p.stop();
  p.releaseRef?.();
  if (!p.exited) {
    await new Promise<void>((resolve) => {
      p.worker.once("exit", () => resolve());
      p.worker.ref();
    });
  }
  p.backend.destroy();
}

function need(): Poller {
  if (poller === null) startPoller();
  if (poller!.failure !== null) throw poller!.failure;
  return poller!;
}

export function pollerKind(): BackendKind | null {
  return poller === null ? null : poller.kind;
}

/**
 * Whether the poller thread has booted (a new thread: ~0.1 s of CPU, more
 * the first time its code is bundled). I/O works before that (the idle main thread polls); a
 * server may still wait for it so that the boot does not share the CPU with
 * its first clients.
 */
export function pollerUp(): boolean {
  return poller !== null && Atomics.load(poller.shm.i32, CTL_UP) === 1;
}

// ---- PollDesc lifecycle -------------------------------------------------------

/** Go's poll_runtime_pollOpen: a PollDesc slot for fd, registered with the kernel poller. */
export function pollOpen(fd: number): number {
  const p = need();
  const shm = p.shm;
  const pd = p.free.length > 0 ? p.free.pop()! : p.used++;
  if (pd >= shm.maxPds) {
    p.used--;
    throw new RangeError(`netpoll: more than ${shm.maxPds} descriptors open`);
  }
  lockPd(shm, pd);
  Atomics.store(shm.i32, pdw(shm, pd, PD_FD), fd);
  if (Atomics.load(shm.i32, pdw(shm, pd, PD_FDSEQ)) === 0) Atomics.store(shm.i32, pdw(shm, pd, PD_FDSEQ), 1);
  Atomics.store(shm.i32, pdw(shm, pd, PD_CLOSING), 0);
  Atomics.store(shm.i32, pdw(shm, pd, PD_USER), 0);
  Atomics.store(shm.i32, pdw(shm, pd, PD_HUP), 0);
  Atomics.store(shm.i32, semWord(shm, pd, MODE_R), SEM_NIL);
  Atomics.store(shm.i32, semWord(shm, pd, MODE_W), SEM_NIL);
  unlockPd(shm, pd);
  for (const i of [pd * 2, pd * 2 + 1]) {
    p.deadline[i] = 0;
    p.expired[i] = 0;
  }
  const errno = p.backend.open(pd, fd);
  if (errno !== 0) {
    freeSlot(p, pd);
    throw new PollOpenError(fd, errno);
  }
  return pd;
}

export class PollOpenError extends Error {
  override name = "PollOpenError";
  readonly errno: number;
  constructor(fd: number, errno: number) {
    super(`netpoll: cannot register fd ${fd} (errno ${errno})`);
    this.errno = errno;
  }
}

/** Go's poll_runtime_pollUnblock (the Close path): closing, then every waiter wakes with ERR_CLOSING. */
export function pollUnblock(pd: number): void {
  const p = need();
  const shm = p.shm;
  lockPd(shm, pd);
  const already = Atomics.load(shm.i32, pdw(shm, pd, PD_CLOSING)) !== 0;
  Atomics.store(shm.i32, pdw(shm, pd, PD_CLOSING), 1);
  unlockPd(shm, pd);
  if (already) throw new Error("netpoll: unblock on closing polldesc");
  for (const mode of [MODE_R, MODE_W] as const) {
    stopDeadline(p, pd, mode);
    wakeWithError(p, pd, mode);
  }
}

/** Go's poll_runtime_pollClose: deregisters and frees the slot; call before close(2). */
export function pollClose(pd: number): void {
  const p = need();
  const shm = p.shm;
  if (pdRead(shm, pd, PD_CLOSING) === 0) throw new Error("netpoll: close polldesc w/o unblock");
  if (p.waitG[pd * 2] !== null || p.waitG[pd * 2 + 1] !== null) throw new Error("netpoll: blocked read on closing polldesc");
  p.backend.close(pd, pdRead(shm, pd, PD_FD));
  freeSlot(p, pd);
}

function freeSlot(p: Poller, pd: number): void {
  const shm = p.shm;
  lockPd(shm, pd);
  // A new generation: cookies the kernel still holds for the old one are now stale.
  const seq = (Atomics.load(shm.i32, pdw(shm, pd, PD_FDSEQ)) + 1) & 0xfffff;
  Atomics.store(shm.i32, pdw(shm, pd, PD_FDSEQ), seq === 0 ? 1 : seq);
  unlockPd(shm, pd);
  p.free.push(pd);
}

/** close(2) through the backend (see Backend.sysClose); returns 0 or an errno. */
export function sysClose(fd: number): number {
  return need().backend.sysClose(fd);
}

/** Descriptors registered now (for leak checks). */
export function openPollDescs(): number {
  return poller === null ? 0 : poller.used - poller.free.length;
}

/** Goroutines parked on descriptors now. */
export function ioWaiters(): number {
  return poller === null ? 0 : poller.waiters;
}

// ---- waiting ---------------------------------------------------------------------

/** Go's netpollcheckerr: closing beats an expired deadline. */
export function pollCheckErr(pd: number, mode: Mode): PollErr {
  const p = need();
  if (pdRead(p.shm, pd, PD_CLOSING) !== 0) return ERR_CLOSING;
  if (p.expired[pd * 2 + mode - 1] !== 0) return ERR_TIMEOUT;
  return ERR_NONE;
}

/** Go's poll_runtime_pollReset: before an operation; drops a stale notification. */
export function pollReset(pd: number, mode: Mode): PollErr {
  const err = pollCheckErr(pd, mode);
  if (err === ERR_NONE) Atomics.store(poller!.shm.i32, semWord(poller!.shm, pd, mode), SEM_NIL);
  return err;
}

/** Whether the poller has reported a hang-up or an error of pd (PD_HUP): the end of stream may be waiting. */
export function pollHungUp(pd: number): boolean {
  return Atomics.load(poller!.shm.i32, pdw(poller!.shm, pd, PD_HUP)) !== 0;
}

/** Go's poll_runtime_pollWait: waits until pd is ready for mode, closing, or past its deadline. */
export function* pollWait(pd: number, mode: Mode): Op<PollErr> {
  let r = pollWaitStart(pd, mode);
  while (r === WAIT_PARKED) {
    yield PARK;
    r = pollWaitResume(pd, mode);
  }
  return r;
}

/** pollWaitStart / pollWaitResume: the running goroutine is parked; `yield PARK`, then call pollWaitResume. */
export const WAIT_PARKED = 3;

/**
 * pollWait's steps, for code that parks itself: fd.ts's read and write
 * (IoOp state machines, no generator) wait once per message, and a pollWait
 * generator there would be one more level of yield* to create and resume
 * each time. Evaluates to ERR_NONE (ready), an error, or WAIT_PARKED.
 */
export function pollWaitStart(pd: number, mode: Mode): PollErr | typeof WAIT_PARKED {
  const p = need();
  const err = pollCheckErr(pd, mode);
  if (err !== ERR_NONE) return err;
  p.backend.arm(pd, mode); // level-triggered event ports: arm on every wait
  if (netpollblock(p, pd, mode)) return ERR_NONE;
  gopark("IO wait");
  return WAIT_PARKED;
}

/** After the park of pollWaitStart: ready, or (woken by close or a deadline, or a deadline that moved) the next step. */
export function pollWaitResume(pd: number, mode: Mode): PollErr | typeof WAIT_PARKED {
  const p = poller!;
  if (Atomics.exchange(p.shm.i32, semWord(p.shm, pd, mode), SEM_NIL) === SEM_READY) return ERR_NONE;
  return pollWaitStart(pd, mode);
}

/**
 * netpollblock, first half: consumes a remembered notification (true), or
 * records the running goroutine as the waiter (false: the caller parks).
 */
function netpollblock(p: Poller, pd: number, mode: Mode): boolean {
  const w = semWord(p.shm, pd, mode);
  const i32 = p.shm.i32;
  for (;;) {
    if (Atomics.compareExchange(i32, w, SEM_READY, SEM_NIL) === SEM_READY) return true;
    const old = Atomics.compareExchange(i32, w, SEM_NIL, SEM_PARKED);
    if (old === SEM_NIL) break;
    if (old === SEM_PARKED) throw new Error("netpoll: double wait");
  }
  p.waitG[pd * 2 + mode - 1] = getg();
  if (p.waiters++ === 0) refPoller(p);
  return false;
}

/** Takes the goroutine parked on (pd, mode), if any, and readies it. */
function readyWaiter(p: Poller, pd: number, mode: Mode): void {
  const i = pd * 2 + mode - 1;
  const g = p.waitG[i];
  if (g === null || g === undefined) return;
  p.waitG[i] = null;
  goready(g, undefined);
  if (--p.waiters === 0) unrefPoller(p);
}

/** netpollunblock(ioready=false): close and deadlines. Only a parked goroutine is woken. */
function wakeWithError(p: Poller, pd: number, mode: Mode): void {
  const w = semWord(p.shm, pd, mode);
  if (Atomics.compareExchange(p.shm.i32, w, SEM_PARKED, SEM_NIL) === SEM_PARKED) readyWaiter(p, pd, mode);
}

/** A parked goroutine whose direction the poller marked ready (ring record or own poll). */
function onParkedReady(pd: number, mode: Mode, seq: number): void {
  const p = poller!;
  if (pdRead(p.shm, pd, PD_FDSEQ) !== seq) return;
  const g = p.waitG[pd * 2 + mode - 1];
  if (g !== null && g !== undefined) {
    ioReadied++;
    if (tracer !== null) tracer.ioReady(g, pd, mode);
  }
  readyWaiter(p, pd, mode);
}

function refPoller(p: Poller): void {
  p.worker.ref();
  p.releaseRef = holdExternal();
}

function unrefPoller(p: Poller): void {
  p.worker.unref();
  p.releaseRef?.();
  p.releaseRef = null;
}

// ---- deadlines --------------------------------------------------------------------

/**
 * Sets the deadline of one or both directions: an absolute time on the
 * performance.now() clock, or null for none. A deadline in the past expires
 * at once. Moving a deadline re-arms its timer and clears the expiry, so a
 * connection stays usable once its deadline moves.
 */
export function setDeadline(pd: number, modes: number, at: number | null): PollErr {
  const p = need();
  if (pdRead(p.shm, pd, PD_CLOSING) !== 0) return ERR_CLOSING;
  for (const mode of [MODE_R, MODE_W] as const) {
    if ((modes & mode) === 0) continue;
    const i = pd * 2 + mode - 1;
    p.deadline[i] = at ?? 0;
    p.expired[i] = 0;
    stopDeadline(p, pd, mode);
    if (at === null) continue;
    if (at <= performance.now()) expire(p, pd, mode);
    else addTimer(deadlineTimer(p, pd, mode), at);
  }
  return ERR_NONE;
}

function deadlineTimer(p: Poller, pd: number, mode: Mode): RTimer {
  const i = pd * 2 + mode - 1;
  return (p.timers[i] ??= new RTimer(onDeadline, i));
}

function onDeadline(i: number): void {
  const p = poller;
  if (p === null) return;
  expire(p, i >> 1, ((i & 1) + 1) as Mode);
}

function expire(p: Poller, pd: number, mode: Mode): void {
  p.expired[pd * 2 + mode - 1] = 1;
  wakeWithError(p, pd, mode);
}

function stopDeadline(p: Poller, pd: number, mode: Mode): void {
  const t = p.timers[pd * 2 + mode - 1];
  if (t !== null && t !== undefined) delTimer(t);
}

// ---- the scheduler's hooks -----------------------------------------------------

/** The execution tracer while tracing is on (set through PollHook.trace), else null. */
let tracer: PollTracer | null = null;
/** Cumulative counters for schedMetrics (never reset, across pollers). */
let handoffs = 0;
let ioReadied = 0;

function counters(): PollCounters {
  return { waiters: poller === null ? 0 : poller.waiters, handoffs, ioReadied };
}

/** Between goroutines: take what the worker published, and poll the kernel without blocking. */
function pollNonBlocking(): void {
  const p = poller;
  if (p === null || p.waiters === 0) return;
  ringDrain(p.shm, onParkedReady);
  if (p.waiters > 0) pollHere(p);
}

/**
 * A non-blocking poll on this thread. A kernel poller that fails here has
 * failed for the worker too: the program ends with the same fatal error as
 * when the worker sees it first, instead of an exception thrown out of the
 * scheduler.
 */
function pollHere(p: Poller): void {
  try {
    p.backend.poll(0, onParkedReady);
  } catch (e) {
    p.fault((e instanceof Error ? e.message : String(e)).replace(/^netpoll: /, ""));
  }
}

/** The scheduler has nothing to run: hand the blocking wait to the worker, and sleep on CTL_WAKE. */
function idle(): void {
  const p = poller;
  if (p === null || p.waiters === 0) return;
  const i32 = p.shm.i32;
  if (p.bootTimer === null && Atomics.load(i32, CTL_UP) === 0) p.bootTimer = setTimeout(bootPoll, BOOT_POLL_MS, p).unref();
  if (p.sleeping) return;
  // CTL_WAKE is cleared by onWake just before it drains, never here: a clear
  // here could erase the worker's 1 for a record pushed since the last drain,
  // and this wait would then sleep on it (found by docs/model/netpoll_sema.pml).
  if (Atomics.compareExchange(i32, CTL_MODE, MODE_HOLD, MODE_POLL) === MODE_HOLD) Atomics.notify(i32, CTL_MODE);
  const r = Atomics.waitAsync(i32, CTL_WAKE, 0);
  if (!r.async) {
    queueMicrotask(() => onWake(p));
    return;
  }
  p.sleeping = true;
  handoffs++;
  if (tracer !== null) tracer.pollBlock(p.waiters);
  void r.value.then(() => onWake(p));
}

/** How often the idle main thread polls the kernel itself until the poller thread is up. */
const BOOT_POLL_MS = 1;

/**
 * The poller thread is still booting and the scheduler is idle: poll the
 * kernel once from this thread, without blocking. Goroutines it readies run
 * (goready kicks the scheduler) and the scheduler's next idle() arms it
 * again; with none readied it is armed again here. The pending hand-off
 * stays as it is. Unref'd: parked goroutines keep the process alive through
 * the worker's ref, not through this timer.
 */
function bootPoll(p: Poller): void {
  p.bootTimer = null;
  if (p.stopped || poller !== p) return;
  const before = p.waiters;
  ringDrain(p.shm, onParkedReady);
  if (p.waiters > 0) pollHere(p);
  if (p.waiters === before) idle();
}

function onWake(p: Poller): void {
  const blocked = p.sleeping; // false when waitAsync returned at once: no hand-off to end
  p.sleeping = false;
  if (p.stopped) return;
  if (tracer !== null && blocked) tracer.pollWake();
  // This thread runs now and polls for itself; the worker stops at its next wake-up.
  Atomics.compareExchange(p.shm.i32, CTL_MODE, MODE_POLL, MODE_HOLD);
  // Cleared before the drain: a record pushed after this sets it again, so the
  // next waitAsync returns at once instead of missing it.
  Atomics.store(p.shm.i32, CTL_WAKE, 0);
  // Nothing to drain (a stale notify, or readiness nobody waits for): sleep again.
  if (ringDrain(p.shm, onParkedReady) === 0) idle();
}

/** The program ended: its parked goroutines are gone. */
function programEnded(): void {
  const p = poller;
  if (p === null) return;
  for (let i = 0; i < p.waitG.length; i++) {
    if (p.waitG[i] === null) continue;
    p.waitG[i] = null;
    Atomics.compareExchange(p.shm.i32, semWord(p.shm, i >> 1, ((i & 1) + 1) as Mode), SEM_PARKED, SEM_NIL);
  }
  if (p.waiters > 0) {
    p.waiters = 0;
    p.worker.unref();
    p.releaseRef = null;
  }
}

// Shared memory of the poller: the PollDesc slab, the ready ring and the
// control words, in one SharedArrayBuffer that the main thread and the poller
// worker both map (Go's pollDesc and pollCache, netpoll.go).
//
// Layout (Int32 words):
//
//   [0, CTL_WORDS)                 control words (CTL_* below)
//   [RING_BASE, +ringWords)        the ready ring (ring.ts)
//   [pdBase, +maxPds * PD_WORDS)   PollDescs, PD_WORDS words each
//
// A PollDesc is identified by its slot index. Its fields, and who may touch them:
//
//   PD_LOCK     0 free, 1 held. A spin lock taken with Atomics by both threads.
//               Critical sections are a few loads and stores plus at most one
//               port_associate, so spinning beats parking.
//   PD_FD       the descriptor; constant while the slot is in use.
//   PD_FDSEQ    generation; bumped (under the lock) when the slot is freed, and
//               carried in every kernel cookie, so an event for an earlier
//               user of the slot is recognised and dropped (Go's fdseq).
//   PD_CLOSING  set under the lock by pollUnblock (Close), cleared by pollOpen.
//               Once set, nobody associates the descriptor with the kernel
//               again: the fix of Go commit 199e7030.
//               These three are written only by the main thread, under the
//               lock: it reads them without atomics, the worker under the
//               lock (pdRead).
//   PD_USER     event ports: the poll bits currently associated (Go's pd.user),
//               read and written only under the lock.
//   PD_RG/PD_WG the read/write semaphores (netpoll.go rg/wg), changed only by
//               compare-and-swap: SEM_NIL, SEM_READY (readiness remembered), or
//               SEM_PARKED (a goroutine waits; the main thread keeps it in
//               netpoll.ts). Go's pdWait state is not needed: the main thread
//               goes from EAGAIN to park in one synchronous step, and the CAS
//               from SEM_NIL to SEM_PARKED is what a concurrent SEM_READY races.
//   PD_HUP      1 once the poller has reported a hang-up or an error (EPOLLRDHUP,
//               EPOLLHUP, EPOLLERR; POLLHUP, POLLERR): set under the lock, for
//               the current fdseq only, never cleared until pollOpen. Unlike
//               the semaphore, pollReset does not drop it, so a read that
//               skips read(2) after a short read (fd.ts) cannot miss an end
//               of stream that arrived before that short read.
//
// The cookie given to the kernel is slot + fdseq * 2^32 (a JS number: fdseq
// stays below 2^21).

export const CTL_WAKE = 0; // main thread futex: 1 = the worker published something since the main thread last looked
export const CTL_MODE = 1; // what the worker should do: MODE_* (written by main, read by worker)
export const CTL_BREAK = 2; // 1 while a break is in flight (Go's netpollWakeSig); reset by the worker
export const CTL_INPOLL = 3; // 1 while the worker is inside a blocking poll
export const CTL_FAULT = 4; // non-zero: the worker died; the errno or -1
export const CTL_VARIANT = 5; // protocol variant (PROTO_*), for tests
export const CTL_DELAY = 6; // microseconds of injected delay before re-association, for tests
export const CTL_UP = 7; // 1 once the worker has booted and entered its loop (set by the worker, never cleared)
export const CTL_DOWN = 8; // 1 once the worker has left its loop (stopped, or its poll failed): it makes no more koffi calls (set by the worker)
const CTL_WORDS = 9;

/** CTL_MODE values. */
export const MODE_HOLD = 0; // main is busy and polls for itself; worker waits on CTL_MODE
export const MODE_POLL = 1; // main is idle: worker blocks in the kernel poller
export const MODE_STOP = 2; // shut down

/** CTL_VARIANT values: which poller protocol the worker runs. */
export const PROTO_CURRENT = 0; // fdseq and closing checked under the lock, readiness published before unlock
export const PROTO_PREFIX = 1; // Go before 199e7030: re-associate with no lock and no closing or fdseq check (tests only)

export const PD_LOCK = 0;
export const PD_FD = 1;
export const PD_FDSEQ = 2;
export const PD_CLOSING = 3;
export const PD_USER = 4;
export const PD_RG = 5;
export const PD_WG = 6;
export const PD_HUP = 7;
const PD_WORDS = 8;

export const SEM_NIL = 0;
export const SEM_READY = 1;
export const SEM_PARKED = 2;

export const MODE_R = 1;
export const MODE_W = 2;

/** Ring capacity in records: two per PollDesc can be outstanding (one per direction), see ring.ts. */
export const RING_BASE = CTL_WORDS;
export const RING_HEADER = 2;
export const RECORD_WORDS = 3;

export interface Shm {
  readonly sab: SharedArrayBuffer;
  readonly i32: Int32Array;
  readonly maxPds: number;
  readonly ringCap: number;
  readonly pdBase: number;
}

/** maxPds must be a power of two, so ring indices stay continuous when they wrap at 2^32. */
export function createShm(maxPds: number): Shm {
  const ringCap = 2 * maxPds;
  const pdBase = RING_BASE + RING_HEADER + ringCap * RECORD_WORDS;
  const sab = new SharedArrayBuffer((pdBase + maxPds * PD_WORDS) * 4);
  return attachShm(sab, maxPds);
}

export function attachShm(sab: SharedArrayBuffer, maxPds: number): Shm {
  const ringCap = 2 * maxPds;
  return { sab, i32: new Int32Array(sab), maxPds, ringCap, pdBase: RING_BASE + RING_HEADER + ringCap * RECORD_WORDS };
}

/** Word index of field f of PollDesc slot pd. */
export function pdw(shm: Shm, pd: number, f: number): number {
  return shm.pdBase + pd * PD_WORDS + f;
}

/**
 * A plain (non-atomic) read of a PollDesc word, for the two cases that need no
 * atomic: a word only this thread writes (the main thread's own PD_FD, PD_FDSEQ
 * and PD_CLOSING: it is their only writer), or a word read under the lock
 * that guards every write of it (the lock's Atomics order the accesses).
 * V8 does not inline Atomics.load: each is a builtin call, several per message.
 */
export function pdRead(shm: Shm, pd: number, f: number): number {
  return shm.i32[pdw(shm, pd, f)]!;
}

export function lockPd(shm: Shm, pd: number): void {
  const i = pdw(shm, pd, PD_LOCK);
  while (Atomics.compareExchange(shm.i32, i, 0, 1) !== 0) {
    // The holder is on the other thread and about to finish: spin.
  }
}

export function unlockPd(shm: Shm, pd: number): void {
  Atomics.store(shm.i32, pdw(shm, pd, PD_LOCK), 0);
}

export function cookieOf(pd: number, seq: number): number {
  return pd + seq * 0x100000000;
}

/** The semaphore word of a direction. */
export function semWord(shm: Shm, pd: number, mode: typeof MODE_R | typeof MODE_W): number {
  return pdw(shm, pd, mode === MODE_R ? PD_RG : PD_WG);
}

/**
 * netpollunblock(ioready=true), the poller's half: remembers readiness and
 * reports whether a goroutine was parked, in which case the caller must get
 * it readied (the worker through the ring, the main thread directly).
 */
export function publishReady(shm: Shm, pd: number, mode: typeof MODE_R | typeof MODE_W): boolean {
  // Every state goes to SEM_READY (NIL and PARKED by Go's CAS loop, READY by
  // leaving it): one exchange does the same in one atomic step.
  return Atomics.exchange(shm.i32, semWord(shm, pd, mode), SEM_READY) === SEM_PARKED;
}

/** Records a hang-up or error of the descriptor (PD_HUP); the caller holds the lock and has checked fdseq. */
export function publishHup(shm: Shm, pd: number): void {
  Atomics.store(shm.i32, pdw(shm, pd, PD_HUP), 1);
}

/** Reads CTL_DELAY and spins that long: a test hook that widens race windows. */
export function injectedDelay(shm: Shm): void {
  const us = Atomics.load(shm.i32, CTL_DELAY);
  if (us <= 0) return;
  const end = performance.now() + (Math.random() * us) / 1000;
  while (performance.now() < end);
}

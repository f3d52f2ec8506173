// The ready ring: a single-producer (poller worker), single-consumer (main
// thread) queue of (pd, mode, fdseq) records in shared memory.
//
// The worker pushes a record only when it turns a semaphore from SEM_PARKED
// to SEM_READY, and nobody can park on that direction again until the main
// thread has consumed the record and readied the goroutine. So at most two
// records per PollDesc are ever outstanding, and a ring of 2 * maxPds records
// cannot overflow: push never has to wait.
//
// Words: [RING_BASE] head (next record to read, written by main),
// [RING_BASE+1] tail (next slot to write, written by worker); records follow.
// Indices grow without bound (mod 2^32 via | 0) and are reduced mod capacity.

import type { Mode } from "./backend.ts";
import { RECORD_WORDS, RING_BASE, RING_HEADER, type Shm } from "./shm.ts";

const HEAD = RING_BASE;
const TAIL = RING_BASE + 1;
const DATA = RING_BASE + RING_HEADER;

export function ringPush(shm: Shm, pd: number, mode: Mode, seq: number): void {
  const tail = Atomics.load(shm.i32, TAIL);
  if (((tail - Atomics.load(shm.i32, HEAD)) | 0) >= shm.ringCap) throw new Error("netpoll: ready ring overflow");
  const at = DATA + (tail >>> 0) % shm.ringCap * RECORD_WORDS;
  shm.i32[at] = pd;
  shm.i32[at + 1] = mode;
  shm.i32[at + 2] = seq;
  Atomics.store(shm.i32, TAIL, (tail + 1) | 0); // publishes the record (Atomics.store is sequentially consistent)
}

/** Calls f for each record pushed since the last drain; returns how many. */
export function ringDrain(shm: Shm, f: (pd: number, mode: Mode, seq: number) => void): number {
  let head = Atomics.load(shm.i32, HEAD);
  const tail = Atomics.load(shm.i32, TAIL);
  let n = 0;
  while (head !== tail) {
    const at = DATA + (head >>> 0) % shm.ringCap * RECORD_WORDS;
    f(shm.i32[at]!, shm.i32[at + 1]! as Mode, shm.i32[at + 2]!);
    head = (head + 1) | 0;
    n++;
  }
  Atomics.store(shm.i32, HEAD, head);
  return n;
}

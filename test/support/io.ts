// Byte-stream helpers shared by the fd, net and reliability tests: anything
// with the read and close of an FD or a Conn will do.

import assert from "node:assert/strict";

import type { Op } from "../../src/sched/index.ts";

interface Reader {
  read(buf: Uint8Array): Op<number>;
}

interface Closer {
  close(): Op<void>;
}

/** Test data: n pseudo-random bytes from a seed (an LCG's high bytes), the same on every run, so a corrupted or reordered echo shows. */
export function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

/** Reads exactly n bytes (fewer at end of stream) into a fresh buffer, at most `chunk` per read. */
export function* readFull(r: Reader, n: number, chunk = 65536): Op<Uint8Array> {
  const out = new Uint8Array(n);
  let got = 0;
  while (got < n) {
    const m = yield* r.read(out.subarray(got, Math.min(n, got + chunk)));
    if (m === 0) break;
    got += m;
  }
  return out.subarray(0, got);
}

export function* closeAll(...xs: Closer[]): Op<void> {
  for (const x of xs) yield* x.close();
}

/** Runs op, expecting it to throw; returns what it threw. */
export function* failing(op: Op<unknown>): Op<unknown> {
  try {
    yield* op;
  } catch (e) {
    return e;
  }
  assert.fail("the operation did not fail");
}

// select (Go's select.go).
//
// A select takes a list of cases, each a receive or a send on a channel or
// on null (Go's nil channel: never ready). Like selectgo it
//   1. visits the cases in a random poll order (a fresh uniform permutation)
//      and completes the first one that is ready, so the choice among ready
//      cases is uniform;
//   2. with a default, returns index -1 when none is ready;
//   3. otherwise enqueues one sudog per case, in that same random order, all
//      sharing one SelectState, parks, and when one case fires (the waker
//      claims the select by setting done) removes the losing sudogs from
//      their channels.
// A send case on a closed channel panics when chosen, as in Go.
//
// Cases are also Ops: `yield* recv(ch)` receives, `yield* recv(null)` blocks
// forever, as a receive from a nil channel does.

import { PARK, type Op, type Yield } from "./g.ts";
import { HChan, OP_RECV, OP_SEND, RECV_CLOSED, RECV_OK, Sudog, received, type Chan } from "./chan.ts";
import { cheaprandn } from "./fastrand.ts";
import { RuntimeError } from "./panic.ts";
import { getg, gopark, park } from "./proc.ts";
import { type SelectState } from "./sudog.ts";

export class RecvCase<T> implements Iterable<Yield, T, unknown> {
  readonly ch: HChan<T> | null;
  constructor(ch: Chan<T> | null) {
    this.ch = asHChan(ch);
  }
  *[Symbol.iterator](): Generator<Yield, T, unknown> {
    if (this.ch === null) return (yield* parkForever("chan receive (nil chan)")) as T;
    return yield* this.ch.recv();
  }
}

export class SendCase<T> implements Iterable<Yield, void, unknown> {
  readonly ch: HChan<T> | null;
  readonly value: T;
  constructor(ch: Chan<T> | null, value: T) {
    this.ch = asHChan(ch);
    this.value = value;
  }
  *[Symbol.iterator](): Generator<Yield, void, unknown> {
    if (this.ch === null) yield* parkForever("chan send (nil chan)");
    else yield* this.ch.send(this.value);
  }
}

export type Case = RecvCase<unknown> | SendCase<unknown>;

/** A receive case (or op) on ch; null is a nil channel. */
export function recv<T>(ch: Chan<T> | null): RecvCase<T> {
  return new RecvCase(ch);
}

/** A send case (or op) of v on ch; null is a nil channel. */
export function send<T>(ch: Chan<T> | null, v: T): SendCase<T> {
  return new SendCase(ch, v);
}

/**
 * What fired: its index in the case list, and for a receive the value and ok flag.
 * SendCase is tested first: structurally a SendCase<T> also matches RecvCase<infer T>.
 */
export type CaseResult<C, I extends number> =
  C extends SendCase<unknown>
    ? { readonly index: I; readonly value: undefined; readonly ok: true }
    : C extends RecvCase<infer T>
      ? { readonly index: I; readonly value: T; readonly ok: boolean }
      : never;

/** Per case for a tuple of cases; for an array built at run time, any of its cases at any index. */
export type SelectResult<C extends readonly Case[]> = number extends C["length"]
  ? CaseResult<C[number], number>
  : {
      [K in keyof C]: K extends `${infer I extends number}` ? CaseResult<C[K], I> : never;
    }[number];

export type DefaultResult = { readonly index: -1; readonly value: undefined; readonly ok: false };

const DEFAULT: DefaultResult = Object.freeze({ index: -1, value: undefined, ok: false });

export interface SelectOptions {
  /** With default: true, select never blocks and returns index -1 when no case is ready. */
  readonly default?: boolean;
}

/**
 * Waits until one of the cases can proceed and completes it.
 * `const r = yield* select([recv(a), send(b, 1)]); if (r.index === 0) use(r.value)`.
 */
export function select<const C extends readonly Case[]>(cases: C): Op<SelectResult<C>>;
export function select<const C extends readonly Case[]>(
  cases: C,
  opts: SelectOptions & { readonly default: true },
): Op<SelectResult<C> | DefaultResult>;
export function select<const C extends readonly Case[]>(
  cases: C,
  opts?: SelectOptions,
): Op<SelectResult<C> | DefaultResult>;
export function* select(cases: readonly Case[], opts?: SelectOptions): Op<Result> {
  if (!Array.isArray(cases)) throw new TypeError("select: cases must be an array of recv(...) / send(...)");
  const r = pollCases(cases);
  if (r !== null) return r;
  if (opts?.default === true) return DEFAULT;
  return yield* blockOnCases(cases);
}

type Result = { readonly index: number; readonly value: unknown; readonly ok: boolean };

/** Scratch permutation: the poll pass runs synchronously, so one array serves every select. */
let order = new Int32Array(16);

/** Pass 1: completes the first ready case in a random order, or returns null. */
function pollCases(cases: readonly Case[]): Result | null {
  const n = cases.length;
  if (order.length < n) order = new Int32Array(n * 2);
  for (let i = 0; i < n; i++) {
    // Inside-out Fisher-Yates, as Go builds pollorder.
    const j = cheaprandn(i + 1);
    order[i] = order[j]!;
    order[j] = i;
  }
  for (let k = 0; k < n; k++) {
    const i = order[k]!;
    const c = cases[i];
    if (c instanceof RecvCase) {
      if (c.ch === null) continue;
      const st = c.ch.pollRecv();
      if (st === RECV_OK) return { index: i, value: received, ok: true };
      if (st === RECV_CLOSED) return { index: i, value: c.ch.zero, ok: false };
    } else if (c instanceof SendCase) {
      if (c.ch !== null && c.ch.pollSend(c.value)) return { index: i, value: undefined, ok: true };
    } else {
      throw new TypeError(`select: case ${i} is not recv(...) or send(...)`);
    }
  }
  return null;
}

/** Pass 2: waits on every case at once; the first waker wins. */
function* blockOnCases(cases: readonly Case[]): Op<Result> {
  const g = getg();
  const sel: SelectState = { done: false };
  const sgs: (Sudog<unknown> | undefined)[] = new Array(cases.length);
  let waiting = 0;
  // Enqueue in the random poll order pollCases just drew (we run synchronously
  // after it, so `order` is still ours): several cases on one channel then
  // face a later partner in random order, not always the first listed.
  for (let k = 0; k < cases.length; k++) {
    const i = order[k]!;
    const c = cases[i]!;
    if (c.ch === null) continue;
    if (c instanceof RecvCase) {
      const sg = new Sudog(OP_RECV, c.ch, g, undefined, sel, i);
      c.ch.recvq.enqueue(sg);
      sgs[i] = sg;
    } else {
      const sg = new Sudog(OP_SEND, c.ch, g, c.value, sel, i);
      c.ch.sendq.enqueue(sg);
      sgs[i] = sg;
    }
    waiting++;
  }
  if (waiting === 0) return (yield* parkForever("select (no cases)")) as Result;
  gopark("select");
  const fired = (yield PARK) as Sudog<unknown>;
  for (const sg of sgs) if (sg !== undefined && sg !== fired) sg.leave();
  const c = cases[fired.caseIndex]!;
  if (c instanceof SendCase) {
    if (!fired.success) throw new RuntimeError("send on closed channel");
    return { index: fired.caseIndex, value: undefined, ok: true };
  }
  return fired.success
    ? { index: fired.caseIndex, value: fired.elem, ok: true }
    : { index: fired.caseIndex, value: c.ch!.zero, ok: false };
}

/** Blocks for good (nil channel, empty select); only the end of the program frees the goroutine. */
function* parkForever(reason: "chan receive (nil chan)" | "chan send (nil chan)" | "select (no cases)"): Op<never> {
  for (;;) yield* park(reason);
}

function asHChan<T>(ch: Chan<T> | null): HChan<T> | null {
  if (ch === null || ch instanceof HChan) return ch;
  throw new TypeError("select: expected a channel made by chan() or null");
}

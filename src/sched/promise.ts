// Interop with Promises and async code.
//
// A goroutine waits on a Promise with `yield* wait(p)`: it parks with reason
// "promise" and holds an external reference, so an idle program waits for
// the Promise instead of reporting a deadlock. A rejection is thrown into the
// goroutine, where try/catch sees it like any exception. The other direction,
// async code awaiting a goroutine, is `await go(f).join()` (proc.ts).

import { type Op } from "./g.ts";
import { getg, goready, goreadyErr, holdExternal, park } from "./proc.ts";

/** Waits for a Promise (or any thenable) and evaluates to its value; a rejection is thrown here. */
export function* wait<T>(p: PromiseLike<T> | T): Op<Awaited<T>> {
  const g = getg();
  const release = holdExternal();
  Promise.resolve(p).then(
    (v) => {
      release();
      goready(g, v);
    },
    (e: unknown) => {
      release();
      goreadyErr(g, e);
    },
  );
  return (yield* park("promise")) as Awaited<T>;
}

// The scheduler's public surface: goroutines, channels, select, time, sync,
// context, Promise interop and introspection. See README.md for the tour.

export type { Op, Yield, GoFn, WaitReason } from "./g.ts";
export { go, run, runMain, gosched, holdExternal, setCreationStacks, schedStats, type Goroutine, type Join } from "./proc.ts";
export { chan, type Chan } from "./chan.ts";
export { select, recv, send, type Case, type RecvCase, type SendCase, type SelectResult, type DefaultResult } from "./select.ts";
export { sleep, after, tick, newTimer, newTicker, afterFunc, type Timer, type Ticker } from "./time.ts";
export { wait } from "./promise.ts";
export { goroutineDump, dumpOnSigquit } from "./traceback.ts";
export { seedRand } from "./fastrand.ts";
export { RuntimeError, PanicError, DeadlockError, ExitedError } from "./panic.ts";

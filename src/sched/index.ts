// The scheduler's public surface: goroutines, channels, select, time, sync,
// context, Promise interop and introspection. See README.md for the tour.

export type { Op, Yield, GoFn, WaitReason } from "./g.ts";
export { go, run, runMain, gosched, holdExternal, setCreationStacks, schedStats, schedMetrics, type SchedMetrics } from "./proc.ts";
export type { Goroutine, Join } from "./g.ts";
export { chan, type Chan, type Range } from "./chan.ts";
export { select, recv, send, type Case, type RecvCase, type SendCase, type SelectResult, type DefaultResult } from "./select.ts";
export { sleep, after, tick, newTimer, newTicker, afterFunc, type Timer, type Ticker } from "./time.ts";
export { wait } from "./promise.ts";
export { goroutineDump, dumpOnSigquit } from "./traceback.ts";
export { startTrace, stopTrace, tracing, type TraceOptions, type TraceResult, type ChromeTrace } from "./trace.ts";
export { startSchedtrace, schedtraceLine } from "./schedtrace.ts";
export { seedRand } from "./fastrand.ts";
export { RuntimeError, PanicError, DeadlockError, ExitedError } from "./panic.ts";
export { Sema } from "./sema.ts";
export { Mutex, RWMutex, type Locker } from "./sync/mutex.ts";
export { WaitGroup } from "./sync/waitgroup.ts";
export { Once } from "./sync/once.ts";
export { Cond } from "./sync/cond.ts";
export { Weighted, newWeighted } from "./semaphore.ts";
export {
  background,
  todo,
  withCancel,
  withCancelCause,
  withDeadline,
  withDeadlineCause,
  withTimeout,
  withTimeoutCause,
  withValue,
  withoutCancel,
  afterFunc as contextAfterFunc,
  cause,
  signalOf,
  contextFromSignal,
  newKey,
  Key,
  Canceled,
  DeadlineExceeded,
  CanceledError,
  DeadlineExceededError,
  type Context,
  type CancelFunc,
  type CancelCauseFunc,
} from "./context.ts";

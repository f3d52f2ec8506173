// The goroutine record (Go's g, runtime2.go) and the vocabulary shared by every
// part of the scheduler: statuses, wait reasons, the yield protocol and Op<T>.
//
// A goroutine is a generator. Everything that can block is itself a generator
// that the goroutine delegates to with `yield*`; the only values that ever
// cross the generator boundary to the scheduler are the two markers below:
//
//   PARK     the goroutine has recorded itself on some wait queue (a channel,
//            a timer, a semaphore, a Promise, a poll descriptor) and set its
//            status to Gwaiting; it resumes when someone calls goready(g, v),
//            and `yield PARK` evaluates to v (or throws g.err).
//   GOSCHED  the goroutine gives up the processor but stays runnable.
//
// Anything else yielded is a programming error (a bare `yield` where `yield*`
// was meant) and panics the goroutine.

/** The value a goroutine yields to the scheduler. Opaque to users. */
export type Yield = typeof PARK | typeof GOSCHED;
export const PARK: unique symbol = Symbol("park");
export const GOSCHED: unique symbol = Symbol("gosched");

/**
 * A blocking operation: delegate to it with `yield*` from a goroutine and it
 * evaluates to T. `const v: T = yield* ch.recv()`. Generator functions
 * declared `function* (): Op<T>` are Ops; the hottest runtime ops (channel
 * send and receive, a connection's read and write) are small iterator
 * objects instead, which V8 resumes about twice as fast as a generator and
 * which allocate no generator frame. Such an object is recycled once it has
 * run: run an Op once, with `yield*`, and make a new one for the next
 * operation (as with a generator, whose second run does nothing).
 */
export interface Op<T> extends Iterable<Yield, T, unknown> {}

/** What the scheduler drives: an Op's iterator, which must accept throw (generators do). */
export type Coroutine<T> = Iterator<Yield, T, unknown> & { throw(e: unknown): IteratorResult<Yield, T> };

/** A goroutine body: a generator function whose return value is the result. */
export type GoFn<A extends unknown[], T> = (...args: A) => Op<T>;

// Statuses (Go's _Grunnable, _Grunning, _Gwaiting, _Gdead). Transitions:
//   runnable -> running (schedule), running -> waiting (park),
//   waiting -> runnable (goready), running -> runnable (gosched),
//   running -> dead (return, panic), any -> dead (program end).
export const Grunnable = 1;
export const Grunning = 2;
export const Gwaiting = 3;
export const Gdead = 4;
export type GStatus = typeof Grunnable | typeof Grunning | typeof Gwaiting | typeof Gdead;

const statusNames: Record<GStatus, string> = {
  [Grunnable]: "runnable",
  [Grunning]: "running",
  [Gwaiting]: "waiting",
  [Gdead]: "dead",
};

/** Why a goroutine is parked; shown in goroutine dumps as Go does (runtime2.go waitReasonStrings). */
export type WaitReason =
  | "chan receive"
  | "chan receive (nil chan)"
  | "chan send"
  | "chan send (nil chan)"
  | "select"
  | "select (no cases)"
  | "sleep"
  | "timer goroutines (idle)"
  | "semacquire"
  | "sync.Mutex.Lock"
  | "sync.RWMutex.RLock"
  | "sync.RWMutex.Lock"
  | "sync.WaitGroup.Wait"
  | "sync.Cond.Wait"
  | "semaphore acquire"
  | "IO wait"
  | "promise"
  | "join";

/** The public face of a goroutine: its id and a way to wait for its result. */
export interface Goroutine<T> {
  readonly id: number;
  /** `yield* g.join()` in a goroutine, or `await g.join()` in async code. */
  join(): Join<T>;
}

/** Both an Op (for yield*) and a PromiseLike (for await). */
export interface Join<T> extends Iterable<Yield, T, unknown>, PromiseLike<T> {}

/** Made by proc.ts, which owns parking; set once at load (g.ts cannot import proc.ts). */
let joinOf: <T>(g: G<T>) => Join<T> = () => {
  throw new Error("sched: proc.ts not loaded");
};

export function setJoinOf(f: <T>(g: G<T>) => Join<T>): void {
  joinOf = f;
}

/**
 * A goroutine; go() hands it out as a Goroutine<T>, so a spawn allocates no
 * separate handle. Fields are assigned in the constructor, not initialised in the class body: see chan.ts. */
export class G<T = unknown> implements Goroutine<T> {
  declare readonly id: number;
  /** The function the goroutine runs; its name is the goroutine's name in dumps. */
  declare readonly name: string;
  declare readonly gen: Coroutine<T>;
  /** Where it came from: the goroutine that called go() (0 for run's main)... */
  declare readonly parentId: number;
  declare readonly parentName: string;
  /**
   * ...and, only when creation stacks are on, the JS stack of the go() call:
   * a capture costs ~2.5 µs, ten times a whole spawn+join.
   */
  declare readonly creationStack: { stack?: string } | null;
  declare status: GStatus;
  /** Set with status Gwaiting; meaningless otherwise. */
  declare waitReason: WaitReason;
  /** Scheduler clock (ms) when the goroutine parked; coarse, see proc.ts coarseNow. */
  declare waitSince: number;
  /** Value handed over by goready; `yield PARK` evaluates to it. */
  declare param: unknown;
  /** When hasErr is set, the goroutine resumes by throwing err into its coroutine. */
  declare err: unknown;
  declare hasErr: boolean;
  /** Return value once dead. */
  declare result: T | undefined;
  /** True once the body returned (false if it was dropped at program end). */
  declare returned: boolean;
  /** Callbacks to run when the goroutine ends (join). Lazily made. */
  declare joiners: Array<() => void> | null;
  /** Links of the live-goroutine list (proc.ts allgs): O(1) add and remove, no hashing. */
  declare allprev: G | null;
  declare allnext: G | null;

  constructor(id: number, name: string, gen: Coroutine<T>, parent: G | null, creationStack: { stack?: string } | null) {
    this.id = id;
    this.name = name;
    this.gen = gen;
    this.parentId = parent === null ? 0 : parent.id;
    this.parentName = parent === null ? "run" : parent.name;
    this.creationStack = creationStack;
    this.status = Grunnable;
    this.waitReason = "chan receive";
    this.waitSince = 0;
    this.param = undefined;
    this.err = undefined;
    this.hasErr = false;
    this.result = undefined;
    this.returned = false;
    this.joiners = null;
    this.allprev = null;
    this.allnext = null;
  }

  join(): Join<T> {
    return joinOf(this);
  }

  statusString(): string {
    return this.status === Gwaiting ? this.waitReason : statusNames[this.status];
  }
}

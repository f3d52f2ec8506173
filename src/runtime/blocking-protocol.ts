// What crosses between the scheduler thread (blocking.ts) and a thread of the
// blocking pool (blocking-worker.ts). Kept apart so that neither side loads
// the other: the pool threads never load piscina's main side or the
// scheduler, and the scheduler thread never loads koffi or tsx's API.
//
// A task message names a module and one of its exported functions, with the
// arguments (structured-cloned by postMessage). A task that returns sends
// its value back as is, so a task may return piscina's move(x) to transfer
// instead of copying. A task that throws is sent back as a FailedTask, a
// plain object carrying the error as data: structured clone keeps only the
// message, the stack and the standard constructors of an Error, and drops
// its name and fields, which a typed error (DNSError.isNotFound, an errno
// code) is all about. blocking.ts turns it back into an Error.

/** The module id of the built-in tasks, defined in blocking-worker.ts itself. */
export const BUILTIN_MODULE = 'gort:blocking-worker';

export interface TaskMessage {
  /** Module: a file: URL (href), or BUILTIN_MODULE. */
  readonly m: string;
  /** Name of the exported function. */
  readonly f: string;
  /** Arguments. */
  readonly a: readonly unknown[];
  /**
   * Cancel flag shared with the scheduler thread, for tasks canceled by
   * abandoning them: non-zero once the caller has given up, and the task is
   * then skipped if it has not started. null when the call cannot be canceled.
   */
  readonly c: Int32Array | null;
}

/** An error, as data. */
export interface SerializedError {
  /** err.name ('DNSError', 'TypeError'...); 'Error' for a non-Error thrown value. */
  readonly name: string;
  readonly message: string;
  /** The stack in the pool thread. */
  readonly stack: string | undefined;
  /** Own enumerable fields that survive structured clone (code, errno, isNotFound...). */
  readonly props: Readonly<Record<string, unknown>>;
  readonly cause: SerializedError | null;
}

/** Key of the FailedTask marker; a Symbol would not survive structured clone. */
export const FAILED = '__gortBlockingFailed';

/** What a pool thread sends back for a task that threw or was skipped. */
export interface FailedTask {
  readonly [FAILED]: true;
  /** The error, or null if the task was skipped because its caller gave up. */
  readonly error: SerializedError | null;
}

export function isFailedTask(v: unknown): v is FailedTask {
  return typeof v === 'object' && v !== null && (v as Record<string, unknown>)[FAILED] === true;
}

const reserved = new Set(['name', 'message', 'stack', 'cause']);

/** Error (or any thrown value) to data, keeping the fields structured clone can carry. */
export function serializeError(e: unknown, depth = 0): SerializedError {
  if (!(e instanceof Error)) {
    const props: Record<string, unknown> = {};
    try {
      props['value'] = structuredClone(e);
    } catch { /* not cloneable: the message says what it was */ }
    return { name: 'Error', message: `non-Error thrown: ${String(e)}`, stack: undefined, props, cause: null };
  }
  const props: Record<string, unknown> = {};
  for (const k of Object.keys(e)) {
    if (reserved.has(k)) continue;
    try {
      props[k] = structuredClone((e as unknown as Record<string, unknown>)[k]);
    } catch { /* a function or a handle: dropped */ }
  }
  const cause = e.cause !== undefined && depth < 4 ? serializeError(e.cause, depth + 1) : null;
  return { name: e.name, message: e.message, stack: e.stack, props, cause };
}

// User tasks for test/runtime/blocking.test.ts, run in the blocking pool's
// threads (loaded there through tsx): they stand for the blocking work a
// program would hand to the pool.

/** Blocks this thread for ms (Atomics.wait on a private cell: a blocking call, not a timer). */
export function sleepSync(ms: number): number {
  const t0 = performance.now();
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
  return performance.now() - t0;
}

export function add(a: number, b: number): number {
  return a + b;
}

/** Async tasks are awaited; the thread's event loop runs meanwhile. */
export async function later(ms: number, v: string): Promise<string> {
  await new Promise((r) => setTimeout(r, ms));
  return v;
}

/** A typed error with fields, as a user library would throw. */
export class ValidationError extends Error {
  override name = 'ValidationError';
  readonly field: string;
  readonly code = 'E_VALIDATION';
  constructor(field: string, message: string) {
    super(message);
    this.field = field;
  }
}

export function validate(v: string): string {
  if (v === '') throw new ValidationError('v', 'v must not be empty');
  if (v === 'range') throw new RangeError('v out of range');
  if (v === 'string') throw 'a bare string'; // eslint-disable-line no-throw-literal
  return v.toUpperCase();
}

/** The thread it ran on (worker_threads threadId). */
export async function threadId(): Promise<number> {
  const { threadId } = await import('node:worker_threads');
  return threadId;
}

/** A result structured clone refuses. */
export function uncloneable(): unknown {
  return { f: () => 1 };
}

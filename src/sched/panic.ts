// Failures, as Go names them.
//
//   RuntimeError   thrown *inside* a goroutine for a misuse Go panics on (send
//                  on a closed channel, close of a closed channel, negative
//                  WaitGroup counter...). It is an ordinary exception there:
//                  try/catch recovers it, as recover() does in Go.
//   PanicError     an exception escaped a goroutine: the program fails with it
//                  (run() rejects), as an unrecovered panic ends a Go program.
//   DeadlockError  every goroutine is blocked and nothing can wake any of them.
//   ExitedError    what awaiting a goroutine gives when the program ended first.

import type { G } from "./g.ts";

export class RuntimeError extends Error {
  override name = "RuntimeError";
}

export class PanicError extends Error {
  override name = "PanicError";
  readonly goroutineId: number;
  /** What the goroutine threw. */
  readonly value: unknown;

  constructor(g: G, value: unknown) {
    super(panicMessage(g, value), { cause: value });
    this.goroutineId = g.id;
    this.value = value;
  }
}

export class DeadlockError extends Error {
  override name = "DeadlockError";
  /** The goroutine dump at the moment of the deadlock. */
  readonly dump: string;

  constructor(dump: string) {
    super(`fatal error: all goroutines are asleep - deadlock!\n\n${dump}`);
    this.dump = dump;
  }
}

export class ExitedError extends Error {
  override name = "ExitedError";
}

function panicMessage(g: G, value: unknown): string {
  const head = value instanceof Error ? `${value.name}: ${value.message}` : String(value);
  const stack = value instanceof Error && value.stack !== undefined ? stackFrames(value.stack) : "";
  return `panic: ${head}\n\ngoroutine ${g.id} [running]:\n${stack}${createdBy(g)}`;
}

/** The "created by" lines of a goroutine's dump entry. */
export function createdBy(g: G): string {
  if (g.parentId === 0 && g.creationStack === null) return "";
  let s = `created by ${g.parentName} in goroutine ${g.parentId}\n`;
  if (g.creationStack?.stack !== undefined) s += stackFrames(g.creationStack.stack);
  return s;
}

/** The "    at ..." lines of a V8 stack, without its message line. */
function stackFrames(stack: string): string {
  const lines = stack.split("\n").filter((l) => l.startsWith("    at "));
  return lines.length === 0 ? "" : lines.join("\n") + "\n";
}

// Helpers of the reliability tests (test/reliability/*.test.ts): the
// per-backend harness of test/runtime/net.test.ts (poller started and warmed
// up, a baseline of descriptors, leak checks after each test: nobody parked,
// every PollDesc closed, scheduler at rest, descriptors back to the
// baseline, no use after close under the event-port emulation), loopback
// pairs, and child processes with a bound.

import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";

import { type Conn } from "../../src/runtime/net.ts";
import { type Op } from "../../src/sched/index.ts";
import { readFull } from "../support/io.ts";
import { BOUND_MS } from "../support/net.ts";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const BACKENDS = ["epoll", "eventports"] as const;
export type Backend = (typeof BACKENDS)[number];

export { backendHooks } from "../support/netpoll-harness.ts";
export { closeAll, failing, pattern, readFull } from "../support/io.ts";
export { BOUND_MS, bounded, echo, echoServer, listenTCP, tcpPair } from "../support/net.ts";

/** One round trip of msg on c, checked. */
export function* roundTrip(c: Conn, msg: Uint8Array): Op<void> {
  yield* c.write(msg);
  const back = yield* readFull(c, msg.length);
  assert.deepEqual(back, msg, "the echo came back intact");
}

// ---- child processes -------------------------------------------------------------------------

export interface Child {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcessWithoutNullStreams>();

/** Spawns cmd (in the project root, NODE_OPTIONS cleared); killed by killChildren. */
export function startChild(cmd: string, args: string[]): Child {
  const child = spawn(cmd, args, { cwd: root, env: { ...process.env, NODE_OPTIONS: "" } });
  children.add(child);
  let out = "";
  let err = "";
  child.stdout.on("data", (d: Buffer) => (out += d.toString()));
  child.stderr.on("data", (d: Buffer) => (err += d.toString()));
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    child.on("exit", (code, signal) => {
      children.delete(child);
      resolve({ code, signal });
    }),
  );
  return { child, out: () => out, err: () => err, exited };
}

export function killChildren(): void {
  for (const c of children) c.kill("SIGKILL");
}

/** Polls cond every 10 ms; fails after ms with what and the child's output. */
export async function until(cond: () => boolean, what: string, p?: Child, ms = BOUND_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}${p ? `; stdout:\n${p.out()}\nstderr:\n${p.err()}` : ""}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

// Helpers of the reliability tests (test/reliability/*.test.ts): the
// per-backend harness of test/runtime/net.test.ts (poller started and warmed
// up, a baseline of descriptors, leak checks after each test: nobody parked,
// every PollDesc closed, scheduler at rest, descriptors back to the
// baseline, no use after close under the event-port emulation), loopback
// pairs, and child processes with a bound.

import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";

import { dial, isClosed, listen, type Conn, type Listener, type TCPConn, type TCPListener } from "../../src/runtime/net.ts";
import { WaitGroup, go, type Op } from "../../src/sched/index.ts";
import { readFull } from "../support/io.ts";

export const root = fileURLToPath(new URL("../../", import.meta.url));
export const BACKENDS = ["epoll", "eventports"] as const;
export type Backend = (typeof BACKENDS)[number];

/** What any single wait may take before a test counts it as lost. */
export const BOUND_MS = 10_000;

export { backendHooks } from "../support/netpoll-harness.ts";

export function bounded<C extends Conn>(c: C): C {
  c.setDeadline(performance.now() + BOUND_MS);
  return c;
}

export function* listenTCP(): Op<TCPListener> {
  const ln = yield* listen("tcp4", "127.0.0.1:0");
  ln.setDeadline(performance.now() + BOUND_MS);
  return ln;
}

/** A listener and a connected pair through it: [listener, client, server]. */
export function* tcpPair(ln?: TCPListener): Op<[TCPListener, TCPConn, TCPConn]> {
  const l = ln ?? (yield* listenTCP());
  const acc = go(function* acceptor() {
    return bounded(yield* l.accept());
  });
  const client = bounded(yield* dial("tcp4", l.addr.toString()));
  const server = yield* acc.join();
  return [l, client, server];
}

export { closeAll, failing, pattern, readFull } from "../support/io.ts";

/** Echoes until end of stream or an error (recorded in errors), then closes. */
export function* echo(c: Conn, errors: unknown[] = [], wg: WaitGroup | null = null): Op<void> {
  const buf = new Uint8Array(16384);
  try {
    for (;;) {
      const n = yield* c.read(buf);
      if (n === 0) break;
      yield* c.write(buf.subarray(0, n));
    }
  } catch (e) {
    errors.push(e);
  } finally {
    yield* c.close();
    wg?.done();
  }
}

/** Accepts and echoes until the listener is closed; evaluates to the connections served. */
export function* echoServer(ln: Listener, errors: unknown[] = []): Op<number> {
  const wg = new WaitGroup();
  let n = 0;
  try {
    for (;;) {
      const c = bounded(yield* ln.accept());
      n++;
      wg.add(1);
      go(echo, c, errors, wg);
    }
  } catch (e) {
    if (!isClosed(e)) throw e;
  }
  yield* wg.wait();
  return n;
}

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

// Child processes of the tests: spawned in the project root with
// NODE_OPTIONS cleared, their output collected, killed by killChildren (call
// it in afterEach), and until() to wait on what they print, bounded.

import assert from "node:assert/strict";
import { spawn, type ChildProcessWithoutNullStreams } from "node:child_process";
import { fileURLToPath } from "node:url";

export const root = fileURLToPath(new URL("../../", import.meta.url));

/** Any single wait on a child: longer than BOUND_MS, since a child starts through tsx first. */
export const CHILD_BOUND_MS = 15_000;

export interface Child {
  child: ChildProcessWithoutNullStreams;
  out: () => string;
  err: () => string;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

const children = new Set<ChildProcessWithoutNullStreams>();

/** Spawns cmd with args; input, if given, is written to its stdin, which is then closed. */
export function startChild(cmd: string, args: string[], input?: string): Child {
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
  if (input !== undefined) child.stdin.end(input);
  return { child, out: () => out, err: () => err, exited };
}

/** A TypeScript program of this project, run through tsx. */
export function startTs(script: string, args: string[], input?: string): Child {
  return startChild(process.execPath, ["--import", "tsx", script, ...args], input);
}

export function killChildren(): void {
  for (const c of children) c.kill("SIGKILL");
}

/** Polls cond every 10 ms; fails after ms with what and the child's output. */
export async function until(cond: () => boolean, what: string, p?: Child, ms = CHILD_BOUND_MS): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) assert.fail(`timed out waiting for ${what}${p ? `; stdout:\n${p.out()}\nstderr:\n${p.err()}` : ""}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

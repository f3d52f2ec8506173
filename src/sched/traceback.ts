// Goroutine dumps (Go's traceback.go, as printed on a panic, a deadlock or SIGQUIT).
//
//   goroutine 7 [chan receive, 1.2s]:
//   worker
//   created by main in goroutine 1
//
// A suspended generator has no JS stack to show, so an entry names the
// goroutine's function, its wait reason and how long it has waited (on the
// scheduler's coarse clock), and where it was created; with creation stacks
// on (setCreationStacks, GORT_CREATIONSTACKS=1) the go() call's stack too.

import { Gwaiting, type G } from "./g.ts";
import { createdBy } from "./panic.ts";
import { coarseNow, liveGoroutines, setDumpFormatter } from "./proc.ts";

/** One dump entry per live goroutine, by id. */
export function goroutineDump(): string {
  const gs = [...liveGoroutines()].sort((a, b) => a.id - b.id);
  return gs.map(entry).join("\n");
}

function entry(g: G): string {
  const state = g.status === Gwaiting ? `${g.waitReason}, ${waited(coarseNow() - g.waitSince)}` : g.statusString();
  return `goroutine ${g.id} [${state}]:\n${g.name}(...)\n${createdBy(g)}`;
}

function waited(ms: number): string {
  if (ms >= 60_000) return `${Math.floor(ms / 60_000)} minutes`;
  if (ms >= 1000) return `${(ms / 1000).toFixed(1)}s`;
  return `${Math.round(ms)}ms`;
}

setDumpFormatter(goroutineDump);

let sigquitHandler: (() => void) | null = null;

/**
 * Opt in to Go's SIGQUIT behaviour: print every goroutine to stderr and exit
 * with status 2; with exit: false, print and keep running.
 */
export function dumpOnSigquit(opts: { exit?: boolean } = {}): void {
  if (sigquitHandler !== null) process.off("SIGQUIT", sigquitHandler);
  const exit = opts.exit ?? true;
  sigquitHandler = () => {
    process.stderr.write(`SIGQUIT: quit\n\n${goroutineDump()}\n`);
    if (exit) process.exit(2);
  };
  process.on("SIGQUIT", sigquitHandler);
}

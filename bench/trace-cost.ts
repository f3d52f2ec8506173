// What the execution trace costs on bench:sched's timed figures (docs/trace.md).
//
//   node --import tsx bench/trace-cost.ts [--reps 3] [--scale 1] [--only fig,...] [--before DIR] [--no-on]
//
// Runs the gort timed child of bench/sched.bench.ts REPS times with tracing
// off and REPS times with --trace (tracing on), interleaved so that a busy
// spell of a shared machine hits both alike; with --before DIR, also the
// child of another checkout (the commit before tracing: `git worktree add
// DIR <commit>` and link its node_modules). Each child reports, per figure,
// the median of its 3 runs in wall-clock and in CPU time; this prints, per
// configuration and figure, the median and the minimum over the children,
// then on/off and off/before ratios of the medians. One JSON object on stdout.
// Pin it (`taskset -c 0 node ...`): children inherit the CPU, and on this
// 2-core VM the second CPU ran the same child up to ~1.7x slower at times,
// which made unpinned figures bimodal (docs/trace.md).

import { spawnSync } from "node:child_process";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { TIMED, median, sig } from "./runtimes/harness.ts";

const here = path.dirname(fileURLToPath(import.meta.url));

function arg(name: string, dflt: string | null): string | null {
  const i = process.argv.indexOf(name);
  return i >= 0 ? (process.argv[i + 1] ?? null) : dflt;
}

const reps = Number(arg("--reps", "3"));
const scale = arg("--scale", "1")!;
const before = arg("--before", null);
const only = arg("--only", null);
const figs = only === null ? [...TIMED] : only.split(",");

interface Child {
  wall: Record<string, number>;
  cpu: Record<string, number>;
}

function child(root: string, trace: boolean): Child {
  const argv = ["--expose-gc", "--import", "tsx", path.join(root, "bench/sched.bench.ts"), "--child", "gort:timed", "--scale", scale];
  if (trace) argv.push("--trace");
  if (only !== null) argv.push("--only", only);
  const r = spawnSync(process.execPath, argv, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"], timeout: 600_000 });
  if (r.status !== 0) throw new Error(`child in ${root} exited with ${r.status ?? r.signal}`);
  const out = JSON.parse(r.stdout.trim().split("\n").pop()!) as Record<string, unknown>;
  const wall = Object.fromEntries(figs.map((f) => [f, out[f] as number]));
  // A checkout from before the CPU-time figures has none: null.
  const cpu = (out.cpu_ns as Record<string, number> | undefined) ?? {};
  return { wall, cpu };
}

const configs: Array<[string, string, boolean]> = [["off", path.resolve(here, ".."), false]];
if (!process.argv.includes("--no-on")) configs.push(["on", path.resolve(here, ".."), true]);
if (before !== null) configs.unshift(["before", path.resolve(before), false]);
const got: Record<string, Child[]> = Object.fromEntries(configs.map(([n]) => [n, []]));
for (let i = 0; i < reps; i++) {
  for (const [name, root, trace] of configs) {
    process.stderr.write(`trace-cost: ${name} ${i + 1}/${reps}\n`);
    got[name]!.push(child(root, trace));
  }
}

const summary: Record<string, unknown> = {};
const med = (name: string, kind: "wall" | "cpu", f: string): number | null => {
  const xs = got[name]!.map((c) => c[kind][f]).filter((x): x is number => typeof x === "number");
  return xs.length === 0 ? null : median(xs);
};
for (const [name] of configs) {
  const row: Record<string, unknown> = {};
  for (const f of figs) {
    const w = got[name]!.map((c) => c.wall[f]!);
    const c = got[name]!.map((x) => x.cpu[f]).filter((x): x is number => typeof x === "number");
    row[f] = {
      wall_median: sig(median(w)),
      wall_min: sig(Math.min(...w)),
      cpu_median: c.length > 0 ? sig(median(c)) : null,
      cpu_min: c.length > 0 ? sig(Math.min(...c)) : null,
      wall_runs: w,
      cpu_runs: c,
    };
  }
  summary[name] = row;
}
const ratio = (a: string, b: string, kind: "wall" | "cpu"): Record<string, number | null> =>
  Object.fromEntries(
    figs.map((f) => {
      const x = med(a, kind, f);
      const y = med(b, kind, f);
      return [f, x !== null && y !== null ? sig(x / y) : null];
    }),
  );
if (got.on !== undefined) summary["on/off"] = { wall: ratio("on", "off", "wall"), cpu: ratio("on", "off", "cpu") };
if (before !== null) summary["off/before"] = { wall: ratio("off", "before", "wall"), cpu: ratio("off", "before", "cpu") };
summary.reps = reps;
summary.scale = Number(scale);
process.stdout.write(`${JSON.stringify(summary)}\n`);

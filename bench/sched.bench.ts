// Scheduler benchmark: the figures of ../shared/bench/gosched/main.go (Go on
// one P) for our goroutines, and with --vs for Go, js-csp and effection too.
// See bench/README.md.
//
//   npm run bench:sched                 one JSON line: our figures
//   npm run bench:sched -- --vs         one JSON line per runtime (gort, go, js-csp,
//                                       effection), then one line of ratios
//
// Every runtime runs in child processes of this script (this file again, with
// --child <runtime>:<timed|parked>), so heaps and JIT state never mix.
// Dev/profiling flags: --only pingpong_ns,select_ns (timed figures to run),
// --scale 0.1 (multiply every count), --child gort:timed (run one child here),
// --trace (our runtime records an execution trace while measuring, written to
// $TMPDIR after the figures and deleted: the cost of tracing, docs/trace.md).

import { spawnSync } from "node:child_process";
import { existsSync, mkdirSync, statSync, unlinkSync } from "node:fs";
import { loadavg, tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { RUNS, TIMED, childParked, childTimed, median, sig, type Runtime, type Timed } from "./runtimes/harness.ts";

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), "..");

const MODULES: Record<string, string> = {
  gort: "./runtimes/gort.ts",
  "js-csp": "./runtimes/jscsp.ts",
  effection: "./runtimes/effection.ts",
};

const FIGURES = [...TIMED, "parked_bytes_each", "parked_rss_bytes_each"] as const;
type Figure = (typeof FIGURES)[number];
type Line = Record<string, unknown> & Partial<Record<Figure, number | null>>;

interface Args {
  vs: boolean;
  child: string | null;
  only: Timed[] | null;
  scale: number;
  trace: boolean;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = { vs: false, child: null, only: null, scale: 1, trace: false };
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${s} needs a value`);
      return v;
    };
    if (s === "--vs") a.vs = true;
    else if (s === "--trace") a.trace = true;
    else if (s === "--child") a.child = val();
    else if (s === "--scale") a.scale = Number(val());
    else if (s === "--only") {
      const fs = val().split(",");
      for (const f of fs) if (!(TIMED as readonly string[]).includes(f)) usage(`--only: unknown figure ${f}`);
      a.only = fs as Timed[];
    } else usage(`unknown argument ${s}`);
  }
  if (!(a.scale > 0)) usage("--scale must be > 0");
  return a;
}

function usage(msg: string): never {
  process.stderr.write(`sched.bench: ${msg}\nusage: sched.bench.ts [--vs] [--only fig,...] [--scale x] [--trace]\n`);
  process.exit(2);
}

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

// ---- child side -------------------------------------------------------------------

async function child(spec: string, args: Args): Promise<void> {
  const [name, mode] = spec.split(":");
  const mod = MODULES[name!];
  if (mod === undefined || (mode !== "timed" && mode !== "parked")) usage(`bad --child ${spec}`);
  const rt = ((await import(mod)) as { runtime: Runtime }).runtime;
  const trace = args.trace && name === "gort" ? await import("../src/sched/trace.ts") : null;
  const tracePath = path.join(tmpdir(), `gort-bench-${mode}-${process.pid}.trace.json`);
  trace?.startTrace(tracePath);
  const out = (mode === "timed" ? await childTimed(rt, args.only, args.scale) : await childParked(rt, args.scale)) as Record<
    string,
    unknown
  >;
  if (trace !== null) {
    const t0 = performance.now();
    const r = trace.stopTrace()!;
    const bytes = statSync(tracePath).size;
    unlinkSync(tracePath); // the last 131,072 records of a benchmark: ~30 MB of JSON nobody reads
    out.trace = { records: r.records, dropped: r.dropped, events: r.events, bytes, format_s: sig((performance.now() - t0) / 1000) };
  }
  process.stdout.write(`${JSON.stringify(out)}\n`);
  // Libraries may leave handles (effection's run, js-csp's dispatcher); the figures are out.
  process.exit(0);
}

// ---- parent side ------------------------------------------------------------------

/** Runs a command, returns the last stdout line parsed as JSON, or an error string. */
function runJson(cmd: string, argv: readonly string[], env?: NodeJS.ProcessEnv): Record<string, unknown> | string {
  const r = spawnSync(cmd, argv, {
    cwd: root,
    env: env ?? process.env,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
    maxBuffer: 16 << 20,
    timeout: 150_000,
  });
  if (r.error) return `${cmd}: ${r.error.message}`;
  if (r.status !== 0) return `${path.basename(cmd)} exited with ${r.status ?? r.signal}`;
  const last = r.stdout.trim().split("\n").pop() ?? "";
  try {
    return JSON.parse(last) as Record<string, unknown>;
  } catch {
    return `${path.basename(cmd)} printed no JSON line`;
  }
}

function runChild(name: string, mode: "timed" | "parked", args: Args): Record<string, unknown> | string {
  const argv = ["--expose-gc", "--import", "tsx", self, "--child", `${name}:${mode}`, "--scale", String(args.scale)];
  if (args.only !== null) argv.push("--only", args.only.join(","));
  if (args.trace) argv.push("--trace");
  return runJson(process.execPath, argv);
}

/** Our figures, or js-csp's, or effection's: one timed child, then RUNS parked children. */
async function measureJs(name: string, args: Args): Promise<Line> {
  const t0 = performance.now();
  log(`${name}: timed figures`);
  const line: Line = { runtime: name };
  const timed = runChild(name, "timed", args);
  const notes: Record<string, string> = typeof timed === "string" ? {} : { ...(timed.notes as object) };
  if (typeof timed !== "string" && timed.trace !== undefined) line.trace = timed.trace;
  for (const f of TIMED) {
    line[f] = typeof timed === "string" ? null : ((timed[f] as number | null) ?? null);
    if (typeof timed === "string") notes[f] = timed;
  }
  const heap: number[] = [];
  const rss: number[] = [];
  let parkedErr: string | null = null;
  for (let i = 0; i < RUNS && parkedErr === null; i++) {
    log(`${name}: parked run ${i + 1}/${RUNS}`);
    const p = runChild(name, "parked", args);
    if (typeof p === "string") parkedErr = p;
    else {
      heap.push(p.heap_each as number);
      rss.push(p.rss_each as number);
      log(`  ${name} parked: heap ${(p.heap_each as number).toFixed(0)} B, rss ${(p.rss_each as number).toFixed(0)} B each`);
    }
  }
  line.parked_bytes_each = parkedErr === null ? sig(median(heap)) : null;
  line.parked_rss_bytes_each = parkedErr === null ? sig(median(rss)) : null;
  if (parkedErr !== null) notes.parked = parkedErr;
  line.stat = `median of ${RUNS}: timed figures are ${RUNS} runs in one process after a warm-up run at n/10; parked figures are ${RUNS} fresh processes, each after a warm-up park of 1,000`;
  if (typeof timed !== "string") line.counts = timed.counts;
  line.notes = notes;
  line.runs = {
    ...(typeof timed === "string" ? {} : (timed.runs as object)),
    parked_bytes_each: heap.map((x) => sig(x)),
    parked_rss_bytes_each: rss.map((x) => sig(x)),
  };
  line.seconds = sig((performance.now() - t0) / 1000);
  line.loadavg = load();
  return line;
}

/** The 1-minute load average when a runtime finished: above the core count, figures are inflated. */
function load(): number | null {
  return sig(loadavg()[0]!);
}

/** Go's figures: gosched (one run: it takes ~25 s) and bench/goselect (median of 3). */
function measureGo(): Line {
  const t0 = performance.now();
  const line: Line = { runtime: "go" };
  const notes: Record<string, string> = {};
  log("go: bash ../shared/bench/build.sh");
  const b = spawnSync("bash", [path.resolve(root, "../shared/bench/build.sh")], {
    cwd: root,
    encoding: "utf8",
    stdio: ["ignore", "pipe", "inherit"],
  });
  const bin = b.status === 0 ? b.stdout.trim().split("\n").pop()! : null;
  const env = { ...process.env, GOMAXPROCS: "1" };
  let gosched: Record<string, unknown> | string = "build.sh failed";
  if (bin !== null) {
    log(`go: GOMAXPROCS=1 ${bin}/gosched`);
    gosched = runJson(path.join(bin, "gosched"), [], env);
  }
  for (const f of ["pingpong_ns", "buffered_ns", "spawn_join_ns", "parked_bytes_each"] as const) {
    line[f] = typeof gosched === "string" ? null : sig(gosched[f] as number);
  }
  if (typeof gosched === "string") notes.gosched = gosched;
  line.parked_rss_bytes_each = null;
  notes.parked =
    "gosched parks 1,000,000 goroutines and reports the growth of runtime.MemStats.Sys (memory obtained from the OS, the closest to RSS) as parked_bytes_each; it has no separate RSS figure, so both of ours are compared with it";
  const sel = buildGoselect(bin !== null);
  if (typeof sel === "string") {
    line.select_ns = null;
    notes.select_ns = sel;
  } else {
    line.select_ns = sig(sel.select_ns as number);
    notes.select_ns = "bench/goselect: Go's BenchmarkSelectUncontended, median of 3 after a warm-up";
  }
  line.stat = "gosched: a single run (as the program does it); select_ns: median of 3";
  line.counts = { pingpong_ns: 2_000_000, buffered_ns: 10_000_000, spawn_join_ns: 1_000_000, select_ns: 2_000_000, parked: 1_000_000 };
  line.notes = notes;
  if (typeof sel !== "string") line.runs = { select_ns: (sel.runs as number[]).map((x) => sig(x)) };
  const v = spawnSync("go", ["version"], { encoding: "utf8" });
  if (v.status === 0) line.version = v.stdout.trim();
  line.seconds = sig((performance.now() - t0) / 1000);
  line.loadavg = load();
  return line;
}

function buildGoselect(haveGo: boolean): Record<string, unknown> | string {
  if (!haveGo) return "no Go toolchain (build.sh failed)";
  const src = path.join(root, "bench/goselect/main.go");
  const dir = path.join(tmpdir(), "gort-bench-bin");
  const exe = path.join(dir, "goselect");
  if (!existsSync(exe) || statSync(exe).mtimeMs < statSync(src).mtimeMs) {
    mkdirSync(dir, { recursive: true });
    const env = { ...process.env, GOCACHE: process.env.GOCACHE ?? "/tmp/echobench-gocache", GO111MODULE: "on" };
    const r = spawnSync("go", ["build", "-o", exe, src], { cwd: root, env, stdio: ["ignore", "inherit", "inherit"] });
    if (r.status !== 0) return "go build bench/goselect failed";
  }
  log(`go: GOMAXPROCS=1 ${exe}`);
  return runJson(exe, [], { ...process.env, GOMAXPROCS: "1" });
}

function ratio(a: Line, b: Line, fa: Figure, fb: Figure = fa): number | null {
  const x = a[fa];
  const y = b[fb];
  return typeof x === "number" && typeof y === "number" && y !== 0 ? sig(x / y) : null;
}

function ratios(gort: Line, go: Line, csp: Line, eff: Line): object {
  const vsGo: Record<string, number | null> = {};
  for (const f of FIGURES) vsGo[f] = ratio(gort, go, f, f === "parked_rss_bytes_each" ? "parked_bytes_each" : f);
  const over = (other: Line): Record<string, number | null> =>
    Object.fromEntries(FIGURES.map((f) => [f, ratio(other, gort, f)]));
  return {
    ratios: {
      "gort/go": vsGo,
      "js-csp/gort": over(csp),
      "effection/gort": over(eff),
    },
    goals:
      "gort/go <= 1 for pingpong_ns, buffered_ns, spawn_join_ns and parked bytes (both ours vs Go's Sys growth); js-csp/gort and effection/gort >= 10 (time figures)",
  };
}

async function main(): Promise<void> {
  const args = parseArgs(process.argv.slice(2));
  if (args.child !== null) return child(args.child, args);
  const t0 = performance.now();
  const gort = await measureJs("gort", args);
  if (!args.vs) {
    process.stdout.write(`${JSON.stringify(gort)}\n`);
    return;
  }
  process.stdout.write(`${JSON.stringify(gort)}\n`);
  const go = measureGo();
  process.stdout.write(`${JSON.stringify(go)}\n`);
  const csp = await measureJs("js-csp", args);
  process.stdout.write(`${JSON.stringify(csp)}\n`);
  const eff = await measureJs("effection", args);
  process.stdout.write(`${JSON.stringify(eff)}\n`);
  process.stdout.write(`${JSON.stringify(ratios(gort, go, csp, eff))}\n`);
  log(`total ${((performance.now() - t0) / 1000).toFixed(1)} s`);
}

await main();

// npm run stress:netpoll [-- --runs N] [--jobs J] [--timeout S] [--each] [--files a,b]
//
// Runs the netpoll test files N times (default 20), each time in a fresh
// Node process (mocha through tsx), and reports how many runs failed, which
// tests failed how often, and the output of every run that crashed or hung.
//
// Why: koffi has open reports of rare crashes when the main thread and a
// worker thread load the same library (here: libc and libportemu, loaded by
// the main thread, the poller thread, and the emulation tests' pollers), and
// the races these tests provoke are probabilistic. One green run says little.
//
// A run "crashed" when its process died of a signal or with a status mocha
// never uses (mocha exits with the number of failures), or printed a native
// fatal error; it "hung" when it outlived --timeout seconds (then it is
// killed). Options:
//   --runs N      runs (default 20)
//   --jobs J      runs at once (default 1: the tests measure time, and the
//                 machine may have few CPUs)
//   --timeout S   seconds before a run is killed (default 180)
//   --each        one process per test file per run, instead of one per run
//   --files a,b   test files (default: test/netpoll/*.test.ts)
// Exit status: 0 if every run passed, 1 otherwise.

import { spawn } from "node:child_process";
import { readdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..", "..");
const mochaBin = createRequire(import.meta.url).resolve("mocha/bin/mocha.js");

interface Options {
  runs: number;
  jobs: number;
  timeoutS: number;
  each: boolean;
  files: string[];
}

function parseArgs(argv: string[]): Options {
  const o: Options = {
    runs: 20,
    jobs: 1,
    timeoutS: 180,
    each: false,
    files: readdirSync(join(root, "test/netpoll"))
      .filter((f) => f.endsWith(".test.ts"))
      .sort()
      .map((f) => `test/netpoll/${f}`),
  };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    const next = (): string => {
      const v = argv[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    const int = (v: string): number => {
      const n = Number(v);
      if (!Number.isInteger(n) || n < 1) throw new Error(`${a}: expected a positive integer, got ${v}`);
      return n;
    };
    if (a === "--runs") o.runs = int(next());
    else if (a === "--jobs") o.jobs = int(next());
    else if (a === "--timeout") o.timeoutS = int(next());
    else if (a === "--each") o.each = true;
    else if (a === "--files") o.files = next().split(",").filter((f) => f !== "");
    else throw new Error(`unknown option ${a}`);
  }
  return o;
}

type Outcome = "passed" | "failed" | "crashed" | "hung";

interface RunResult {
  run: number;
  files: string[];
  outcome: Outcome;
  code: number | null;
  signal: NodeJS.Signals | null;
  ms: number;
  passing: number;
  failing: number;
  /** Titles of the failed tests and hooks, as the spec reporter lists them. */
  failures: string[];
  output: string;
}

/** What a native crash prints on stderr (V8, Node, glibc), even when the process exits with a status. */
const NATIVE_FATAL =
  /FATAL ERROR:|Segmentation fault|Assertion failed|double free|free\(\): |malloc\(\): |malloc_consolidate|corrupted size|stack smashing|Bus error|Illegal instruction|Check failed:|node::[A-Za-z]|Native stack trace/;

function runOnce(run: number, files: string[], timeoutS: number): Promise<RunResult> {
  const args = ["--import", "tsx", mochaBin, "--no-config", "--extension", "ts", "--timeout", "20000", "--reporter", "spec", ...files];
  const t0 = performance.now();
  return new Promise((resolve) => {
    const child = spawn(process.execPath, args, { cwd: root, env: { ...process.env, FORCE_COLOR: "0" }, stdio: ["ignore", "pipe", "pipe"] });
    let output = "";
    let stderr = "";
    child.stdout.on("data", (d: Buffer) => (output += d.toString()));
    child.stderr.on("data", (d: Buffer) => {
      output += d.toString();
      stderr += d.toString();
    });
    let hung = false;
    const timer = setTimeout(() => {
      hung = true;
      child.kill("SIGKILL");
    }, timeoutS * 1000);
    child.on("close", (code, signal) => {
      clearTimeout(timer);
      const passing = Number(/(\d+) passing/.exec(output)?.[1] ?? 0);
      const failing = Number(/(\d+) failing/.exec(output)?.[1] ?? 0);
      // The spec tree marks a failure inline: "      3) its title".
      const listing = output.split(/\n\s+\d+ passing/)[0] ?? "";
      const failures = [...listing.matchAll(/^\s+\d+\) (.+)$/gm)].map((m) => m[1]!.trim());
      let outcome: Outcome;
      if (hung) outcome = "hung";
      else if (signal !== null || code === null || code > 128 || (code !== 0 && code !== failing) || NATIVE_FATAL.test(stderr)) outcome = "crashed";
      else if (code === 0 && failing === 0 && passing > 0) outcome = "passed";
      else outcome = code === 0 && passing === 0 ? "crashed" : "failed";
      resolve({ run, files, outcome, code, signal, ms: Math.round(performance.now() - t0), passing, failing, failures, output });
    });
  });
}

function tail(s: string, lines: number): string {
  const l = s.trimEnd().split("\n");
  return l.slice(-lines).join("\n");
}

async function main(): Promise<void> {
  const o = parseArgs(process.argv.slice(2));
  const batches: string[][] = o.each ? o.files.map((f) => [f]) : [o.files];
  const queue: Array<() => Promise<RunResult>> = [];
  for (let r = 1; r <= o.runs; r++) for (const files of batches) queue.push(() => runOnce(r, files, o.timeoutS));
  console.log(
    `stress:netpoll: ${o.runs} runs of ${o.files.map((f) => relative("test/netpoll", f)).join(", ")}` +
      `${o.each ? " (one process per file)" : ""}, ${o.jobs} at a time, ${o.timeoutS} s limit per process`,
  );

  const results: RunResult[] = [];
  const t0 = performance.now();
  let next = 0;
  async function worker(): Promise<void> {
    while (next < queue.length) {
      const job = queue[next++]!;
      const r = await job();
      results.push(r);
      const what = r.outcome === "passed" ? `${r.passing} passing` : `${r.outcome}: ${r.failing} failing, code ${r.code}, signal ${r.signal}`;
      console.log(`  run ${String(r.run).padStart(3)} ${r.files.length === 1 ? relative("test/netpoll", r.files[0]!) + " " : ""}${what} (${(r.ms / 1000).toFixed(1)} s)`);
      for (const f of r.failures) console.log(`        ${f}`);
    }
  }
  await Promise.all(Array.from({ length: Math.min(o.jobs, queue.length) }, worker));

  const count = (k: Outcome): number => results.filter((r) => r.outcome === k).length;
  const byTitle = new Map<string, number>();
  for (const r of results) for (const f of r.failures) byTitle.set(f, (byTitle.get(f) ?? 0) + 1);
  console.log("");
  console.log(
    `processes: ${results.length}, passed ${count("passed")}, failed ${count("failed")}, crashed ${count("crashed")}, hung ${count("hung")}` +
      ` (${((performance.now() - t0) / 1000).toFixed(0)} s)`,
  );
  if (byTitle.size > 0) {
    console.log("failed tests (times):");
    for (const [t, n] of [...byTitle].sort((a, b) => b[1] - a[1])) console.log(`  ${n}x ${t}`);
  }
  for (const r of results.filter((x) => x.outcome !== "passed")) {
    console.log(`\n--- run ${r.run} (${r.outcome}, code ${r.code}, signal ${r.signal}) ${r.files.join(" ")}; last lines:`);
    console.log(tail(r.output, r.outcome === "failed" ? 40 : 60));
  }
  console.log(
    JSON.stringify({
      processes: results.length,
      passed: count("passed"),
      failed: count("failed"),
      crashed: count("crashed"),
      hung: count("hung"),
      failures: Object.fromEntries(byTitle),
    }),
  );
  process.exitCode = results.every((r) => r.outcome === "passed") ? 0 : 1;
}

await main();

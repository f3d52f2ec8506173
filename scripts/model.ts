// npm run model [-- --only TEXT] [--jobs N] [--update]
//
// Model-checks the poller protocol: for every entry of docs/model/verdicts.json
// (a Promela model, its -D switches, a property) it runs, in a temporary
// directory,
//
//   spin -a <defines> -DPROP=<n> <model>.pml
//   gcc -O2 -DSAFETY -o pan pan.c
//   ./pan -m<depth>
//
// reads "errors: N" and the state count from pan's report, and compares the
// verdict with the expected one: "pass" needs errors: 0 over a complete
// search (no "max search depth too small"), "fail" needs an assertion
// violation. Prints a table, and exits 1 on any mismatch, or when spin or
// the C compiler is missing (Debian package `spin`). See docs/model/README.md.
//
// Options:
//   --only TEXT   only the entries whose model, defines or note contain TEXT
//   --jobs N      verifications at once (default: the number of CPUs)
//   --update      write the measured state counts back into verdicts.json
//                 (after a change to a model; verdicts are never rewritten)
//   CC, MODEL_CFLAGS (environment): the C compiler (default gcc) and its
//   flags (default -O2)

import { spawn, spawnSync } from "node:child_process";
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

interface Entry {
  model: string;
  defines: string;
  prop: number;
  expect: "pass" | "fail";
  states?: number;
  note: string;
}

interface Verdicts {
  pan: string[];
  entries: Entry[];
}

interface Result {
  entry: Entry;
  got: "pass" | "fail" | "error";
  errors: number | null;
  states: number | null;
  detail: string;
  seconds: number;
}

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const modelDir = join(root, "docs", "model");
const verdictsPath = join(modelDir, "verdicts.json");

function parseArgs(argv: string[]): { only: string | null; jobs: number; update: boolean } {
  let only: string | null = null;
  let jobs = availableParallelism();
  let update = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === "--only") only = argv[++i] ?? "";
    else if (a === "--jobs") jobs = Math.max(1, Number(argv[++i]));
    else if (a === "--update") update = true;
    else {
      console.error(`model: unknown argument ${a}`);
      process.exit(2);
    }
  }
  return { only, jobs, update };
}

function have(cmd: string, args: string[]): boolean {
  const r = spawnSync(cmd, args, { stdio: "ignore" });
  return r.error === undefined;
}

function run(cmd: string, args: string[], cwd: string): Promise<{ code: number | null; out: string }> {
  return new Promise((resolve) => {
    const p = spawn(cmd, args, { cwd });
    let out = "";
    p.stdout.on("data", (d: Buffer) => (out += d.toString()));
    p.stderr.on("data", (d: Buffer) => (out += d.toString()));
    p.on("error", (e) => resolve({ code: -1, out: out + String(e) }));
    p.on("close", (code) => resolve({ code, out }));
  });
}

const cc = process.env.CC ?? "gcc";
const cflags = (process.env.MODEL_CFLAGS ?? "-O2").split(/\s+/).filter((s) => s !== "");

async function verify(entry: Entry, dir: string, panArgs: string[]): Promise<Result> {
  const t0 = performance.now();
  mkdirSync(dir, { recursive: true });
  copyFileSync(join(modelDir, entry.model), join(dir, entry.model));
  const defines = entry.defines.split(/\s+/).filter((s) => s !== "");
  const done = (got: Result["got"], errors: number | null, states: number | null, detail: string): Result => ({
    entry,
    got,
    errors,
    states,
    detail,
    seconds: (performance.now() - t0) / 1000,
  });
  const s = await run("spin", ["-a", ...defines, `-DPROP=${entry.prop}`, entry.model], dir);
  if (s.code !== 0) return done("error", null, null, `spin -a failed: ${s.out.trim().split("\n")[0]}`);
  const c = await run(cc, [...cflags, "-DSAFETY", "-o", "pan", "pan.c"], dir);
  if (c.code !== 0) return done("error", null, null, `${cc} failed: ${c.out.trim().split("\n")[0]}`);
  const p = await run("./pan", panArgs, dir);
  const errors = /errors: (\d+)/.exec(p.out);
  const states = /(\d+) states, stored/.exec(p.out);
  if (errors === null) return done("error", null, null, `pan: no "errors:" line (exit ${p.code})`);
  const n = Number(errors[1]);
  const st = states === null ? null : Number(states[1]);
  if (/max search depth too small/.test(p.out)) return done("error", n, st, "search truncated: max search depth too small");
  if (n === 0) return done("pass", 0, st, "");
  const what = /assertion violated (.*?) \(at depth/.exec(p.out)?.[1] ?? /(invalid end state|acceptance cycle|non-progress cycle)/.exec(p.out)?.[1] ?? "error";
  const kind = /assertion violated/.test(p.out) ? "fail" : "error";
  return done(kind, n, st, kind === "fail" ? `assertion ${what}` : what);
}

/** verdicts.json with one entry per line, so a diff shows which verdict or count changed. */
function formatVerdicts(v: Verdicts): string {
  const top = Object.entries(v)
    .filter(([k]) => k !== "entries")
    .map(([k, x]) => `  ${JSON.stringify(k)}: ${JSON.stringify(x)},`);
  const entries = v.entries.map((e) => `    ${JSON.stringify(e)}`).join(",\n");
  return `{\n${top.join("\n")}\n  "entries": [\n${entries}\n  ]\n}\n`;
}

function pad(s: string, n: number): string {
  return s.length >= n ? s : s + " ".repeat(n - s.length);
}

async function main(): Promise<void> {
  const { only, jobs, update } = parseArgs(process.argv.slice(2));
  if (!have("spin", ["-V"])) {
    console.error("model: spin is not installed: nothing was checked. Install it with `apt-get install spin` (Debian package spin).");
    process.exit(1);
  }
  if (!have(cc, ["--version"])) {
    console.error(`model: no C compiler (${cc}): nothing was checked.`);
    process.exit(1);
  }
  const version = spawnSync("spin", ["-V"], { encoding: "utf8" }).stdout.trim();
  const verdicts = JSON.parse(readFileSync(verdictsPath, "utf8")) as Verdicts;
  const entries = verdicts.entries.filter(
    (e) => only === null || `${e.model} ${e.defines} PROP=${e.prop} ${e.note}`.includes(only),
  );
  if (entries.length === 0) {
    console.error("model: no entry selected");
    process.exit(1);
  }
  const tmp = mkdtempSync(join(tmpdir(), "gort-model-"));
  console.log(`${version}; ${cc} ${cflags.join(" ")} -DSAFETY; pan ${verdicts.pan.join(" ")}; ${entries.length} verifications, ${jobs} at once`);
  const t0 = performance.now();
  const results: Result[] = new Array(entries.length);
  let next = 0;
  const worker = async (): Promise<void> => {
    while (next < entries.length) {
      const i = next++;
      results[i] = await verify(entries[i]!, join(tmp, String(i)), verdicts.pan);
    }
  };
  try {
    await Promise.all(Array.from({ length: Math.min(jobs, entries.length) }, worker));
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }

  const rows = results.map((r) => {
    const ok = r.got === r.entry.expect;
    let states = r.states === null ? "-" : String(r.states);
    if (r.states !== null && r.entry.states !== undefined && r.entry.states !== r.states) states += ` (was ${r.entry.states})`;
    return {
      ok,
      cells: [
        ok ? "ok" : "MISMATCH",
        r.entry.model,
        r.entry.defines === "" ? "(as built)" : r.entry.defines,
        `P${r.entry.prop}`,
        r.entry.expect,
        r.got,
        states,
        r.seconds.toFixed(1),
        r.entry.note + (r.detail !== "" && !ok ? ` [${r.detail}]` : ""),
      ],
    };
  });
  const head = ["", "model", "defines", "prop", "expect", "got", "states", "s", "note"];
  const widths = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r.cells[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (i === cells.length - 1 ? c : pad(c, widths[i]!)))
      .join("  ")
      .trimEnd();
  console.log(line(head));
  for (const r of rows) console.log(line(r.cells));
  const bad = rows.filter((r) => !r.ok).length;
  const secs = ((performance.now() - t0) / 1000).toFixed(0);
  console.log(`${rows.length - bad} of ${rows.length} verdicts as expected, ${bad} mismatched, in ${secs} s`);
  console.log(`model: ${rows.length - bad} passed, ${bad} failed`);

  if (update) {
    for (const r of results) if (r.states !== null) r.entry.states = r.states;
    writeFileSync(verdictsPath, formatVerdicts(verdicts));
    console.log(`model: state counts written to ${verdictsPath}`);
  }
  process.exit(bad === 0 ? 0 : 1);
}

await main();

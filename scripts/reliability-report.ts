// npm run reliability:report
//
// Runs the reliability tests (test/reliability/*.test.ts) and the tests
// elsewhere that docs/reliability.md counts as part of the same story (an
// idle reset, half-close, EPIPE, close wake-ups, EMFILE, the poller thread
// failing, the event-port close race, bad addresses, limitListener, the
// echo server's limits) with mocha's JSON reporter, and writes the table of
// what was tried and how it ended into docs/reliability.md, between the
// "report:begin" and "report:end" markers. Exits 1 if a test failed (the
// table is written anyway, failures included).

import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join, relative, resolve } from "node:path";
import { fileURLToPath } from "node:url";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const doc = join(root, "docs/reliability.md");

/** The tests outside test/reliability that belong in the table: file, and a title fragment. */
const elsewhere: [file: string, title: string][] = [
  ["test/runtime/net.test.ts", "a peer that resets (SO_LINGER 0, then close)"],
  ["test/runtime/net.test.ts", "half-close: closeWrite"],
  ["test/runtime/net.test.ts", "a write to a peer that went away"],
  ["test/runtime/net.test.ts", "close from another goroutine wakes a blocked read and a blocked accept"],
  ["test/runtime/net.test.ts", "a read deadline: OpError with isTimeout"],
  ["test/runtime/net.test.ts", "bad input: AddrError, UnknownNetworkError"],
  ["test/runtime/net.test.ts", "limitListener: past n open connections"],
  ["test/runtime/net.test.ts", "acceptRetry rides out a real EMFILE"],
  ["test/runtime/net.test.ts", "1,000 concurrent connections"],
  ["test/runtime/fd.test.ts", "EPIPE is an error"],
  ["test/runtime/fd.test.ts", "EPIPE with SIGPIPE at its default action"],
  ["test/runtime/fd.test.ts", "linger 0: close resets the connection"],
  ["test/runtime/fd.test.ts", "close waits for an operation in flight"],
  ["test/runtime/fd.test.ts", "two concurrent closes: exactly one succeeds"],
  ["test/netpoll/netpoll.test.ts", "a poller thread that fails ends the running program"],
  ["test/netpoll/netpoll.test.ts", "A4: close at random moments"],
  ["test/netpoll/close-race.test.ts", "cycles under a POLLOUT storm"],
  ["test/examples/echo-server.test.ts", "--max-conns 2"],
  ["test/examples/echo-server.test.ts", "a client that does not read"],
  ["test/examples/echo-server.test.ts", "relays lines between clients, drops an idle one"],
];

const escape = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");

interface MochaTest {
  title: string;
  fullTitle: string;
  file?: string;
  duration?: number;
  err: { message?: string };
}
interface MochaJson {
  stats: { passes: number; failures: number; pending: number; duration: number };
  tests: MochaTest[];
  passes: MochaTest[];
  failures: MochaTest[];
  pending: MochaTest[];
}

function runMocha(files: string[], grep: string | null, out: string): MochaJson {
  const args = ["mocha", "--no-config", "--node-option", "import=tsx", "--extension", "ts", "--timeout", "20000", "--reporter", "json", "--reporter-option", `output=${out}`];
  if (grep !== null) args.push("--grep", grep);
  args.push(...files);
  const r = spawnSync("npx", args, { cwd: root, stdio: ["ignore", "inherit", "inherit"], env: { ...process.env, NODE_OPTIONS: "" } });
  if (r.error) throw r.error;
  return JSON.parse(readFileSync(out, "utf8")) as MochaJson;
}

const tmp = mkdtempSync(join(tmpdir(), "gort-reliability-"));
const started = Date.now();
let results: { file: string; test: MochaTest; state: "passed" | "failed" | "pending" }[] = [];
let failed = 0;
try {
  const own = runMocha(["test/reliability/*.test.ts"], null, join(tmp, "own.json"));
  const otherFiles = [...new Set(elsewhere.map(([f]) => f))];
  const grep = elsewhere.map(([, t]) => escape(t)).join("|");
  const other = runMocha(otherFiles, grep, join(tmp, "other.json"));
  for (const j of [own, other]) {
    const state = (t: MochaTest): "passed" | "failed" | "pending" =>
      j.failures.some((f) => f.fullTitle === t.fullTitle) ? "failed" : j.pending.some((p) => p.fullTitle === t.fullTitle) ? "pending" : "passed";
    for (const t of j.tests) results.push({ file: t.file ? relative(root, t.file) : "?", test: t, state: state(t) });
    // Hook failures are not in tests: count them from failures.
    for (const f of j.failures) if (!j.tests.some((t) => t.fullTitle === f.fullTitle)) results.push({ file: f.file ? relative(root, f.file) : "?", test: f, state: "failed" });
  }
} finally {
  rmSync(tmp, { recursive: true, force: true });
}
failed = results.filter((r) => r.state === "failed").length;

// ---- the table ----------------------------------------------------------------------------------

function backendOf(t: MochaTest): string {
  const path = t.fullTitle.slice(0, t.fullTitle.length - t.title.length);
  if (/\bepoll\b/.test(path) || /^epoll:/.test(t.title)) return "epoll";
  if (/\beventports\b/.test(path) || /^eventports:/.test(t.title)) return "eventports";
  return "—";
}

// One row per test title and file, the backends side by side.
interface Row {
  file: string;
  title: string;
  epoll?: string;
  eventports?: string;
  any?: string;
}
const rows = new Map<string, Row>();
const cell = (r: (typeof results)[number]) =>
  r.state === "passed" ? `pass (${((r.test.duration ?? 0) / 1000).toFixed(1)} s)` : r.state === "pending" ? "skipped" : `**FAIL**: ${(r.test.err.message ?? "").split("\n")[0]!.slice(0, 120).replace(/\|/g, "\\|")}`;
for (const r of results) {
  const title = r.test.title.replace(/^(epoll|eventports): /, "");
  const key = `${r.file}\0${title}`;
  const row = rows.get(key) ?? { file: r.file, title };
  const b = backendOf(r.test);
  if (b === "epoll") row.epoll = cell(r);
  else if (b === "eventports") row.eventports = cell(r);
  else row.any = cell(r);
  rows.set(key, row);
}

const passed = results.filter((r) => r.state === "passed").length;
const pending = results.filter((r) => r.state === "pending").length;
const commit = spawnSync("git", ["rev-parse", "--short", "HEAD"], { cwd: root, encoding: "utf8" }).stdout.trim();
const lines = [
  `Generated by \`npm run reliability:report\` on ${new Date().toISOString().slice(0, 10)} (commit ${commit}, Node ${process.version}, ` +
    `${process.platform}): ${results.length} test runs, ${passed} passed, ${failed} failed, ${pending} skipped, ` +
    `${((Date.now() - started) / 1000).toFixed(0)} s.`,
  "",
  "| What is tried | File | epoll | eventports |",
  "|---|---|---|---|",
];
const order = (f: string) => (f.startsWith("test/reliability/") ? 0 : 1);
for (const r of [...rows.values()].sort((a, b) => order(a.file) - order(b.file) || a.file.localeCompare(b.file))) {
  // A test that is not per backend (it runs once, on the default backend or in a child) fills both columns as one.
  const cells = r.any !== undefined ? `${r.any} | (one run)` : `${r.epoll ?? "—"} | ${r.eventports ?? "—"}`;
  lines.push(`| ${r.title.replace(/\|/g, "\\|")} | \`${r.file}\` | ${cells} |`);
}

const text = readFileSync(doc, "utf8");
const begin = "<!-- report:begin -->";
const end = "<!-- report:end -->";
const i = text.indexOf(begin);
const j = text.indexOf(end);
if (i < 0 || j < i) {
  process.stderr.write(`reliability-report: ${doc} has no ${begin} ... ${end} section\n`);
  process.exit(2);
}
writeFileSync(doc, `${text.slice(0, i + begin.length)}\n${lines.join("\n")}\n${text.slice(j)}`);
process.stdout.write(`reliability-report: ${passed} passed, ${failed} failed, ${pending} skipped; table written to ${relative(root, doc)}\n`);
process.exit(failed === 0 ? 0 : 1);

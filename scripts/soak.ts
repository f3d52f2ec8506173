// npm run soak -- [--minutes 10] [--backend epoll|eventports] [--conns 512] [--size 64] [--segment 30]
//
// The soak test of docs/reliability.md: the echo server (examples/echo-server.ts)
// as a user runs it, driven by ../shared/bench's echoload (a Go load generator,
// built by ../shared/bench/build.sh) at 512 connections for a bounded time,
// in segments. Each segment is one echoload run: it connects every
// connection, sends messages of --size bytes in a closed loop, checks every
// echo byte for byte, and closes. While it runs, the server's resident memory
// (VmRSS in /proc/PID/status) and open descriptors (/proc/PID/fd) are sampled
// five times, from 20% to 80% of the segment (the load is fully up then);
// after it, the server's descriptors must fall back to the idle count it
// started with.
//
// Pass, all of:
//   - every segment: echoload exits 0, every connection connected, 0 errors, 0 mismatches;
//   - no growth: the first tenth of the segments (at least one) is warm-up
//     (JIT, heap sizing); of the rest, the maximum over the first third is the
//     reference, and the maximum over the last third may exceed it by less
//     than 5%, for RSS and for the descriptor count alike (maxima, because a
//     garbage-collected heap is a sawtooth: its peaks are what must not grow);
//   - idle descriptors back to the starting count after every segment;
//   - the server stops cleanly on SIGINT: exit 0, "0 errors" on its stop line.
// Prints one JSON summary on stdout (progress on stderr); exits 1 on failure.
// Bounded: --minutes (fractions allowed: 0.5 for a quick check) of load, plus
// start-up and stop. Segments are --segment seconds (default 30), shortened so
// that there are at least four (one warm-up, three measured).

import { execFileSync, spawn } from "node:child_process";
import { readdirSync, readFileSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { parseArgs } from "node:util";

const root = resolve(dirname(fileURLToPath(import.meta.url)), "..");
const benchDir = resolve(root, "../shared/bench");

function usage(msg: string): never {
  process.stderr.write(`soak: ${msg}\nusage: npm run soak -- [--minutes M] [--backend epoll|eventports] [--conns N] [--size BYTES] [--segment S]\n`);
  process.exit(2);
}

const { values } = (() => {
  try {
    return parseArgs({
      options: {
        minutes: { type: "string" },
        backend: { type: "string" },
        conns: { type: "string" },
        size: { type: "string" },
        segment: { type: "string" },
      },
      strict: true,
    });
  } catch (e) {
    usage((e as Error).message);
  }
})();

function num(name: string, v: string | undefined, def: number, min: number): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isFinite(n) || n < min) usage(`--${name}: want a number >= ${min}, got ${JSON.stringify(v)}`);
  return n;
}

const minutes = num("minutes", values.minutes, 10, 0.05);
const conns = Math.floor(num("conns", values.conns, 512, 1));
const size = Math.floor(num("size", values.size, 64, 1));
const backend = values.backend;
if (backend !== undefined && backend !== "epoll" && backend !== "eventports") usage(`--backend: epoll or eventports`);
const totalS = minutes * 60;
const segmentS = Math.max(2, Math.min(num("segment", values.segment, 30, 2), totalS / 4));
const segments = Math.max(4, Math.round(totalS / segmentS));
const GROWTH_LIMIT = 0.05;

function log(msg: string): void {
  process.stderr.write(`soak: ${msg}\n`);
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

// ---- the tools -------------------------------------------------------------------------

log(`building echoload (${benchDir}/build.sh)`);
const binDir = execFileSync("bash", [resolve(benchDir, "build.sh")], { encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] })
  .trim()
  .split("\n")
  .pop()!;
const echoload = resolve(binDir, "echoload");

// ---- the server ---------------------------------------------------------------------------

const serverArgs = ["--import", "tsx", "examples/echo-server.ts", "--addr", "127.0.0.1:0"];
if (backend !== undefined) serverArgs.push("--backend", backend);
const server = spawn(process.execPath, serverArgs, { cwd: root, env: { ...process.env, NODE_OPTIONS: "" }, stdio: ["ignore", "ignore", "pipe"] });
let serverErr = "";
server.stderr.on("data", (d: Buffer) => (serverErr += d.toString()));
const serverExit = new Promise<{ code: number | null; signal: string | null }>((r) => server.on("exit", (code, signal) => r({ code, signal })));
const pid = server.pid!;
process.on("exit", () => server.kill("SIGKILL"));

const startBy = Date.now() + 30_000;
while (!/start: listening on 127\.0\.0\.1:\d+/.test(serverErr)) {
  if (server.exitCode !== null || Date.now() > startBy) {
    log(`the server did not start:\n${serverErr}`);
    process.exit(1);
  }
  await sleep(20);
}
const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(serverErr)![1]);
const addr = `127.0.0.1:${port}`;
log(`server pid ${pid} on ${addr}: ${segments} segments of ${segmentS.toFixed(1)} s, ${conns} connections, ${size} B messages`);

function rssKiB(): number {
  const m = /^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
  return m === null ? 0 : Number(m[1]);
}

function fdCount(): number {
  return readdirSync(`/proc/${pid}/fd`).length;
}

/** The server's idle descriptor count, once it has settled (connections closing take a moment). */
async function idleFds(target: number | null): Promise<number> {
  let n = fdCount();
  for (let i = 0; i < 100 && (target === null ? false : n !== target); i++) {
    await sleep(50);
    n = fdCount();
  }
  return n;
}

// ---- the segments ------------------------------------------------------------------------

interface Load {
  connected: number;
  msgs_per_s: number;
  p50_us: number;
  p99_us: number;
  errors: number;
  mismatches: number;
}
interface Segment {
  index: number;
  exit: number | null;
  load: Load | null;
  rssKiB: number[];
  fds: number[];
  idleFdsAfter: number;
}

function runEchoload(seconds: number): { done: Promise<{ code: number | null; out: string; err: string }> } {
  const p = spawn(echoload, ["-addr", addr, "-conns", String(conns), "-size", String(size), "-duration", `${seconds * 1000}ms`, "-warmup", "500ms"], {
    stdio: ["ignore", "pipe", "pipe"],
  });
  let out = "";
  let err = "";
  p.stdout.on("data", (d: Buffer) => (out += d.toString()));
  p.stderr.on("data", (d: Buffer) => (err += d.toString()));
  return { done: new Promise((r) => p.on("exit", (code) => r({ code, out, err }))) };
}

const idleStart = await idleFds(null);
const rssStart = rssKiB();
const results: Segment[] = [];
const failures: string[] = [];
const t0 = Date.now();
for (let i = 0; i < segments; i++) {
  const run = runEchoload(segmentS);
  const seg: Segment = { index: i, exit: null, load: null, rssKiB: [], fds: [], idleFdsAfter: 0 };
  const started = Date.now();
  for (const at of [0.2, 0.35, 0.5, 0.65, 0.8]) {
    const wait = started + (0.5 + segmentS * at) * 1000 - Date.now();
    if (wait > 0) await sleep(wait);
    if (server.exitCode !== null) break;
    seg.rssKiB.push(rssKiB());
    seg.fds.push(fdCount());
  }
  const r = await run.done;
  seg.exit = r.code;
  try {
    seg.load = JSON.parse(r.out.trim().split("\n").pop() ?? "") as Load;
  } catch {
    failures.push(`segment ${i}: echoload printed no result (exit ${r.code}): ${r.err.trim()}`);
  }
  if (server.exitCode !== null) {
    failures.push(`segment ${i}: the server exited (${server.exitCode})`);
    results.push(seg);
    break;
  }
  seg.idleFdsAfter = await idleFds(idleStart);
  results.push(seg);
  const l = seg.load;
  if (r.code !== 0) failures.push(`segment ${i}: echoload exited ${r.code}`);
  if (l !== null) {
    if (l.errors !== 0 || l.mismatches !== 0) failures.push(`segment ${i}: ${l.errors} errors, ${l.mismatches} mismatches`);
    if (l.connected !== conns) failures.push(`segment ${i}: ${l.connected} of ${conns} connected`);
  }
  if (seg.idleFdsAfter !== idleStart) failures.push(`segment ${i}: ${seg.idleFdsAfter} descriptors open when idle, ${idleStart} at the start`);
  log(
    `segment ${i + 1}/${segments}${i < Math.max(1, Math.round(segments / 10)) ? " (warm-up)" : ""}: ${l ? `${Math.round(l.msgs_per_s)} msgs/s, p99 ${l.p99_us} us, ` + `${l.errors} errors, ${l.mismatches} mismatches` : "no result"}; ` +
      `RSS ${seg.rssKiB.map((k) => (k / 1024).toFixed(1)).join("/")} MiB, fds ${seg.fds.join("/")}, idle fds ${seg.idleFdsAfter}`,
  );
}

// ---- growth ---------------------------------------------------------------------------------

const warmup = Math.max(1, Math.round(segments / 10));

function growth(series: (s: Segment) => number[]): { reference: number; lastThirdMax: number; growth: number } | null {
  const measured = results.slice(warmup);
  if (measured.length < 3) return null;
  const third = Math.max(1, Math.floor(measured.length / 3));
  const reference = Math.max(...measured.slice(0, third).flatMap(series));
  const lastThirdMax = Math.max(...measured.slice(measured.length - third).flatMap(series));
  return { reference, lastThirdMax, growth: (lastThirdMax - reference) / reference };
}

const rss = growth((s) => s.rssKiB);
const fds = growth((s) => s.fds);
if (rss === null || fds === null) failures.push("too few segments measured to judge growth");
if (rss !== null && rss.growth >= GROWTH_LIMIT) failures.push(`RSS grew ${(rss.growth * 100).toFixed(1)}% (limit ${GROWTH_LIMIT * 100}%)`);
if (fds !== null && fds.growth >= GROWTH_LIMIT) failures.push(`descriptors grew ${(fds.growth * 100).toFixed(1)}% (limit ${GROWTH_LIMIT * 100}%)`);

// ---- stop ---------------------------------------------------------------------------------------

server.kill("SIGINT");
const stopBy = setTimeout(() => server.kill("SIGKILL"), 15_000);
const exit = await serverExit;
clearTimeout(stopBy);
const stopLine = /stop: .*/.exec(serverErr)?.[0] ?? "";
if (exit.code !== 0) failures.push(`the server exited with ${exit.code ?? exit.signal} on SIGINT`);
if (!/ 0 errors/.test(stopLine)) failures.push(`the server's stop line: ${stopLine || "(none)"}`);
const errorLines = serverErr.split("\n").filter((l) => / error: /.test(l)).slice(0, 5);

const loads = results.map((s) => s.load).filter((l): l is Load => l !== null);
const summary = {
  pass: failures.length === 0,
  failures,
  backend: /backend (\w+)/.exec(serverErr)?.[1] ?? backend ?? "default",
  minutes: Number(((Date.now() - t0) / 60_000).toFixed(2)),
  conns,
  size,
  segments: results.length,
  warmup_segments: warmup,
  segment_s: Number(segmentS.toFixed(1)),
  msgs: Math.round(loads.reduce((n, l) => n + l.msgs_per_s * segmentS, 0)),
  msgs_per_s: loads.map((l) => Math.round(l.msgs_per_s)),
  p99_us: loads.map((l) => l.p99_us),
  errors: loads.reduce((n, l) => n + l.errors, 0),
  mismatches: loads.reduce((n, l) => n + l.mismatches, 0),
  rss_mib: {
    start: Number((rssStart / 1024).toFixed(1)),
    per_segment_max: results.map((s) => Number((Math.max(...s.rssKiB) / 1024).toFixed(1))),
    reference: rss && Number((rss.reference / 1024).toFixed(1)),
    last_third_max: rss && Number((rss.lastThirdMax / 1024).toFixed(1)),
    growth_pct: rss && Number((rss.growth * 100).toFixed(2)),
  },
  fds: {
    idle_start: idleStart,
    idle_after_each: results.map((s) => s.idleFdsAfter),
    per_segment_max: results.map((s) => Math.max(...s.fds)),
    reference: fds?.reference ?? null,
    last_third_max: fds?.lastThirdMax ?? null,
    growth_pct: fds && Number((fds.growth * 100).toFixed(2)),
  },
  server_stop: stopLine.replace(/^stop: /, ""),
  server_error_lines: errorLines,
};
process.stdout.write(`${JSON.stringify(summary)}\n`);
process.exit(summary.pass ? 0 : 1);

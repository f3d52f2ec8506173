// Echo benchmark (issue 5): the project's echo server, on each poller backend,
// side by side with Go's std-net echo and Node's net echo, in one run on one
// machine. See docs/benchmarks.md for the method and the figures.
//
//   npm run bench:echo                       the full matrix, 3 runs per server and cell, + memory (~9 min)
//   npm run bench:echo -- --quick            64 conns × 64 B, 2 s, 1 run, all servers, 1,000 idle conns (< 1 min)
//   npm run bench:echo -- --only gort-epoll,go --secs 3 --reps 3
//   npm run bench:echo -- --from bench/results/echo.json --markdown   the tables of a past run
//
// Design.
// - Throughput: every run goes through ../shared/bench/echo-vs.sh, the neutral
//   harness (server pinned to CPU 0, the Go load generator echoload to CPU 1,
//   closed loop, one JSON line with the server's CPU per message). The matrix
//   is connections (1, 64, 512) × message size (64 B, 16 KiB); within a cell
//   the servers are interleaved (go, node, gort-epoll, gort-eventports, and
//   with --reps N that round N times, each round starting one server later),
//   so load drift on this shared machine hits all servers alike. Per server
//   and cell, the run with the median msgs/s is the figure; ratios are taken
//   between medians.
// - Each run gets a fresh port (--port-base, 7200 by default, counting up),
//   checked free by binding it first: the last server may linger, and another
//   process listening there would otherwise be measured instead.
// - Memory: the script starts each server itself (pinned to CPU 0, gort with
//   --max-conns 0), warms it up with a few echo connections, samples VmRSS,
//   has bench/echo/idle-client.ts (its own process, pinned to CPU 1) open
//   10,000 connections with one echo round trip each, waits 1 s, samples
//   VmRSS again: (after − before) / connections.
// - Cleanup: every child runs in its own process group, registered until it
//   is reaped; on exit, on SIGINT/SIGTERM and on an uncaught error the
//   groups still registered are killed, so no server outlives the script.
// - Output: progress on stderr; tables on stdout (text, or --markdown);
//   bench/results/echo.json (machine, config, every run, medians, ratios,
//   goals) and bench/results/echo.svg (bench/echo/chart.ts). A partial run
//   (--quick, --only, --conns, --sizes, --no-memory) writes to $TMPDIR
//   instead, unless --out says where, so it never replaces the full figures.

import { spawn, spawnSync, type ChildProcess } from "node:child_process";
import { closeSync, existsSync, mkdirSync, openSync, readFileSync, writeFileSync } from "node:fs";
import net from "node:net";
import os from "node:os";
import path from "node:path";
import { fileURLToPath } from "node:url";

import { chart } from "./echo/chart.ts";
import {
  SERVERS,
  cellMedians,
  cellName,
  cellRatios,
  goals,
  isServerName,
  memoryMedians,
  memoryRatios,
  report,
  sig,
  sizeName,
  type Cell,
  type Config,
  type LoadResult,
  type Machine,
  type Memory,
  type MemoryRun,
  type Results,
  type ServerName,
  type ThroughputRun,
} from "./echo/results.ts";

const self = fileURLToPath(import.meta.url);
const root = path.resolve(path.dirname(self), "..");
const IDLE_CLIENT = path.join(root, "bench/echo/idle-client.ts");

// ---- arguments ---------------------------------------------------------------------------

interface Args {
  servers: ServerName[];
  conns: number[];
  sizes: number[];
  secs: number;
  reps: number;
  memReps: number;
  idle: number;
  memory: boolean;
  throughput: boolean;
  quick: boolean;
  portBase: number;
  shared: string;
  out: string | null;
  from: string | null;
  svg: string | null;
  markdown: boolean;
}

const USAGE = `usage: npm run bench:echo -- [flags]

  --quick              64 conns × 64 B, 2 s per run, 1,000 idle connections (development)
  --only a,b           servers: ${SERVERS.join(", ")} (default: all)
  --conns 1,64,512     connection counts     --sizes 64,16384   message sizes in bytes
  --secs N             seconds per run (default 5)
  --reps N             runs per server and cell; the median run is the figure (default 3)
  --idle N             idle connections of the memory figure (default 10000)
  --mem-reps N         fresh servers per server for the memory figure; the median (default 1)
  --no-memory          skip the memory figure   --memory-only   only the memory figure
  --port-base N        first port to try (default 7200)
  --shared DIR         the shared bench folder (default ../shared beside the project)
  --out DIR            where echo.json and echo.svg go (default: bench/results for a
                       full run, $TMPDIR/gort-bench-echo for a partial one)
  --from FILE          no measuring: print the tables of a results file
  --svg FILE           with --from: also draw its chart into FILE
  --markdown           print the tables as markdown (docs/benchmarks.md)
`;

function usage(msg: string): never {
  process.stderr.write(`echo.bench: ${msg}\n${USAGE}`);
  process.exit(2);
}

function ints(flag: string, v: string, min: number): number[] {
  const xs = v.split(",").map(Number);
  for (const x of xs) if (!Number.isSafeInteger(x) || x < min) usage(`${flag}: want integers >= ${min}, got ${v}`);
  return xs;
}

function parseArgs(argv: readonly string[]): Args {
  const a: Args = {
    servers: [...SERVERS],
    conns: [1, 64, 512],
    sizes: [64, 16384],
    secs: 5,
    reps: 3,
    memReps: 1,
    idle: 10_000,
    memory: true,
    throughput: true,
    quick: false,
    portBase: 7200,
    shared: path.resolve(root, "../shared"),
    out: null,
    from: null,
    svg: null,
    markdown: false,
  };
  const set = new Set<string>();
  for (let i = 0; i < argv.length; i++) {
    const s = argv[i]!;
    const val = (): string => {
      const v = argv[++i];
      if (v === undefined) usage(`${s} needs a value`);
      set.add(s);
      return v;
    };
    if (s === "--quick") a.quick = true;
    else if (s === "--no-memory") a.memory = false;
    else if (s === "--memory-only") a.throughput = false;
    else if (s === "--markdown") a.markdown = true;
    else if (s === "--only") {
      const names = val().split(",");
      a.servers = SERVERS.filter((x) => names.includes(x));
      for (const n of names) if (!isServerName(n)) usage(`--only: unknown server ${n}`);
    } else if (s === "--conns") a.conns = ints(s, val(), 1);
    else if (s === "--sizes") a.sizes = ints(s, val(), 1);
    else if (s === "--secs") a.secs = ints(s, val(), 1)[0]!;
    else if (s === "--reps") a.reps = ints(s, val(), 1)[0]!;
    else if (s === "--mem-reps") a.memReps = ints(s, val(), 1)[0]!;
    else if (s === "--idle") a.idle = ints(s, val(), 1)[0]!;
    else if (s === "--port-base") a.portBase = ints(s, val(), 1024)[0]!;
    else if (s === "--shared") a.shared = path.resolve(val());
    else if (s === "--out") a.out = path.resolve(val());
    else if (s === "--from") a.from = path.resolve(val());
    else if (s === "--svg") a.svg = path.resolve(val());
    else if (s === "-h" || s === "--help") {
      process.stdout.write(USAGE);
      process.exit(0);
    } else usage(`unknown argument ${s}`);
  }
  if (a.quick) {
    if (!set.has("--conns")) a.conns = [64];
    if (!set.has("--sizes")) a.sizes = [64];
    if (!set.has("--secs")) a.secs = 2;
    if (!set.has("--idle")) a.idle = 1000;
    if (!set.has("--reps")) a.reps = 1;
  }
  if (!a.throughput && !a.memory) usage("--memory-only and --no-memory exclude each other");
  return a;
}

/** A run of the whole default matrix: the only kind that writes to bench/results. */
function isFull(a: Args): boolean {
  return (
    !a.quick &&
    a.throughput &&
    a.memory &&
    a.servers.length === SERVERS.length &&
    a.conns.join() === "1,64,512" &&
    a.sizes.join() === "64,16384" &&
    a.idle === 10_000
  );
}

// ---- utilities ----------------------------------------------------------------------------

function log(s: string): void {
  process.stderr.write(`${s}\n`);
}

function sleep(ms: number): Promise<void> {
  return new Promise((r) => setTimeout(r, ms));
}

function load1(): number {
  return sig(os.loadavg()[0]!);
}

/** Quotes a word for bash, for echo-vs.sh's `bash -c "exec $cmd"`. */
function shQuote(s: string): string {
  return /^[\w@%+=:,./-]+$/.test(s) ? s : `'${s.replace(/'/g, `'\\''`)}'`;
}

/** VmRSS of a process in KiB, or null if it is gone. */
function rssKiB(pid: number): number | null {
  try {
    const m = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return m === null ? null : Number(m[1]);
  } catch {
    return null;
  }
}

function tail(file: string, lines: number): string {
  try {
    return readFileSync(file, "utf8").trimEnd().split("\n").slice(-lines).join("\n");
  } catch {
    return "";
  }
}

// ---- child processes and their cleanup -------------------------------------------------------

/** Process groups (by leader pid) of children not reaped yet: killed on any exit path. */
const groups = new Set<number>();

function killGroup(pid: number, sig: NodeJS.Signals): void {
  try {
    process.kill(-pid, sig);
  } catch {
    // already gone
  }
}

function killAll(): void {
  for (const pid of groups) killGroup(pid, "SIGKILL");
  groups.clear();
}

process.on("exit", killAll);
for (const [s, code] of [["SIGINT", 130], ["SIGTERM", 143], ["SIGHUP", 129]] as const) {
  process.on(s, () => {
    log(`echo.bench: ${s}: stopping the servers`);
    killAll();
    process.exit(code);
  });
}

/** Spawns a child in its own process group, registered for cleanup until it exits. */
function spawnGroup(cmd: string, argv: readonly string[], opts: { env?: NodeJS.ProcessEnv; stdio: ("ignore" | "pipe" | "inherit" | number)[] }): ChildProcess {
  const c = spawn(cmd, argv, { cwd: root, env: opts.env ?? process.env, stdio: opts.stdio, detached: true });
  const pid = c.pid;
  if (pid === undefined) throw new Error(`could not start ${cmd}`);
  groups.add(pid);
  c.on("exit", () => {
    // Whatever the leader left in its group (echo-vs.sh's server, echoload) goes too.
    killGroup(pid, "SIGKILL");
    groups.delete(pid);
  });
  return c;
}

function exited(c: ChildProcess): Promise<void> {
  return c.exitCode !== null || c.signalCode !== null ? Promise.resolve() : new Promise((r) => c.once("exit", () => r()));
}

/** SIGTERM, then SIGKILL after `graceMs`, to the child's whole group; resolves once it exited. */
async function stop(c: ChildProcess, graceMs: number): Promise<void> {
  if (c.pid === undefined) return;
  killGroup(c.pid, "SIGTERM");
  const t = setTimeout(() => killGroup(c.pid!, "SIGKILL"), graceMs);
  await exited(c);
  clearTimeout(t);
}

// ---- ports ------------------------------------------------------------------------------------

let nextPort = 0;

function canListen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const srv = net.createServer();
    srv.once("error", () => resolve(false));
    srv.listen({ host: "127.0.0.1", port, exclusive: true }, () => srv.close(() => resolve(true)));
  });
}

/** A port nobody listens on, from the run's range, never the same twice. */
async function freshPort(): Promise<number> {
  for (let i = 0; i < 1000; i++) {
    const p = nextPort++;
    if (await canListen(p)) return p;
  }
  throw new Error("no free port in 1,000 tries");
}

/** Resolves once 127.0.0.1:port accepts a connection; rejects if `child` exits first or on timeout. */
async function waitPort(port: number, child: ChildProcess, timeoutMs: number): Promise<void> {
  const end = performance.now() + timeoutMs;
  for (;;) {
    if (child.exitCode !== null || child.signalCode !== null) throw new Error(`server exited (${child.exitCode ?? child.signalCode}) before accepting`);
    const ok = await new Promise<boolean>((resolve) => {
      const s = net.connect({ host: "127.0.0.1", port });
      s.once("connect", () => {
        s.destroy();
        resolve(true);
      });
      s.once("error", () => resolve(false));
    });
    if (ok) return;
    if (performance.now() > end) throw new Error(`port ${port} not accepting after ${timeoutMs} ms`);
    await sleep(100);
  }
}

// ---- servers -----------------------------------------------------------------------------------

interface Env {
  bin: string;
  shared: string;
}

/** The server's command line; `memory`: no connection cap (gort's default caps at 10,000). */
function serverArgv(s: ServerName, port: number, env: Env, memory: boolean): string[] {
  const addr = `127.0.0.1:${port}`;
  switch (s) {
    case "go":
      return [path.join(env.bin, "goecho"), "-addr", addr];
    case "node":
      return [process.execPath, path.join(env.shared, "bench/nodeecho.mjs"), addr];
    case "gort-epoll":
    case "gort-eventports": {
      const argv = [process.execPath, "--import", "tsx", "examples/echo-server.ts", "--addr", addr, "--backend", s.slice(5)];
      if (memory) argv.push("--max-conns", "0");
      return argv;
    }
  }
}

/** The command as the docs show it (relative paths, `node`), for the results file. */
function displayCmd(s: ServerName, env: Env): string {
  return serverArgv(s, 0, env, false)
    .map((w) => (w === process.execPath ? "node" : w.startsWith(root) ? path.relative(root, w) : w.startsWith(env.shared) ? path.join("../shared", path.relative(env.shared, w)) : w))
    .join(" ")
    .replace("127.0.0.1:0", "127.0.0.1:PORT");
}

// ---- throughput: echo-vs.sh -----------------------------------------------------------------------

function isLoadResult(x: unknown): x is LoadResult {
  if (typeof x !== "object" || x === null) return false;
  const o = x as Record<string, unknown>;
  const nums = ["conns", "size", "msgs_per_s", "mb_per_s", "p50_us", "p99_us", "p999_us", "errors", "mismatches"];
  return nums.every((k) => typeof o[k] === "number") && (o.server_cpu_us_per_msg === null || typeof o.server_cpu_us_per_msg === "number");
}

function parseLoad(stdout: string): LoadResult | null {
  const last = stdout.trim().split("\n").pop() ?? "";
  try {
    const x: unknown = JSON.parse(last);
    if (!isLoadResult(x)) return null;
    return { ...x, connected: typeof x.connected === "number" ? x.connected : 0 };
  } catch {
    return null;
  }
}

async function throughputRun(s: ServerName, conns: number, size: number, rep: number, a: Args, env: Env): Promise<ThroughputRun> {
  const port = await freshPort();
  const src = srcState();
  const cmd = serverArgv(s, port, env, false).map(shQuote).join(" ");
  const started = new Date().toISOString();
  const t0 = performance.now();
  const c = spawnGroup("bash", [path.join(env.shared, "bench/echo-vs.sh"), String(port), cmd, String(conns), String(size), String(a.secs)], {
    env: { ...process.env, ECHOBENCH_BIN: env.bin },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  c.stdout!.setEncoding("utf8").on("data", (d: string) => (stdout += d));
  c.stderr!.setEncoding("utf8").on("data", (d: string) => (stderr += d));
  // echo-vs.sh: up to 15 s for the port, the load (0.5 s warm-up + secs), the server's stop.
  const limit = setTimeout(() => {
    stderr += `echo.bench: echo-vs.sh still running after ${a.secs + 60} s; killed\n`;
    killGroup(c.pid!, "SIGKILL");
  }, (a.secs + 60) * 1000);
  const code = await new Promise<number | null>((resolve) => c.once("close", (code) => resolve(code)));
  clearTimeout(limit);
  const result = parseLoad(stdout);
  const ok = code === 0 && result !== null;
  let error: string | null = null;
  if (!ok) {
    const log = path.join(process.env.TMPDIR ?? "/tmp", `echo-vs-server.${port}.log`);
    error = [`echo-vs.sh exited ${code}`, stderr.trim(), `server log ${log}:`, tail(log, 8)].filter((x) => x !== "").join("\n");
  }
  return {
    server: s,
    conns,
    size,
    secs: a.secs,
    rep,
    port,
    src,
    ok,
    result,
    error,
    started,
    wall_s: sig((performance.now() - t0) / 1000),
    loadavg_end: load1(),
  };
}

function describe(r: ThroughputRun): string {
  const x = r.result;
  const figs =
    x === null
      ? "no result"
      : `${Math.round(x.msgs_per_s).toLocaleString("en-US")} msgs/s, p99 ${x.p99_us} µs, CPU ${x.server_cpu_us_per_msg ?? "–"} µs/msg`;
  return `${figs}${r.ok ? "" : ` FAILED: ${r.error?.split("\n")[0]}`} (load ${r.loadavg_end})`;
}

async function throughput(a: Args, env: Env): Promise<Cell[]> {
  const cells: Cell[] = [];
  const total = a.conns.length * a.sizes.length * a.servers.length * a.reps;
  let n = 0;
  for (const conns of a.conns) {
    for (const size of a.sizes) {
      const runs: ThroughputRun[] = [];
      for (let rep = 0; rep < a.reps; rep++) {
        // Each round starts one server later, so no server always runs first.
        for (let k = 0; k < a.servers.length; k++) {
          const s = a.servers[(k + rep) % a.servers.length]!;
          n++;
          const r = await throughputRun(s, conns, size, rep, a, env);
          runs.push(r);
          log(`[${n}/${total}] ${cellName(conns, size)} ${s}: ${describe(r)}`);
          if (!r.ok && r.error !== null) log(r.error.replace(/^/gm, "    "));
        }
      }
      const median = cellMedians(runs);
      cells.push({ conns, size, runs, median, ratios: cellRatios(median) });
    }
  }
  return cells;
}

// ---- memory: idle connections ------------------------------------------------------------------

/** A few echo connections, one round trip each, then closed: the server's paths are warm. */
async function warmUp(port: number, n: number): Promise<void> {
  await Promise.all(
    Array.from(
      { length: n },
      () =>
        new Promise<void>((resolve, reject) => {
          const s = net.connect({ host: "127.0.0.1", port });
          const t = setTimeout(() => {
            s.destroy();
            reject(new Error("warm-up: no echo within 10 s"));
          }, 10_000);
          s.once("connect", () => s.write("warm-up!"));
          let got = 0;
          s.on("data", (d: Buffer) => {
            got += d.length;
            if (got >= 8) {
              clearTimeout(t);
              s.end();
              resolve();
            }
          });
          s.once("error", (e) => {
            clearTimeout(t);
            reject(e);
          });
        }),
    ),
  );
}

interface IdleReport {
  ready: number;
  failed: number;
  connect_ms: number;
  first_error: string | null;
}

function isIdleReport(x: unknown): x is IdleReport {
  if (typeof x !== "object" || x === null) return false;
  const o = x as Record<string, unknown>;
  return typeof o.ready === "number" && typeof o.failed === "number" && typeof o.connect_ms === "number";
}

/** Waits for the idle client's one JSON line on stdout. */
function idleReport(c: ChildProcess, timeoutMs: number): Promise<IdleReport> {
  return new Promise((resolve, reject) => {
    let buf = "";
    const t = setTimeout(() => reject(new Error(`idle client: no report within ${timeoutMs} ms`)), timeoutMs);
    c.stdout!.setEncoding("utf8").on("data", (d: string) => {
      buf += d;
      const nl = buf.indexOf("\n");
      if (nl < 0) return;
      clearTimeout(t);
      try {
        const x: unknown = JSON.parse(buf.slice(0, nl));
        if (isIdleReport(x)) resolve(x);
        else reject(new Error(`idle client: bad report ${buf.slice(0, nl)}`));
      } catch {
        reject(new Error(`idle client: bad report ${buf.slice(0, nl)}`));
      }
    });
    c.once("exit", (code) => {
      clearTimeout(t);
      reject(new Error(`idle client exited (${code}) before reporting`));
    });
  });
}

async function memoryRun(s: ServerName, rep: number, a: Args, env: Env): Promise<MemoryRun> {
  const port = await freshPort();
  const run: MemoryRun = {
    server: s,
    rep,
    port,
    src: srcState(),
    conns_wanted: a.idle,
    conns_ready: 0,
    conns_failed: 0,
    rss_before_kib: null,
    rss_after_kib: null,
    rss_closed_kib: null,
    bytes_per_conn: null,
    connect_ms: null,
    ok: false,
    error: null,
    started: new Date().toISOString(),
    loadavg_end: 0,
  };
  const logFile = path.join(os.tmpdir(), `gort-bench-echo-mem-server.${port}.log`);
  const logFd = openSync(logFile, "w");
  // taskset execs the server: the child's pid is the server's.
  const server = spawnGroup("taskset", ["-c", "0", ...serverArgv(s, port, env, true)], { stdio: ["ignore", "ignore", logFd] });
  closeSync(logFd);
  let client: ChildProcess | null = null;
  try {
    await waitPort(port, server, 20_000);
    await warmUp(port, 16);
    await sleep(1000);
    run.rss_before_kib = rssKiB(server.pid!);
    client = spawnGroup(
      "taskset",
      ["-c", "1", process.execPath, "--import", "tsx", IDLE_CLIENT, "--addr", `127.0.0.1:${port}`, "--n", String(a.idle), "--batch", "500"],
      { stdio: ["pipe", "pipe", "inherit"] },
    );
    const idle = await idleReport(client, 180_000);
    run.conns_ready = idle.ready;
    run.conns_failed = idle.failed;
    run.connect_ms = idle.connect_ms;
    await sleep(1000);
    run.rss_after_kib = rssKiB(server.pid!);
    client.stdin!.end();
    await Promise.race([exited(client), sleep(10_000)]);
    await sleep(500);
    run.rss_closed_kib = rssKiB(server.pid!);
    if (run.rss_before_kib !== null && run.rss_after_kib !== null && idle.ready > 0) {
      run.bytes_per_conn = sig(((run.rss_after_kib - run.rss_before_kib) * 1024) / idle.ready);
    }
    // A few failed connections leave the figure meaningful; more than 1% does not.
    run.ok = run.bytes_per_conn !== null && idle.failed <= a.idle / 100;
    if (idle.failed > 0) run.error = `${idle.failed} connections failed (first: ${idle.first_error ?? "?"})`;
    if (!run.ok && run.error === null) run.error = "server RSS not readable";
  } catch (e) {
    run.error = `${e instanceof Error ? e.message : String(e)}\nserver log ${logFile}:\n${tail(logFile, 8)}`;
  } finally {
    if (client !== null) await stop(client, 2000);
    await stop(server, 3000);
  }
  run.loadavg_end = load1();
  return run;
}

async function memory(a: Args, env: Env): Promise<Memory> {
  const runs: MemoryRun[] = [];
  for (let rep = 0; rep < a.memReps; rep++) {
    for (let k = 0; k < a.servers.length; k++) {
      const s = a.servers[(k + rep) % a.servers.length]!;
      log(`memory: ${s}, ${a.idle.toLocaleString("en-US")} idle connections${a.memReps > 1 ? ` (run ${rep + 1}/${a.memReps})` : ""}`);
      const r = await memoryRun(s, rep, a, env);
      runs.push(r);
      const kib = r.bytes_per_conn === null ? "–" : (r.bytes_per_conn / 1024).toFixed(1);
      log(
        `memory: ${s}: RSS ${r.rss_before_kib ?? "?"} → ${r.rss_after_kib ?? "?"} KiB with ${r.conns_ready} connections ` +
          `(connected in ${r.connect_ms ?? "?"} ms): ${kib} KiB/conn${r.error === null ? "" : `; ${r.error}`}`,
      );
    }
  }
  const median = memoryMedians(runs);
  return { idle_conns: a.idle, reps: a.memReps, runs, median, ratios: memoryRatios(median) };
}

// ---- setup and the machine ---------------------------------------------------------------------

function sh(cmd: string, argv: readonly string[]): string | null {
  const r = spawnSync(cmd, argv, { cwd: root, encoding: "utf8", stdio: ["ignore", "pipe", "inherit"] });
  return r.status === 0 ? r.stdout.trim() : null;
}

function setup(a: Args): Env {
  const build = path.join(a.shared, "bench/build.sh");
  if (!existsSync(build)) usage(`no ${build}: pass --shared DIR`);
  log(`bash ${path.relative(root, build)}`);
  const out = sh("bash", [build]);
  if (out === null) throw new Error("build.sh failed");
  const bin = out.split("\n").pop()!;
  if (a.servers.includes("gort-eventports")) {
    log("bash native/build.sh (the event-port emulation)");
    if (sh("bash", ["native/build.sh"]) === null) throw new Error("native/build.sh failed");
  }
  return { bin, shared: a.shared };
}

/**
 * The sources a server started now runs: the last commit that changed src/,
 * examples/ or native/ (commits elsewhere do not count), "+dirty" when they
 * differ from it. Others may commit during a run, and each gort server loads
 * the sources as they are when it starts.
 */
function srcState(): string {
  const head = sh("git", ["log", "-1", "--format=%h", "--abbrev=10", "--", "src", "examples", "native"]) || "unknown";
  const st = spawnSync("git", ["status", "--porcelain", "--", "src", "examples", "native"], { cwd: root, encoding: "utf8" });
  return st.status === 0 && st.stdout.trim() !== "" ? `${head}+dirty` : head;
}

function machine(env: Env, start: number[]): Machine {
  const cpuinfo = readFileSync("/proc/cpuinfo", "utf8");
  const model = /^model name\s*:\s*(.+)$/m.exec(cpuinfo)?.[1]?.trim() ?? os.cpus()[0]?.model ?? "unknown";
  const gov = sh("go", ["version", path.join(env.bin, "goecho")]);
  const go = gov?.split(": ").pop() ?? sh("go", ["version"]) ?? "unknown";
  // Not through sh(): its trim() would eat the first line's leading status column.
  const st = spawnSync("git", ["status", "--porcelain", "--", "src", "examples", "native"], { cwd: root, encoding: "utf8" });
  const dirty = (st.status === 0 ? st.stdout : "")
    .split("\n")
    .filter((l) => l.length > 3)
    .map((l) => l.slice(3));
  return {
    cpu_model: model.replace(/\s+/g, " "),
    cores: os.cpus().length,
    kernel: os.release(),
    node: process.version,
    go,
    date: new Date().toISOString(),
    git_commit: sh("git", ["rev-parse", "HEAD"]) ?? "unknown",
    git_dirty: dirty,
    loadavg_start: start.map(sig),
    loadavg_end: [],
    src_states: [],
    duration_s: 0,
  };
}

// ---- main -----------------------------------------------------------------------------------------

function write(res: Results, dir: string): void {
  mkdirSync(dir, { recursive: true });
  const json = path.join(dir, "echo.json");
  const svg = path.join(dir, "echo.svg");
  writeFileSync(json, `${JSON.stringify(res, null, 1)}\n`);
  writeFileSync(svg, chart(res));
  log(`wrote ${path.relative(process.cwd(), json) || json} and ${path.relative(process.cwd(), svg) || svg}`);
}

async function main(): Promise<void> {
  const a = parseArgs(process.argv.slice(2));
  const fmt = a.markdown ? "markdown" : "text";
  if (a.from !== null) {
    const res = JSON.parse(readFileSync(a.from, "utf8")) as Results;
    process.stdout.write(report(res, fmt));
    if (a.svg !== null) writeFileSync(a.svg, chart(res));
    return;
  }
  const t0 = performance.now();
  const start = os.loadavg();
  nextPort = a.portBase;
  const env = setup(a);
  const m = machine(env, start);
  log(`${m.cpu_model}, ${m.cores} cores, load average ${m.loadavg_start.join(" ")}`);
  if (m.git_dirty.length > 0) log(`note: uncommitted changes in ${m.git_dirty.join(", ")}`);
  const config: Config = {
    servers: a.servers,
    conns: a.throughput ? a.conns : [],
    sizes: a.throughput ? a.sizes : [],
    secs: a.secs,
    reps: a.reps,
    mem_reps: a.memReps,
    idle_conns: a.idle,
    memory: a.memory,
    quick: a.quick,
    server_cmds: Object.fromEntries(a.servers.map((s) => [s, displayCmd(s, env)])),
  };
  const runs = a.servers.length * a.reps;
  log(
    `${a.throughput ? `${a.conns.length * a.sizes.length} cells (${a.conns.join(", ")} conns × ${a.sizes.map(sizeName).join(", ")}) × ${runs} runs of ${a.secs} s` : "no throughput"}` +
      `${a.memory ? `; memory with ${a.idle.toLocaleString("en-US")} idle connections` : ""}`,
  );
  const cells = a.throughput ? await throughput(a, env) : [];
  const mem = a.memory ? await memory(a, env) : null;
  m.loadavg_end = os.loadavg().map(sig);
  m.src_states = [...new Set([...cells.flatMap((c) => c.runs.map((r) => r.src)), ...(mem?.runs.map((r) => r.src) ?? [])])];
  if (m.src_states.length > 1) log(`note: the sources changed during the run (${m.src_states.join(", ")}): see "src" in each run`);
  m.duration_s = sig((performance.now() - t0) / 1000);
  const res: Results = { benchmark: "echo", machine: m, config, cells, memory: mem, goals: goals(cells, mem, a.servers) };
  process.stdout.write(report(res, fmt));
  write(res, a.out ?? (isFull(a) ? path.join(root, "bench/results") : path.join(os.tmpdir(), "gort-bench-echo")));
  const failed = cells.flatMap((c) => c.runs).filter((r) => !r.ok).length + (mem?.runs.filter((r) => !r.ok).length ?? 0);
  if (failed > 0) {
    log(`${failed} run(s) failed: see "error" in the results file`);
    process.exitCode = 1;
  }
}

main().catch((e: unknown) => {
  log(`echo.bench: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}`);
  killAll();
  process.exit(1);
});

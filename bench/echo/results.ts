// The echo benchmark's data: what one run of echo-vs.sh and one idle-memory
// run record, how the median run and the ratios are chosen, the goals,
// and the tables (plain text for the terminal, markdown for docs/benchmarks.md).
// Everything here is pure: bench/echo.bench.ts measures, bench/echo/chart.ts
// draws, and both read the `Results` object defined here (bench/results/echo.json).

export const SERVERS = ["go", "node", "gort-epoll", "gort-eventports"] as const;
export type ServerName = (typeof SERVERS)[number];
export const GORT_SERVERS: readonly ServerName[] = ["gort-epoll", "gort-eventports"];

export function isServerName(s: string): s is ServerName {
  return (SERVERS as readonly string[]).includes(s);
}

/** echoload's JSON line with echo-vs.sh's server CPU figure added. */
export interface LoadResult {
  conns: number;
  size: number;
  connected: number;
  msgs_per_s: number;
  mb_per_s: number;
  p50_us: number;
  p99_us: number;
  p999_us: number;
  errors: number;
  mismatches: number;
  /** Server CPU time (user + sys) in the measured window / messages; null if no message. */
  server_cpu_us_per_msg: number | null;
}

/** One echo-vs.sh run of one server on one cell. */
export interface ThroughputRun {
  server: ServerName;
  conns: number;
  size: number;
  secs: number;
  rep: number;
  port: number;
  /** The sources when the server started: the last commit that changed src/, examples/ or native/, "+dirty" if they differed from it. */
  src: string;
  /** echo-vs.sh exited 0: no error, no mismatch, at least one connection. */
  ok: boolean;
  result: LoadResult | null;
  /** Why the run failed (echo-vs.sh's stderr, the server log's tail), or null. */
  error: string | null;
  started: string;
  wall_s: number;
  /** The 1-minute load average when the run ended. */
  loadavg_end: number;
}

/** Each ratio is a/b of two servers' median runs; null when either is missing. */
export interface Ratios {
  msgs_vs_go: number | null;
  msgs_vs_node: number | null;
  cpu_vs_go: number | null;
  cpu_vs_node: number | null;
}

export interface Cell {
  conns: number;
  size: number;
  runs: ThroughputRun[];
  /** Per server, the run with the median msgs/s among its successful runs. */
  median: Partial<Record<ServerName, ThroughputRun>>;
  ratios: Partial<Record<ServerName, Ratios>>;
}

/** One idle-memory run: a fresh server, a warm-up, then n idle connections. */
export interface MemoryRun {
  server: ServerName;
  rep: number;
  port: number;
  /** As in ThroughputRun. */
  src: string;
  conns_wanted: number;
  /** Connections that made their echo round trip and stayed open. */
  conns_ready: number;
  conns_failed: number;
  /** Server VmRSS after start and warm-up, before the idle connections. */
  rss_before_kib: number | null;
  /** Server VmRSS with every idle connection open, after the settle time. */
  rss_after_kib: number | null;
  /** Server VmRSS once the client closed them all (for information). */
  rss_closed_kib: number | null;
  /** (rss_after - rss_before) / conns_ready, in bytes. */
  bytes_per_conn: number | null;
  connect_ms: number | null;
  ok: boolean;
  error: string | null;
  started: string;
  loadavg_end: number;
}

export interface MemoryRatios {
  vs_go: number | null;
  vs_node: number | null;
}

export interface Memory {
  idle_conns: number;
  /** Fresh servers measured per server: the figure is the median one. */
  reps: number;
  runs: MemoryRun[];
  median: Partial<Record<ServerName, MemoryRun>>;
  ratios: Partial<Record<ServerName, MemoryRatios>>;
}

export interface Machine {
  cpu_model: string;
  cores: number;
  kernel: string;
  node: string;
  go: string;
  date: string;
  git_commit: string;
  /** Files under src/, examples/ or native/ that differ from the commit when the run started. */
  git_dirty: string[];
  loadavg_start: number[];
  loadavg_end: number[];
  /** Every `src` of the runs: more than one when someone committed or edited during the run. */
  src_states: string[];
  duration_s: number;
}

export interface Config {
  servers: ServerName[];
  conns: number[];
  sizes: number[];
  secs: number;
  reps: number;
  mem_reps: number;
  idle_conns: number;
  memory: boolean;
  quick: boolean;
  server_cmds: Partial<Record<ServerName, string>>;
}

export interface Goal {
  goal: string;
  server: ServerName;
  /** "64 conns × 64 B", or "10,000 idle conns" for memory. */
  cell: string;
  value: number | null;
  target: string;
  met: boolean | null;
}

export interface Results {
  benchmark: "echo";
  machine: Machine;
  config: Config;
  cells: Cell[];
  memory: Memory | null;
  goals: Goal[];
}

// ---- statistics ----------------------------------------------------------------------

/** The median element by key (the lower one of an even count); null when empty. */
export function medianBy<T>(xs: readonly T[], key: (x: T) => number): T | null {
  if (xs.length === 0) return null;
  const s = [...xs].sort((a, b) => key(a) - key(b));
  return s[Math.floor((s.length - 1) / 2)]!;
}

/** Three significant digits, as a number (JSON stays short). */
export function sig(x: number): number {
  return x === 0 || !Number.isFinite(x) ? x : Number(x.toPrecision(3));
}

function div(a: number | null | undefined, b: number | null | undefined): number | null {
  return a === null || a === undefined || b === null || b === undefined || b === 0 ? null : sig(a / b);
}

export function cellMedians(runs: readonly ThroughputRun[]): Partial<Record<ServerName, ThroughputRun>> {
  const out: Partial<Record<ServerName, ThroughputRun>> = {};
  for (const s of SERVERS) {
    const m = medianBy(
      runs.filter((r) => r.server === s && r.ok && r.result !== null),
      (r) => r.result!.msgs_per_s,
    );
    if (m !== null) out[s] = m;
  }
  return out;
}

export function cellRatios(median: Partial<Record<ServerName, ThroughputRun>>): Partial<Record<ServerName, Ratios>> {
  const go = median.go?.result;
  const node = median.node?.result;
  const out: Partial<Record<ServerName, Ratios>> = {};
  for (const s of SERVERS) {
    const r = median[s]?.result;
    if (r === undefined || r === null) continue;
    out[s] = {
      msgs_vs_go: div(r.msgs_per_s, go?.msgs_per_s),
      msgs_vs_node: div(r.msgs_per_s, node?.msgs_per_s),
      cpu_vs_go: div(r.server_cpu_us_per_msg, go?.server_cpu_us_per_msg),
      cpu_vs_node: div(r.server_cpu_us_per_msg, node?.server_cpu_us_per_msg),
    };
  }
  return out;
}

export function memoryMedians(runs: readonly MemoryRun[]): Partial<Record<ServerName, MemoryRun>> {
  const out: Partial<Record<ServerName, MemoryRun>> = {};
  for (const s of SERVERS) {
    const m = medianBy(
      runs.filter((r) => r.server === s && r.ok && r.bytes_per_conn !== null),
      (r) => r.bytes_per_conn!,
    );
    if (m !== null) out[s] = m;
  }
  return out;
}

export function memoryRatios(median: Partial<Record<ServerName, MemoryRun>>): Partial<Record<ServerName, MemoryRatios>> {
  const out: Partial<Record<ServerName, MemoryRatios>> = {};
  for (const s of SERVERS) {
    const m = median[s];
    if (m === undefined) continue;
    out[s] = {
      vs_go: div(m.bytes_per_conn, median.go?.bytes_per_conn),
      vs_node: div(m.bytes_per_conn, median.node?.bytes_per_conn),
    };
  }
  return out;
}

// ---- goals (issue 5) -----------------------------------------------------------------

export function cellName(conns: number, size: number): string {
  return `${conns} conn${conns === 1 ? "" : "s"} × ${sizeName(size)}`;
}

export function sizeName(size: number): string {
  return size >= 1024 && size % 1024 === 0 ? `${size / 1024} KiB` : `${size} B`;
}

/**
 * The goals of issue 5, from one run's medians: throughput at 64 and 512
 * connections ≥ 1.0× Go and ≥ 1.2× Node; server CPU per message ≤ Node's;
 * p99 with one connection ≤ 1.5× Go's; memory per idle connection ≤ Go's.
 * `met` is null when a figure is missing.
 */
export function goals(cells: readonly Cell[], memory: Memory | null, servers: readonly ServerName[]): Goal[] {
  const out: Goal[] = [];
  const cmp = (v: number | null | undefined, ok: (v: number) => boolean): boolean | null =>
    v === null || v === undefined ? null : ok(v);
  for (const s of GORT_SERVERS) {
    if (!servers.includes(s)) continue;
    for (const c of cells) {
      const name = cellName(c.conns, c.size);
      const r = c.ratios[s];
      if (c.conns >= 64) {
        out.push({ goal: "msgs/s vs Go", server: s, cell: name, value: r?.msgs_vs_go ?? null, target: "≥ 1.0", met: cmp(r?.msgs_vs_go, (v) => v >= 1) });
        out.push({ goal: "msgs/s vs Node", server: s, cell: name, value: r?.msgs_vs_node ?? null, target: "≥ 1.2", met: cmp(r?.msgs_vs_node, (v) => v >= 1.2) });
      }
      out.push({ goal: "CPU/msg vs Node", server: s, cell: name, value: r?.cpu_vs_node ?? null, target: "≤ 1.0", met: cmp(r?.cpu_vs_node, (v) => v <= 1) });
      if (c.conns === 1) {
        const p99 = c.median[s]?.result?.p99_us;
        const go = c.median.go?.result?.p99_us;
        const v = div(p99, go);
        out.push({ goal: "p99 vs Go", server: s, cell: name, value: v, target: "≤ 1.5", met: cmp(v, (x) => x <= 1.5) });
      }
    }
    if (memory !== null) {
      const v = memory.ratios[s]?.vs_go ?? null;
      out.push({ goal: "memory/idle conn vs Go", server: s, cell: `${memory.idle_conns.toLocaleString("en-US")} idle conns`, value: v, target: "≤ 1.0", met: cmp(v, (x) => x <= 1) });
    }
  }
  return out;
}

// ---- tables ----------------------------------------------------------------------------

export type Format = "text" | "markdown";

function int(x: number): string {
  return Math.round(x).toLocaleString("en-US");
}

function fixed(x: number | null | undefined, d: number): string {
  return x === null || x === undefined ? "–" : x.toFixed(d);
}

function times(x: number | null | undefined): string {
  return x === null || x === undefined ? "–" : `${x.toFixed(2)}×`;
}

function kib(bytes: number | null | undefined): string {
  return bytes === null || bytes === undefined ? "–" : (bytes / 1024).toFixed(1);
}

function table(fmt: Format, head: readonly string[], rows: readonly (readonly string[])[], right: readonly boolean[]): string {
  if (fmt === "markdown") {
    const line = (cells: readonly string[]): string => `| ${cells.join(" | ")} |`;
    const sep = head.map((_, i) => (right[i] ? "---:" : "---"));
    return [line(head), line(sep), ...rows.map(line)].join("\n");
  }
  const w = head.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const pad = (s: string, i: number): string => (right[i] ? s.padStart(w[i]!) : s.padEnd(w[i]!));
  const line = (cells: readonly string[]): string => cells.map(pad).join("  ").trimEnd();
  return [line(head), line(w.map((n) => "-".repeat(n))), ...rows.map(line)].join("\n");
}

/** One table for the whole matrix: a row per cell and server. */
export function throughputTable(res: Results, fmt: Format): string {
  const head = ["cell", "server", "msgs/s", "MB/s", "p50 µs", "p99 µs", "p99.9 µs", "CPU µs/msg", "msgs ×Go", "msgs ×Node", "CPU ×Go", "CPU ×Node", "runs"];
  const right = head.map((_, i) => i >= 2);
  const rows: string[][] = [];
  for (const c of res.cells) {
    for (const s of res.config.servers) {
      const m = c.median[s];
      const r = m?.result ?? null;
      const q = c.ratios[s];
      const all = c.runs.filter((x) => x.server === s);
      const failed = all.filter((x) => !x.ok).length;
      const runs = failed > 0 ? `${all.length} (${failed} failed)` : String(all.length);
      rows.push([
        cellName(c.conns, c.size),
        s,
        r === null ? "failed" : int(r.msgs_per_s),
        r === null ? "–" : fixed(r.mb_per_s, 1),
        r === null ? "–" : int(r.p50_us),
        r === null ? "–" : int(r.p99_us),
        r === null ? "–" : int(r.p999_us),
        fixed(r?.server_cpu_us_per_msg, 2),
        times(q?.msgs_vs_go),
        times(q?.msgs_vs_node),
        times(q?.cpu_vs_go),
        times(q?.cpu_vs_node),
        runs,
      ]);
    }
  }
  return table(fmt, head, rows, right);
}

export function memoryTable(res: Results, fmt: Format): string {
  const mem = res.memory;
  if (mem === null) return "";
  const head = ["server", "idle conns", "RSS before MiB", "RSS with conns MiB", "KiB/conn", "×Go", "×Node"];
  const right = head.map((_, i) => i >= 1);
  const rows: string[][] = [];
  for (const s of res.config.servers) {
    const m = mem.median[s];
    const q = mem.ratios[s];
    const mib = (k: number | null | undefined): string => (k === null || k === undefined ? "–" : (k / 1024).toFixed(1));
    rows.push([
      s,
      m === undefined ? "failed" : int(m.conns_ready),
      mib(m?.rss_before_kib),
      mib(m?.rss_after_kib),
      kib(m?.bytes_per_conn),
      times(q?.vs_go),
      times(q?.vs_node),
    ]);
  }
  return table(fmt, head, rows, right);
}

export function goalsTable(res: Results, fmt: Format): string {
  if (res.goals.length === 0) return "";
  const head = ["server", "goal", "cell", "value", "target", "met"];
  const right = [false, false, false, true, false, false];
  const rows = res.goals.map((g) => [
    g.server,
    g.goal,
    g.cell,
    times(g.value),
    g.target,
    g.met === null ? "n/a" : g.met ? "yes" : "no",
  ]);
  return table(fmt, head, rows, right);
}

/** A short header line: the machine and the run's conditions. */
export function machineLine(res: Results): string {
  const m = res.machine;
  const la = (xs: number[]): string => xs.map((x) => x.toFixed(2)).join(" ");
  const dirty = m.git_dirty.length > 0 ? ` + uncommitted changes in ${m.git_dirty.length} file(s)` : "";
  const states = m.src_states ?? [];
  const changed =
    states.length > 1 ? ` (the sources changed during the run: ${states.join(", ")})` : states.length === 1 ? ` (sources: ${states[0]})` : "";
  return (
    `${m.date}, ${m.cpu_model}, ${m.cores} cores, Linux ${m.kernel}, Node ${m.node}, ${m.go}, ` +
    `commit ${m.git_commit.slice(0, 10)}${dirty}${changed}; load average ${la(m.loadavg_start)} at start, ${la(m.loadavg_end)} at end`
  );
}

/** Every table, for stdout: `--markdown` gives what docs/benchmarks.md holds. */
export function report(res: Results, fmt: Format): string {
  const c = res.config;
  const h = (s: string): string => (fmt === "markdown" ? `#### ${s}` : `== ${s}`);
  const parts = [fmt === "markdown" ? `_${machineLine(res)}._` : machineLine(res)];
  if (res.cells.length > 0) {
    parts.push(
      "",
      h(
        `Throughput: closed loop, ${c.secs} s per run, median of ${c.reps} run${c.reps === 1 ? "" : "s"} per server and cell ` +
          "(ratios: this server's figure over Go's or Node's)",
      ),
      "",
      throughputTable(res, fmt),
    );
  }
  if (res.memory !== null) {
    const n = res.memory.reps;
    parts.push(
      "",
      h(
        `Memory: resident memory per idle connection (${int(res.memory.idle_conns)} connections, each parked in read; ` +
          `median of ${n} run${n === 1 ? "" : "s"})`,
      ),
      "",
      memoryTable(res, fmt),
    );
  }
  if (res.goals.length > 0) parts.push("", h("Goals of issue 5 (from this run's medians)"), "", goalsTable(res, fmt));
  return `${parts.join("\n")}\n`;
}

// The execution trace (src/sched/trace.ts), schedtrace (src/sched/schedtrace.ts)
// and schedMetrics: traces of small programs checked as Perfetto would read
// them (one track per goroutine, slices that nest, flows bound to slices),
// the poller's part of a trace on a real socket pair, GORT_TRACE and
// GORT_SCHEDTRACE in child processes, and the counters.

import assert from "node:assert/strict";
import { spawnSync, type SpawnSyncReturns } from "node:child_process";
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { tmpdir } from "node:os";
import path from "node:path";
import { fileURLToPath, pathToFileURL } from "node:url";

import { backendKind } from "../../src/netpoll/backend.ts";
import { pollClose, pollerKind, pollOpen, pollUnblock, stopPoller } from "../../src/netpoll/netpoll.ts";
import {
  chan,
  go,
  run,
  schedMetrics,
  schedtraceLine,
  sleep,
  startSchedtrace,
  startTrace,
  stopTrace,
  tracing,
  type ChromeTrace,
  type Op,
  type SchedMetrics,
  type TraceResult,
} from "../../src/sched/index.ts";
import { checkNoLeaks } from "../support/leakcheck.ts";
import { closeFd, readOp, socketPair, writeFd } from "../support/netpoll-fds.ts";
import { startAndWarmUp } from "../support/netpoll-harness.ts";

const root = fileURLToPath(new URL("../../", import.meta.url));
/** tsx by URL, so that a child can run in another directory. */
const tsx = pathToFileURL(path.join(root, "node_modules/tsx/dist/loader.mjs")).href;

type Ev = Record<string, unknown> & { ph: string; name: string; tid?: number; ts?: number; dur?: number; args?: Record<string, unknown> };

/** What a trace holds, indexed for the assertions; validate() has checked it first. */
interface Parsed {
  events: Ev[];
  /** Track names by tid (thread_name metadata). */
  names: Map<number, string>;
  /** Goroutine tracks: goroutine id -> its name in the track name ("goroutine 7 (worker)" -> worker). */
  goroutines: Map<number, string>;
  runs(gid: number): Ev[];
  instants(gid: number, name: string): Ev[];
  onTrack(name: string): Ev[];
}

/**
 * Checks a trace the way Perfetto's JSON importer uses it: every event has
 * its fields; on each track the "X" slices are disjoint or nested; every
 * flow start lies inside a slice of its track (it binds to the enclosing
 * slice), every flow end ("bp":"e") inside one of its own and after its
 * start; every track with events has a name.
 */
function validate(trace: ChromeTrace): Parsed {
  const json = JSON.parse(JSON.stringify(trace)) as ChromeTrace; // valid JSON, and what a file would hold
  assert.ok(Array.isArray(json.traceEvents));
  const events = json.traceEvents as Ev[];
  const names = new Map<number, string>();
  const slices = new Map<number, Ev[]>();
  for (const e of events) {
    assert.equal(typeof e.ph, "string", JSON.stringify(e));
    assert.equal(typeof e.name, "string", JSON.stringify(e));
    assert.equal(typeof e.pid, "number", JSON.stringify(e));
    if (e.ph === "M") {
      if (e.name === "thread_name") names.set(e.tid!, String(e.args!.name));
      continue;
    }
    assert.ok(typeof e.ts === "number" && e.ts >= 0 && Number.isFinite(e.ts), `bad ts: ${JSON.stringify(e)}`);
    assert.equal(typeof e.tid, "number", JSON.stringify(e));
    assert.ok(["X", "i", "s", "f"].includes(e.ph), `unexpected phase: ${JSON.stringify(e)}`);
    if (e.ph === "X") {
      assert.ok(typeof e.dur === "number" && e.dur >= 0, `bad dur: ${JSON.stringify(e)}`);
      let l = slices.get(e.tid!);
      if (l === undefined) slices.set(e.tid!, (l = []));
      l.push(e);
    }
  }
  const ns = (x: number): number => Math.round(x * 1000);
  for (const [tid, l] of slices) {
    l.sort((a, b) => a.ts! - b.ts! || b.dur! - a.dur!);
    const open: Ev[] = [];
    for (const e of l) {
      while (open.length > 0 && ns(open.at(-1)!.ts! + open.at(-1)!.dur!) <= ns(e.ts!)) open.pop();
      const parent = open.at(-1);
      if (parent !== undefined) {
        assert.ok(ns(e.ts! + e.dur!) <= ns(parent.ts! + parent.dur!), `overlapping slices on track ${tid}: ${JSON.stringify(parent)} and ${JSON.stringify(e)}`);
      }
      open.push(e);
    }
  }
  const inside = (tid: number, ts: number): boolean =>
    (slices.get(tid) ?? []).some((x) => ns(x.ts!) < ns(ts) && ns(ts) < ns(x.ts! + x.dur!));
  const starts = new Map<number, Ev>();
  for (const e of events) {
    if (e.ph !== "s") continue;
    assert.ok(!starts.has(e.id as number), `duplicate flow id ${String(e.id)}`);
    starts.set(e.id as number, e);
    assert.ok(inside(e.tid!, e.ts!), `flow start outside any slice of its track: ${JSON.stringify(e)}`);
  }
  for (const e of events) {
    if (e.ph !== "f") continue;
    const s = starts.get(e.id as number);
    assert.ok(s !== undefined, `flow end without a start: ${JSON.stringify(e)}`);
    assert.equal(e.bp, "e");
    assert.ok(inside(e.tid!, e.ts!), `flow end outside any slice of its track: ${JSON.stringify(e)}`);
    assert.ok(e.ts! > s.ts!, `flow ends before it starts: ${JSON.stringify(s)} ${JSON.stringify(e)}`);
  }
  for (const e of events) if (e.ph !== "M" && e.tid !== undefined && (e.ph !== "i" || e.s !== "g")) assert.ok(names.has(e.tid), `track ${e.tid} has no name`);
  const goroutines = new Map<number, string>();
  for (const [tid, name] of names) {
    const m = /^goroutine (\d+)(?: \((.*)\))?$/.exec(name);
    if (m !== null) {
      assert.equal(Number(m[1]), tid, `track ${tid} is named ${name}`);
      goroutines.set(tid, m[2] ?? "");
    }
  }
  const trackOf = new Map([...names].map(([tid, n]) => [n, tid]));
  return {
    events,
    names,
    goroutines,
    runs: (gid) => events.filter((e) => e.ph === "X" && e.tid === gid && e.cat === "running"),
    instants: (gid, name) => events.filter((e) => e.ph === "i" && e.tid === gid && e.name === name),
    onTrack: (name) => events.filter((e) => e.ph !== "M" && e.tid === trackOf.get(name)),
  };
}

/** The goroutine track whose function is fname (exactly one). */
function gidOf(p: Parsed, fname: string): number {
  const ids = [...p.goroutines].filter(([, n]) => n === fname).map(([id]) => id);
  assert.equal(ids.length, 1, `goroutines named ${fname}: ${ids.join(", ")}`);
  return ids[0]!;
}

function runProg(args: string[], env: NodeJS.ProcessEnv, cwd = root): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, ["--import", tsx, path.join(root, "test/testprog/traced.ts"), ...args], {
    cwd,
    encoding: "utf8",
    timeout: 15_000,
    env: { ...process.env, NODE_OPTIONS: "", GORT_TRACE: "", GORT_SCHEDTRACE: "", ...env },
  });
  if (r.error !== undefined) throw r.error;
  assert.equal(r.signal, null, `killed by ${r.signal}\nstderr:\n${r.stderr}`);
  return r;
}

describe("sched: execution trace", function () {
  afterEach(function () {
    if (tracing()) stopTrace();
    checkNoLeaks();
  });

  it("is off by default: no tracer, and stopTrace without a trace returns null", function () {
    assert.equal(process.env.GORT_TRACE ?? "", "");
    assert.equal(tracing(), false);
    assert.equal(stopTrace(), null);
  });

  it("ping-pong, sleep and a blocked goroutine: one track per goroutine with runs, parks, readies and flows", async function () {
    startTrace(null);
    assert.equal(tracing(), true);
    assert.throws(() => startTrace(null), /already being recorded/);
    await run(function* main(): Op<void> {
      const a = chan<number>();
      const b = chan<number>();
      go(function* echo(): Op<void> {
        for (const r = a.range(); yield* r.next(); ) yield* b.send(r.value);
      });
      const never = chan<number>();
      go(function* waiter(): Op<void> {
        yield* never.recv();
      });
      for (let i = 0; i < 20; i++) {
        yield* a.send(i);
        yield* b.recv();
      }
      a.close();
      yield* sleep(5);
    });
    const r = stopTrace()!;
    assert.equal(tracing(), false);
    assert.equal(r.path, null);
    assert.equal(r.dropped, 0);
    assert.ok(r.trace !== null);
    assert.equal(r.trace.otherData.truncated, false);
    const p = validate(r.trace);
    assert.equal(p.goroutines.size, 3, [...p.names.values()].join(", "));
    const main = gidOf(p, "main");
    const echo = gidOf(p, "echo");
    const waiter = gidOf(p, "waiter");
    for (const [gid] of p.goroutines) assert.ok(p.runs(gid).length > 0, `goroutine ${gid} has no run`);
    // Runs: the ping-pong makes each side run at least once a round.
    assert.ok(p.runs(echo).length >= 20, `echo ran ${p.runs(echo).length} times`);
    assert.ok(p.runs(main).length >= 20);
    for (const e of p.runs(echo)) assert.equal(e.name, "echo");
    // Creation: by main, with a flow into the new goroutine's first run.
    for (const g of [echo, waiter]) {
      const c = p.instants(g, "created");
      assert.equal(c.length, 1);
      assert.equal(c[0]!.args!.by, `goroutine ${main} (main)`);
    }
    // Parks and their reasons.
    assert.deepEqual(
      p.instants(waiter, "park").map((e) => e.args!.reason),
      ["chan receive"],
    );
    const mainReasons = new Set(p.instants(main, "park").map((e) => e.args!.reason));
    assert.ok(mainReasons.has("sleep"), [...mainReasons].join());
    assert.ok([...mainReasons].some((x) => x === "chan send" || x === "chan receive"));
    // Readies: echo by main and main by echo; main by the timer after its sleep.
    const echoBy = new Set(p.instants(echo, "ready").map((e) => e.args!.by));
    assert.ok(echoBy.has(`goroutine ${main} (main)`), [...echoBy].join());
    const mainBy = new Set(p.instants(main, "ready").map((e) => e.args!.by));
    assert.ok(mainBy.has(`goroutine ${echo} (echo)`), [...mainBy].join());
    assert.ok(mainBy.has("timer"), [...mainBy].join());
    const timers = p.onTrack("timers").filter((e) => e.ph === "X");
    assert.equal(timers.length, 1);
    assert.equal(timers[0]!.name, "timer: readyGoroutine");
    // Cross-goroutine wakes are flows: as many ends as the readied goroutines' runs after a ready.
    const flows = p.events.filter((e) => e.ph === "f");
    assert.ok(flows.length >= 40, `${flows.length} flows`);
    assert.ok(flows.some((f) => f.tid === main) && flows.some((f) => f.tid === echo) && flows.some((f) => f.tid === waiter));
    // Ends: main and echo returned, the waiter was dropped with its program.
    assert.equal(p.instants(main, "end")[0]!.args!.how, "returned");
    assert.equal(p.instants(echo, "end")[0]!.args!.how, "returned");
    assert.equal(p.instants(waiter, "end")[0]!.args!.how, "dropped: its program ended");
    assert.equal(p.onTrack("scheduler (schedule loop slices)").filter((e) => e.name === "program end").length, 1);
    // Runs on one track follow each other, and each lies inside a scheduler slice.
    const sched = p.onTrack("scheduler (schedule loop slices)").filter((e) => e.ph === "X");
    assert.ok(sched.length >= 2);
    const all = [...p.goroutines.keys()].flatMap((g) => p.runs(g)).sort((x, y) => x.ts! - y.ts!);
    for (let i = 1; i < all.length; i++) assert.ok(all[i]!.ts! >= all[i - 1]!.ts! + all[i - 1]!.dur!, "two goroutines ran at once");
    for (const e of all) assert.ok(sched.some((s) => s.ts! <= e.ts! && e.ts! + e.dur! <= s.ts! + s.dur!), `run outside a slice: ${JSON.stringify(e)}`);
  });

  it("a run that readies three goroutines and starts one between: each ready by it, in order, inside that run", async function () {
    startTrace(null);
    await run(function* main(): Op<void> {
      const cs = [chan<number>(1), chan<number>(1), chan<number>(1)];
      const names = ["w0", "w1", "w2"];
      for (let i = 0; i < 3; i++) {
        const c = cs[i]!;
        const f = function* (): Op<void> {
          yield* c.recv();
        };
        Object.defineProperty(f, "name", { value: names[i] });
        go(f);
      }
      yield* sleep(1); // every waiter parks in recv
      yield* cs[0]!.send(0);
      go(function* spawned(): Op<void> {});
      yield* cs[1]!.send(1);
      yield* cs[2]!.send(2);
      yield* sleep(1);
    });
    const p = validate(stopTrace()!.trace!);
    const main = gidOf(p, "main");
    const ws = ["w0", "w1", "w2"].map((n) => gidOf(p, n));
    const readies = ws.map((g) => p.instants(g, "ready"));
    for (const r of readies) assert.deepEqual(r.map((e) => e.args!.by), [`goroutine ${main} (main)`]);
    const created = p.instants(gidOf(p, "spawned"), "created")[0]!;
    const ts = [readies[0]![0]!.ts!, created.ts!, readies[1]![0]!.ts!, readies[2]![0]!.ts!];
    for (let i = 1; i < ts.length; i++) assert.ok(ts[i - 1]! < ts[i]!, `out of order: ${ts.join(" ")}`);
    const run_ = p.runs(main).find((e) => e.ts! <= ts[0]! && ts[3]! <= e.ts! + e.dur!);
    assert.ok(run_ !== undefined, "the readies are not inside one run of main");
  });

  it("times long runs from the clock: a goroutine that computes 3 ms per run shows 3 ms runs", async function () {
    startTrace(null);
    await run(function* main(): Op<void> {
      const a = chan<number>();
      const b = chan<number>();
      go(function* busy(): Op<void> {
        for (const r = a.range(); yield* r.next(); ) {
          const end = performance.now() + 3;
          while (performance.now() < end);
          yield* b.send(r.value);
        }
      });
      for (let i = 0; i < 8; i++) {
        yield* a.send(i);
        yield* b.recv();
      }
      a.close();
    });
    const p = validate(stopTrace()!.trace!);
    const runs = p.runs(gidOf(p, "busy")).filter((e) => e.args!.end === "park: chan send");
    assert.equal(runs.length, 8);
    for (const e of runs) assert.ok(e.dur! >= 2900 && e.dur! < 100_000, `a busy run lasted ${e.dur} µs`);
    const mainRuns = p.runs(gidOf(p, "main"));
    assert.ok(mainRuns.every((e) => e.dur! < 2900), `main's runs: ${mainRuns.map((e) => e.dur).join(", ")} µs`);
  });

  it("writes the file given to startTrace, streaming, and records goroutines that existed before it started", async function () {
    const dir = mkdtempSync(path.join(tmpdir(), "gort-trace-"));
    try {
      const file = path.join(dir, "t.json");
      await run(function* main(): Op<void> {
        const c = chan<number>();
        go(function* early(): Op<void> {
          yield* c.recv();
        });
        yield* sleep(1);
        startTrace(file);
        c.close();
        yield* sleep(1);
        const r = stopTrace()!;
        assert.equal(r.path, file);
        assert.equal(r.trace, null);
      });
      const trace = JSON.parse(readFileSync(file, "utf8")) as ChromeTrace;
      const p = validate(trace);
      const early = gidOf(p, "early");
      assert.equal(p.runs(early).length, 1);
      assert.equal(p.instants(early, "end")[0]!.args!.how, "returned");
      // main was running when the trace started and when it stopped: its runs are cut at both ends.
      const main = gidOf(p, "main");
      assert.equal(p.runs(main).at(-1)!.args!.end, "trace stopped");
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps the last maxRecords records and says what it dropped", async function () {
    startTrace(null, { maxRecords: 64 });
    let r = null as TraceResult | null;
    await run(function* main(): Op<void> {
      const a = chan<number>();
      go(function* sink(): Op<void> {
        for (const r = a.range(); yield* r.next(); );
      });
      for (let i = 0; i < 1000; i++) yield* a.send(i);
      // Stopped while both live: their names come from the goroutines themselves, their creation is long gone.
      r = stopTrace()!;
      a.close();
    });
    assert.ok(r !== null);
    r = r as TraceResult;
    assert.ok(r.records > 1000, `${r.records} records`);
    assert.equal(r.dropped, r.trace!.otherData.droppedRecords);
    assert.equal(r.records - r.dropped, r.trace!.otherData.keptRecords);
    assert.ok(r.dropped >= r.records - 64);
    assert.equal(r.trace!.otherData.truncated, true);
    assert.match(String(r.trace!.otherData.note), /ring kept the last 64 records/);
    const p = validate(r.trace!);
    const note = p.events.filter((e) => e.name === "trace truncated");
    assert.equal(note.length, 1);
    assert.equal(note[0]!.args!.droppedRecords, r.dropped);
    assert.ok(p.runs(gidOf(p, "sink")).length > 0);
  });

  describe("with the network poller", function () {
    let pair: [number, number] | null = null;
    let pd = -1;

    before(async function () {
      this.timeout(30_000);
      if (pollerKind() !== null) await stopPoller();
      await startAndWarmUp(backendKind());
    });

    after(async function () {
      this.timeout(10_000);
      await stopPoller();
    });

    afterEach(function () {
      if (pd >= 0) {
        pollUnblock(pd);
        pollClose(pd);
        pd = -1;
      }
      if (pair !== null) for (const fd of pair) closeFd(fd);
      pair = null;
    });

    it("shows the hand-off of the wait to the poller thread, the wake-up, and I/O readiness readying the reader", async function () {
      pair = socketPair();
      const [peer, fd] = pair;
      pd = pollOpen(fd);
      const m0 = schedMetrics();
      let during: SchedMetrics | null = null;
      startTrace(null);
      await run(function* main(): Op<void> {
        const buf = new Uint8Array(8);
        const reader = go(function* reader(): Op<number> {
          const r = yield* readOp(pd, fd, buf);
          return r.n;
        });
        // A Node callback writes while every goroutine waits: the scheduler is
        // idle, so the blocking wait is the poller thread's.
        setTimeout(() => {
          during = schedMetrics();
          writeFd(peer, Uint8Array.of(7));
        }, 30);
        assert.equal(yield* reader.join(), 1);
      });
      const r = stopTrace()!;
      const m1 = schedMetrics();
      const p = validate(r.trace!);
      const reader = gidOf(p, "reader");
      assert.deepEqual(
        p.instants(reader, "park").map((e) => e.args!.reason),
        ["IO wait"],
      );
      const poller = p.onTrack("netpoll (poller thread)");
      const waits = poller.filter((e) => e.name === "netpoll wait (poller thread)");
      assert.ok(waits.length >= 1, "no poller wait");
      assert.ok(waits.some((e) => e.dur! >= 20_000), `poller waits: ${waits.map((e) => e.dur).join(", ")} µs`);
      const io = poller.filter((e) => e.name === "I/O ready");
      assert.equal(io.length, 1);
      assert.equal(io[0]!.args!.goroutine, `goroutine ${reader} (reader)`);
      assert.equal(io[0]!.args!.mode, "read");
      assert.ok(io[0]!.ts! >= waits[0]!.ts! + waits[0]!.dur!, "readiness handled before the wake-up");
      assert.deepEqual(
        p.instants(reader, "ready").map((e) => e.args!.by),
        ["netpoll (I/O ready)"],
      );
      // The flow from the readiness into the reader's next run.
      const s = p.events.find((e) => e.ph === "s" && e.tid === io[0]!.tid && e.ts! > io[0]!.ts! && e.ts! < io[0]!.ts! + io[0]!.dur!);
      assert.ok(s !== undefined);
      assert.ok(p.events.some((e) => e.ph === "f" && e.id === s.id && e.tid === reader));
      // The metrics saw the reader parked on I/O, then the wake-up and the hand-off.
      assert.ok(during !== null);
      const d = during as SchedMetrics;
      assert.equal(d.ioWaiters, 1);
      assert.equal(d.waitReasons["IO wait"], 1);
      assert.equal(d.waitReasons.join, 1);
      assert.equal(d.running, 0);
      assert.equal(m1.ioWakeups - m0.ioWakeups, 1);
      // (A hand-off still outstanding from an earlier program may have served this wait.)
      assert.ok(m1.pollerHandoffs >= 1);
      assert.equal(m1.ioWaiters, 0);
    });
  });
});

describe("sched: schedMetrics", function () {
  afterEach(checkNoLeaks);

  it("counts goroutines by state and wait reason, timers, and moves its counters", async function () {
    const m0 = schedMetrics();
    let inside: SchedMetrics | null = null;
    await run(function* main(): Op<void> {
      const never = chan<number>();
      for (let i = 0; i < 3; i++) {
        go(function* blocked(): Op<void> {
          yield* never.recv();
        });
      }
      for (let i = 0; i < 2; i++) {
        go(function* sleeper(): Op<void> {
          yield* sleep(50);
        });
      }
      go(function* ready(): Op<void> {});
      yield* sleep(1); // everyone else runs and parks; `ready` returns
      const a = chan<number>();
      const b = chan<number>();
      go(function* echo(): Op<void> {
        for (const r = a.range(); yield* r.next(); ) yield* b.send(r.value);
      });
      for (let i = 0; i < 100; i++) {
        yield* a.send(i);
        yield* b.recv();
      }
      a.close();
      go(function* late(): Op<void> {});
      inside = schedMetrics();
      never.close();
    });
    const m1 = schedMetrics();
    assert.ok(inside !== null);
    const m = inside as SchedMetrics;
    assert.equal(m.running, 1, "main");
    assert.equal(m.runnable, 2, "echo (its range ended) and late");
    assert.equal(m.runq, 2);
    assert.equal(m.waiting, 5);
    assert.deepEqual(m.waitReasons, { "chan receive": 3, sleep: 2 });
    assert.equal(m.goroutines, 8);
    assert.equal(m.timers, 2);
    assert.equal(m1.created - m0.created, 9, "main and eight goroutines");
    assert.ok(m1.parks - m0.parks >= 150, `${m1.parks - m0.parks} parks`);
    assert.ok(m1.switches - m0.switches >= m1.parks - m0.parks, "every park ends a run");
    assert.ok(m1.timerFires - m0.timerFires >= 1);
    assert.equal(m1.goroutines, 0);
    assert.equal(m1.running, 0);
  });

  it("schedtraceLine formats Go's SCHED line with the rates between two readings", function () {
    const base = schedMetrics();
    const m: SchedMetrics = {
      ...base,
      goroutines: 12,
      running: 0,
      runnable: 0,
      waiting: 12,
      waitReasons: { "IO wait": 2, "chan receive": 10 },
      runq: 0,
      ioWaiters: 2,
      timers: 3,
      switches: base.switches + 1000,
      parks: base.parks + 500,
      created: base.created + 10,
    };
    assert.equal(
      schedtraceLine(m, base, 500, 1004.4),
      "SCHED 1004ms: goroutines=12 running=0 runnable=0 waiting=12 [chan receive=10 IO wait=2] runq=0 iowait=2 timers=3 " +
        "switches/s=2000 parks/s=1000 go/s=20 timerfires/s=0 iowakeups/s=0 handoffs/s=0",
    );
  });

  it("startSchedtrace writes a line every period until stopped", async function () {
    const lines: string[] = [];
    const stop = startSchedtrace(10, (l) => lines.push(l));
    await run(function* main(): Op<void> {
      yield* sleep(60);
    });
    stop();
    const n = lines.length;
    assert.ok(n >= 3, `${n} lines`);
    for (const l of lines) assert.match(l, /^SCHED \d+ms: goroutines=\d+ running=\d+ runnable=\d+ waiting=\d+ \[.*\] runq=\d+ iowait=\d+ timers=\d+ switches\/s=\d+ /);
    assert.ok(lines.some((l) => l.includes("[sleep=1]")), lines.join("\n"));
    await new Promise((r) => setTimeout(r, 40));
    assert.equal(lines.length, n, "still writing after stop");
    assert.throws(() => startSchedtrace(0), RangeError);
  });
});

describe("sched: GORT_TRACE and GORT_SCHEDTRACE (child processes)", function () {
  this.timeout(30_000);
  let dir = "";

  beforeEach(function () {
    dir = mkdtempSync(path.join(tmpdir(), "gort-trace-env-"));
  });

  afterEach(function () {
    rmSync(dir, { recursive: true, force: true });
  });

  it("GORT_TRACE=<file> traces the whole program and writes the file at exit", function () {
    const file = path.join(dir, "whole.json");
    const r = runProg(["50", "2"], { GORT_TRACE: file });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "sum 2450\n");
    const trace = JSON.parse(readFileSync(file, "utf8")) as ChromeTrace;
    assert.equal(trace.otherData.truncated, false);
    const p = validate(trace);
    assert.equal(p.goroutines.size, 12, "main, echo and ten blocked goroutines");
    assert.equal([...p.goroutines.values()].filter((n) => n === "blocked").length, 10);
    assert.ok(p.runs(gidOf(p, "echo")).length >= 100);
    assert.equal(p.onTrack("timers").filter((e) => e.ph === "X").length, 2);
  });

  it("GORT_TRACE_EVENTS bounds it: a long program keeps the last records, says so, and the file stays small", function () {
    const file = path.join(dir, "bounded.json");
    const r = runProg(["20000", "1"], { GORT_TRACE: file, GORT_TRACE_EVENTS: "1000" });
    assert.equal(r.status, 0, r.stderr);
    const trace = JSON.parse(readFileSync(file, "utf8")) as ChromeTrace;
    assert.equal(trace.otherData.truncated, true);
    assert.ok((trace.otherData.records as number) > 40_000);
    assert.ok((trace.otherData.keptRecords as number) <= 1024);
    assert.ok(statSync(file).size < 1024 * 1024, `${statSync(file).size} bytes`);
    validate(trace);
  });

  it("without GORT_TRACE nothing is written", function () {
    const r = runProg(["10", "1"], {}, dir);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stderr, "");
    assert.deepEqual(readdirSync(dir), []);
  });

  it("GORT_SCHEDTRACE=50 prints a SCHED line every 50 ms on stderr, and does not keep the process alive", function () {
    const r = runProg(["200", "15"], { GORT_SCHEDTRACE: "50" });
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "sum 298500\n");
    const lines = r.stderr.split("\n").filter((l) => l !== "");
    assert.ok(lines.length >= 3, r.stderr);
    for (const l of lines) {
      assert.match(
        l,
        /^SCHED \d+ms: goroutines=\d+ running=\d+ runnable=\d+ waiting=\d+ \[[^\]]*\] runq=\d+ iowait=\d+ timers=\d+ switches\/s=\d+ parks\/s=\d+ go\/s=\d+ timerfires\/s=\d+ iowakeups\/s=\d+ handoffs\/s=\d+$/,
      );
    }
    // While main sleeps between rounds: 12 goroutines, the ten blocked and echo on a receive, main asleep.
    assert.ok(
      lines.some((l) => l.includes("goroutines=12 running=0 runnable=0 waiting=12 [chan receive=11 sleep=1]")),
      r.stderr,
    );
    assert.ok(lines.some((l) => !/switches\/s=0 /.test(l)), "no switches counted");
    // A program that ends before the first period: no line, and no wait for one.
    const t0 = performance.now();
    const quick = runProg(["10", "1"], { GORT_SCHEDTRACE: "5000" });
    assert.equal(quick.status, 0, quick.stderr);
    assert.equal(quick.stderr, "");
    assert.ok(performance.now() - t0 < 4500, "the schedtrace interval kept the process alive");
  });
});

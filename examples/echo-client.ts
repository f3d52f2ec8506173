// A client for the echo server (examples/echo-server.ts).
//
//   npm run echo:client -- [--addr HOST:PORT]
//       interactive: each line of stdin goes to the server, and what comes
//       back goes to stdout. At the end of stdin the client half-closes the
//       connection (closeWrite), prints what is still coming back, and exits
//       once the server closes its side.
//
//   npm run echo:client -- --load [--conns N] [--size B] [--duration S] [--addr HOST:PORT]
//       load: N connections, each driven by its own goroutine in a closed
//       loop (write B bytes, read the B bytes back, again) for S seconds;
//       then one JSON line on stdout: messages per second, bytes per second
//       and round-trip latency percentiles in microseconds.
//
// Both modes are goroutines over the runtime's net package; stdin, a Node
// stream, is read by a goroutine that waits on its Promises (wait).

import { createInterface } from "node:readline";
import { parseArgs } from "node:util";

import { WaitGroup, chan, go, runMain, wait, type Chan, type Op } from "../src/index.ts";
import { dial, isClosed, startPoller, type Conn, type TCPConn } from "../src/runtime/net.ts";

const USAGE = `usage: npm run echo:client -- [flags]

interactive (default): stdin lines to the server, its echo to stdout.
load (--load): N connections in a closed loop, then a JSON line of msgs/s and latency percentiles.

flags:
  --addr HOST:PORT   the server (default 127.0.0.1:7000)
  --backend KIND     poller backend: epoll or eventports
  --load             load mode
  --conns N          load: connections, one goroutine each (default 50)
  --size B           load: bytes per message (default 64)
  --duration S       load: seconds to run (default 5; fractions allowed)
  --warmup S         load: seconds run first and not counted (default 0.5)
  --verify           load: check every echoed byte (costs client CPU)
  -h, --help         this text
`;

function usageError(msg: string): never {
  process.stderr.write(`echo-client: ${msg} (--help for usage)\n`);
  process.exit(2);
}

const { values: flags } = (() => {
  try {
    return parseArgs({
      args: process.argv.slice(2),
      options: {
        addr: { type: "string", default: "127.0.0.1:7000" },
        backend: { type: "string" },
        load: { type: "boolean", default: false },
        conns: { type: "string", default: "50" },
        size: { type: "string", default: "64" },
        duration: { type: "string", default: "5" },
        warmup: { type: "string", default: "0.5" },
        verify: { type: "boolean", default: false },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
  } catch (e) {
    return usageError((e as Error).message);
  }
})();

if (flags.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}

function num(name: string, v: string, integer: boolean, min: number): number {
  const n = Number(v);
  if (!Number.isFinite(n) || n < min || (integer && !Number.isSafeInteger(n))) {
    usageError(`--${name}: want ${integer ? "an integer" : "a number"} >= ${min}, got ${JSON.stringify(v)}`);
  }
  return n;
}

const conns = num("conns", flags.conns, true, 1);
const size = num("size", flags.size, true, 1);
const duration = num("duration", flags.duration, false, 0.001);
const warmup = num("warmup", flags.warmup, false, 0);
if (flags.backend !== undefined) {
  if (flags.backend !== "epoll" && flags.backend !== "eventports") usageError(`--backend: epoll or eventports`);
  startPoller({ backend: flags.backend });
}

// ---- latency histogram ---------------------------------------------------------------

/**
 * Round-trip times in whole microseconds, log-linear: exact below 128 µs,
 * then 64 buckets per power of two (under 1.6% error), up to 2^31 µs.
 */
class Histogram {
  readonly counts = new Float64Array(128 + 25 * 64);
  n = 0;
  max = 0;

  static index(us: number): number {
    const v = us < 0 ? 0 : us >= 0x7fffffff ? 0x7fffffff : Math.floor(us);
    if (v < 128) return v;
    const e = 31 - Math.clz32(v); // v in [2^e, 2^(e+1)), e >= 7
    return 128 + (e - 7) * 64 + ((v >>> (e - 6)) - 64);
  }

  /** The smallest value of bucket i. */
  static lower(i: number): number {
    if (i < 128) return i;
    const e = 7 + Math.floor((i - 128) / 64);
    return (64 + ((i - 128) % 64)) * 2 ** (e - 6);
  }

  record(us: number): void {
    this.counts[Histogram.index(us)]!++;
    this.n++;
    if (us > this.max) this.max = us;
  }

  add(o: Histogram): void {
    for (let i = 0; i < this.counts.length; i++) this.counts[i]! += o.counts[i]!;
    this.n += o.n;
    this.max = Math.max(this.max, o.max);
  }

  /** The value at quantile q (0..1): the lower bound of its bucket. */
  quantile(q: number): number {
    if (this.n === 0) return 0;
    const rank = Math.ceil(q * this.n);
    let seen = 0;
    for (let i = 0; i < this.counts.length; i++) {
      seen += this.counts[i]!;
      if (seen >= rank) return Histogram.lower(i);
    }
    return this.max;
  }
}

// ---- load mode ---------------------------------------------------------------------------

interface Load {
  /** Counting starts here (after the warm-up) and everything stops at `end` (performance.now() ms); set once every connection has made its first round trip. */
  start: number;
  end: number;
  /** Connections done with their first round trip; the last one sets the clock and closes `go`. */
  ready: number;
  readonly go: Chan<void>;
  readonly hist: Histogram;
  msgs: number;
  errors: number;
  mismatches: number;
  firstError: string | null;
}

/**
 * One connection in a closed loop: write a message, read it back, record the
 * round trip. The first round trip is not counted, and the clock starts once
 * every connection has made it: connection set-up and the first run of the
 * code must not count as latency.
 */
function* loadConn(id: number, c: Conn, load: Load, wg: WaitGroup): Op<void> {
  const out = new Uint8Array(size);
  for (let i = 0; i < size; i++) out[i] = (id + i) & 0xff;
  const back = new Uint8Array(size);
  let arrived = false;
  const arrive = (): void => {
    arrived = true;
    if (++load.ready < conns) return;
    load.start = performance.now() + warmup * 1000;
    load.end = load.start + duration * 1000;
    load.go.close();
  };
  try {
    yield* c.write(out);
    for (let got = 0; got < size; ) {
      const n = yield* c.read(back.subarray(got));
      if (n === 0) throw new Error("the server closed the connection");
      got += n;
    }
    arrive();
    yield* load.go.recv();
    for (;;) {
      const t = performance.now();
      if (t >= load.end) break;
      yield* c.write(out);
      let got = 0;
      while (got < size) {
        const n = yield* c.read(got === 0 ? back : back.subarray(got));
        if (n === 0) throw new Error("the server closed the connection");
        got += n;
      }
      const done = performance.now();
      if (t >= load.start) {
        load.hist.record((done - t) * 1000);
        load.msgs++;
      }
      if (flags.verify) {
        for (let i = 0; i < size; i++) {
          if (back[i] !== out[i]) {
            load.mismatches++;
            break;
          }
        }
      }
    }
  } catch (e) {
    load.errors++;
    load.firstError ??= e instanceof Error ? e.message : String(e);
    if (!arrived) arrive(); // failed before its first round trip: do not hold the others back
  } finally {
    try {
      yield* c.close();
    } catch {
      // already closed
    }
    wg.done();
  }
}

function* loadMain(): Op<void> {
  // Connect every client first (in parallel), then start the clock.
  const dialed: (Conn | Error)[] = new Array(conns);
  const dwg = new WaitGroup();
  for (let i = 0; i < conns; i++) {
    dwg.add(1);
    go(function* dialer() {
      try {
        dialed[i] = yield* dial("tcp", flags.addr, { timeout: 10_000 });
      } catch (e) {
        dialed[i] = e as Error;
      } finally {
        dwg.done();
      }
    });
  }
  yield* dwg.wait();
  const failed = dialed.filter((c): c is Error => c instanceof Error);
  if (failed.length > 0) {
    for (const c of dialed) if (!(c instanceof Error)) yield* c.close();
    process.stderr.write(`echo-client: ${failed.length} of ${conns} connections failed: ${failed[0]!.message}\n`);
    process.exitCode = 1;
    return;
  }
  const load: Load = {
    start: Infinity,
    end: Infinity,
    ready: 0,
    go: chan<void>(),
    hist: new Histogram(),
    msgs: 0,
    errors: 0,
    mismatches: 0,
    firstError: null,
  };
  const wg = new WaitGroup();
  for (let i = 0; i < conns; i++) {
    wg.add(1);
    go(loadConn, i, dialed[i] as Conn, load, wg);
  }
  yield* wg.wait();
  const secs = Math.max(1e-9, (performance.now() - load.start) / 1000);
  const h = load.hist;
  const us = (v: number) => Math.round(v * 10) / 10;
  const report = {
    addr: flags.addr,
    conns,
    size,
    duration_s: Math.round(secs * 1000) / 1000,
    msgs: load.msgs,
    msgs_per_s: Math.round(load.msgs / secs),
    bytes_per_s: Math.round((load.msgs * size) / secs),
    latency_us: {
      p50: us(h.quantile(0.5)),
      p90: us(h.quantile(0.9)),
      p99: us(h.quantile(0.99)),
      p999: us(h.quantile(0.999)),
      max: us(h.max),
    },
    errors: load.errors,
    ...(flags.verify ? { mismatches: load.mismatches } : {}),
    ...(load.firstError !== null ? { first_error: load.firstError } : {}),
  };
  process.stdout.write(JSON.stringify(report) + "\n");
  if (load.errors > 0 || load.mismatches > 0) process.exitCode = 1;
}

// ---- interactive mode ------------------------------------------------------------------------

/** Copies what the server sends to stdout until it closes its side. */
function* printEchoes(c: Conn): Op<void> {
  const buf = new Uint8Array(16384);
  for (;;) {
    const n = yield* c.read(buf);
    if (n === 0) {
      process.stdin.destroy(); // the server is gone: stop reading lines too
      return;
    }
    if (!process.stdout.write(buf.subarray(0, n))) {
      yield* wait(new Promise((resolve) => process.stdout.once("drain", resolve)));
    }
  }
}

function* interactiveMain(): Op<void> {
  const c = (yield* dial("tcp", flags.addr, { timeout: 10_000 })) as TCPConn;
  process.stderr.write(`echo-client: connected to ${c.remoteAddr.toString()} from ${c.localAddr.toString()}\n`);
  const printer = go(printEchoes, c);
  const lines = createInterface({ input: process.stdin, crlfDelay: Infinity })[Symbol.asyncIterator]();
  const enc = new TextEncoder();
  try {
    for (;;) {
      const r = yield* wait(lines.next());
      if (r.done) break;
      yield* c.write(enc.encode(r.value + "\n"));
    }
    c.closeWrite(); // the server sees end of stream, echoes the rest and closes
    yield* printer.join();
  } catch (e) {
    if (!isClosed(e)) throw e;
  } finally {
    try {
      yield* c.close();
    } catch {
      // already closed
    }
  }
  // readline keeps stdin open; nothing more will be read from it.
  process.stdin.destroy();
}

runMain(flags.load ? loadMain : interactiveMain);

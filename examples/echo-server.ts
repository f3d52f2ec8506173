// A TCP echo server: the project's main command (`npm run echo`).
//
// One goroutine per connection reads into its own buffer and writes the
// bytes back, as a Go echo server would:
//
//   for { n, err := c.Read(buf); ...; c.Write(buf[:n]) }
//
// The accept loop rides out "too many open files" with acceptRetry (5 ms
// doubling to 1 s, as Go's net/http), and --max-conns caps the connections
// open at once the way Go's netutil.LimitListener does: past the cap the
// server stops accepting, and new clients wait in the kernel's backlog until
// a connection closes.
//
// Graceful stop, on SIGINT or SIGTERM (Go's http.Server.Shutdown, for a
// protocol whose every read starts a new request):
//   1. stop accepting (close the listener);
//   2. connections waiting for data (idle) end at once: every read deadline
//      is set in the past, so a blocked read wakes with a timeout, and so
//      does the next read of a connection busy echoing;
//   3. a connection in the middle of writing an echo back may finish it
//      within the grace period (--grace, 5 s): its write deadline;
//   4. whatever is still open after the grace period is cut off the same way
//      (deadlines in the past), and every connection closes itself;
//   5. the last log line gives the counts, and the process exits 0.
// A second signal skips the rest of the grace period. Bytes a client sent
// that the server had not read yet are not echoed.
//
// Limits, so that one peer cannot exhaust the process: it listens on
// 127.0.0.1 unless --addr says otherwise; --max-conns bounds the connections
// open at once (extra ones wait in the kernel's backlog, unaccepted: no
// descriptor, no goroutine, no buffer here); and each connection holds one
// read buffer of at most --buf bytes (at most 1 MiB). An echo is
// written back before the next read, so a peer that sends without reading
// stalls its own connection (its socket buffers fill, the write waits, the
// server reads no more from it) instead of making the server buffer: memory
// per connection is bounded by --buf plus the kernel's socket buffers. The
// whole process: about max-conns × (buf + a goroutine's few hundred bytes).
// Idle peers are the one thing this protocol cannot judge (an echo client
// may be silent for hours); a server with requests would add read deadlines
// (examples/chat.ts drops idle clients; test/reliability/faults.test.ts
// drops slowloris peers).
//
// Logging goes to stderr, one line per start, stop and error; the counts
// (connections served, bytes echoed, errors, connections cut off in the
// middle of an echo by the end of the grace period) are on the stop line.
//
// The read buffer adapts, as Netty's AdaptiveRecvByteBufAllocator: it starts
// at 2 KiB (Netty's initial size), so an idle connection holds little, and
// grows fourfold, up to --buf, whenever a read fills it, so large messages
// soon take one read(2) each. It never shrinks.
// Otherwise the per-message path allocates nothing: the view written back
// is kept while the message size stays the same.

import { parseArgs } from "node:util";

import {
  WaitGroup,
  after,
  background,
  chan,
  contextFromSignal,
  go,
  recv,
  runMain,
  select,
  sleep,
  type CancelFunc,
  type Chan,
  type Context,
  type Op,
} from "../src/index.ts";
import {
  acceptRetry,
  isClosed,
  isTimeout,
  limitListener,
  listen,
  pollerKind,
  pollerUp,
  startPoller,
  type Conn,
  type Listener,
} from "../src/runtime/net.ts";

const USAGE = `usage: npm run echo -- [flags]
       node --import tsx examples/echo-server.ts [flags]

A TCP echo server: one goroutine per connection, Go's network poller underneath.

flags:
  --addr HOST:PORT       address to listen on (default 127.0.0.1:7000; port 0 picks a free one)
  --backend KIND         poller backend: epoll or eventports (default: NETPOLL_BACKEND, else the OS's)
  --max-conns N          connections open at once; past it, stop accepting until one closes (default 10000; 0: no limit)
  --grace MS             on SIGINT/SIGTERM, how long a connection may finish the echo it is writing (default 5000)
  --buf BYTES            largest read buffer per connection; it starts at 2048 and grows as reads fill it (default 65536, at most 1048576)
  -h, --help             this text

Logs go to stderr: a line per start, stop and error; the stop line carries the counts.
`;

interface Config {
  addr: string;
  backend: "epoll" | "eventports" | undefined;
  maxConns: number;
  grace: number;
  buf: number;
}

function usageError(msg: string): never {
  process.stderr.write(`echo-server: ${msg} (--help for usage)\n`);
  process.exit(2);
}

function intFlag(name: string, v: string | undefined, def: number, min: number, max = Number.MAX_SAFE_INTEGER): number {
  if (v === undefined) return def;
  const n = Number(v);
  if (!Number.isSafeInteger(n) || n < min || n > max) {
    usageError(`--${name}: want an integer >= ${min}${max < Number.MAX_SAFE_INTEGER ? ` and <= ${max}` : ""}, got ${JSON.stringify(v)}`);
  }
  return n;
}

/** The largest read buffer (--buf): the memory one connection can hold the server to. */
const MAX_BUF = 1 << 20;
/** A connection's first read buffer; it grows fourfold, up to --buf, each time a read fills it. */
const FIRST_BUF = 2048;

function parseConfig(argv: string[]): Config {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        addr: { type: "string" },
        backend: { type: "string" },
        "max-conns": { type: "string" },
        grace: { type: "string" },
        buf: { type: "string" },
        help: { type: "boolean", short: "h" },
      },
      strict: true,
      allowPositionals: false,
    }));
  } catch (e) {
    usageError((e as Error).message);
  }
  if (values.help) {
    process.stdout.write(USAGE);
    process.exit(0);
  }
  const backend = values.backend;
  if (backend !== undefined && backend !== "epoll" && backend !== "eventports") {
    usageError(`--backend: epoll or eventports, not ${JSON.stringify(backend)}`);
  }
  return {
    addr: values.addr ?? "127.0.0.1:7000",
    backend,
    maxConns: intFlag("max-conns", values["max-conns"], 10_000, 0),
    grace: intFlag("grace", values.grace, 5000, 0),
    buf: intFlag("buf", values.buf, 65536, 1, MAX_BUF),
  };
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} echo-server: ${msg}\n`);
}

function message(e: unknown): string {
  return e instanceof Error ? e.message : String(e);
}

/** The server's shared state: one object, touched only by goroutines (one thread). */
interface Server {
  readonly cfg: Config;
  /** Open connections, so a stop can reach them. */
  readonly conns: Set<Conn>;
  /** Counts the connection goroutines. */
  readonly wg: WaitGroup;
  /** Done when a stop begins: ends an accept backoff early. */
  readonly stopCtx: Context;
  stopping: boolean;
  served: number;
  bytes: number;
  errors: number;
  /** Connections stopped in the middle of writing an echo back: the grace period ran out. */
  cutOff: number;
}

/** Connections waiting for data end now; one writing an echo back may finish it until graceEnd. */
function quiesce(c: Conn, graceEnd: number): void {
  try {
    c.setReadDeadline(-1);
    c.setWriteDeadline(graceEnd);
  } catch {
    // closed meanwhile by its goroutine
  }
}

/** One connection: read, write back, until end of stream, an error or a stop. */
function* serveConn(c: Conn, s: Server): Op<void> {
  let buf = new Uint8Array(Math.min(FIRST_BUF, s.cfg.buf));
  let out = buf;
  let writing = false;
  try {
    for (;;) {
      const n = yield* c.read(buf);
      if (n === 0) break;
      if (n !== out.length) out = buf.subarray(0, n);
      writing = true;
      yield* c.write(out);
      writing = false;
      s.bytes += n;
      if (n === buf.length && buf.length < s.cfg.buf) out = buf = new Uint8Array(Math.min(buf.length * 4, s.cfg.buf));
    }
  } catch (e) {
    // A stop's deadlines end connections on purpose: idle ones in read, late ones in write.
    if (s.stopping && (isTimeout(e) || isClosed(e))) {
      if (writing) s.cutOff++;
    } else {
      s.errors++;
      log(`error: ${message(e)}`);
    }
  } finally {
    s.conns.delete(c);
    try {
      yield* c.close();
    } catch {
      // already closed
    }
    s.wg.done();
  }
}

/** Accepts until the listener is closed; each connection gets its goroutine. */
function* acceptLoop(ln: Listener, s: Server, ended: Chan<void>): Op<void> {
  const retry = {
    ctx: s.stopCtx,
    onError: (e: Error, delay: number) => {
      s.errors++;
      log(`error: ${e.message}; retrying in ${delay} ms`);
    },
  };
  try {
    for (;;) {
      let c: Conn;
      try {
        c = yield* acceptRetry(ln, retry);
      } catch (e) {
        if (!(s.stopping && isClosed(e))) {
          s.errors++;
          log(`error: ${message(e)}`);
          process.exitCode = 1;
        }
        return;
      }
      s.served++;
      s.conns.add(c);
      s.wg.add(1);
      if (s.stopping) quiesce(c, performance.now() + s.cfg.grace);
      go(serveConn, c, s);
    }
  } finally {
    ended.close();
  }
}

function* main(cfg: Config): Op<void> {
  const t0 = performance.now();
  // The poller thread boots before the port opens, so that its start-up
  // (~0.1 s of CPU, more when its code is bundled anew) does not compete with the first clients.
  try {
    startPoller(cfg.backend === undefined ? {} : { backend: cfg.backend });
  } catch (e) {
    // No kernel poller (the event-port emulation not built, EMFILE): a setup
    // error like a failed listen, not a panic.
    log(`error: ${message(e)}`);
    process.exitCode = 1;
    return;
  }
  for (const end = performance.now() + 10_000; !pollerUp() && performance.now() < end; ) yield* sleep(2);

  // Signals arrive as Node callbacks: they abort a controller, which cancels a context.
  const stopAc = new AbortController();
  const forceAc = new AbortController();
  let signal = "";
  const onSignal = (sig: NodeJS.Signals): void => {
    if (signal === "") {
      signal = sig;
      stopAc.abort();
    } else {
      forceAc.abort();
    }
  };
  process.on("SIGINT", onSignal);
  process.on("SIGTERM", onSignal);
  const [stopCtx, releaseStop]: [Context, CancelFunc] = contextFromSignal(background(), stopAc.signal);
  const [forceCtx, releaseForce]: [Context, CancelFunc] = contextFromSignal(background(), forceAc.signal);
  const cleanup = (): void => {
    releaseStop();
    releaseForce();
    process.off("SIGINT", onSignal);
    process.off("SIGTERM", onSignal);
  };

  let ln: Listener;
  try {
    ln = yield* listen("tcp", cfg.addr);
  } catch (e) {
    log(`error: ${message(e)}`);
    process.exitCode = 1;
    cleanup();
    return;
  }
  if (cfg.maxConns > 0) ln = limitListener(ln, cfg.maxConns);
  const s: Server = {
    cfg,
    conns: new Set(),
    wg: new WaitGroup(),
    stopCtx,
    stopping: false,
    served: 0,
    bytes: 0,
    errors: 0,
    cutOff: 0,
  };
  const ended = chan<void>();
  go(acceptLoop, ln, s, ended);
  log(
    `start: listening on ${ln.addr.toString()} (backend ${pollerKind()}, max-conns ${cfg.maxConns || "unlimited"}, ` +
      `buf ${cfg.buf}, grace ${cfg.grace} ms, pid ${process.pid})`,
  );

  // Run until a signal, or until the accept loop gives up.
  yield* select([recv(stopCtx.done()), recv(ended)]);
  s.stopping = true;
  log(`stopping (${signal || "accept failed"}): ${s.conns.size} connections open, grace ${cfg.grace} ms`);
  try {
    yield* ln.close();
  } catch {
    // already closed
  }
  yield* ended.recv();
  const graceEnd = performance.now() + cfg.grace;
  for (const c of s.conns) quiesce(c, graceEnd);

  const allDone = chan<void>();
  go(function* waitConns() {
    yield* s.wg.wait();
    allDone.close();
  });
  const r = yield* select([recv(allDone), recv(after(cfg.grace)), recv(forceCtx.done())]);
  if (r.index !== 0 && s.conns.size > 0) {
    log(`${r.index === 1 ? "grace period over" : "second signal"}: cutting off ${s.conns.size} connections`);
    for (const c of s.conns) {
      try {
        c.setDeadline(-1);
      } catch {
        // closed meanwhile
      }
    }
  }
  yield* allDone.recv();
  cleanup();
  const secs = (performance.now() - t0) / 1000;
  log(
    `stop: ${s.served} connections served, ${s.bytes} bytes echoed, ${s.errors} errors, ` +
      `${s.cutOff} cut off, up ${secs.toFixed(1)} s`,
  );
}

const config = parseConfig(process.argv.slice(2));
runMain(() => main(config));

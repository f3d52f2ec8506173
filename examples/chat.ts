// A chat room over TCP: the chat server of "The Go Programming Language"
// (section 8.10), goroutine for goroutine, plus idle timeouts.
//
//   npm run example:chat -- [--addr HOST:PORT] [--idle SECONDS]
//   then, from several terminals:  nc 127.0.0.1 7001   (or npm run echo:client -- --addr 127.0.0.1:7001)
//
//   - the broadcaster goroutine owns the set of clients; it selects over
//     three channels (entering, leaving, messages) and never touches a socket;
//   - each connection has a reader goroutine (handleConn: lines in, to
//     `messages`) and a writer goroutine (clientWriter: its own channel out
//     to the socket), so a slow client blocks nobody: the broadcaster hands a
//     message to a client's channel with a select that has a default case,
//     and a client whose channel is full misses that message;
//   - a client that sends nothing for --idle seconds is dropped: every read
//     runs under a read deadline, moved forward after each line;
//   - SIGINT/SIGTERM: stop accepting, say goodbye to everyone, close.
//
// Logs (stderr): start, stop, and every arrival and departure.

import { parseArgs } from "node:util";

import {
  WaitGroup,
  background,
  chan,
  contextFromSignal,
  go,
  recv,
  runMain,
  select,
  send,
  type Chan,
  type Op,
} from "../src/index.ts";
import { acceptRetry, isClosed, isTimeout, listen, startPoller, type Conn, type Listener } from "../src/runtime/net.ts";

const USAGE = `usage: npm run example:chat -- [flags]

A chat room: every line a client sends goes to every other client.

flags:
  --addr HOST:PORT   address to listen on (default 127.0.0.1:7001; port 0 picks a free one)
  --idle SECONDS     drop a client silent for this long (default 300; fractions allowed)
  --backend KIND     poller backend: epoll or eventports
  -h, --help         this text
`;

const { values: flags } = (() => {
  try {
    return parseArgs({
      options: {
        addr: { type: "string", default: "127.0.0.1:7001" },
        idle: { type: "string", default: "300" },
        backend: { type: "string" },
        help: { type: "boolean", short: "h", default: false },
      },
      strict: true,
    });
  } catch (e) {
    process.stderr.write(`chat: ${(e as Error).message} (--help for usage)\n`);
    process.exit(2);
  }
})();
if (flags.help) {
  process.stdout.write(USAGE);
  process.exit(0);
}
const idleMs = Number(flags.idle) * 1000;
if (!(idleMs > 0)) {
  process.stderr.write(`chat: --idle: want a number of seconds > 0, got ${JSON.stringify(flags.idle)}\n`);
  process.exit(2);
}
if (flags.backend === "epoll" || flags.backend === "eventports") startPoller({ backend: flags.backend });
else if (flags.backend !== undefined) {
  process.stderr.write(`chat: --backend: epoll or eventports\n`);
  process.exit(2);
}

function log(msg: string): void {
  process.stderr.write(`${new Date().toISOString()} chat: ${msg}\n`);
}

/** What a client is to the broadcaster: a name and the channel of its outgoing lines. */
interface Client {
  readonly name: string;
  readonly out: Chan<string>;
}

/** Lines per client waiting to be written; past this a slow client misses messages. */
const OUT_QUEUE = 64;

const entering = chan<Client>();
const leaving = chan<Client>();
const messages = chan<string>();

/** Owns the set of clients; the only goroutine that sends on a client's channel after it entered. */
function* broadcaster(): Op<void> {
  const clients = new Set<Client>();
  for (;;) {
    const r = yield* select([recv(messages), recv(entering), recv(leaving)]);
    switch (r.index) {
      case 0: // a message: to every client, without waiting for a slow one
        for (const cli of clients) yield* select([send(cli.out, r.value)], { default: true });
        break;
      case 1: {
        const names = [...clients].map((c) => c.name);
        yield* select([send(r.value.out, `${names.length} here: ${names.join(", ") || "nobody else"}`)], { default: true });
        clients.add(r.value);
        break;
      }
      case 2:
        clients.delete(r.value);
        r.value.out.close(); // its writer drains what is queued, then ends
        break;
    }
  }
}

/** Writes a client's lines to its connection until the channel is closed; after a failed write, drains. */
function* clientWriter(conn: Conn, out: Chan<string>): Op<void> {
  const enc = new TextEncoder();
  let ok = true;
  for (const r = out.range(); yield* r.next(); ) {
    if (!ok) continue;
    try {
      yield* conn.write(enc.encode(r.value + "\n"));
    } catch {
      ok = false; // the reader side will notice the connection is gone
    }
  }
}

/** Lines from a connection (bufio.Scanner's ScanLines): without "\n" or "\r\n"; a line longer than the buffer comes in pieces. */
class LineReader {
  readonly #conn: Conn;
  readonly #buf = new Uint8Array(4096);
  readonly #dec = new TextDecoder();
  #start = 0;
  #end = 0;

  constructor(conn: Conn) {
    this.#conn = conn;
  }

  /** The next line, or null at end of stream. */
  *readLine(): Op<string | null> {
    for (;;) {
      const nl = this.#buf.subarray(this.#start, this.#end).indexOf(10);
      if (nl >= 0) return this.#take(this.#start + nl, 1);
      if (this.#start > 0) {
        this.#buf.copyWithin(0, this.#start, this.#end);
        this.#end -= this.#start;
        this.#start = 0;
      }
      if (this.#end === this.#buf.length) return this.#take(this.#end, 0);
      const n = yield* this.#conn.read(this.#buf.subarray(this.#end));
      if (n === 0) return this.#end > this.#start ? this.#take(this.#end, 0) : null;
      this.#end += n;
    }
  }

  #take(stop: number, skip: number): string {
    let s = this.#dec.decode(this.#buf.subarray(this.#start, stop));
    if (s.endsWith("\r")) s = s.slice(0, -1);
    this.#start = stop + skip;
    return s;
  }
}

interface Room {
  readonly conns: Set<Conn>;
  readonly wg: WaitGroup;
  stopping: boolean;
}

/** One client: greet, announce, relay its lines until it leaves, goes idle or the room closes. */
function* handleConn(conn: Conn, room: Room): Op<void> {
  const who = conn.remoteAddr.toString();
  const cli: Client = { name: who, out: chan<string>(OUT_QUEUE) };
  const writer = go(clientWriter, conn, cli.out);
  cli.out.trySend(`You are ${who}`);
  yield* messages.send(`${who} has arrived`);
  yield* entering.send(cli);
  log(`${who} arrived`);
  let why = "left";
  const lines = new LineReader(conn);
  try {
    for (;;) {
      conn.setReadDeadline(performance.now() + idleMs);
      const line = yield* lines.readLine();
      if (line === null) break;
      yield* messages.send(`${who}: ${line}`);
    }
  } catch (e) {
    if (room.stopping && (isTimeout(e) || isClosed(e))) {
      why = "was let go (the room is closing)";
      cli.out.trySend("The room is closing. Bye.");
    } else if (isTimeout(e)) {
      why = `was dropped (idle ${idleMs / 1000} s)`;
      cli.out.trySend(`You have been idle for ${idleMs / 1000} s. Bye.`);
    } else {
      why = "was lost";
      log(`error: ${e instanceof Error ? e.message : String(e)}`);
    }
  }
  yield* leaving.send(cli);
  yield* messages.send(`${who} ${why}`);
  log(`${who} ${why}`);
  yield* writer.join(); // the broadcaster closed cli.out: what was queued is written
  room.conns.delete(conn);
  try {
    yield* conn.close();
  } catch {
    // already closed
  }
  room.wg.done();
}

runMain(function* main() {
  let ln: Listener;
  try {
    ln = yield* listen("tcp", flags.addr);
  } catch (e) {
    log(`error: ${(e as Error).message}`);
    process.exitCode = 1;
    return;
  }
  const ac = new AbortController();
  const onSignal = () => ac.abort();
  process.once("SIGINT", onSignal);
  process.once("SIGTERM", onSignal);
  const [stopCtx, release] = contextFromSignal(background(), ac.signal);
  go(broadcaster);
  const room: Room = { conns: new Set(), wg: new WaitGroup(), stopping: false };
  const ended = chan<void>();
  go(function* acceptLoop() {
    try {
      for (;;) {
        const conn = yield* acceptRetry(ln, { ctx: stopCtx, onError: (e, d) => log(`error: ${e.message}; retrying in ${d} ms`) });
        room.conns.add(conn);
        room.wg.add(1);
        if (room.stopping) conn.setReadDeadline(-1);
        go(handleConn, conn, room);
      }
    } catch (e) {
      if (!isClosed(e)) log(`error: ${(e as Error).message}`);
    } finally {
      ended.close();
    }
  });
  log(`start: listening on ${ln.addr.toString()} (idle ${idleMs / 1000} s, pid ${process.pid})`);
  yield* select([recv(stopCtx.done()), recv(ended)]);
  room.stopping = true;
  try {
    yield* ln.close();
  } catch {
    // already closed
  }
  yield* ended.recv();
  for (const c of room.conns) c.setReadDeadline(-1); // every reader wakes, says goodbye, leaves
  yield* room.wg.wait();
  release();
  process.off("SIGINT", onSignal);
  process.off("SIGTERM", onSignal);
  log("stop");
  // The broadcaster stays parked on its channels; main returning ends the program, as in Go.
});

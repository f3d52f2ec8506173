// Faults a server meets in the wild, on real loopback sockets, once per poller
// backend (docs/reliability.md lists them with the tests elsewhere that cover
// the rest: an idle reset, half-close basics, EPIPE on FD, the poller
// thread failing in process, the event-port close race).
//
// Each test checks that the fault surfaces as a typed error where it
// happens (an OpError with Go's errno, ErrClosed...), that the process and
// its other connections carry on, and (the hooks) that nothing leaks:
// descriptors, PollDescs, goroutines, timers.

import assert from "node:assert/strict";
import * as nodeNet from "node:net";

import {
  ErrClosed,
  OpError,
  PartialWriteError,
  dial,
  isClosed,
  isErrno,
  isTimeout,
  type Conn,
  type TCPConn,
} from "../../src/runtime/net.ts";
import { WaitGroup, chan, go, gosched, run, sleep, type Op } from "../../src/sched/index.ts";
import {
  BACKENDS,
  backendHooks,
  bounded,
  closeAll,
  echo,
  echoServer,
  failing,
  killChildren,
  listenTCP,
  pattern,
  readFull,
  roundTrip,
  startChild,
  tcpPair,
  until,
  type Backend,
} from "./support.ts";

/** A connection's writes and reads of a stream, until it fails: what it echoed and how it ended. */
function* streamUntilFailure(c: Conn, chunk: Uint8Array): Op<{ echoed: number; err: unknown }> {
  const wr = go(function* writer() {
    try {
      for (;;) yield* c.write(chunk);
    } catch (e) {
      return e;
    }
  });
  const buf = new Uint8Array(65536);
  let echoed = 0;
  let err: unknown = null;
  try {
    for (;;) {
      const n = yield* c.read(buf);
      if (n === 0) break;
      echoed += n;
    }
  } catch (e) {
    err = e;
  }
  yield* wr.join();
  return { echoed, err };
}

function isResetOrPipe(e: unknown): boolean {
  return isErrno(e, "ECONNRESET") || isErrno(e, "EPIPE");
}

function suite(backend: Backend): void {
  backendHooks(backend);

  it("a peer that resets (SO_LINGER 0) mid-stream: the server's read or write fails with ECONNRESET/EPIPE in an OpError; another connection keeps echoing", async function () {
    await run(function* main() {
      const ln = yield* listenTCP();
      const serverErrors: unknown[] = [];
      const srv = go(echoServer, ln, serverErrors);
      const good = bounded(yield* dial("tcp4", ln.addr.toString()));
      yield* roundTrip(good, pattern(100, 1));
      for (let round = 0; round < 3; round++) {
        const bad = bounded(yield* dial("tcp4", ln.addr.toString())) as TCPConn;
        const chunk = pattern(32 << 10, round);
        const stream = go(streamUntilFailure, bad, chunk);
        // Let the stream run, with echoes in flight both ways, then reset it.
        yield* sleep(20);
        yield* roundTrip(good, pattern(1000, round + 10));
        bad.setLinger(0);
        yield* bad.close();
        const r = yield* stream.join();
        // The resetting side's own pending read and write end with ErrClosed.
        assert.ok(isClosed(r.err), `the closing side's read: ${String(r.err)}`);
        assert.ok(r.echoed > 0, "the stream was echoing when it was reset");
        yield* roundTrip(good, pattern(5000, round + 20));
      }
      yield* good.close();
      yield* ln.close();
      assert.equal(yield* srv.join(), 4);
      // Each reset reached the server's goroutine as a typed error (on read or on write).
      assert.equal(serverErrors.length, 3, serverErrors.map(String).join("\n"));
      for (const e of serverErrors) {
        assert.ok(e instanceof OpError && (e.op === "read" || e.op === "write"), String(e));
        assert.ok(isResetOrPipe(e), String(e));
      }
    });
  });

  it("half-close mid-stream: a client sends 1 MiB then closeWrite while echoes are in flight; it reads every byte back, then end of stream", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      const errs: unknown[] = [];
      const e = go(echo, server, errs);
      const data = pattern(1 << 20, 7);
      const w = go(function* writer() {
        for (let off = 0; off < data.length; off += 50_000) yield* client.write(data.subarray(off, off + 50_000));
        client.closeWrite();
      });
      const back = yield* readFull(client, data.length + 1);
      yield* w.join();
      yield* e.join();
      assert.equal(back.length, data.length, "every byte, then end of stream");
      assert.ok(Buffer.from(back).equals(Buffer.from(data)));
      assert.equal(yield* client.read(new Uint8Array(1)), 0);
      assert.deepEqual(errs, []);
      yield* closeAll(client, ln);
    });
  });

  it("a peer that vanishes mid-write (reset, or close with unread data): a 64 MiB write fails with ECONNRESET/EPIPE and the bytes written; the server serves on", async function () {
    await run(function* main() {
      const ln = yield* listenTCP();
      const big = new Uint8Array(64 << 20);
      for (const how of ["reset", "close"] as const) {
        const [, client, server] = yield* tcpPair(ln);
        const w = go(function* bigWriter() {
          return yield* failing(server.write(big));
        });
        // Take a little, then go away.
        const got = yield* readFull(client, 256 << 10);
        assert.equal(got.length, 256 << 10);
        if (how === "reset") client.setLinger(0);
        yield* client.close();
        const e = yield* w.join();
        assert.ok(e instanceof OpError && e.op === "write", `${how}: ${String(e)}`);
        assert.ok(isResetOrPipe(e), `${how}: ${String(e)}`);
        assert.ok(e.cause instanceof PartialWriteError && e.cause.written >= 256 << 10, `${how}: written ${String((e.cause as PartialWriteError).written)}`);
        assert.equal(isTimeout(e), false);
        // The same process keeps serving.
        const [, c2, s2] = yield* tcpPair(ln);
        const ee = go(echo, s2, []);
        yield* roundTrip(c2, pattern(10_000, 3));
        yield* c2.close();
        yield* ee.join();
        yield* server.close();
      }
      yield* ln.close();
    });
  });

  it("writes to a closed peer: EPIPE/ECONNRESET as an OpError, never SIGPIPE death (a child with SIGPIPE at SIG_DFL)", async function () {
    this.timeout(30_000);
    for (const variant of ["close", "reset"]) {
      const p = startChild(process.execPath, ["--import", "tsx", "test/testprog/sigpipe-net.ts", backend, variant]);
      const killer = setTimeout(() => p.child.kill("SIGKILL"), 20_000);
      const { code, signal } = await p.exited;
      clearTimeout(killer);
      assert.equal(signal, null, `${variant}: killed by ${signal}; stderr:\n${p.err()}`);
      assert.equal(code, 0, p.err());
      assert.match(p.out(), /^ok after \d+ writes: write tcp4 127\.0\.0\.1:\d+->127\.0\.0\.1:\d+: write: (broken pipe|connection reset by peer)\n$/);
    }
  });

  it("slowloris: idle and trickling peers are dropped by the server's read deadline; a well-behaved client is served throughout", async function () {
    this.timeout(20_000);
    // The server's policy (Go's http.Server ReadHeaderTimeout, per line): a
    // connection has LINE_MS to deliver each full line, counted from the
    // previous one; a byte now and then does not move the deadline. Lines
    // are capped at 1 KiB, so a peer cannot make the server buffer more.
    const LINE_MS = 300;
    const MAX_LINE = 1024;
    const IDLE = 20;
    const TRICKLE = 20;
    await run(function* main() {
      const ln = yield* listenTCP();
      const dropped: string[] = [];
      const other: unknown[] = [];
      const wg = new WaitGroup();
      function* serveLines(c: Conn): Op<void> {
        const buf = new Uint8Array(MAX_LINE);
        let have = 0;
        c.setReadDeadline(performance.now() + LINE_MS);
        try {
          for (;;) {
            const n = yield* c.read(buf.subarray(have));
            if (n === 0) break;
            have += n;
            let nl: number;
            while ((nl = buf.subarray(0, have).indexOf(10)) >= 0) {
              yield* c.write(buf.subarray(0, nl + 1));
              buf.copyWithin(0, nl + 1, have);
              have -= nl + 1;
              c.setReadDeadline(performance.now() + LINE_MS);
            }
            if (have === MAX_LINE) throw new Error("line too long");
          }
        } catch (e) {
          if (isTimeout(e)) dropped.push(String(c.remoteAddr));
          else other.push(e);
        } finally {
          yield* c.close();
          wg.done();
        }
      }
      const acc = go(function* acceptor() {
        try {
          for (;;) {
            const c = yield* ln.accept();
            wg.add(1);
            go(serveLines, c);
          }
        } catch (e) {
          if (!isClosed(e)) throw e;
        }
      });
      // The attackers: silent ones, and ones sending a byte every 50 ms, never a newline.
      const attackers: Conn[] = [];
      for (let i = 0; i < IDLE + TRICKLE; i++) attackers.push(bounded(yield* dial("tcp4", ln.addr.toString())));
      const t0 = performance.now();
      const ends: number[] = [];
      const attackWg = new WaitGroup();
      attackers.forEach((c, i) => {
        attackWg.add(1);
        go(function* attacker() {
          try {
            if (i >= IDLE) {
              go(function* trickle() {
                try {
                  for (;;) {
                    yield* c.write(Uint8Array.of(65));
                    yield* sleep(50);
                  }
                } catch {
                  // the server dropped us (EPIPE/ECONNRESET), or we closed
                }
              });
            }
            const n = yield* c.read(new Uint8Array(16));
            assert.equal(n, 0, "an attacker never gets an echo");
          } catch (e) {
            assert.ok(isResetOrPipe(e), String(e)); // a drop with unread bytes is a reset
          } finally {
            ends.push(performance.now() - t0);
            attackWg.done();
          }
        });
      });
      // The well-behaved client: a line every 50 ms for 1 s, each echoed.
      const good = bounded(yield* dial("tcp4", ln.addr.toString()));
      let lines = 0;
      while (performance.now() - t0 < 1000) {
        yield* roundTrip(good, new TextEncoder().encode(`line ${lines++}\n`));
        yield* sleep(50);
      }
      yield* attackWg.wait();
      assert.equal(ends.length, IDLE + TRICKLE);
      assert.ok(Math.max(...ends) < LINE_MS + 2000, `the last attacker was dropped after ${Math.max(...ends)} ms`);
      assert.ok(Math.min(...ends) >= LINE_MS - 50, `an attacker was dropped after ${Math.min(...ends)} ms`);
      assert.equal(dropped.length, IDLE + TRICKLE, "every attacker dropped by the deadline");
      assert.ok(lines >= 10, `${lines} lines echoed to the good client`);
      yield* roundTrip(good, new TextEncoder().encode("still here\n"));
      yield* good.close();
      for (const c of attackers) yield* c.close();
      yield* ln.close();
      yield* acc.join();
      yield* wg.wait();
      assert.deepEqual(other.map(String), []);
    });
  });

  it("close racing read and write in other goroutines, 2,000 times: every operation ends with a result or ErrClosed, nothing hangs", async function () {
    this.timeout(30_000);
    const N = 2000;
    await run(function* main() {
      const ln = yield* listenTCP();
      const unexpected: string[] = [];
      let reads = 0;
      let writes = 0;
      let closedErrs = 0;
      const chunk = new Uint8Array(8192);
      const t0 = performance.now();
      for (let i = 0; i < N; i++) {
        const [, client, server] = yield* tcpPair(ln);
        if (i % 3 === 0) yield* client.write(pattern(100, i)); // sometimes there is data to read
        const done = chan<void>(2);
        const check = (e: unknown): void => {
          if (isClosed(e) && (e as OpError).cause === ErrClosed) closedErrs++;
          else if (isClosed(e)) closedErrs++; // through a PartialWriteError
          else unexpected.push(`${i}: ${String(e)}`);
        };
        go(function* reader() {
          try {
            for (;;) {
              if ((yield* server.read(new Uint8Array(4096))) === 0) break;
              reads++;
            }
          } catch (e) {
            check(e);
          }
          done.trySend();
        });
        go(function* writer() {
          try {
            for (let k = 0; k < 64; k++) {
              yield* server.write(chunk); // the client does not read: this fills up and parks
              writes++;
            }
          } catch (e) {
            check(e);
          }
          done.trySend();
        });
        // Close at a different point each time: at once, or after the others ran a little.
        for (let k = i % 5; k > 0; k--) yield* gosched();
        if (i % 7 === 0) yield* sleep(0);
        try {
          yield* server.close();
        } catch (e) {
          unexpected.push(`${i}: close: ${String(e)}`);
        }
        yield* done.recv();
        yield* done.recv();
        yield* client.close();
      }
      yield* ln.close();
      const secs = (performance.now() - t0) / 1000;
      assert.deepEqual(unexpected.slice(0, 10), []);
      assert.ok(closedErrs >= N, `${closedErrs} ErrClosed for ${N} closes (reads ${reads}, writes ${writes}, ${secs.toFixed(1)} s)`);
    });
  });

  it("fd exhaustion under `ulimit -n 64`: accept backs off on EMFILE, live connections keep echoing, service recovers once descriptors free up", async function () {
    this.timeout(40_000);
    if (process.platform !== "linux") this.skip(); // /proc and bash's ulimit
    const p = startChild("bash", ["-c", `ulimit -n 64; exec "${process.execPath}" --import tsx test/testprog/ulimit-echo.ts ${backend}`]);
    const socks: nodeNet.Socket[] = [];
    try {
      await until(() => /^port \d+ limit 64 open \d+/m.test(p.out()), "the child's port", p, 20_000);
      const [, port, , open] = /^port (\d+) limit (\d+) open (\d+)/m.exec(p.out())!.map(Number);
      const free = 64 - open!;
      const N = free + 15; // more connections than descriptors left
      const got: string[] = Array.from({ length: N }, () => "");
      for (let i = 0; i < N; i++) {
        const s = await new Promise<nodeNet.Socket>((resolve, reject) => {
          const s = nodeNet.connect(port!, "127.0.0.1", () => resolve(s));
          s.once("error", reject);
        });
        s.on("data", (d: Buffer) => (got[i] += d.toString()));
        s.on("error", () => {});
        s.write(`a${i};`);
        socks.push(s);
      }
      await until(() => /backoff \d+ accept tcp4 127\.0\.0\.1:\d+: accept: too many open files/.test(p.err()), "accept to hit EMFILE", p);
      await until(() => got.filter((g) => g !== "").length >= free - 5, "the connections that fit to be served", p);
      const live = got.map((g, i) => (g !== "" ? i : -1)).filter((i) => i >= 0);
      const waiting = got.map((g, i) => (g === "" ? i : -1)).filter((i) => i >= 0);
      assert.ok(waiting.length >= 10, `${waiting.length} connections wait for a descriptor`);
      // While accept is backing off, the live connections keep working.
      for (const i of live) socks[i]!.write(`b${i};`);
      await until(() => live.every((i) => got[i] === `a${i};b${i};`), "second echoes on the live connections", p);
      assert.match(p.err(), /backoff 5 accept/);
      // Free descriptors: the waiting connections are served (acceptRetry retries within 1 s).
      for (const i of live) socks[i]!.end();
      await until(() => waiting.every((i) => got[i] === `a${i};`), "the waiting connections to be served", p, 15_000);
      for (const i of waiting) socks[i]!.write(`c${i};`);
      await until(() => waiting.every((i) => got[i] === `a${i};c${i};`), "echoes after recovery", p);
      assert.equal(p.child.exitCode, null, "the server is still running");
      assert.doesNotMatch(p.err(), /conn error|fatal|Error/);
    } finally {
      for (const s of socks) s.destroy();
      killChildren();
    }
  });

  it("the poller thread's kernel poller breaking under a running program: it ends with an error naming the failed call, never hangs", async function () {
    this.timeout(30_000);
    const p = startChild(process.execPath, ["--import", "tsx", "test/testprog/poller-fail.ts", backend]);
    const t = Date.now();
    const killer = setTimeout(() => p.child.kill("SIGKILL"), 20_000);
    const { code, signal } = await p.exited;
    clearTimeout(killer);
    assert.equal(signal, null, `the program hung (killed after ${Date.now() - t} ms); stderr:\n${p.err()}`);
    assert.notEqual(code, 0, p.err());
    assert.match(p.err(), /^broken$/m);
    assert.match(p.err(), backend === "epoll" ? /netpoll: epoll_wait failed \(errno 22\)/ : /netpoll: port_getn failed/);
    assert.doesNotMatch(p.out(), /not reached/);
  });

  // The main thread's own non-blocking poll may be the first to see the
  // broken poller (a program with timers running): the same fatal error.
  it(
    "the kernel poller failing on the main thread's poll is the runtime's fatal error (exit 2, 'fatal error: netpoll:')",
    async function () {
      this.timeout(30_000);
      const p = startChild(process.execPath, ["--import", "tsx", "test/testprog/poller-fail.ts", backend]);
      const killer = setTimeout(() => p.child.kill("SIGKILL"), 20_000);
      const { code } = await p.exited;
      clearTimeout(killer);
      assert.match(p.err(), /fatal error: netpoll: /);
      assert.equal(code, 2, p.err());
    },
  );
}

describe("reliability: faults", function () {
  afterEach(killChildren);
  for (const backend of BACKENDS) {
    describe(backend, function () {
      suite(backend);
    });
  }
});


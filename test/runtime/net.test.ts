// The net API (src/runtime/net.ts) on real loopback sockets, once per poller
// backend, started, checked and stopped as test/runtime/fd.test.ts does:
// after each test nobody is parked on a descriptor, every PollDesc is
// closed, the scheduler is at rest and the process's descriptors are back to
// the baseline (so 1,000 connections opened and closed leave nothing
// behind); under the event-port emulation no use after close is recorded.
// Every connection a test makes gets a 10 s deadline, so a lost wake-up fails
// the test instead of hanging it.

import assert from "node:assert/strict";
import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, rmSync, statSync } from "node:fs";
import * as nodeNet from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { ioWaiters } from "../../src/netpoll/netpoll.ts";
import { abi } from "../../src/runtime/abi/index.ts";
import { closeBlockingPool } from "../../src/runtime/blocking.ts";
import {
  AddrError,
  DNSError,
  ErrCanceled,
  ErrClosed,
  ErrDeadlineExceeded,
  Errno,
  OpError,
  PartialWriteError,
  SyscallError,
  TCPAddr,
  TCPConn,
  UnixAddr,
  UnixConn,
  UnknownNetworkError,
  acceptRetry,
  dial,
  errnoOf,
  isClosed,
  isErrno,
  isTemporary,
  isTimeout,
  limitListener,
  listen,
  type Conn,
} from "../../src/runtime/net.ts";
import { ipStackCapabilities } from "../../src/runtime/netaddr.ts";
import {
  Canceled,
  WaitGroup,
  background,
  chan,
  go,
  run,
  sleep,
  withCancel,
  withTimeout,
  type Op,
} from "../../src/sched/index.ts";
import { backendHooks, fdTable, waitUntil } from "../support/netpoll-harness.ts";
import { closeAll, failing, pattern, readFull } from "../support/io.ts";
import { BOUND_MS, bounded, echoServer, listenTCP, tcpPair } from "../support/net.ts";

const S = abi.socket;
const root = fileURLToPath(new URL("../../", import.meta.url));

// ---- helpers -----------------------------------------------------------------------------

function throws(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  assert.fail("did not throw");
}

function hasIPv6(): boolean {
  return ipStackCapabilities().v6;
}

// ---- the suite, once per backend -----------------------------------------------------------

function suite(backend: "epoll" | "eventports"): void {
  backendHooks(backend);

  it("listen on port 0, dial, accept: Go's addresses, socket options and defaults", async function () {
    await run(function* main() {
      const ln = yield* listenTCP();
      assert.ok(ln.addr instanceof TCPAddr);
      assert.equal(ln.addr.ip, "127.0.0.1");
      assert.ok(ln.addr.port > 0);
      assert.equal(ln.addr.toString(), `127.0.0.1:${ln.addr.port}`);
      assert.equal(ln.addr.network(), "tcp");
      const acc = go(function* acceptor() {
        return bounded(yield* ln.accept());
      });
      const client = bounded(yield* dial("tcp", `127.0.0.1:${ln.addr.port}`));
      const server = yield* acc.join();
      assert.ok(client instanceof TCPConn && server instanceof TCPConn);
      assert.equal(client.remoteAddr.toString(), ln.addr.toString());
      assert.equal(server.localAddr.toString(), ln.addr.toString());
      assert.equal(server.remoteAddr.toString(), client.localAddr.toString());
      assert.equal(client.net, "tcp");
      assert.equal(server.net, "tcp4");
      // Go's defaults: SO_REUSEADDR on listeners, TCP_NODELAY and keep-alives on connections.
      for (const c of [client, server]) {
        const fd = c.syscallFD();
        assert.notEqual(fd.getsockoptInt(S.IPPROTO_TCP, S.TCP_NODELAY), 0, "TCP_NODELAY on");
        assert.notEqual(fd.getsockoptInt(S.SOL_SOCKET, S.SO_KEEPALIVE), 0, "SO_KEEPALIVE on");
        assert.equal(fd.getsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPIDLE), 15);
        assert.equal(fd.getsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPINTVL), 15);
      }
      client.setNoDelay(false);
      assert.equal(client.syscallFD().getsockoptInt(S.IPPROTO_TCP, S.TCP_NODELAY), 0);
      client.setKeepAlive(false);
      assert.equal(client.syscallFD().getsockoptInt(S.SOL_SOCKET, S.SO_KEEPALIVE), 0);
      client.setKeepAlivePeriod(2500);
      assert.equal(client.syscallFD().getsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPIDLE), 3, "rounded up to seconds");
      yield* closeAll(client, server, ln);
      // A listen with keep-alives off.
      const ln2 = yield* listen("tcp", "127.0.0.1:0", { keepAlive: -1 });
      const a2 = go(function* () {
        return yield* ln2.accept();
      });
      const c2 = yield* dial("tcp", ln2.addr.toString(), { keepAlive: -1 });
      const s2 = yield* a2.join();
      assert.equal(c2.syscallFD().getsockoptInt(S.SOL_SOCKET, S.SO_KEEPALIVE), 0);
      assert.equal(s2.syscallFD().getsockoptInt(S.SOL_SOCKET, S.SO_KEEPALIVE), 0);
      yield* closeAll(c2, s2, ln2);
    });
  });

  it("echo round trips from 1 byte to 1 MiB", async function () {
    this.timeout(30_000);
    await run(function* main() {
      const ln = yield* listenTCP();
      const srv = go(echoServer, ln);
      const c = bounded(yield* dial("tcp", ln.addr.toString()));
      for (const n of [1, 2, 100, 1460, 4096, 65535, 65536 + 7, 256 << 10, 1 << 20]) {
        const data = pattern(n, n);
        const w = go(function* writer() {
          return yield* c.write(data);
        });
        const got = yield* readFull(c, n, 50_000);
        assert.equal(yield* w.join(), n, "write evaluates to every byte");
        assert.equal(got.length, n);
        assert.ok(Buffer.from(got.buffer, got.byteOffset, got.length).equals(data), `${n} bytes came back intact`);
      }
      c.closeWrite();
      assert.equal(yield* c.read(new Uint8Array(1)), 0, "the server closes after end of stream");
      yield* c.close();
      yield* ln.close();
      assert.equal(yield* srv.join(), 1);
    });
  });

  it("1,000 concurrent connections each echo a message; descriptors back to the baseline", async function () {
    this.timeout(60_000);
    const N = 1000;
    const before = fdTable().size;
    let peak = 0;
    await run(function* main() {
      const ln = yield* listenTCP();
      const srv = go(echoServer, ln);
      const wg = new WaitGroup();
      const failures: unknown[] = [];
      let open = 0;
      let echoed = 0;
      const allEchoed = chan<void>(); // closed once every client has its echo: then all close
      const arrive = (): void => {
        if (++echoed < N) return;
        peak = fdTable().size;
        allEchoed.close();
      };
      for (let i = 0; i < N; i++) {
        wg.add(1);
        go(function* client() {
          try {
            const c = bounded(yield* dial("tcp", ln.addr.toString()));
            open++;
            const msg = new TextEncoder().encode(`hello from client ${i}`);
            yield* c.write(msg);
            const back = yield* readFull(c, msg.length);
            assert.deepEqual(back, msg);
            arrive();
            yield* allEchoed.recv(); // hold it: 1,000 connections open at once
            yield* c.close();
          } catch (e) {
            failures.push(e);
            arrive();
          } finally {
            wg.done();
          }
        });
      }
      yield* wg.wait();
      assert.deepEqual(failures.map(String), []);
      assert.equal(open, N);
      yield* ln.close();
      assert.equal(yield* srv.join(), N);
    });
    assert.ok(peak - before >= 2 * N, `both ends of ${N} connections were open at once (${peak - before} descriptors)`);
  });

  it("half-close: closeWrite, the peer reads end of stream and can still write back; closeRead", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair(undefined, "tcp");
      yield* client.write(Uint8Array.of(1, 2, 3));
      client.closeWrite();
      assert.deepEqual([...(yield* readFull(server, 10))], [1, 2, 3], "the data, then end of stream");
      assert.equal(yield* server.read(new Uint8Array(1)), 0);
      yield* server.write(Uint8Array.of(4, 5));
      assert.deepEqual([...(yield* readFull(client, 2))], [4, 5]);
      const e = yield* failing(client.write(Uint8Array.of(6)));
      assert.ok(e instanceof OpError && e.op === "write", String(e));
      assert.ok(isErrno(e, "EPIPE"));
      assert.equal(e.message, `write tcp ${client.localAddr}->${client.remoteAddr}: write: broken pipe`);
      server.closeRead();
      assert.equal(yield* server.read(new Uint8Array(1)), 0, "after closeRead, reads see end of stream");
      yield* closeAll(client, server, ln);
      // closeWrite on a closed connection: OpError "close" wrapping ErrClosed.
      const ce = throws(() => client.closeWrite());
      assert.ok(ce instanceof OpError && ce.op === "close" && ce.cause === ErrClosed, String(ce));
    });
  });

  it("a peer that resets (SO_LINGER 0, then close): read fails with ECONNRESET in an OpError", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair(undefined, "tcp");
      client.setLinger(0);
      yield* client.close();
      const e = yield* failing(server.read(new Uint8Array(8)));
      assert.ok(e instanceof OpError, String(e));
      assert.equal(e.op, "read");
      assert.equal(e.net, "tcp4");
      assert.ok(e.cause instanceof SyscallError);
      assert.ok(isErrno(e, "ECONNRESET"));
      assert.equal(errnoOf(e)?.errno, abi.errno.ECONNRESET);
      assert.equal(e.message, `read tcp4 ${server.localAddr}->${server.remoteAddr}: read: connection reset by peer`);
      assert.equal(isTimeout(e), false);
      yield* closeAll(server, ln);
    });
  });

  it("dial to a closed port: ECONNREFUSED, as Go writes it", async function () {
    await run(function* main() {
      const ln = yield* listenTCP();
      const addr = ln.addr.toString();
      yield* ln.close();
      const e = yield* failing(dial("tcp", addr));
      assert.ok(e instanceof OpError, String(e));
      assert.equal(e.op, "dial");
      assert.equal(e.net, "tcp");
      assert.equal(e.source, null);
      assert.equal(e.addr?.toString(), addr);
      assert.ok(isErrno(e, "ECONNREFUSED"));
      assert.equal(e.message, `dial tcp ${addr}: connect: connection refused`);
      assert.equal(isTimeout(e), false);
    });
  });

  it("a read deadline: OpError with isTimeout, at once while expired, and the connection works once it moves", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair(undefined, "tcp");
      const buf = new Uint8Array(4);
      let t = performance.now();
      server.setReadDeadline(t + 30);
      const e = yield* failing(server.read(buf));
      assert.ok(e instanceof OpError, String(e));
      assert.equal(e.cause, ErrDeadlineExceeded);
      assert.ok(isTimeout(e) && e.timeout());
      assert.equal(e.message, `read tcp4 ${server.localAddr}->${server.remoteAddr}: i/o timeout`);
      assert.ok(performance.now() - t >= 25, `timed out after ${performance.now() - t} ms`);
      yield* client.write(Uint8Array.of(42));
      assert.ok(isTimeout(yield* failing(server.read(buf))), "still expired, even with data to read");
      assert.equal(yield* server.write(Uint8Array.of(1)), 1, "writes have their own deadline");
      server.setReadDeadline(null);
      assert.equal(yield* server.read(buf), 1);
      assert.equal(buf[0], 42);
      // A Date is wall-clock time.
      t = performance.now();
      server.setReadDeadline(new Date(Date.now() + 40));
      assert.ok(isTimeout(yield* failing(server.read(buf))));
      const waited = performance.now() - t;
      assert.ok(waited >= 30 && waited < 1000, `a Date 40 ms ahead expired after ${waited} ms`);
      server.setDeadline(performance.now() + BOUND_MS);
      yield* client.write(Uint8Array.of(43));
      assert.equal(yield* server.read(buf), 1);
      assert.equal(buf[0], 43);
      // A write deadline: a write into a full buffer ends with the bytes written inside.
      client.setWriteDeadline(performance.now() + 50);
      const we = yield* failing(client.write(new Uint8Array(16 << 20)));
      assert.ok(we instanceof OpError && we.op === "write", String(we));
      assert.ok(we.cause instanceof PartialWriteError && we.cause.written > 0);
      assert.ok(isTimeout(we));
      assert.throws(() => server.setReadDeadline(Number.NaN), RangeError);
      assert.throws(() => server.setReadDeadline(new Date(Number.NaN)), RangeError);
      yield* closeAll(client, server, ln);
    });
  });

  it("close from another goroutine wakes a blocked read and a blocked accept with ErrClosed", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair(undefined, "tcp");
      const r = go(function* reader() {
        return yield* failing(server.read(new Uint8Array(8)));
      });
      const a = go(function* acceptor() {
        return yield* failing(ln.accept());
      });
      yield* waitUntil(() => ioWaiters() === 2, "a read and an accept to park");
      go(function* closer() {
        yield* server.close();
        yield* ln.close();
      });
      const re = yield* r.join();
      assert.ok(re instanceof OpError && re.op === "read", String(re));
      assert.equal(re.cause, ErrClosed);
      assert.ok(isClosed(re));
      assert.equal(re.message, `read tcp4 ${server.localAddr}->${server.remoteAddr}: use of closed network connection`);
      const ae = yield* a.join();
      assert.ok(ae instanceof OpError && ae.op === "accept", String(ae));
      assert.equal(ae.cause, ErrClosed);
      assert.equal(ae.message, `accept tcp4 ${ln.addr}: use of closed network connection`);
      // Everything after close fails with ErrClosed inside an OpError.
      const we = yield* failing(server.write(Uint8Array.of(1)));
      assert.ok(we instanceof OpError && we.op === "write" && isClosed(we));
      const ce = yield* failing(server.close());
      assert.ok(ce instanceof OpError && ce.op === "close" && isClosed(ce), "a second close");
      const se = throws(() => server.setDeadline(null));
      assert.ok(se instanceof OpError && se.op === "set" && isClosed(se));
      assert.ok(isClosed(throws(() => server.setNoDelay(true))));
      const le = yield* failing(ln.close());
      assert.ok(le instanceof OpError && le.op === "close" && isClosed(le));
      // The client sees end of stream.
      assert.equal(yield* client.read(new Uint8Array(1)), 0);
      yield* client.close();
    });
  });

  it("dial timeout, a dial's context canceled or past its deadline", async function () {
    this.timeout(30_000);
    await run(function* main() {
      // A listener whose accept queue is full drops SYNs: connects then hang in SYN_SENT.
      const ln = yield* listen("tcp4", "127.0.0.1:0", { backlog: 0 });
      const addr = ln.addr.toString();
      const held: Conn[] = [];
      let timedOut: unknown = null;
      for (let i = 0; i < 16 && timedOut === null; i++) {
        const t = performance.now();
        try {
          held.push(yield* dial("tcp", addr, { timeout: 100 }));
        } catch (e) {
          timedOut = e;
          const took = performance.now() - t;
          assert.ok(took >= 90 && took < 2000, `gave up after ${took} ms`);
        }
      }
      assert.ok(timedOut instanceof OpError, `the dial ended with ${String(timedOut)}`);
      assert.equal(timedOut.cause, ErrDeadlineExceeded);
      assert.ok(isTimeout(timedOut));
      assert.equal(timedOut.message, `dial tcp ${addr}: i/o timeout`);
      // A context's deadline: the same error.
      const [tctx, tcancel] = withTimeout(background(), 60);
      const te = yield* failing(dial("tcp", addr, { ctx: tctx }));
      tcancel();
      assert.ok(te instanceof OpError && te.cause === ErrDeadlineExceeded, String(te));
      // An absolute deadline (Go's Dialer.Deadline).
      const de = yield* failing(dial("tcp", addr, { deadline: performance.now() + 50 }));
      assert.ok(de instanceof OpError && de.cause === ErrDeadlineExceeded, String(de));
      // Canceled while connecting: "operation was canceled", and context.Canceled in the chain.
      const [cctx, cancel] = withCancel(background());
      go(function* canceler() {
        yield* sleep(40);
        cancel();
      });
      const t = performance.now();
      const ce = yield* failing(dial("tcp", addr, { ctx: cctx }));
      assert.ok(performance.now() - t < 2000);
      assert.ok(ce instanceof OpError, String(ce));
      assert.equal(ce.cause, ErrCanceled);
      assert.equal(ce.message, `dial tcp ${addr}: operation was canceled`);
      assert.equal((ce.cause as Error).cause, Canceled);
      assert.equal(isTimeout(ce), false);
      // Already canceled: fails at once, without a socket.
      const ae = yield* failing(dial("tcp", addr, { ctx: cctx }));
      assert.ok(ae instanceof OpError && ae.cause === ErrCanceled && ae.addr === null, String(ae));
      yield* closeAll(...held, ln);
    });
  });

  it("unix sockets: a path (removed on close) and an abstract name", async function () {
    const dir = mkdtempSync(join(tmpdir(), "gort-net-"));
    try {
      await run(function* main() {
        const path = join(dir, "echo.sock");
        const names = [path];
        if (abi.name === "linux-x64") names.push(`@gort-net-test-${process.pid}-${backend}`);
        for (const name of names) {
          const ln = yield* listen("unix", name);
          assert.ok(ln.addr instanceof UnixAddr);
          assert.equal(ln.addr.toString(), name);
          assert.equal(ln.addr.network(), "unix");
          if (name === path) assert.ok(statSync(path).isSocket());
          // A second listener on the same path: EADDRINUSE.
          const e = yield* failing(listen("unix", name));
          assert.ok(e instanceof OpError && isErrno(e, "EADDRINUSE"), String(e));
          assert.equal(e.message, `listen unix ${name}: bind: address already in use`);
          const srv = go(echoServer, ln);
          const c = bounded(yield* dial("unix", name));
          assert.ok(c instanceof UnixConn);
          assert.equal(c.remoteAddr.toString(), name);
          assert.equal(c.localAddr.toString(), "", "the client is unnamed");
          yield* c.write(Uint8Array.of(7, 8));
          assert.deepEqual([...(yield* readFull(c, 2))], [7, 8]);
          c.closeWrite();
          assert.equal(yield* c.read(new Uint8Array(1)), 0);
          yield* c.close();
          yield* ln.close();
          assert.equal(yield* srv.join(), 1);
          if (name === path) assert.equal(existsSync(path), false, "close removed the socket file");
        }
        // Nobody listening: ENOENT for a path, ECONNREFUSED for an abstract name.
        const ne = yield* failing(dial("unix", join(dir, "nobody.sock")));
        assert.ok(ne instanceof OpError && isErrno(ne, "ENOENT"), String(ne));
        assert.equal(ne.message, `dial unix ${join(dir, "nobody.sock")}: connect: no such file or directory`);
        const long = yield* failing(dial("unix", join(dir, "x".repeat(200))));
        assert.ok(long instanceof OpError && long.cause instanceof AddrError, String(long));
        const empty = yield* failing(dial("unix", ""));
        assert.ok(empty instanceof OpError && empty.message === "dial unix: missing address", String(empty));
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("bad input: AddrError, UnknownNetworkError, and the listen errors of a busy port", async function () {
    await run(function* main() {
      const cases: [op: "dial" | "listen", network: string, address: string, cls: Function, message: string][] = [
        ["dial", "tcp", "127.0.0.1:70000", AddrError, "dial tcp: address 70000: invalid port"],
        ["dial", "tcp", "127.0.0.1:-1", AddrError, "dial tcp: address -1: invalid port"],
        ["listen", "tcp", "127.0.0.1:99999", AddrError, "listen tcp: address 99999: invalid port"],
        ["dial", "tcp", "127.0.0.1", AddrError, "dial tcp: address 127.0.0.1: missing port in address"],
        ["dial", "tcp", "::1:80", AddrError, "dial tcp: address ::1:80: too many colons in address"],
        ["dial", "tcp", "[::1:80", AddrError, "dial tcp: address [::1:80: missing ']' in address"],
        ["dial", "tcp4", "[::1]:80", AddrError, "dial tcp4: address ::1: no suitable address found"],
        ["listen", "tcp6", "127.0.0.1:0", AddrError, "listen tcp6: address 127.0.0.1: no suitable address found"],
        ["dial", "tcp", "127.0.0.1:nosuchservice", DNSError, "dial tcp: lookup tcp/nosuchservice: unknown port"],
        ["dial", "udp", "127.0.0.1:53", UnknownNetworkError, "dial udp: unknown network udp"],
        ["listen", "foo", "x", UnknownNetworkError, "listen foo: unknown network foo"],
      ];
      for (const [op, network, address, cls, message] of cases) {
        const e = yield* failing(op === "dial" ? dial(network, address) : listen(network, address));
        assert.ok(e instanceof OpError, `${op} ${network} ${address}: ${String(e)}`);
        assert.ok(e.cause instanceof cls, `${op} ${network} ${address}: cause ${String(e.cause)}`);
        assert.equal(e.message, message);
        assert.equal(e.op, op);
        assert.equal(isTemporary(e), false);
      }
      // A service name from /etc/services (or Go's built-in table) is a port.
      const se = yield* failing(dial("tcp", "127.0.0.1:http", { timeout: 2000 }));
      assert.ok(se instanceof OpError && (se.addr?.toString() === "127.0.0.1:80"), String(se));
      // A port in use.
      const ln = yield* listenTCP();
      const busy = yield* failing(listen("tcp4", ln.addr.toString()));
      assert.ok(busy instanceof OpError && isErrno(busy, "EADDRINUSE"), String(busy));
      assert.equal(busy.message, `listen tcp4 ${ln.addr}: bind: address already in use`);
      assert.equal(busy.addr?.toString(), ln.addr.toString());
      yield* ln.close();
    });
  });

  it("a write to a peer that went away fails (EPIPE or ECONNRESET) in an OpError", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair(undefined, "tcp");
      yield* server.close();
      let err: unknown = null;
      for (let i = 0; i < 200 && err === null; i++) {
        try {
          yield* client.write(new Uint8Array(1024));
          yield* sleep(1);
        } catch (x) {
          err = x;
        }
      }
      assert.ok(err instanceof OpError && err.op === "write", String(err));
      assert.ok(isErrno(err, "EPIPE") || isErrno(err, "ECONNRESET"), String(err));
      yield* closeAll(client, ln);
    });
  });

  it("limitListener: past n open connections it stops accepting, until one closes", async function () {
    await run(function* main() {
      const inner = yield* listenTCP();
      const ln = limitListener(inner, 2);
      assert.equal(ln.addr, inner.addr);
      const accepted: Conn[] = [];
      const acc = go(function* acceptor() {
        try {
          for (;;) accepted.push(bounded(yield* ln.accept()));
        } catch (e) {
          if (!isClosed(e)) throw e;
        }
      });
      const clients: Conn[] = [];
      for (let i = 0; i < 3; i++) clients.push(bounded(yield* dial("tcp", inner.addr.toString())));
      yield* waitUntil(() => accepted.length === 2, "two accepted");
      yield* sleep(30);
      assert.equal(accepted.length, 2, "the third waits in the backlog");
      assert.equal(ioWaiters(), 0, "the acceptor waits for a slot, not in accept");
      yield* accepted[0]!.close();
      yield* waitUntil(() => accepted.length === 3, "the third accepted once a slot was free");
      // A second close fails and frees no second slot: a fourth client waits.
      assert.ok(isClosed(yield* failing(accepted[0]!.close())));
      clients.push(bounded(yield* dial("tcp", inner.addr.toString())));
      yield* sleep(30);
      assert.equal(accepted.length, 3);
      yield* accepted[1]!.close();
      yield* waitUntil(() => accepted.length === 4, "the fourth accepted");
      yield* ln.close();
      yield* acc.join();
      const e = yield* failing(ln.accept());
      assert.ok(isClosed(e), String(e));
      yield* closeAll(accepted[2]!, accepted[3]!, ...clients);
    });
  });

  it("acceptRetry backs off on temporary errors (5 ms doubling) and passes the rest through", async function () {
    await run(function* main() {
      const ln = yield* listenTCP();
      let failures = 4;
      const flaky = {
        *accept(): Op<Conn> {
          if (failures-- > 0) {
            throw new OpError("accept", "tcp", null, ln.addr, new SyscallError("accept", new Errno(abi.errno.EMFILE)));
          }
          return yield* ln.accept();
        },
      };
      const delays: number[] = [];
      const t = performance.now();
      const acc = go(function* () {
        return yield* acceptRetry(flaky, {
          onError: (e, d) => {
            assert.ok(isTemporary(e));
            delays.push(d);
          },
        });
      });
      const c = yield* dial("tcp", ln.addr.toString());
      const s = yield* acc.join();
      assert.deepEqual(delays, [5, 10, 20, 40]);
      assert.ok(performance.now() - t >= 70, "it slept between tries");
      // Not temporary: thrown at once. A listener deadline: thrown, not retried.
      ln.setDeadline(performance.now() - 1);
      const de = yield* failing(acceptRetry(ln));
      assert.ok(isTimeout(de), String(de));
      yield* ln.close();
      const ce = yield* failing(acceptRetry(ln));
      assert.ok(isClosed(ce), String(ce));
      yield* closeAll(c, s);
    });
  });

  it("acceptRetry rides out a real EMFILE (a child process with a low RLIMIT_NOFILE)", async function () {
    this.timeout(40_000);
    if (process.platform !== "linux") this.skip(); // reads /proc/self/fd
    const want = 12;
    const child = spawn(process.execPath, ["--import", "tsx", "test/testprog/emfile-accept.ts", backend, String(want)], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let out = "";
    let err = "";
    child.stdout.on("data", (d: Buffer) => (out += d.toString()));
    child.stderr.on("data", (d: Buffer) => (err += d.toString()));
    const exited = new Promise<number | null>((resolve) => child.on("exit", (code) => resolve(code)));
    const killer = setTimeout(() => child.kill("SIGKILL"), 35_000);
    try {
      const deadline = Date.now() + 30_000;
      const until = async (cond: () => boolean, what: string) => {
        while (!cond()) {
          if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}; stdout ${out}; stderr ${err}`);
          await new Promise((r) => setTimeout(r, 10));
        }
      };
      await until(() => /^port \d+/m.test(out), "the child's port");
      const port = Number(/^port (\d+)/m.exec(out)![1]);
      // Node's own sockets: the test's runtime is not involved in this client side.
      const socks = await Promise.all(
        Array.from({ length: want }, () => new Promise<nodeNet.Socket>((resolve, reject) => {
          const s = nodeNet.connect(port, "127.0.0.1", () => resolve(s));
          s.on("error", reject);
        })),
      );
      const echoed = new Set<number>();
      socks.forEach((s, i) => {
        s.on("data", () => {
          echoed.add(i);
          if (/too many open files/.test(err)) s.end();
        });
        s.write("x");
      });
      await until(() => /backoff 5 accept tcp 127\.0\.0\.1:\d+: accept: too many open files/.test(err), "accept to hit EMFILE");
      for (const i of echoed) socks[i]!.end(); // free the child's descriptors
      await until(() => echoed.size === want, "every connection to be served");
      for (const s of socks) s.end();
      const code = await exited;
      assert.equal(code, 0, err);
      assert.match(out, new RegExp(`^done ${want} [1-9]\\d*$`, "m"));
      for (const s of socks) s.destroy();
    } finally {
      clearTimeout(killer);
      child.kill("SIGKILL");
    }
  });

  it("IPv6 and dual stack: [::1], and a wildcard 'tcp' listener takes IPv4 clients too", async function () {
    if (!hasIPv6()) this.skip();
    await run(function* main() {
      const ln6 = yield* listen("tcp6", "[::1]:0");
      assert.equal(ln6.addr.toString(), `[::1]:${ln6.addr.port}`);
      const s6 = go(echoServer, ln6);
      const c6 = bounded(yield* dial("tcp", ln6.addr.toString()));
      assert.equal(c6.remoteAddr.toString(), ln6.addr.toString());
      yield* c6.write(Uint8Array.of(6));
      assert.deepEqual([...(yield* readFull(c6, 1))], [6]);
      yield* c6.close();
      yield* ln6.close();
      yield* s6.join();
      if (!ipStackCapabilities().v4map) return;
      const ln = yield* listen("tcp", ":0");
      assert.equal(ln.addr.toString(), `[::]:${ln.addr.port}`, "Go's dual-stack wildcard");
      const acc = go(function* () {
        return bounded(yield* ln.accept());
      });
      const c = bounded(yield* dial("tcp4", `127.0.0.1:${ln.addr.port}`));
      const s = yield* acc.join();
      assert.equal(s.remoteAddr.toString(), c.localAddr.toString(), "an IPv4-mapped peer prints as IPv4");
      assert.equal(s.localAddr.toString(), `127.0.0.1:${ln.addr.port}`);
      yield* closeAll(c, s, ln);
    });
  });

  it("host names: localhost through the resolver, for dial and listen", async function () {
    this.timeout(30_000);
    try {
      await run(function* main() {
        const ln = yield* listen("tcp", "localhost:0");
        assert.ok(ln.addr.ip === "127.0.0.1" || ln.addr.ip === "::1", ln.addr.toString());
        const srv = go(echoServer, ln);
        const c = bounded(yield* dial("tcp", `localhost:${ln.addr.port}`, { timeout: BOUND_MS }));
        yield* c.write(Uint8Array.of(1));
        assert.deepEqual([...(yield* readFull(c, 1))], [1]);
        yield* c.close();
        yield* ln.close();
        yield* srv.join();
        const e = yield* failing(dial("tcp", "nonexistent.invalid:80", { timeout: BOUND_MS }));
        assert.ok(e instanceof OpError && e.cause instanceof DNSError, String(e));
        assert.equal(e.message, "dial tcp: lookup nonexistent.invalid: no such host");
      });
    } finally {
      await closeBlockingPool(); // its threads' descriptors go with them
    }
  });
}

describe("runtime/net", function () {
  for (const backend of ["epoll", "eventports"] as const) {
    describe(backend, function () {
      suite(backend);
    });
  }
});

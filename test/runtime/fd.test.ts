// The FD layer (src/runtime/fd.ts) on real loopback sockets through koffi,
// once per poller backend (epoll, and event ports through native/portemu on
// Linux), started and stopped the way test/netpoll/netpoll.test.ts does.
//
// Each test is one promise of internal/poll: the operation loops across
// EAGAIN, close waking every waiter with ErrClosed and closing the number
// only after the last operation returned, deadlines, connect's outcome, EPIPE
// without SIGPIPE. Every FD a test makes gets a 10 s deadline, so a lost
// wake-up fails the test instead of hanging it; after each test nobody is
// parked, every PollDesc is closed, the scheduler is at rest and the
// process's descriptors are back to the baseline. Under the emulation, no
// protocol violation (use after close) may be recorded.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fileURLToPath } from "node:url";

import { ioWaiters } from "../../src/netpoll/netpoll.ts";
import { abi } from "../../src/runtime/abi/index.ts";
import {
  ErrClosed,
  ErrDeadlineExceeded,
  Errno,
  OpError,
  PartialWriteError,
  SyscallError,
  errnoOf,
  isClosed,
  isErrno,
  isTimeout,
} from "../../src/runtime/errors.ts";
import { FD } from "../../src/runtime/fd.ts";
import * as libc from "../../src/runtime/libc.ts";
import {
  SockaddrInet4,
  SockaddrInet6,
  SockaddrUnix,
  encodeSockaddr,
  familyOf,
  inet4,
  sockaddrOf,
  unix,
  type Sockaddr,
} from "../../src/runtime/sockaddr.ts";
import { go, run, sleep, type Op } from "../../src/sched/index.ts";
import { backendHooks, waitUntil } from "../support/netpoll-harness.ts";
import { closeAll, failing, pattern, readFull } from "../support/io.ts";

const S = abi.socket;
const E = abi.errno;
const F = abi.fcntl;
const root = fileURLToPath(new URL("../../", import.meta.url));

/** What any single wait may take before the test counts it as lost. */
const BOUND_MS = 10_000;

// ---- helpers -----------------------------------------------------------------------------

function newSocket(sa: Sockaddr): number {
  const s = libc.socket(familyOf(sa), S.SOCK_STREAM | S.SOCK_NONBLOCK | S.SOCK_CLOEXEC);
  if (s < 0) throw new SyscallError("socket", new Errno(-s));
  return s;
}

/** Every FD of a test: bounded waits. */
function bounded(fd: FD): FD {
  fd.setDeadline(performance.now() + BOUND_MS);
  return fd;
}

/**
 * A listener by hand, as net.Listen does it: socket, SO_REUSEADDR, bind,
 * listen, then FD.open. A failure before FD.open closes the number with
 * libc's close (never registered).
 */
function listen(sa: Sockaddr): FD {
  const s = newSocket(sa);
  let r = sa.family === "unix" ? 0 : libc.setsockopt(s, S.SOL_SOCKET, S.SO_REUSEADDR, Int32Array.of(1));
  if (r >= 0) r = libc.bind(s, encodeSockaddr(sa));
  if (r >= 0) r = libc.listen(s, 128);
  if (r < 0) {
    libc.close(s);
    throw new SyscallError("listen", new Errno(-r));
  }
  return bounded(FD.open(s));
}

function listenTCP(port = 0): FD {
  return listen(inet4("127.0.0.1", port));
}

function portOf(fd: FD): number {
  const a = fd.localAddr();
  assert.ok(a instanceof SockaddrInet4 || a instanceof SockaddrInet6);
  return a.port;
}

/** socket, FD.open, connect (net.Dial's order here); closes the FD if connect fails. */
function* dial(sa: Sockaddr): Op<FD> {
  const fd = bounded(FD.open(newSocket(sa)));
  try {
    yield* fd.connect(sa);
  } catch (e) {
    yield* fd.close();
    throw e;
  }
  return fd;
}

/** A listener and a connected pair through it: [listener, client, server]. */
function* tcpPair(): Op<[FD, FD, FD]> {
  const ln = listenTCP();
  const acc = go(function* acceptor() {
    const [s] = yield* ln.accept();
    return bounded(FD.open(s));
  });
  const client = yield* dial(inet4("127.0.0.1", portOf(ln)));
  const server = yield* acc.join();
  return [ln, client, server];
}

function isOpen(fd: number): boolean {
  return libc.fcntl(fd, F.F_GETFD) >= 0;
}

// ---- the suite, once per backend -----------------------------------------------------------

function suite(backend: "epoll" | "eventports"): void {
  backendHooks(backend);

  it("listen, connect and accept by hand: the addresses agree on both sides", async function () {
    await run(function* main() {
      const ln = listenTCP();
      const port = portOf(ln);
      assert.ok(port > 0);
      const acc = go(function* acceptor() {
        return yield* ln.accept();
      });
      const client = yield* dial(inet4("127.0.0.1", port));
      const [s, peer] = yield* acc.join();
      const server = bounded(FD.open(s));
      // Accepted descriptors are non-blocking and close-on-exec (accept4's flags).
      assert.notEqual(libc.fcntl(s, F.F_GETFL) & F.O_NONBLOCK, 0);
      assert.notEqual(libc.fcntl(s, F.F_GETFD) & F.FD_CLOEXEC, 0);
      assert.ok(peer instanceof SockaddrInet4);
      assert.equal(peer.toString(), client.localAddr()!.toString());
      assert.equal(client.peerAddr()!.toString(), `127.0.0.1:${port}`);
      assert.equal(server.localAddr()!.toString(), `127.0.0.1:${port}`);
      assert.equal(server.peerAddr()!.toString(), peer.toString());
      yield* closeAll(client, server, ln);
    });
  });

  it("read/write round trips from 1 byte to 1 MiB, both ways, into subarray views", async function () {
    this.timeout(30_000);
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      for (const n of [1, 2, 100, 4096, 65536 + 7, 1 << 20]) {
        for (const [from, to] of [
          [client, server],
          [server, client],
        ] as const) {
          const data = pattern(n, n);
          const w = go(function* writer() {
            return yield* from.write(data);
          });
          const got = yield* readFull(to, n, 50_000);
          assert.equal(yield* w.join(), n);
          assert.equal(got.length, n);
          assert.ok(Buffer.from(got.buffer, got.byteOffset, got.length).equals(data), `${n} bytes arrived intact`);
        }
      }
      // A read into a view lands at the view's offset of the underlying buffer.
      const big = new Uint8Array(32);
      yield* client.write(Uint8Array.of(7, 8, 9));
      assert.equal(yield* server.read(big.subarray(10, 20)), 3);
      assert.deepEqual([...big.subarray(9, 14)], [0, 7, 8, 9, 0]);
      assert.equal(yield* server.read(new Uint8Array(0)), 0, "an empty read returns at once");
      yield* closeAll(client, server, ln);
    });
  });

  it("read and write ops are reused only when idle: ops made before use, or made and dropped, stay independent", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      // Two reads and two writes made before either runs: each its own op, each completes.
      const w1 = client.write(Uint8Array.of(1, 2));
      const w2 = client.write(Uint8Array.of(3));
      assert.notEqual(w1, w2);
      assert.equal(yield* w1, 2);
      assert.equal(yield* w2, 1);
      const b1 = new Uint8Array(2);
      const b2 = new Uint8Array(8);
      const r1 = server.read(b1);
      const r2 = server.read(b2);
      assert.notEqual(r1, r2);
      assert.equal(yield* r1, 2);
      assert.deepEqual([...b1], [1, 2]);
      assert.equal(yield* r2, 1);
      assert.equal(b2[0], 3);
      // The same op object serves one read after another once each has finished.
      const again = new Uint8Array(1);
      yield* client.write(Uint8Array.of(4, 5));
      const a = server.read(again);
      assert.equal(yield* a, 1);
      const b = server.read(again);
      assert.equal(a, b, "an idle op is reused");
      assert.equal(yield* b, 1);
      assert.equal(again[0], 5);
      // A read made and never run holds nothing (its op just stays out of reuse): the next ones wait, read and see the peer's data.
      void server.read(new Uint8Array(4));
      const reader = go(function* reader() {
        const b = new Uint8Array(4);
        const n = yield* server.read(b);
        return [...b.subarray(0, n)];
      });
      yield* sleep(5); // the reader parks in the poller
      assert.equal(ioWaiters(), 1);
      yield* client.write(Uint8Array.of(9, 9, 9));
      assert.deepEqual(yield* reader.join(), [9, 9, 9]);
      yield* closeAll(client, server, ln);
    });
  });

  it("after a short read the next read waits first, and still sees every byte, EOF and SHUT_RD", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      // Short waits: a read that missed its wake-up fails here in 2 s.
      server.setReadDeadline(performance.now() + 2000);
      const buf = new Uint8Array(8);
      yield* client.write(Uint8Array.of(1, 2, 3));
      assert.equal(yield* server.read(buf), 3, "a short read: the queue was drained");
      // Data that arrives while the reader waits.
      const w = go(function* lateWriter() {
        yield* sleep(20);
        yield* client.write(Uint8Array.of(4, 5));
      });
      assert.equal(yield* server.read(buf), 2);
      yield* w.join();
      // Data that arrived after the short read, before the next read began.
      yield* client.write(Uint8Array.of(6, 7, 8, 9));
      yield* sleep(30);
      assert.equal(yield* server.read(buf), 4);
      // A full read is no proof of an empty queue: the rest is read at once.
      yield* client.write(pattern(10, 1));
      yield* sleep(30);
      assert.equal(yield* server.read(buf.subarray(0, 4)), 4);
      assert.equal(yield* server.read(buf), 6, "the 6 bytes left after a full read");
      // End of stream after a short read.
      client.closeWrite();
      assert.equal(yield* server.read(buf), 0);
      // SHUT_RD after a short read: the next read sees the end at once.
      yield* server.write(Uint8Array.of(1));
      assert.equal(yield* client.read(buf), 1);
      client.closeRead();
      assert.equal(yield* client.read(buf), 0);
      yield* closeAll(client, server, ln);
    });
  });

  it("an end of stream the poller reported before a short read is not missed by the next read", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      const [ln2, keepC, keepS] = yield* tcpPair();
      // A goroutine parked on another connection keeps the poller thread
      // polling while main sleeps: it takes the data and FIN events of
      // `server` before server.read begins, and pollReset then drops them.
      const keeper = go(function* keeper() {
        return yield* keepS.read(new Uint8Array(1));
      });
      yield* client.write(Uint8Array.of(1, 2));
      client.closeWrite();
      yield* sleep(50);
      server.setReadDeadline(performance.now() + 2000);
      const buf = new Uint8Array(8);
      assert.equal(yield* server.read(buf), 2, "a short read");
      assert.equal(yield* server.read(buf), 0, "the end of stream, though its event came before");
      yield* keepC.write(Uint8Array.of(0));
      assert.equal(yield* keeper.join(), 1);
      yield* closeAll(client, server, ln, keepC, keepS, ln2);
    });
  });

  it("write keeps going across EAGAIN while the peer reads slowly", async function () {
    this.timeout(30_000);
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      client.setWriteBuffer(16384);
      server.setReadBuffer(16384);
      const n = 4 << 20;
      const data = pattern(n, 3);
      const w = go(function* writer() {
        return yield* client.write(data);
      });
      // The writer fills the socket buffers and parks on the PollDesc: only then read.
      yield* waitUntil(() => ioWaiters() === 1, "the writer to park on EAGAIN");
      let parks = 0;
      const got = new Uint8Array(n);
      let off = 0;
      while (off < n) {
        if (ioWaiters() === 1) parks++;
        const m = yield* server.read(got.subarray(off, Math.min(n, off + 65536)));
        assert.ok(m > 0);
        off += m;
        yield* sleep(0.2);
      }
      assert.equal(yield* w.join(), n, "write returns only once every byte is written");
      assert.ok(parks > 1, `the writer waited for room more than once (${parks})`);
      assert.ok(Buffer.from(got).equals(data));
      yield* closeAll(client, server, ln);
    });
  });

  it("close from another goroutine wakes a blocked read, a queued read and a blocked accept with ErrClosed", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      const started: string[] = [];
      const catcher = (name: string, op: () => Op<unknown>) =>
        go(function* waiter() {
          started.push(name);
          return yield* failing(op());
        });
      const r1 = catcher("read 1", () => server.read(new Uint8Array(8)));
      const r2 = catcher("read 2", () => server.read(new Uint8Array(8))); // queued on the fdMutex
      const a = catcher("accept", () => ln.accept());
      yield* waitUntil(() => ioWaiters() === 2 && started.length === 3, "two waiters on PollDescs, one on the read lock");
      const closer = go(function* closer() {
        yield* server.close();
        yield* ln.close();
      });
      assert.equal(yield* r1.join(), ErrClosed);
      assert.equal(yield* r2.join(), ErrClosed);
      assert.equal(yield* a.join(), ErrClosed);
      yield* closer.join();
      assert.equal(server.sysfd, -1);
      // After close, everything fails at once with ErrClosed.
      assert.equal(yield* failing(server.read(new Uint8Array(1))), ErrClosed);
      assert.equal(yield* failing(server.write(Uint8Array.of(1))), ErrClosed);
      assert.equal(yield* failing(ln.accept()), ErrClosed);
      assert.equal(yield* failing(server.close()), ErrClosed, "a second close");
      assert.throws(() => server.setDeadline(null), (e) => e === ErrClosed);
      assert.throws(() => server.shutdown(S.SHUT_WR), (e) => e === ErrClosed);
      assert.throws(() => server.setNoDelay(true), (e) => e === ErrClosed);
      yield* client.close();
    });
  });

  it("close wakes a blocked write, which reports the bytes it wrote", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      const w = go(function* writer() {
        return yield* failing(client.write(new Uint8Array(16 << 20)));
      });
      yield* waitUntil(() => ioWaiters() === 1, "the writer to park");
      yield* client.close();
      const e = yield* w.join();
      assert.ok(e instanceof PartialWriteError, String(e));
      assert.equal(e.cause, ErrClosed);
      assert.ok(e.written > 0 && e.written < 16 << 20);
      assert.ok(isClosed(e));
      yield* closeAll(server, ln);
    });
  });

  it("close waits for an operation in flight, then really closes: EBADF after, and the port binds again at once", async function () {
    await run(function* main() {
      const ln = listenTCP();
      const port = portOf(ln);
      const sysfd = ln.sysfd;
      ln.incref(); // an operation in flight on the number
      let closed = false;
      const closer = go(function* closer() {
        yield* ln.close();
        closed = true;
      });
      yield* sleep(20);
      assert.equal(closed, false, "close returned while an operation held the descriptor");
      assert.ok(isOpen(sysfd), "the number was closed under an operation in flight");
      assert.equal(ln.sysfd, sysfd);
      assert.equal(yield* failing(ln.accept()), ErrClosed, "new operations fail once close began");
      assert.equal(ln.decref(), null); // the last reference: destroy runs here
      assert.equal(libc.fcntl(sysfd, F.F_GETFD), -E.EBADF);
      yield* closer.join();
      assert.equal(closed, true);
      const again = listenTCP(port);
      assert.equal(portOf(again), port);
      yield* again.close();
    });
  });

  it("after close returns, a listener's port (with a connection in TIME_WAIT) binds again at once", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      const port = portOf(ln);
      const sysfd = ln.sysfd;
      const a = go(function* acceptor() {
        return yield* failing(ln.accept());
      });
      yield* waitUntil(() => ioWaiters() === 1, "accept to park");
      yield* server.close(); // the server side closes first: TIME_WAIT on the listener's port
      yield* client.close();
      yield* ln.close();
      assert.equal(libc.fcntl(sysfd, F.F_GETFD), -E.EBADF, "close returned before close(2)");
      assert.equal(yield* a.join(), ErrClosed);
      const again = listenTCP(port);
      yield* again.close();
    });
  });

  it("concurrent reads queue on the fdMutex, not on the PollDesc, and are served in order", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      const order: string[] = [];
      const readers = ["r1", "r2", "r3"].map((name) =>
        go(function* reader() {
          order.push(`${name} waits`);
          const b = new Uint8Array(1);
          assert.equal(yield* server.read(b), 1);
          order.push(`${name} got ${b[0]}`);
        }),
      );
      yield* waitUntil(() => order.length === 3 && ioWaiters() === 1, "one reader on the PollDesc, two on the lock");
      for (let i = 1; i <= 3; i++) {
        yield* client.write(Uint8Array.of(i));
        yield* sleep(2);
        assert.ok(ioWaiters() <= 1, "at most one waiter per direction");
      }
      for (const r of readers) yield* r.join();
      const waits = order.slice(0, 3).map((s) => s.split(" ")[0]);
      assert.deepEqual(
        order.slice(3),
        waits.map((name, i) => `${name} got ${i + 1}`),
      );
      yield* closeAll(client, server, ln);
    });
  });

  it("a read deadline: ErrDeadlineExceeded, then at once until it moves, then the FD works", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      const buf = new Uint8Array(4);
      let t = performance.now();
      server.setReadDeadline(t + 30);
      const e = yield* failing(server.read(buf));
      assert.equal(e, ErrDeadlineExceeded);
      assert.ok(isTimeout(e));
      assert.ok(performance.now() - t >= 25, `timed out after ${performance.now() - t} ms`);
      // Expired: fails at once, even with data to read.
      yield* client.write(Uint8Array.of(42));
      t = performance.now();
      assert.equal(yield* failing(server.read(buf)), ErrDeadlineExceeded);
      assert.ok(performance.now() - t < 20);
      // Writes have their own deadline.
      assert.equal(yield* server.write(Uint8Array.of(1)), 1);
      server.setReadDeadline(null);
      assert.equal(yield* server.read(buf), 1);
      assert.equal(buf[0], 42);
      // A deadline moved while a read waits: the read keeps waiting and succeeds.
      t = performance.now();
      server.setReadDeadline(t + 30);
      go(function* mover() {
        yield* sleep(10);
        server.setReadDeadline(performance.now() + BOUND_MS);
        yield* sleep(50);
        yield* client.write(Uint8Array.of(43));
      });
      assert.equal(yield* server.read(buf), 1);
      assert.equal(buf[0], 43);
      assert.ok(performance.now() - t >= 55);
      // A deadline in the past expires at once.
      server.setReadDeadline(performance.now() - 1);
      assert.equal(yield* failing(server.read(buf)), ErrDeadlineExceeded);
      yield* closeAll(client, server, ln);
    });
  });

  it("a write deadline ends a write into a full buffer, with the bytes written", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      client.setWriteDeadline(performance.now() + 50);
      const e = yield* failing(client.write(new Uint8Array(16 << 20)));
      assert.ok(e instanceof PartialWriteError, String(e));
      assert.equal(e.cause, ErrDeadlineExceeded);
      assert.ok(e.written > 0);
      assert.ok(isTimeout(e));
      yield* closeAll(client, server, ln);
    });
  });

  it("connect to a closed port: ECONNREFUSED, as SyscallError and in an OpError as Go writes it", async function () {
    await run(function* main() {
      const ln = listenTCP();
      const port = portOf(ln);
      yield* ln.close();
      const sa = inet4("127.0.0.1", port);
      const e = yield* failing(dial(sa));
      assert.ok(e instanceof SyscallError, String(e));
      assert.equal(e.syscall, "connect");
      assert.ok(isErrno(e, "ECONNREFUSED"));
      assert.equal(errnoOf(e)?.errno, E.ECONNREFUSED);
      assert.equal(e.message, "connect: connection refused");
      const op = new OpError("dial", "tcp", null, sa, e);
      assert.equal(op.message, `dial tcp 127.0.0.1:${port}: connect: connection refused`);
      assert.equal(op.timeout(), false);
      assert.ok(isErrno(op, "ECONNREFUSED"));
    });
  });

  it("a write deadline bounds connect (a listener whose accept queue is full drops the SYN)", async function () {
    await run(function* main() {
      const sa = inet4("127.0.0.1", 0);
      const l = newSocket(sa);
      assert.equal(libc.bind(l, encodeSockaddr(sa)), 0);
      assert.equal(libc.listen(l, 0), 0);
      const ln = bounded(FD.open(l));
      const target = inet4("127.0.0.1", portOf(ln));
      // Connections nobody accepts fill the queue; then connect stays in SYN_SENT until its deadline.
      const held: FD[] = [];
      let timedOut: unknown = null;
      for (let i = 0; i < 16 && timedOut === null; i++) {
        const fd = FD.open(newSocket(target));
        held.push(fd);
        const t = performance.now();
        fd.setWriteDeadline(t + 100);
        try {
          yield* fd.connect(target);
        } catch (e) {
          timedOut = e;
          assert.ok(performance.now() - t >= 90, `gave up after ${performance.now() - t} ms`);
        }
      }
      assert.equal(timedOut, ErrDeadlineExceeded, `connect ended with ${String(timedOut)}`);
      yield* closeAll(...held, ln);
    });
  });

  it("EPIPE is an error: after shutdown(SHUT_WR), and after the peer closed", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      client.closeWrite();
      assert.equal(yield* server.read(new Uint8Array(1)), 0, "the peer reads EOF");
      const e = yield* failing(client.write(Uint8Array.of(1)));
      assert.ok(e instanceof SyscallError, String(e));
      assert.equal(e.message, "write: broken pipe");
      assert.ok(isErrno(e, "EPIPE"));
      // The peer goes away: writes fail (EPIPE or ECONNRESET) within a few tries.
      const [ln2, c2, s2] = yield* tcpPair();
      yield* s2.close();
      let err: unknown = null;
      for (let i = 0; i < 200 && err === null; i++) {
        try {
          yield* c2.write(new Uint8Array(1024));
          yield* sleep(1);
        } catch (x) {
          err = x;
        }
      }
      assert.ok(isErrno(err, "EPIPE") || isErrno(err, "ECONNRESET"), String(err));
      yield* closeAll(client, server, ln, c2, ln2);
    });
  });

  it("EPIPE with SIGPIPE at its default action does not kill the process (MSG_NOSIGNAL)", function () {
    this.timeout(30_000);
    const child = (mode: string) =>
      spawnSync(process.execPath, ["--import", "tsx", "test/testprog/sigpipe.ts", mode, backend], {
        cwd: root,
        encoding: "utf8",
        timeout: 20_000,
        env: { ...process.env, NODE_OPTIONS: "" },
      });
    const r = child("fd");
    assert.equal(r.signal, null, `killed by ${r.signal}; stderr:\n${r.stderr}`);
    assert.equal(r.status, 0, r.stderr);
    assert.equal(r.stdout, "write: broken pipe\n");
    // The control: write(2) on the same socket dies of SIGPIPE, so the default action was in force.
    const raw = child("raw");
    assert.equal(raw.signal, "SIGPIPE", `status ${raw.status}; stdout ${raw.stdout}; stderr:\n${raw.stderr}`);
  });

  it("shutdown(SHUT_WR): the peer reads EOF, and can still write back", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      yield* client.write(Uint8Array.of(1, 2));
      client.closeWrite();
      assert.deepEqual([...(yield* readFull(server, 10))], [1, 2]);
      assert.equal(yield* server.read(new Uint8Array(1)), 0);
      yield* server.write(Uint8Array.of(3));
      assert.deepEqual([...(yield* readFull(client, 1))], [3]);
      yield* closeAll(client, server, ln);
    });
  });

  it("socket options: nodelay, keepalive, linger, reuseaddr, buffer sizes", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      client.setNoDelay(true);
      assert.notEqual(client.getsockoptInt(S.IPPROTO_TCP, S.TCP_NODELAY), 0);
      client.setNoDelay(false);
      assert.equal(client.getsockoptInt(S.IPPROTO_TCP, S.TCP_NODELAY), 0);
      client.setKeepAlive(true);
      assert.notEqual(client.getsockoptInt(S.SOL_SOCKET, S.SO_KEEPALIVE), 0);
      assert.equal(client.linger(), null);
      client.setLinger(5);
      assert.equal(client.linger(), 5);
      client.setLinger(-1);
      assert.equal(client.linger(), null);
      assert.notEqual(ln.getsockoptInt(S.SOL_SOCKET, S.SO_REUSEADDR), 0);
      server.setReuseAddr(false);
      assert.equal(server.getsockoptInt(S.SOL_SOCKET, S.SO_REUSEADDR), 0);
      server.setReadBuffer(8192);
      assert.ok(server.getsockoptInt(S.SOL_SOCKET, S.SO_RCVBUF) >= 8192);
      assert.equal(client.getsockoptInt(S.SOL_SOCKET, S.SO_TYPE), S.SOCK_STREAM);
      const e = (() => {
        try {
          client.setsockoptInt(S.SOL_SOCKET, 0x7fff, 1);
        } catch (x) {
          return x;
        }
        return null;
      })();
      assert.ok(e instanceof SyscallError && e.syscall === "setsockopt", String(e));
      yield* closeAll(client, server, ln);
    });
  });

  it("linger 0: close resets the connection, and the peer's read says ECONNRESET", async function () {
    await run(function* main() {
      const [ln, client, server] = yield* tcpPair();
      client.setLinger(0);
      yield* client.close();
      const e = yield* failing(server.read(new Uint8Array(1)));
      assert.ok(isErrno(e, "ECONNRESET"), String(e));
      assert.equal((e as SyscallError).syscall, "read");
      yield* closeAll(server, ln);
    });
  });

  it("unix sockets: sockaddr_un through bind, getsockname, connect and accept", async function () {
    const dir = mkdtempSync(join(tmpdir(), "gort-fd-"));
    try {
      await run(function* main() {
        const path = join(dir, "s.sock");
        const names = [path];
        if (abi.name === "linux-x64") names.push(`@gort-fd-test-${process.pid}-${backend}`);
        for (const name of names) {
          const ln = listen(unix(name));
          assert.equal((ln.localAddr() as SockaddrUnix).path, name);
          const acc = go(function* acceptor() {
            return yield* ln.accept();
          });
          const client = yield* dial(unix(name));
          const [s, peer] = yield* acc.join();
          const server = bounded(FD.open(s));
          assert.ok(peer instanceof SockaddrUnix);
          assert.equal(peer.path, "", "the client is unnamed");
          assert.equal((client.peerAddr() as SockaddrUnix).path, name);
          yield* client.write(Uint8Array.of(5));
          assert.deepEqual([...(yield* readFull(server, 1))], [5]);
          yield* closeAll(client, server, ln);
        }
      });
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("IPv6 loopback, when the host has it", async function () {
    const probe = libc.socket(abi.socket.AF_INET6, S.SOCK_STREAM | S.SOCK_CLOEXEC);
    const ok = probe >= 0 && libc.bind(probe, encodeSockaddr(sockaddrOf("::1", 0))) === 0;
    if (probe >= 0) libc.close(probe);
    if (!ok) this.skip();
    await run(function* main() {
      const ln = listen(sockaddrOf("::1", 0));
      const port = portOf(ln);
      const acc = go(function* acceptor() {
        return yield* ln.accept();
      });
      const client = yield* dial(sockaddrOf("::1", port));
      const [s, peer] = yield* acc.join();
      const server = bounded(FD.open(s));
      assert.ok(peer instanceof SockaddrInet6);
      assert.equal(client.peerAddr()!.toString(), `[::1]:${port}`);
      assert.equal(peer.toString(), client.localAddr()!.toString());
      yield* closeAll(client, server, ln);
    });
  });

  it("FD.open refuses a blocking descriptor; two concurrent closes: exactly one succeeds", async function () {
    const blocking = libc.socket(S.AF_INET, S.SOCK_STREAM | S.SOCK_CLOEXEC);
    assert.ok(blocking >= 0);
    assert.throws(() => FD.open(blocking), /blocking mode/);
    assert.equal(libc.close(blocking), 0);
    await run(function* main() {
      const ln = listenTCP();
      const results = [0, 1].map(() =>
        go(function* closer() {
          try {
            yield* ln.close();
            return "ok";
          } catch (e) {
            return e === ErrClosed ? "ErrClosed" : String(e);
          }
        }),
      );
      const got: string[] = [];
      for (const r of results) got.push(yield* r.join());
      assert.deepEqual(got.sort(), ["ErrClosed", "ok"]);
    });
  });

  it("descriptors churn: 200 connections opened and closed leave nothing behind", async function () {
    this.timeout(30_000);
    await run(function* main() {
      const ln = listenTCP();
      const port = portOf(ln);
      for (let i = 0; i < 200; i++) {
        const acc = go(function* acceptor() {
          const [s] = yield* ln.accept();
          return bounded(FD.open(s));
        });
        const client = yield* dial(inet4("127.0.0.1", port));
        const server = yield* acc.join();
        if (i % 2 === 0) {
          yield* client.write(Uint8Array.of(i & 0xff));
          assert.deepEqual([...(yield* readFull(server, 1))], [i & 0xff]);
        }
        yield* closeAll(server, client);
      }
      yield* ln.close();
    });
  });
}

describe("runtime/fd", function () {
  for (const backend of ["epoll", "eventports"] as const) {
    describe(backend, function () {
      suite(backend);
    });
  }
});

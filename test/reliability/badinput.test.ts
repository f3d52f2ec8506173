// Bad input to every public API of the net package (src/runtime/net.ts and
// what it re-exports: listen, dial, Conn, Listener, limitListener,
// acceptRetry, lookupHost/lookupIP) and of the blocking pool, as a
// JavaScript caller could pass it (cast through unknown): each call fails
// with the typed error docs/reliability.md documents, and between the calls
// a separate connection keeps echoing through a server goroutine, so the
// process is shown to keep serving. Once per poller backend.
//
// The rule (net.ts, "Bad input"): data (network names, address strings) is
// an OpError as in Go (UnknownNetworkError, AddrError, DNSError causes);
// a wrong JS type is a TypeError and a number out of its domain a
// RangeError, thrown as they are; use after close is an OpError wrapping
// ErrClosed.

import assert from "node:assert/strict";

import { blocking, closeBlockingPool, readFile } from "../../src/runtime/blocking.ts";
import {
  AddrError,
  DNSError,
  ErrClosed,
  OpError,
  UnknownNetworkError,
  acceptRetry,
  dial,
  isClosed,
  limitListener,
  listen,
  lookupHost,
  lookupIP,
  type Conn,
  type Listener,
  type TCPListener,
} from "../../src/runtime/net.ts";
import { go, run, type Op } from "../../src/sched/index.ts";
import { BACKENDS, backendHooks, bounded, echoServer, listenTCP, pattern, roundTrip, tcpPair, type Backend } from "./support.ts";

/** Casts a value of the wrong type through unknown, as an untyped JavaScript caller would pass it. */
const bad = <T>(v: unknown): T => v as T;

type Expect =
  | { type: "TypeError" | "RangeError" }
  | { op: string; cause: Function; message?: RegExp }
  | { closed: string };

interface Case {
  what: string;
  call: () => Op<unknown> | unknown;
  expect: Expect;
}

function check(c: Case, e: unknown): void {
  const x = c.expect;
  if ("type" in x) {
    assert.ok(e instanceof Error && e.constructor.name === x.type, `${c.what}: want ${x.type}, got ${String(e)}`);
    assert.ok(!(e instanceof OpError), `${c.what}: a programming error is not wrapped`);
  } else if ("op" in x) {
    assert.ok(e instanceof OpError, `${c.what}: want OpError, got ${String(e)}`);
    assert.equal(e.op, x.op, c.what);
    assert.ok(e.cause instanceof x.cause, `${c.what}: cause ${String(e.cause)}`);
    if (x.message) assert.match(e.message, x.message, c.what);
  } else {
    assert.ok(e instanceof OpError && e.op === x.closed && e.cause === ErrClosed && isClosed(e), `${c.what}: want ErrClosed, got ${String(e)}`);
  }
}

function isOp(v: unknown): v is Op<unknown> {
  return typeof v === "object" && v !== null && typeof (v as { next?: unknown }).next === "function" && Symbol.iterator in v;
}

/** Runs every case; after each, a round trip on the good connection. */
function* runCases(cases: Case[], good: Conn): Op<number> {
  let i = 0;
  for (const c of cases) {
    let thrown: unknown = undefined;
    let threw = false;
    try {
      const r = c.call();
      if (isOp(r)) yield* r;
    } catch (e) {
      thrown = e;
      threw = true;
    }
    assert.ok(threw, `${c.what}: did not throw`);
    check(c, thrown);
    yield* roundTrip(good, pattern(64 + (i % 200), i));
    i++;
  }
  return i;
}

const T = { type: "TypeError" } as const;
const R = { type: "RangeError" } as const;

function suite(backend: Backend): void {
  backendHooks(backend);

  it("listen and dial: wrong types, bad options, invalid addresses and ports, unknown networks; another connection echoes between the calls", async function () {
    this.timeout(20_000);
    await run(function* main() {
      const ln = yield* listenTCP();
      const srv = go(echoServer, ln, []); // echo errors recorded, not thrown, as before: the round trips check the server
      const good = bounded(yield* dial("tcp4", ln.addr.toString()));
      const addr = ln.addr.toString();
      const addrErr = (op: string, message: RegExp) => ({ op, cause: AddrError, message });
      const cases: Case[] = [
        // wrong JS types
        { what: "listen(123, addr)", call: () => listen(bad(123), "127.0.0.1:0"), expect: T },
        { what: "listen(null, addr)", call: () => listen(bad(null), "127.0.0.1:0"), expect: T },
        { what: "listen(tcp, 123)", call: () => listen("tcp", bad(123)), expect: T },
        { what: "listen(tcp, undefined)", call: () => listen("tcp", bad(undefined)), expect: T },
        { what: "listen opts null", call: () => listen("tcp", "127.0.0.1:0", bad(null)), expect: T },
        { what: "listen opts 5", call: () => listen("tcp", "127.0.0.1:0", bad(5)), expect: T },
        { what: "listen backlog 'x'", call: () => listen("tcp", "127.0.0.1:0", { backlog: bad("x") }), expect: T },
        { what: "listen ctx {}", call: () => listen("tcp", "127.0.0.1:0", { ctx: bad({}) }), expect: T },
        { what: "dial(undefined, addr)", call: () => dial(bad(undefined), addr), expect: T },
        { what: "dial(tcp, {})", call: () => dial("tcp", bad({})), expect: T },
        { what: "dial opts 'fast'", call: () => dial("tcp", addr, bad("fast")), expect: T },
        { what: "dial timeout '100'", call: () => dial("tcp", addr, { timeout: bad("100") }), expect: T },
        { what: "dial deadline 'soon'", call: () => dial("tcp", addr, { deadline: bad("soon") }), expect: T },
        { what: "dial ctx {}", call: () => dial("tcp", addr, { ctx: bad({}) }), expect: T },
        // numbers out of their domain
        { what: "listen backlog -1", call: () => listen("tcp", "127.0.0.1:0", { backlog: -1 }), expect: R },
        { what: "listen backlog 1.5", call: () => listen("tcp", "127.0.0.1:0", { backlog: 1.5 }), expect: R },
        { what: "listen backlog 1e12", call: () => listen("tcp", "127.0.0.1:0", { backlog: 1e12 }), expect: R },
        { what: "listen keepAlive NaN", call: () => listen("tcp", "127.0.0.1:0", { keepAlive: NaN }), expect: R },
        { what: "dial timeout NaN", call: () => dial("tcp", addr, { timeout: NaN }), expect: R },
        { what: "dial timeout Infinity", call: () => dial("tcp", addr, { timeout: Infinity }), expect: R },
        { what: "dial deadline NaN", call: () => dial("tcp", addr, { deadline: NaN }), expect: R },
        { what: "dial deadline -Infinity", call: () => dial("tcp", addr, { deadline: -Infinity }), expect: R },
        { what: "dial deadline Invalid Date", call: () => dial("tcp", addr, { deadline: new Date(NaN) }), expect: R },
        // data: Go's errors
        { what: "dial 1.2.3.4:99999", call: () => dial("tcp", "1.2.3.4:99999"), expect: addrErr("dial", /^dial tcp: address 99999: invalid port$/) },
        { what: "listen 127.0.0.1:65536", call: () => listen("tcp", "127.0.0.1:65536"), expect: addrErr("listen", /invalid port/) },
        { what: "dial host", call: () => dial("tcp", "host"), expect: addrErr("dial", /^dial tcp: address host: missing port in address$/) },
        { what: "dial [::1", call: () => dial("tcp", "[::1"), expect: addrErr("dial", /missing '\]' in address/) },
        { what: "dial :-1", call: () => dial("tcp", ":-1"), expect: addrErr("dial", /^dial tcp: address -1: invalid port$/) },
        { what: "listen :-1", call: () => listen("tcp", ":-1"), expect: addrErr("listen", /invalid port/) },
        { what: "dial ::1:80", call: () => dial("tcp", "::1:80"), expect: addrErr("dial", /too many colons/) },
        { what: "dial empty", call: () => dial("tcp", ""), expect: addrErr("dial", /missing port in address/) },
        { what: "dial tcp4 [::1]:80", call: () => dial("tcp4", "[::1]:80"), expect: addrErr("dial", /no suitable address/) },
        { what: "listen unix NUL", call: () => listen("unix", "/tmp/a\0b"), expect: addrErr("listen", /NUL byte/) },
        { what: "dial unix too long", call: () => dial("unix", `/tmp/${"x".repeat(200)}`), expect: addrErr("dial", /./) },
        { what: "dial port name unknown", call: () => dial("tcp", "127.0.0.1:nosuchservice"), expect: { op: "dial", cause: DNSError, message: /unknown port/ } },
        { what: "dial NUL in port", call: () => dial("tcp", "127.0.0.1:80\0"), expect: { op: "dial", cause: DNSError } },
        { what: "dial a 100 KB host name", call: () => dial("tcp", `${"a".repeat(100_000)}:80`), expect: { op: "dial", cause: DNSError, message: /no such host$/ } },
        { what: "dial udp", call: () => dial("udp", "127.0.0.1:53"), expect: { op: "dial", cause: UnknownNetworkError, message: /^dial udp: unknown network udp$/ } },
        { what: "listen ''", call: () => listen("", "127.0.0.1:0"), expect: { op: "listen", cause: UnknownNetworkError } },
        { what: "listen TCP (case)", call: () => listen("TCP", "127.0.0.1:0"), expect: { op: "listen", cause: UnknownNetworkError } },
        { what: "dial unixgram", call: () => dial("unixgram", "/tmp/x"), expect: { op: "dial", cause: UnknownNetworkError } },
      ];
      const n = yield* runCases(cases, good);
      assert.equal(n, cases.length);
      yield* good.close();
      yield* ln.close();
      assert.equal(yield* srv.join(), 1);
    });
  });

  it("Conn and Listener: non-Uint8Array buffers, bad deadlines and option values, double close and use after close", async function () {
    this.timeout(20_000);
    await run(function* main() {
      const ln = yield* listenTCP();
      const srv = go(echoServer, ln, []); // echo errors recorded, not thrown, as before: the round trips check the server
      const good = bounded(yield* dial("tcp4", ln.addr.toString()));
      const [ln2, c, s] = yield* tcpPair();
      const cases: Case[] = [];
      for (const [name, v] of [
        ["a string", "hello"],
        ["null", null],
        ["undefined", undefined],
        ["a number", 5],
        ["an array", [1, 2, 3]],
        ["an ArrayBuffer", new ArrayBuffer(8)],
        ["an Int32Array", new Int32Array(2)],
        ["a Uint16Array", new Uint16Array(2)],
        ["a DataView", new DataView(new ArrayBuffer(8))],
        ["an object with length", { length: 5 }],
      ] as const) {
        cases.push({ what: `write(${name})`, call: () => c.write(bad(v)), expect: T });
        cases.push({ what: `read(${name})`, call: () => c.read(bad(v)), expect: T });
      }
      for (const v of [NaN, Infinity, -Infinity, new Date(NaN)]) {
        cases.push({ what: `setDeadline(${String(v)})`, call: () => c.setDeadline(v), expect: R });
        cases.push({ what: `setReadDeadline(${String(v)})`, call: () => c.setReadDeadline(v), expect: R });
        cases.push({ what: `setWriteDeadline(${String(v)})`, call: () => c.setWriteDeadline(v), expect: R });
        cases.push({ what: `listener setDeadline(${String(v)})`, call: () => ln2.setDeadline(v), expect: R });
      }
      for (const v of ["soon", undefined, {}, true, 10n]) {
        cases.push({ what: `setDeadline(${typeof v})`, call: () => c.setDeadline(bad(v)), expect: T });
        cases.push({ what: `listener setDeadline(${typeof v})`, call: () => ln2.setDeadline(bad(v)), expect: T });
      }
      for (const v of [-1, 1.5, NaN, 2 ** 31, 1e12]) {
        cases.push({ what: `setReadBuffer(${v})`, call: () => c.setReadBuffer(v), expect: R });
        cases.push({ what: `setWriteBuffer(${v})`, call: () => c.setWriteBuffer(v), expect: R });
      }
      cases.push({ what: "setReadBuffer('big')", call: () => c.setReadBuffer(bad("big")), expect: T });
      for (const v of [NaN, 1.5, 2 ** 31, 1e12]) cases.push({ what: `setLinger(${v})`, call: () => c.setLinger(v), expect: R });
      cases.push({ what: "setLinger('0')", call: () => c.setLinger(bad("0")), expect: T });
      cases.push({ what: "setKeepAlivePeriod(NaN)", call: () => c.setKeepAlivePeriod(NaN), expect: R });
      cases.push({ what: "setKeepAlivePeriod(Infinity)", call: () => c.setKeepAlivePeriod(Infinity), expect: R });
      cases.push({ what: "setKeepAlivePeriod('1s')", call: () => c.setKeepAlivePeriod(bad("1s")), expect: T });
      // Too large for the kernel (TCP_KEEPIDLE is at most 32767 s on Linux): the system call's error, in an OpError "set".
      cases.push({ what: "setKeepAlivePeriod(1e12)", call: () => c.setKeepAlivePeriod(1e12), expect: { op: "set", cause: Error, message: /invalid argument/ } });
      cases.push({ what: "setKeepAliveConfig(null)", call: () => c.setKeepAliveConfig(bad(null)), expect: T });
      cases.push({ what: "setKeepAliveConfig count -1", call: () => c.setKeepAliveConfig({ enable: true, count: -1 }), expect: R });
      cases.push({ what: "setNoDelay('yes')", call: () => c.setNoDelay(bad("yes")), expect: T });
      cases.push({ what: "setKeepAlive(1)", call: () => c.setKeepAlive(bad(1)), expect: T });
      yield* runCases(cases, good);
      // None of that touched the pair: it still works.
      yield* c.write(Uint8Array.of(1, 2, 3));
      const back = new Uint8Array(3);
      let got = 0;
      while (got < 3) got += yield* s.read(back.subarray(got));
      assert.deepEqual([...back], [1, 2, 3]);
      // Double close and use after close: OpError wrapping ErrClosed, for every operation.
      yield* c.close();
      yield* ln2.close();
      const after: Case[] = [
        { what: "close again", call: () => c.close(), expect: { closed: "close" } },
        { what: "read after close", call: () => c.read(new Uint8Array(1)), expect: { closed: "read" } },
        { what: "write after close", call: () => c.write(new Uint8Array(1)), expect: { closed: "write" } },
        { what: "setDeadline after close", call: () => c.setDeadline(null), expect: { closed: "set" } },
        { what: "setReadBuffer after close", call: () => c.setReadBuffer(4096), expect: { closed: "set" } },
        { what: "setNoDelay after close", call: () => c.setNoDelay(true), expect: { closed: "set" } },
        { what: "closeWrite after close", call: () => c.closeWrite(), expect: { closed: "close" } },
        { what: "closeRead after close", call: () => c.closeRead(), expect: { closed: "close" } },
        { what: "listener close again", call: () => ln2.close(), expect: { closed: "close" } },
        { what: "accept after close", call: () => ln2.accept(), expect: { closed: "accept" } },
        { what: "listener setDeadline after close", call: () => ln2.setDeadline(null), expect: { closed: "set" } },
        // A type error still wins over closed: nothing is done either way.
        { what: "write('x') after close", call: () => c.write(bad("x")), expect: T },
      ];
      yield* runCases(after, good);
      assert.equal(c.localAddr.toString().startsWith("127.0.0.1:"), true, "addresses stay readable after close");
      yield* s.close();
      yield* good.close();
      yield* ln.close();
      assert.equal(yield* srv.join(), 1);
    });
  });

  it("limitListener, acceptRetry, lookups and the blocking pool: wrong arguments are TypeError/RangeError, bad names DNSError", async function () {
    this.timeout(20_000);
    try {
      await run(function* main() {
        const ln = yield* listenTCP();
        const srv = go(echoServer, ln, []); // echo errors recorded, not thrown, as before: the round trips check the server
        const good = bounded(yield* dial("tcp4", ln.addr.toString()));
        const other: TCPListener = yield* listenTCP();
        const cases: Case[] = [
          { what: "limitListener(null, 1)", call: () => limitListener(bad(null), 1), expect: T },
          { what: "limitListener({}, 1)", call: () => limitListener(bad({}), 1), expect: T },
          { what: "limitListener(ln, 0)", call: () => limitListener(other, 0), expect: R },
          { what: "limitListener(ln, -1)", call: () => limitListener(other, -1), expect: R },
          { what: "limitListener(ln, 1.5)", call: () => limitListener(other, 1.5), expect: R },
          { what: "limitListener(ln, NaN)", call: () => limitListener(other, NaN), expect: R },
          { what: "limitListener(ln, '3')", call: () => limitListener(other, bad("3")), expect: R },
          { what: "acceptRetry(null)", call: () => acceptRetry(bad<Listener>(null)), expect: T },
          { what: "acceptRetry({})", call: () => acceptRetry(bad<Listener>({})), expect: T },
          { what: "acceptRetry(ln, null)", call: () => acceptRetry(other, bad(null)), expect: T },
          { what: "acceptRetry onError 'log'", call: () => acceptRetry(other, { onError: bad("log") }), expect: T },
          { what: "lookupHost(123)", call: () => lookupHost(bad(123)), expect: T },
          { what: "lookupHost(null)", call: () => lookupHost(bad(null)), expect: T },
          { what: "lookupIP('ipx', host)", call: () => lookupIP(bad("ipx"), "localhost"), expect: T },
          { what: "lookupIP(5, host)", call: () => lookupIP(bad(5), "localhost"), expect: T },
          { what: "lookupIP('ip', {})", call: () => lookupIP("ip", bad({})), expect: T },
          { what: "blocking(null)", call: () => blocking(bad<Parameters<typeof blocking>[0]>(null)), expect: T },
          { what: "readFile(0) (fs would read stdin)", call: () => readFile(bad(0)), expect: T },
          { what: "readFile(path, {})", call: () => readFile("/etc/hostname", bad({})), expect: T },
        ];
        yield* runCases(cases, good);
        // Names that cannot be hosts: DNSError "no such host", answered without the pool.
        for (const host of ["", "a".repeat(300), "bad\0name"]) {
          let e: unknown = null;
          try {
            yield* lookupHost(host);
          } catch (x) {
            e = x;
          }
          assert.ok(e instanceof DNSError && e.isNotFound, `lookupHost(${JSON.stringify(host.slice(0, 10))}): ${String(e)}`);
          yield* roundTrip(good, pattern(10, 1));
        }
        // A limitListener over a closed listener: accept fails as the listener's does.
        yield* other.close();
        const lim = limitListener(other, 2);
        let ae: unknown = null;
        try {
          yield* lim.accept();
        } catch (x) {
          ae = x;
        }
        assert.ok(isClosed(ae), String(ae));
        yield* good.close();
        yield* ln.close();
        assert.equal(yield* srv.join(), 1);
      });
    } finally {
      await closeBlockingPool();
    }
  });
}

describe("reliability: bad input", function () {
  for (const backend of BACKENDS) {
    describe(backend, function () {
      suite(backend);
    });
  }
});


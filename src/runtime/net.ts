// Go's net package for TCP and unix stream sockets, over the FD layer
// (fd.ts, Go's internal/poll) and the network poller:
//
//   const ln = yield* listen("tcp", "127.0.0.1:0");      // Op<TCPListener>
//   const c = yield* ln.accept();                          // Op<TCPConn>
//   const n = yield* c.read(buf);                          // 0 at end of stream
//   yield* c.write(buf.subarray(0, n));                    // writes every byte
//   yield* c.close();
//   const d = yield* dial("tcp", "127.0.0.1:7000", { timeout: 1000 });
//
// Sockets are made as Go makes them: non-blocking and close-on-exec;
// listeners with SO_REUSEADDR (TCP) and a backlog of the system's maximum
// (net.core.somaxconn on Linux, SOMAXCONN elsewhere); IPV6_V6ONLY on for
// "tcp6" and off otherwise; TCP connections with TCP_NODELAY on and
// keep-alives on (15 s idle and interval, 9 probes), both for dialed and
// accepted connections. Port 0 asks for a free port: read it from ln.addr.
// A unix listener removes its socket file on close (not an abstract "@name").
// Addresses are resolved as netaddr.ts says (host names through dns.ts).
//
// Errors are Go's OpError { op, net, source, addr, cause } with Go's text:
//   "dial tcp 127.0.0.1:1: connect: connection refused"
//   "read tcp 127.0.0.1:7000->127.0.0.1:52144: i/o timeout"
//   "accept tcp 127.0.0.1:7000: use of closed network connection"
//   "dial tcp: address 70000: invalid port", "listen foo: unknown network foo"
// op is "dial", "listen", "accept", "read", "write", "close" (also for
// closeRead/closeWrite) or "set" (deadlines and options). The cause chain
// ends in the FD layer's errors: SyscallError + Errno, ErrClosed (the
// connection or listener was closed, also while the operation waited),
// ErrDeadlineExceeded ("i/o timeout"), PartialWriteError (a write that failed
// after `written` bytes), AddrError, DNSError, UnknownNetworkError, or, for a
// dial whose context was canceled, ErrCanceled ("operation was canceled").
// Test them with the predicates of errors.ts: isTimeout, isClosed,
// isErrno(err, "ECONNREFUSED"), isTemporary.
//
// Deadlines (setDeadline, setReadDeadline, setWriteDeadline) are absolute:
// a number is a time on the runtime's clock, performance.now() in ms (the
// clock of sleep, timers and contexts: `performance.now() + 5000` is five
// seconds from now); a Date is wall-clock time, converted once to that clock
// when set (a later change of the system clock does not move it); null
// clears. A deadline in the past expires at once. An expired deadline fails
// every operation of its direction (isTimeout true) until it is moved; then
// the connection works again.
//
// The accept loop. Listener.accept is Go's: it retries ECONNABORTED (a
// connection reset while it waited in the queue) inside, and throws every
// other error, EMFILE/ENFILE ("too many open files") included, as an
// OpError for which isTemporary is true. Backing off and retrying is the
// server's decision (Go puts it in net/http's Server.Serve, not in
// net.Listener): acceptRetry(ln) (netutil.ts) is that loop's half, 5 ms
// doubling to 1 s, and examples/echo-server.ts uses it. Keeping accept plain
// means a listener that keeps failing is never silent.
//
// Bad input (docs/reliability.md). What a caller passes falls in two kinds,
// as in Go, where the first is an error value and the second a panic:
//   - data, which may come from a user or a config file: a network name or
//     an address string. Wrong ones are OpErrors like any other failure
//     (UnknownNetworkError, AddrError "invalid port", DNSError...).
//   - programming errors, which no retry can fix: an argument of the wrong
//     JS type (a string where a Uint8Array goes, a network that is not a
//     string, an options object that is not one) is a TypeError; a number
//     out of its domain (a NaN or infinite deadline or timeout, a negative
//     backlog or buffer size) is a RangeError. They are thrown as they are,
//     not inside an OpError, and nothing has been done when they are: no
//     socket made, no byte read or written, no option set.
// Use after close is Go's: OpError wrapping ErrClosed (isClosed), for every
// operation, a second close included.
//
// Departures from Go:
//   - read evaluates to 0 at end of stream (Go returns io.EOF); write throws
//     PartialWriteError (inside the OpError) when it fails after some bytes.
//   - Dial tries a name's addresses one after the other in the resolver's
//     order, each with a share of the time left (Go's dialSerial), without
//     Go's happy-eyeballs race between IPv6 and IPv4.
//   - Only stream sockets: "tcp", "tcp4", "tcp6" and "unix". Anything else
//     (udp, unixgram...) is an UnknownNetworkError.
//   - Close connections and listeners before the program's main returns: a
//     goroutine parked in read or accept when main returns is dropped, and
//     its descriptor stays open until the process exits (fd.ts).

import { readFileSync, unlinkSync } from "node:fs";
import { isUint8Array } from "node:util/types";

import type { Op } from "../sched/g.ts";
import { background, Canceled, DeadlineExceeded, onDone, withDeadline, type CancelFunc, type Context } from "../sched/context.ts";
import { abi } from "./abi/index.ts";
import { ErrDeadlineExceeded, Errno, OpError, SyscallError, type NetError } from "./errors.ts";
import { FD, type ErrorWrap } from "./fd.ts";
import * as libc from "./libc.ts";
import {
  TCPAddr,
  UnixAddr,
  checkNetwork,
  resolveTCP,
  type Addr,
  type TCPNetwork,
  type TCPTarget,
} from "./netaddr.ts";
import { SockaddrUnix, encodeSockaddr, familyOf, type Sockaddr } from "./sockaddr.ts";

export { TCPAddr, UnixAddr, UnknownNetworkError, lookupPort, type Addr, type Network, type TCPNetwork } from "./netaddr.ts";
export { acceptRetry, limitListener, type AcceptRetryOptions } from "./netutil.ts";
export {
  AddrError,
  ClosedError,
  DeadlineExceededError,
  ErrClosed,
  ErrDeadlineExceeded,
  Errno,
  OpError,
  PartialWriteError,
  SyscallError,
  errnoOf,
  isClosed,
  isDeadlineExceeded,
  isErrno,
  isTemporary,
  isTimeout,
  type NetError,
} from "./errors.ts";
export { DNSError, lookupHost, lookupIP, type IPNetwork } from "./dns.ts";
export { joinHostPort, splitHostPort } from "./sockaddr.ts";
export { pollerKind, pollerUp, startPoller, stopPoller, type PollerOptions } from "../netpoll/netpoll.ts";

const S = abi.socket;

/** Go's default keep-alive idle time and interval for TCP (net.defaultTCPKeepAliveIdle, ...Interval). */
const DEFAULT_KEEPALIVE_MS = 15_000;
/** Go's default keep-alive probe count (net.defaultTCPKeepAliveCount). */
const DEFAULT_KEEPALIVE_COUNT = 9;

// ---- the interfaces ---------------------------------------------------------------

/** An absolute deadline: performance.now() ms, a wall-clock Date, or null for none. */
export type Deadline = number | Date | null;

/** A stream connection (Go's net.Conn). */
export interface Conn {
  /** Reads into buf: bytes read, 0 at end of stream (or for an empty buf). One read at a time is served, in order. */
  read(buf: Uint8Array): Op<number>;
  /** Writes all of buf; evaluates to buf.length. Concurrent writes do not interleave. */
  write(buf: Uint8Array): Op<number>;
  /** Closes; blocked reads and writes wake with ErrClosed. A second close throws. */
  close(): Op<void>;
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;
  setDeadline(at: Deadline): void;
  setReadDeadline(at: Deadline): void;
  setWriteDeadline(at: Deadline): void;
}

/** A stream listener (Go's net.Listener). */
export interface Listener {
  /** Waits for the next connection. */
  accept(): Op<Conn>;
  /** Closes: a blocked accept wakes with ErrClosed. */
  close(): Op<void>;
  readonly addr: Addr;
}

/** Go's net.errCanceled: a dial whose context was canceled. Its cause is context's Canceled. */
export class CanceledOpError extends Error implements NetError {
  override name = "CanceledOpError";
  constructor() {
    super("operation was canceled", { cause: Canceled });
  }
  timeout(): boolean {
    return false;
  }
  temporary(): boolean {
    return false;
  }
}

export const ErrCanceled: CanceledOpError = new CanceledOpError();

/** Go's mapErr: a context's error as the net API reports it. */
function mapErr(e: Error): Error {
  if (e === DeadlineExceeded) return ErrDeadlineExceeded;
  if (e === Canceled) return ErrCanceled;
  return e;
}

/**
 * A deadline on the performance.now() clock. Throws TypeError for anything
 * but a number, a Date or null, and RangeError for NaN, ±Infinity or an
 * invalid Date (null means no deadline).
 */
export function monotonicDeadline(at: Deadline): number | null {
  if (at === null) return null;
  let t: number;
  if (at instanceof Date) {
    t = at.getTime() - Date.now() + performance.now();
  } else if (typeof at === "number") {
    t = at;
  } else {
    throw new TypeError(`net: a deadline is a number (performance.now() ms), a Date or null, not ${describe(at)}`);
  }
  if (!Number.isFinite(t)) throw new RangeError(`net: invalid deadline ${String(at)} (null for none)`);
  return t;
}

/** What a bad argument was, for an error message (no contents: a buffer may be large, a string secret). */
function describe(v: unknown): string {
  if (v === null) return "null";
  if (typeof v !== "object") return typeof v;
  const tag = Object.prototype.toString.call(v).slice(8, -1);
  return tag === "Object" ? "an object" : `${/^[AEIOU]/.test(tag) ? "an" : "a"} ${tag}`;
}

/** read's and write's buffer: a Uint8Array (a Buffer is one); other views would count elements, not bytes. */
function checkBuf(op: string, buf: unknown): asserts buf is Uint8Array {
  if (!isUint8Array(buf)) throw new TypeError(`net: ${op} needs a Uint8Array (or a Buffer), not ${describe(buf)}`);
}

function checkString(what: string, v: unknown): asserts v is string {
  if (typeof v !== "string") throw new TypeError(`net: ${what} must be a string, not ${describe(v)}`);
}

function checkBool(what: string, v: unknown): asserts v is boolean {
  if (typeof v !== "boolean") throw new TypeError(`net: ${what} must be a boolean, not ${describe(v)}`);
}

/** An optional options argument: undefined or a plain object. */
function checkOpts(what: string, v: unknown): void {
  if (v !== undefined && (typeof v !== "object" || v === null)) {
    throw new TypeError(`net: ${what} options must be an object, not ${describe(v)}`);
  }
}

/** An integer in [min, max]: TypeError if not a number, RangeError otherwise. */
function checkInt(what: string, v: unknown, min: number, max: number): asserts v is number {
  if (typeof v !== "number") throw new TypeError(`net: ${what} must be a number, not ${describe(v)}`);
  if (!Number.isInteger(v) || v < min || v > max) throw new RangeError(`net: ${what} must be an integer in [${min}, ${max}], not ${v}`);
}

/** A finite number of milliseconds (any sign): TypeError if not a number, RangeError for NaN or ±Infinity. */
function checkMs(what: string, v: unknown): asserts v is number {
  if (typeof v !== "number") throw new TypeError(`net: ${what} must be a number of ms, not ${describe(v)}`);
  if (!Number.isFinite(v)) throw new RangeError(`net: ${what} must be finite, not ${v}`);
}

function checkContext(v: unknown): void {
  const c = v as { err?: unknown; done?: unknown; deadline?: unknown } | null;
  if (typeof c !== "object" || c === null || typeof c.err !== "function" || typeof c.done !== "function" || typeof c.deadline !== "function") {
    throw new TypeError(`net: ctx must be a Context, not ${describe(v)}`);
  }
}

const INT32_MAX = 0x7fffffff;

function asError(e: unknown): Error {
  return e instanceof Error ? e : new Error(String(e));
}

function sysErr(syscall: string, negErrno: number): SyscallError {
  return new SyscallError(syscall, new Errno(-negErrno));
}

// ---- connections ----------------------------------------------------------------------

/** What TCP and unix connections share (Go's conn). */
abstract class SocketConn implements Conn {
  protected readonly fd: FD;
  /** The network the connection was made on ("tcp", "tcp4", "tcp6", "unix"). */
  readonly net: string;
  readonly localAddr: Addr;
  readonly remoteAddr: Addr;

  protected constructor(fd: FD, net: string, localAddr: Addr, remoteAddr: Addr) {
    this.fd = fd;
    this.net = net;
    this.localAddr = localAddr;
    this.remoteAddr = remoteAddr;
  }

  protected opError(op: string, e: unknown): OpError {
    return new OpError(op, this.net, this.localAddr, this.remoteAddr, asError(e));
  }

  /** read's and write's errors become this connection's OpErrors inside fd.ts (ErrorWrap): no wrapping generator per call. */
  readonly #wrap: ErrorWrap = { opError: (op, e) => this.opError(op, e) };

  // Not generators: they return fd.ts's operation objects, whose errors #wrap turns into
  // OpErrors. A bad argument throws at the call.
  read(buf: Uint8Array): Op<number> {
    checkBuf("read", buf);
    return this.fd.read(buf, this.#wrap);
  }

  write(buf: Uint8Array): Op<number> {
    checkBuf("write", buf);
    return this.fd.write(buf, this.#wrap);
  }

  *close(): Op<void> {
    try {
      yield* this.fd.close();
    } catch (e) {
      throw this.opError("close", e);
    }
  }

  setDeadline(at: Deadline): void {
    const t = monotonicDeadline(at);
    this.#set(() => this.fd.setDeadline(t));
  }

  setReadDeadline(at: Deadline): void {
    const t = monotonicDeadline(at);
    this.#set(() => this.fd.setReadDeadline(t));
  }

  setWriteDeadline(at: Deadline): void {
    const t = monotonicDeadline(at);
    this.#set(() => this.fd.setWriteDeadline(t));
  }

  /** shutdown(SHUT_RD): later reads see end of stream. */
  closeRead(): void {
    try {
      this.fd.closeRead();
    } catch (e) {
      throw this.opError("close", e);
    }
  }

  /** shutdown(SHUT_WR): the peer reads end of stream and can still write back (a half-close). */
  closeWrite(): void {
    try {
      this.fd.closeWrite();
    } catch (e) {
      throw this.opError("close", e);
    }
  }

  /**
   * The FD under the connection, for socket options this API lacks (Go's
   * SyscallConn). Closing it closes the connection.
   */
  syscallFD(): FD {
    return this.fd;
  }

  /** SO_RCVBUF in bytes (an integer, 0 to 2^31-1; the kernel rounds and caps it). */
  setReadBuffer(bytes: number): void {
    checkInt("setReadBuffer bytes", bytes, 0, INT32_MAX);
    this.#set(() => this.fd.setReadBuffer(bytes));
  }

  /** SO_SNDBUF in bytes (an integer, 0 to 2^31-1; the kernel rounds and caps it). */
  setWriteBuffer(bytes: number): void {
    checkInt("setWriteBuffer bytes", bytes, 0, INT32_MAX);
    this.#set(() => this.fd.setWriteBuffer(bytes));
  }

  /** Runs a setter; its error as Go's OpError "set". */
  protected set(f: () => void): void {
    this.#set(f);
  }

  #set(f: () => void): void {
    try {
      f();
    } catch (e) {
      throw this.opError("set", e);
    }
  }
}

/** A TCP connection (Go's net.TCPConn). */
export class TCPConn extends SocketConn {
  declare readonly localAddr: TCPAddr;
  declare readonly remoteAddr: TCPAddr;

  /** @internal Made by dial and TCPListener.accept. */
  constructor(fd: FD, net: string, localAddr: TCPAddr, remoteAddr: TCPAddr) {
    super(fd, net, localAddr, remoteAddr);
  }

  /** TCP_NODELAY (on by default, as in Go): send small writes at once instead of coalescing them (Nagle). */
  setNoDelay(on: boolean): void {
    checkBool("setNoDelay", on);
    this.set(() => this.fd.setNoDelay(on));
  }

  /** SO_KEEPALIVE (on by default, as in Go). */
  setKeepAlive(on: boolean): void {
    checkBool("setKeepAlive", on);
    this.set(() => this.fd.setKeepAlive(on));
  }

  /** Keep-alive idle time and probe interval (TCP_KEEPIDLE, TCP_KEEPINTVL), in ms rounded up to whole seconds (Go's SetKeepAlivePeriod). */
  setKeepAlivePeriod(ms: number): void {
    checkMs("setKeepAlivePeriod", ms);
    const secs = Math.max(1, Math.ceil(ms / 1000));
    this.set(() => {
      this.fd.setsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPIDLE, secs);
      this.fd.setsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPINTVL, secs);
    });
  }

  /**
   * Keep-alives as Go's SetKeepAliveConfig: on or off, and when on the idle
   * time and probe interval in ms (rounded up to seconds) and the probe
   * count; an absent or 0 field keeps the system's value.
   */
  setKeepAliveConfig(cfg: { enable: boolean; idle?: number; interval?: number; count?: number }): void {
    if (typeof cfg !== "object" || cfg === null) throw new TypeError(`net: setKeepAliveConfig needs an object, not ${describe(cfg)}`);
    checkBool("setKeepAliveConfig enable", cfg.enable);
    if (cfg.idle !== undefined) checkMs("setKeepAliveConfig idle", cfg.idle);
    if (cfg.interval !== undefined) checkMs("setKeepAliveConfig interval", cfg.interval);
    if (cfg.count !== undefined) checkInt("setKeepAliveConfig count", cfg.count, 0, INT32_MAX);
    this.set(() => {
      this.fd.setKeepAlive(cfg.enable);
      if (!cfg.enable) return;
      const secs = (ms: number) => Math.max(1, Math.ceil(ms / 1000));
      if (cfg.idle) this.fd.setsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPIDLE, secs(cfg.idle));
      if (cfg.interval) this.fd.setsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPINTVL, secs(cfg.interval));
      if (cfg.count) this.fd.setsockoptInt(S.IPPROTO_TCP, S.TCP_KEEPCNT, cfg.count);
    });
  }

  /**
   * SO_LINGER (Go's SetLinger): null or < 0, the default (close returns at
   * once, the kernel sends what is left); 0, close discards unsent data and
   * resets the connection (the peer reads ECONNRESET); > 0, up to that many
   * seconds to send what is left.
   */
  setLinger(sec: number | null): void {
    if (sec !== null) checkInt("setLinger seconds", sec, -INT32_MAX - 1, INT32_MAX);
    this.set(() => this.fd.setLinger(sec));
  }
}

/** A unix stream connection (Go's net.UnixConn). */
export class UnixConn extends SocketConn {
  declare readonly localAddr: UnixAddr;
  declare readonly remoteAddr: UnixAddr;

  /** @internal Made by dial and UnixListener.accept. */
  constructor(fd: FD, net: string, localAddr: UnixAddr, remoteAddr: UnixAddr) {
    super(fd, net, localAddr, remoteAddr);
  }
}

/** Go's defaults for a new TCP connection: no delay, keep-alives (errors ignored, as Go does). */
function tcpDefaults(c: TCPConn, keepAliveMs: number): void {
  try {
    c.setNoDelay(true);
    if (keepAliveMs >= 0) {
      const period = keepAliveMs === 0 ? DEFAULT_KEEPALIVE_MS : keepAliveMs;
      c.setKeepAliveConfig({ enable: true, idle: period, interval: period, count: DEFAULT_KEEPALIVE_COUNT });
    }
  } catch {
    // an option the system refuses does not fail the connection
  }
}

// ---- listeners ----------------------------------------------------------------------

export interface ListenOptions {
  /** Bounds a host name lookup. */
  ctx?: Context;
  /** Keep-alive period of accepted TCP connections in ms: 0 (default) 15 s, as Go; < 0 off. */
  keepAlive?: number;
  /** listen(2)'s backlog; default the system's maximum, as Go. */
  backlog?: number;
}

/** What TCP and unix listeners share (Go's netFD under TCPListener and UnixListener). */
abstract class SocketListener implements Listener {
  protected readonly fd: FD;
  abstract readonly net: string;
  abstract readonly addr: Addr;

  protected constructor(fd: FD) {
    this.fd = fd;
  }

  abstract accept(): Op<Conn>;

  /** accept(2) and FD.open of the new descriptor; errors as Go's accept OpErrors. */
  protected *acceptFD(): Op<[FD, Sockaddr | null]> {
    let s: number;
    let peer: Sockaddr | null;
    try {
      [s, peer] = yield* this.fd.accept();
    } catch (e) {
      throw this.opError("accept", e);
    }
    try {
      return [FD.open(s), peer];
    } catch (e) {
      libc.close(s); // the poller refused it: the number is ours to close
      throw this.opError("accept", e);
    }
  }

  protected opError(op: string, e: unknown): OpError {
    return new OpError(op, this.net, null, this.addr, asError(e));
  }

  *close(): Op<void> {
    try {
      yield* this.fd.close();
    } catch (e) {
      throw this.opError("close", e);
    }
  }

  /** A deadline for accept (Go's SetDeadline of a listener). */
  setDeadline(at: Deadline): void {
    const t = monotonicDeadline(at);
    try {
      this.fd.setDeadline(t);
    } catch (e) {
      throw this.opError("set", e);
    }
  }
}

/** A TCP listener (Go's net.TCPListener). */
export class TCPListener extends SocketListener {
  readonly net: TCPNetwork;
  readonly addr: TCPAddr;
  readonly #keepAlive: number;
  /** The local address of every accepted connection, when the listener is bound to one IP (else getsockname per connection). */
  readonly #fixedLocal: TCPAddr | null;

  /** @internal Made by listen. */
  constructor(fd: FD, net: TCPNetwork, addr: TCPAddr, keepAlive: number) {
    super(fd);
    this.net = net;
    this.addr = addr;
    this.#keepAlive = keepAlive;
    const wildcard = addr.ip === "0.0.0.0" || addr.ip === "::";
    this.#fixedLocal = wildcard ? null : addr;
  }

  *accept(): Op<TCPConn> {
    const [fd, peer] = yield* this.acceptFD();
    let local = this.#fixedLocal;
    if (local === null) {
      const sa = fd.localAddr();
      local = sa !== null && sa.family !== "unix" ? TCPAddr.of(sa) : this.addr;
    }
    const remote = peer !== null && peer.family !== "unix" ? TCPAddr.of(peer) : new TCPAddr("", 0);
    const c = new TCPConn(fd, this.net, local, remote);
    tcpDefaults(c, this.#keepAlive);
    return c;
  }
}

/** A unix stream listener (Go's net.UnixListener). Close removes the socket file it created. */
export class UnixListener extends SocketListener {
  readonly net = "unix";
  readonly addr: UnixAddr;
  #unlink: boolean;

  /** @internal Made by listen. */
  constructor(fd: FD, addr: UnixAddr) {
    super(fd);
    this.addr = addr;
    this.#unlink = addr.name !== "" && !addr.name.startsWith("@");
  }

  *accept(): Op<UnixConn> {
    const [fd, peer] = yield* this.acceptFD();
    return new UnixConn(fd, this.net, this.addr, new UnixAddr(peer !== null && peer.family === "unix" ? peer.path : ""));
  }

  override *close(): Op<void> {
    if (this.#unlink) {
      // Before close, as Go does: once closed, another process may bind the path.
      this.#unlink = false;
      try {
        unlinkSync(this.addr.name);
      } catch {
        // already gone
      }
    }
    yield* super.close();
  }
}


let backlogMax = 0;

/** Go's maxListenerBacklog: net.core.somaxconn on Linux (capped to 65535), SOMAXCONN elsewhere. */
function maxBacklog(): number {
  if (backlogMax > 0) return backlogMax;
  backlogMax = S.SOMAXCONN;
  if (process.platform === "linux") {
    try {
      const n = Number(readFileSync("/proc/sys/net/core/somaxconn", "utf8").trim());
      if (Number.isInteger(n) && n > 0) backlogMax = Math.min(n, 65535);
    } catch {
      // keep SOMAXCONN
    }
  }
  return backlogMax;
}

/** A non-blocking, close-on-exec stream socket for sa's family. */
function newSocket(sa: Sockaddr): number {
  const s = libc.socket(familyOf(sa), S.SOCK_STREAM | S.SOCK_NONBLOCK | S.SOCK_CLOEXEC);
  if (s < 0) throw sysErr("socket", s);
  return s;
}

function setIntOpt(s: number, level: number, name: number, value: number): void {
  const r = libc.setsockopt(s, level, name, Int32Array.of(value));
  if (r < 0) throw sysErr("setsockopt", r);
}

/** socket, options, bind, listen, then registration: Go's socket() + netFD.listenStream. */
function sysListen(sa: Sockaddr, v6only: boolean, backlog: number): FD {
  const raw = encodeSockaddr(sa); // may throw AddrError (a unix path too long)
  const s = newSocket(sa);
  try {
    if (sa.family === "inet6") setIntOpt(s, S.IPPROTO_IPV6, S.IPV6_V6ONLY, v6only ? 1 : 0);
    if (sa.family !== "unix") setIntOpt(s, S.SOL_SOCKET, S.SO_REUSEADDR, 1);
    let r = libc.bind(s, raw);
    if (r < 0) throw sysErr("bind", r);
    r = libc.listen(s, backlog);
    if (r < 0) throw sysErr("listen", r);
    return FD.open(s);
  } catch (e) {
    libc.close(s);
    throw e;
  }
}

/**
 * Listens on a local address (Go's net.Listen): "tcp", "tcp4", "tcp6" with
 * "host:port" (port 0 picks a free one; an empty host is every interface),
 * or "unix" with a socket path ("@name": a Linux abstract socket). Throws an
 * OpError "listen": UnknownNetworkError, AddrError, DNSError, or the
 * SyscallError of socket/bind/listen (EADDRINUSE...).
 */
export function listen(network: "unix", address: string, opts?: ListenOptions): Op<UnixListener>;
export function listen(network: TCPNetwork, address: string, opts?: ListenOptions): Op<TCPListener>;
export function listen(network: string, address: string, opts?: ListenOptions): Op<Listener>;
export function* listen(network: string, address: string, opts: ListenOptions = {}): Op<Listener> {
  checkString("listen's network", network);
  checkString("listen's address", address);
  checkOpts("listen", opts);
  if (opts.backlog !== undefined) checkInt("backlog", opts.backlog, 0, INT32_MAX);
  if (opts.keepAlive !== undefined) checkMs("keepAlive", opts.keepAlive);
  if (opts.ctx !== undefined) checkContext(opts.ctx);
  // Past the system's maximum the kernel caps it anyway (Linux: somaxconn).
  const backlog = Math.min(opts.backlog ?? maxBacklog(), maxBacklog());
  try {
    checkNetwork(network);
  } catch (e) {
    throw new OpError("listen", network, null, null, asError(e));
  }
  if (network === "unix") {
    const laddr = new UnixAddr(address);
    try {
      const fd = sysListen(new SockaddrUnix(address), false, backlog);
      return new UnixListener(fd, laddr);
    } catch (e) {
      throw new OpError("listen", network, null, laddr, asError(e));
    }
  }
  let target: TCPTarget;
  try {
    [target] = (yield* resolveTCP(network, address, "listen", opts.ctx ?? background())) as [TCPTarget];
  } catch (e) {
    throw new OpError("listen", network, null, null, asError(e));
  }
  const laddr = TCPAddr.of(target.sa);
  let fd: FD;
  try {
    fd = sysListen(target.sa, target.v6only, backlog);
  } catch (e) {
    throw new OpError("listen", network, null, laddr, asError(e));
  }
  let bound = laddr;
  try {
    const sa = fd.localAddr();
    if (sa !== null && sa.family !== "unix") bound = TCPAddr.of(sa);
  } catch {
    // keep the requested address
  }
  return new TCPListener(fd, network, bound, opts.keepAlive ?? 0);
}

// ---- dialing ------------------------------------------------------------------------

export interface DialOptions {
  /** The whole dial (lookup and connects) within this many ms; 0 or absent: no limit but the context's. */
  timeout?: number;
  /** An absolute deadline for the dial (performance.now() ms or a Date), as Go's Dialer.Deadline. */
  deadline?: Deadline;
  /** Canceling it aborts the dial with ErrCanceled; its deadline bounds the dial (i/o timeout). */
  ctx?: Context;
  /** Keep-alive period of the TCP connection in ms: 0 (default) 15 s, as Go; < 0 off. */
  keepAlive?: number;
}

/** Go's partialDeadline: a share of the time left for each of the remaining addresses, at least 2 s. */
function partialDeadline(now: number, deadline: number, remaining: number): number | null {
  const left = deadline - now;
  if (left <= 0) return null;
  let timeout = left / remaining;
  const saneMinimum = 2000;
  if (timeout < saneMinimum) timeout = Math.min(left, saneMinimum);
  return now + timeout;
}

/**
 * Connects to an address (Go's net.Dial / Dialer.DialContext): "tcp",
 * "tcp4", "tcp6" with "host:port" (a name is looked up, and its addresses
 * tried in turn), or "unix" with a socket path. The connect is non-blocking
 * through the poller; `timeout`, `deadline` and the context's deadline bound
 * it (OpError with ErrDeadlineExceeded, "i/o timeout", isTimeout true), and
 * canceling the context aborts it (ErrCanceled). Refused: OpError wrapping
 * SyscallError("connect", ECONNREFUSED).
 */
export function dial(network: "unix", address: string, opts?: DialOptions): Op<UnixConn>;
export function dial(network: TCPNetwork, address: string, opts?: DialOptions): Op<TCPConn>;
export function dial(network: string, address: string, opts?: DialOptions): Op<Conn>;
export function* dial(network: string, address: string, opts: DialOptions = {}): Op<Conn> {
  checkString("dial's network", network);
  checkString("dial's address", address);
  checkOpts("dial", opts);
  if (opts.timeout !== undefined) checkMs("timeout", opts.timeout);
  if (opts.keepAlive !== undefined) checkMs("keepAlive", opts.keepAlive);
  if (opts.ctx !== undefined) checkContext(opts.ctx);
  const now = performance.now();
  let deadline: number | null = null;
  if (opts.timeout !== undefined && opts.timeout !== 0) deadline = now + opts.timeout;
  const d = monotonicDeadline(opts.deadline ?? null);
  if (d !== null && (deadline === null || d < deadline)) deadline = d;
  let ctx = opts.ctx ?? background();
  let cancel: CancelFunc | null = null;
  if (deadline !== null) {
    const cd = ctx.deadline();
    if (cd === null || deadline < cd) [ctx, cancel] = withDeadline(ctx, deadline);
  }
  try {
    try {
      checkNetwork(network);
    } catch (e) {
      throw new OpError("dial", network, null, null, asError(e));
    }
    const early = ctx.err();
    if (early !== null) throw new OpError("dial", network, null, null, mapErr(early));
    if (network === "unix") return yield* dialUnix(address, ctx);
    let targets: TCPTarget[];
    try {
      targets = yield* resolveTCP(network, address, "dial", ctx);
    } catch (e) {
      throw new OpError("dial", network, null, null, asError(e));
    }
    const dl = ctx.deadline();
    let first: Error | null = null;
    for (let i = 0; i < targets.length; i++) {
      const t = targets[i]!;
      const ce = ctx.err();
      if (ce !== null) {
        first ??= new OpError("dial", network, null, TCPAddr.of(t.sa), mapErr(ce));
        break;
      }
      let partial: number | null = null;
      if (dl !== null) {
        partial = partialDeadline(performance.now(), dl, targets.length - i);
        if (partial === null) {
          first ??= new OpError("dial", network, null, TCPAddr.of(t.sa), ErrDeadlineExceeded);
          break;
        }
      }
      try {
        return yield* dialTCP(network, t, ctx, partial, opts.keepAlive ?? 0);
      } catch (e) {
        first ??= asError(e);
      }
    }
    throw first ?? new OpError("dial", network, null, null, new Error("missing address"));
  } finally {
    cancel?.();
  }
}

/** socket, V6ONLY, FD.open; the number is closed if registration fails. */
function openSocket(sa: Sockaddr, v6only: boolean): FD {
  const s = newSocket(sa);
  try {
    if (sa.family === "inet6") setIntOpt(s, S.IPPROTO_IPV6, S.IPV6_V6ONLY, v6only ? 1 : 0);
    return FD.open(s);
  } catch (e) {
    libc.close(s);
    throw e;
  }
}

/**
 * fd.connect bounded by `deadline` (the write deadline, as Go) and
 * interrupted when ctx is done (Go's interrupter goroutine: the write
 * deadline is set in the past). A context done once connect has succeeded
 * still fails the dial, as Go (golang/go#16523).
 */
function* connect(fd: FD, sa: Sockaddr, ctx: Context, deadline: number | null): Op<void> {
  if (deadline !== null) fd.setWriteDeadline(deadline);
  let interrupted = false;
  const stop =
    ctx.done() === null
      ? null
      : onDone(ctx, () => {
          interrupted = true;
          try {
            fd.setWriteDeadline(-1);
          } catch {
            // closed meanwhile
          }
        });
  try {
    yield* fd.connect(sa);
  } catch (e) {
    const ce = ctx.err();
    throw ce !== null ? mapErr(ce) : e;
  } finally {
    stop?.();
  }
  if (interrupted) throw mapErr(ctx.err() ?? Canceled);
  if (deadline !== null) fd.setWriteDeadline(null);
}

function* dialTCP(network: TCPNetwork, t: TCPTarget, ctx: Context, deadline: number | null, keepAlive: number): Op<TCPConn> {
  const raddr = TCPAddr.of(t.sa);
  let fd: FD;
  try {
    fd = openSocket(t.sa, t.v6only);
  } catch (e) {
    throw new OpError("dial", network, null, raddr, asError(e));
  }
  try {
    yield* connect(fd, t.sa, ctx, deadline);
    const lsa = fd.localAddr();
    const laddr = lsa !== null && lsa.family !== "unix" ? TCPAddr.of(lsa) : new TCPAddr("", 0);
    const c = new TCPConn(fd, network, laddr, raddr);
    tcpDefaults(c, keepAlive);
    return c;
  } catch (e) {
    try {
      yield* fd.close();
    } catch {
      // the dial's error is the one to report
    }
    throw new OpError("dial", network, null, raddr, asError(e));
  }
}

function* dialUnix(address: string, ctx: Context): Op<UnixConn> {
  if (address === "") throw new OpError("dial", "unix", null, null, new Error("missing address"));
  const raddr = new UnixAddr(address);
  const sa = new SockaddrUnix(address);
  let fd: FD;
  try {
    encodeSockaddr(sa); // AddrError for a path that does not fit, before making a socket
    fd = openSocket(sa, false);
  } catch (e) {
    throw new OpError("dial", "unix", null, raddr, asError(e));
  }
  try {
    yield* connect(fd, sa, ctx, null);
    const lsa = fd.localAddr();
    return new UnixConn(fd, "unix", new UnixAddr(lsa !== null && lsa.family === "unix" ? lsa.path : ""), raddr);
  } catch (e) {
    try {
      yield* fd.close();
    } catch {
      // the dial's error is the one to report
    }
    throw new OpError("dial", "unix", null, raddr, asError(e));
  }
}

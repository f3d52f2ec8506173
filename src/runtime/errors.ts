// The errors of the OS layer, shaped as Go's net package shapes them.
//
//   Errno                 a raw errno value (Go's syscall.Errno): name, number, message
//                         ("connection refused"), timeout() and temporary().
//   SyscallError          which call failed with it (Go's os.SyscallError):
//                         "connect: connection refused".
//   OpError               what the net API was doing (Go's net.OpError): op, net, source,
//                         addr and the cause: "dial tcp 127.0.0.1:1: connect: connection refused".
//   ErrClosed             the descriptor was closed (Go's net.ErrClosed, which is
//                         internal/poll's ErrNetClosing): "use of closed network connection".
//   ErrDeadlineExceeded   a deadline passed (Go's os.ErrDeadlineExceeded): "i/o timeout".
//   AddrError             a bad address (Go's net.AddrError): "address 1.2.3.4:x: invalid port".
//   PartialWriteError     a write that failed after some bytes went out (see below).
//
// Wrapping is JS's Error.cause, the analogue of Go's Unwrap: OpError.cause is
// the SyscallError, whose cause is the Errno. The predicates at the end walk
// that chain as errors.Is / errors.As do: isErrno(err, "ECONNREFUSED"),
// isClosed(err), isTimeout(err).
//
// Differences from Go, on purpose:
//   - ErrClosed and ErrDeadlineExceeded are sentinels, as in Go: the FD layer
//     throws those very objects (compare with ===, or use the predicates). A
//     sentinel's stack is where this module was loaded, not where it was thrown.
//   - Go's Write returns (n, err) together. A thrown error cannot carry n, so
//     a write that fails after writing n > 0 bytes throws PartialWriteError
//     { written: n, cause: the error }; with n = 0 it throws the error itself.
//   - Errno messages are Go's Linux texts (zerrors_linux_amd64.go) on every
//     OS; an errno without a text reads "errno N", as Go's does.

import { abi, errnoName, type Abi, type ErrnoName } from "./abi/index.ts";

/** Go's net.Addr as error messages need it: only String(). The net layer's address types add network(). */
export interface Addr {
  toString(): string;
}

// Go's Linux texts (syscall/zerrors_linux_amd64.go), by name.
const messages: Readonly<Record<ErrnoName, string>> = {
  EPERM: "operation not permitted",
  ENOENT: "no such file or directory",
  EINTR: "interrupted system call",
  EBADF: "bad file descriptor",
  EAGAIN: "resource temporarily unavailable",
  EWOULDBLOCK: "resource temporarily unavailable",
  ENOMEM: "cannot allocate memory",
  EACCES: "permission denied",
  EFAULT: "bad address",
  EBUSY: "device or resource busy",
  EEXIST: "file exists",
  EINVAL: "invalid argument",
  ENFILE: "too many open files in system",
  EMFILE: "too many open files",
  EPIPE: "broken pipe",
  ETIME: "timer expired",
  EPROTO: "protocol error",
  EBADFD: "file descriptor in bad state",
  ENOSYS: "function not implemented",
  ENOTSOCK: "socket operation on non-socket",
  EDESTADDRREQ: "destination address required",
  EMSGSIZE: "message too long",
  ENOPROTOOPT: "protocol not available",
  EPROTONOSUPPORT: "protocol not supported",
  EOPNOTSUPP: "operation not supported",
  ENOTSUP: "operation not supported",
  EAFNOSUPPORT: "address family not supported by protocol",
  EADDRINUSE: "address already in use",
  EADDRNOTAVAIL: "cannot assign requested address",
  ENETDOWN: "network is down",
  ENETUNREACH: "network is unreachable",
  ECONNABORTED: "software caused connection abort",
  ECONNRESET: "connection reset by peer",
  ENOBUFS: "no buffer space available",
  EISCONN: "transport endpoint is already connected",
  ENOTCONN: "transport endpoint is not connected",
  ESHUTDOWN: "cannot send after transport endpoint shutdown",
  ETIMEDOUT: "connection timed out",
  ECONNREFUSED: "connection refused",
  EHOSTDOWN: "host is down",
  EHOSTUNREACH: "no route to host",
  EALREADY: "operation already in progress",
  EINPROGRESS: "operation now in progress",
};

/** Go's net.Error: the two questions a caller asks of a network error. */
export interface NetError extends Error {
  timeout(): boolean;
  temporary(): boolean;
}

/**
 * An errno value of `table`'s OS (Go's syscall.Errno). `name` and `code` are
 * the C name ("ECONNREFUSED", or "errno N" if the table does not know it),
 * `errno` the number, `message` Go's text.
 */
export class Errno extends Error implements NetError {
  override name: string;
  readonly code: string;
  readonly errno: number;
  readonly #table: Abi;

  constructor(errno: number, table: Abi = abi) {
    const name = errnoName(errno, table);
    super(name in messages ? messages[name as ErrnoName] : `errno ${errno}`);
    this.name = name;
    this.code = name;
    this.errno = errno;
    this.#table = table;
  }

  /** Whether this is errno `name` of its OS table ("EAGAIN" and "EWOULDBLOCK" are one value). */
  is(name: ErrnoName): boolean {
    return this.errno === this.#table.errno[name];
  }

  /** Go: EAGAIN, EWOULDBLOCK, ETIMEDOUT. */
  timeout(): boolean {
    return this.is("EAGAIN") || this.is("ETIMEDOUT");
  }

  /** Go: EINTR, EMFILE, ENFILE, or a timeout. */
  temporary(): boolean {
    return this.is("EINTR") || this.is("EMFILE") || this.is("ENFILE") || this.timeout();
  }
}

/** Which system call failed, and how (Go's os.SyscallError): "connect: connection refused". */
export class SyscallError extends Error implements NetError {
  override name = "SyscallError";
  readonly syscall: string;
  declare readonly cause: Error;

  constructor(syscall: string, err: Error) {
    super(`${syscall}: ${err.message}`, { cause: err });
    this.syscall = syscall;
  }

  timeout(): boolean {
    return hasTimeout(this.cause) && this.cause.timeout();
  }

  temporary(): boolean {
    return hasTemporary(this.cause) && this.cause.temporary();
  }
}

/**
 * What the net API was doing when err happened (Go's net.OpError). The
 * message is Go's: op, net, then the source and the address
 * ("src->addr" when both are known), then the cause.
 */
export class OpError extends Error implements NetError {
  override name = "OpError";
  /** "dial", "read", "write", "accept", "close"... */
  readonly op: string;
  /** "tcp", "tcp4", "unix"...; "" when unknown. */
  readonly net: string;
  readonly source: Addr | null;
  readonly addr: Addr | null;
  declare readonly cause: Error;

  constructor(op: string, net: string, source: Addr | null, addr: Addr | null, err: Error) {
    let s = op;
    if (net !== "") s += ` ${net}`;
    if (source !== null) s += ` ${source.toString()}`;
    if (addr !== null) s += `${source !== null ? "->" : " "}${addr.toString()}`;
    super(`${s}: ${err.message}`, { cause: err });
    this.op = op;
    this.net = net;
    this.source = source;
    this.addr = addr;
  }

  /** The cause's answer (through a SyscallError to its errno), as Go's OpError.Timeout. */
  timeout(): boolean {
    return hasTimeout(this.cause) && this.cause.timeout();
  }

  /** Go: ECONNRESET and ECONNABORTED from accept are temporary (golang/go#6163); else the cause's answer. */
  temporary(): boolean {
    if (this.op === "accept") {
      const e = errnoOf(this.cause);
      if (e !== null && (e.is("ECONNRESET") || e.is("ECONNABORTED"))) return true;
    }
    return hasTemporary(this.cause) && this.cause.temporary();
  }
}

/** The class of ErrClosed. */
export class ClosedError extends Error implements NetError {
  override name = "ClosedError";
  constructor() {
    super("use of closed network connection");
  }
  timeout(): boolean {
    return false;
  }
  temporary(): boolean {
    return false;
  }
}

/** Go's net.ErrClosed: an operation on a closed descriptor, or one closed while it waited. */
export const ErrClosed: ClosedError = new ClosedError();

/** The class of ErrDeadlineExceeded. */
export class DeadlineExceededError extends Error implements NetError {
  override name = "DeadlineExceededError";
  constructor() {
    super("i/o timeout");
  }
  timeout(): boolean {
    return true;
  }
  temporary(): boolean {
    return true;
  }
}

/** Go's os.ErrDeadlineExceeded: the read or write deadline passed. */
export const ErrDeadlineExceeded: DeadlineExceededError = new DeadlineExceededError();

/** A malformed or unusable address (Go's net.AddrError): "address 1.2.3.4:x: invalid port". */
export class AddrError extends Error implements NetError {
  override name = "AddrError";
  /** What is wrong ("invalid port", "missing port in address"...). */
  readonly err: string;
  /** The address as given; "" when there is none to show. */
  readonly addr: string;

  constructor(err: string, addr: string) {
    super(addr === "" ? err : `address ${addr}: ${err}`);
    this.err = err;
    this.addr = addr;
  }
  timeout(): boolean {
    return false;
  }
  temporary(): boolean {
    return false;
  }
}

/** A write that ended with `cause` after `written` bytes had gone out (Go returns (n, err) together). */
export class PartialWriteError extends Error implements NetError {
  override name = "PartialWriteError";
  readonly written: number;
  declare readonly cause: Error;

  constructor(written: number, cause: Error) {
    super(cause.message, { cause });
    this.written = written;
  }
  timeout(): boolean {
    return hasTimeout(this.cause) && this.cause.timeout();
  }
  temporary(): boolean {
    return hasTemporary(this.cause) && this.cause.temporary();
  }
}

/** Go's io.ErrUnexpectedEOF: write(2) wrote nothing and reported no error. */
export const ErrUnexpectedEOF: Error = new Error("unexpected EOF");

// ---- predicates (errors.Is / errors.As over the cause chain) ------------------------

function hasTimeout(e: unknown): e is { timeout(): boolean } {
  return typeof e === "object" && e !== null && typeof (e as { timeout?: unknown }).timeout === "function";
}

function hasTemporary(e: unknown): e is { temporary(): boolean } {
  return typeof e === "object" && e !== null && typeof (e as { temporary?: unknown }).temporary === "function";
}

/** err, then its cause, and so on (bounded, in case of a cycle). */
function* chain(err: unknown): Generator<unknown> {
  for (let i = 0; i < 100 && err !== undefined && err !== null; i++) {
    yield err;
    err = (err as { cause?: unknown }).cause;
  }
}

/** Go's os.IsTimeout / net.Error.Timeout(): the first error in the chain that can answer does. */
export function isTimeout(err: unknown): boolean {
  for (const e of chain(err)) if (hasTimeout(e)) return e.timeout();
  return false;
}

/** Go's Temporary(), answered the same way (deprecated in Go, kept for accept loops). */
export function isTemporary(err: unknown): boolean {
  for (const e of chain(err)) if (hasTemporary(e)) return e.temporary();
  return false;
}

/** errors.Is(err, net.ErrClosed). */
export function isClosed(err: unknown): boolean {
  for (const e of chain(err)) if (e instanceof ClosedError) return true;
  return false;
}

/** errors.Is(err, os.ErrDeadlineExceeded). */
export function isDeadlineExceeded(err: unknown): boolean {
  for (const e of chain(err)) if (e instanceof DeadlineExceededError) return true;
  return false;
}

/** errors.As(err, &errno): the first Errno in the chain, or null. */
export function errnoOf(err: unknown): Errno | null {
  for (const e of chain(err)) if (e instanceof Errno) return e;
  return null;
}

/** errors.Is(err, syscall.ECONNREFUSED): by name, or by number of this OS. */
export function isErrno(err: unknown, which: ErrnoName | number): boolean {
  const e = errnoOf(err);
  if (e === null) return false;
  return typeof which === "number" ? e.errno === which : e.is(which);
}

// A descriptor driven by the network poller: Go's internal/poll FD
// (fd_unix.go, fd_poll_runtime.go), with the parts of net's netFD that sit
// right on it (connect, accept's flags, the SyscallError wrapping, socket
// options).
//
// Every operation is the same loop as Go's:
//
//   lock       fdMutex: the read lock (read, accept), the write lock (write,
//              connect) or a plain reference (everything else). Fails with
//              ErrClosed once Close has begun. Reads are serialized, and so
//              are writes, so at most one goroutine waits per direction on
//              the PollDesc (netpoll's "double wait" cannot happen).
//   prepare    pollReset: fails fast with ErrClosed or ErrDeadlineExceeded,
//              and drops a stale readiness notification; safe because the
//              loop always tries the system call before it waits.
//   loop       the system call; EINTR: again; EAGAIN: pollWait for the
//              direction, then again; anything else: done.
//   unlock     drops the reference; the last one after Close destroys.
//
// read and write, once per message, run that loop as an IoOp: an object
// yield* drives by hand through a few states, reused per direction, so a
// message allocates nothing; accept and connect are plain generators.
//
// Close (Go's FD.Close): increfAndClose marks the mutex closed, so new
// operations fail at once; pollUnblock wakes every goroutine parked on the
// PollDesc, whose pollWait then reports closing and whose operation throws
// ErrClosed. When the last reference is dropped, by Close itself or by the
// last operation to unwind, destroy runs: pollClose (deregistration before
// close(2), and the slot is freed only now that nobody waits on it), then
// close(2) through netpoll's sysClose, never retried on EINTR. Close waits
// for destroy (Go's csema, golang/go#21856), so when it returns the number
// is closed and a listener's port can be bound again at once.
//
// Errors: ErrClosed and ErrDeadlineExceeded (the sentinels of errors.ts) for
// the poller's ERR_CLOSING and ERR_TIMEOUT; SyscallError(name, Errno) for a
// failed call, named as Go's net names them ("read", "write", "accept",
// "connect", "setsockopt"...); PartialWriteError when a write fails after
// writing something. Net-level OpErrors are the net layer's to add.
//
// Departures from Go:
//   - open() requires a non-blocking descriptor and a working poller: if
//     pollOpen fails it throws (the caller closes the number) instead of
//     falling back to blocking I/O, which would block Node's thread.
//   - read() evaluates to 0 at EOF (Go returns io.EOF), and to 0 for an empty
//     buffer, without a system call (as Go).
//   - write() uses send(2) with MSG_NOSIGNAL, so a peer that went away is
//     EPIPE and never SIGPIPE, until the descriptor turns out not to be a
//     socket (ENOTSOCK), then write(2).
//   - connect() runs on an FD that is already registered and takes the write
//     lock (Go connects before registering, when nobody else can see the FD).
//   - A program that ends while operations are parked drops them (as a Go
//     process exits): their references are never dropped, so the descriptor
//     is not closed. Close FDs before main returns.

import { PARK, type Op, type Yield } from "../sched/g.ts";
import { Sema } from "../sched/sema.ts";
import {
  ERR_CLOSING,
  ERR_NONE,
  MODE_R,
  MODE_W,
  PollOpenError,
  pollClose,
  pollHungUp,
  pollOpen,
  pollReset,
  pollUnblock,
  pollWait,
  pollWaitResume,
  pollWaitStart,
  WAIT_PARKED,
  setDeadline,
  sysClose,
  type PollErr,
} from "../netpoll/netpoll.ts";
import { abi } from "./abi/index.ts";
import {
  Errno,
  ErrClosed,
  ErrDeadlineExceeded,
  ErrUnexpectedEOF,
  PartialWriteError,
  SyscallError,
} from "./errors.ts";
import { CLOSED, FdMutex, LOCKED, type TryLock } from "./fdmutex.ts";
import * as libc from "./libc.ts";
import { decodeSockaddr, encodeSockaddr, sockaddrStorageSize, type Sockaddr } from "./sockaddr.ts";

const E = abi.errno;
const S = abi.socket;

/**
 * Reads and writes are capped at 1 GiB per call (Go's maxRW: several kernels
 * cannot do 2 GiB+ at once, and 1 GiB keeps later calls aligned).
 */
const MAX_RW = 1 << 30;

// Scratch for the synchronous calls (accept, getsockname, getsockopt...):
// each is filled and decoded before anything else can run on this thread.
const saBuf = new Uint8Array(sockaddrStorageSize());
const lenBuf = new Uint32Array(1);
const intBuf = new Int32Array(1);
const lingerBuf = new Uint8Array(abi.structs.linger.size);

/**
 * Turns the errors of read and write into the caller's (the net layer's
 * OpError), so that a connection's read needs no generator of its own around the FD's.
 */
export interface ErrorWrap {
  opError(op: "read" | "write", e: unknown): Error;
}

// IoOp states. ST_LOCK: taking the fdMutex (waiting in `inner` if it was
// busy); ST_IO and ST_WAIT hold the lock (ST_WAIT: parked in pollWait).
const ST_IDLE = 0;
const ST_START = 1;
const ST_LOCK = 2;
const ST_IO = 3;
const ST_WAIT = 4;
type IoState = typeof ST_IDLE | typeof ST_START | typeof ST_LOCK | typeof ST_IO | typeof ST_WAIT;

const PARKED: IteratorYieldResult<Yield> = Object.freeze({ done: false, value: PARK });
/** The result of every completed read and write: yield* reads it as soon as next() returns, so one object serves all. */
const DONE: { done: true; value: number } = { done: true, value: 0 };
const NO_BUF = new Uint8Array(0);

/**
 * A read or a write as an Op that yield* drives by hand (as chan.ts's Sudog):
 * a message costs no generator, no iterator result objects, and, while the
 * FD's op for that direction is idle, no allocation at all. The steps are
 * FD's (ioNext, ioThrow, ioReturn); this holds where the operation is.
 */
class IoOp implements Iterator<Yield, number, unknown> {
  declare readonly fd: FD;
  declare readonly write: boolean;
  /** ST_IDLE between operations; reused only then. */
  declare state: IoState;
  /** The bytes to read into (capped at MAX_RW) or to write. */
  declare buf: Uint8Array;
  declare wrap: ErrorWrap | null;
  /** Bytes written so far. */
  declare nn: number;
  /** The fdMutex's rwlock while waiting for the lock (ST_LOCK); null otherwise. */
  declare inner: Iterator<Yield, boolean, unknown> | null;

  constructor(fd: FD, write: boolean) {
    this.fd = fd;
    this.write = write;
    this.state = ST_IDLE;
    this.buf = NO_BUF;
    this.wrap = null;
    this.nn = 0;
    this.inner = null;
  }

  start(buf: Uint8Array, wrap: ErrorWrap | null): Op<number> {
    this.state = ST_START;
    this.buf = buf;
    this.wrap = wrap;
    return this;
  }

  /** Ends the operation with value n and makes the op reusable. */
  finish(n: number): IteratorResult<Yield, number> {
    this.state = ST_IDLE;
    this.buf = NO_BUF;
    this.wrap = null;
    this.nn = 0;
    this.inner = null;
    DONE.value = n;
    return DONE;
  }

  [Symbol.iterator](): this {
    return this;
  }

  next(v?: unknown): IteratorResult<Yield, number> {
    return this.fd.ioNext(this, v);
  }

  throw(e: unknown): IteratorResult<Yield, number> {
    return this.fd.ioThrow(this, e);
  }

  return(v?: number): IteratorResult<Yield, number> {
    return this.fd.ioReturn(this, v ?? 0);
  }
}

function pollError(err: PollErr): Error {
  return err === ERR_CLOSING ? ErrClosed : ErrDeadlineExceeded;
}

function sysErr(syscall: string, negErrno: number): SyscallError {
  return new SyscallError(syscall, new Errno(-negErrno));
}

export class FD {
  /** The descriptor number: immutable until destroy, -1 after. Only used while holding a reference. */
  #sysfd: number;
  /** The PollDesc slot (netpoll.ts); freed by destroy. */
  readonly #pd: number;
  /** Lifetime and read/write serialization (Go's fdmu). */
  readonly #mu = new FdMutex();
  /** Released by destroy once close(2) has run; close() waits on it (Go's csema). */
  readonly #csema = new Sema(0);
  /** Whether write uses send(2) with MSG_NOSIGNAL; cleared for good at the first ENOTSOCK. */
  #useSend = true;
  /**
   * The last read returned fewer bytes than asked: the receive queue was
   * empty then, so the next read waits for readiness before calling read(2)
   * (tokio's "clear readiness on a short read"; libuv's UV_HANDLE_READ_PARTIAL).
   * Safe because both backends report data that arrives after that moment:
   * epoll (edge-triggered) queues an event for every arrival, and event ports
   * check the level when the wait arms. An end of stream or a reset that
   * came before the short read has its event consumed by then: the sticky
   * hang-up flag (pollHungUp) sends such a read straight to read(2). Only for streams (every descriptor
   * the runtime opens): a datagram socket's short read says nothing about the
   * next datagram. A short read that stops early with data left (TCP's
   * urgent mark, unix stream data with other credentials) waits for the next
   * arrival, as in tokio.
   */
  #drained = false;
  /** The read and the write op, reused by each read and write while idle (another one under way gets its own). */
  readonly #rop: IoOp;
  readonly #wop: IoOp;

  private constructor(sysfd: number, pd: number) {
    this.#sysfd = sysfd;
    this.#pd = pd;
    this.#rop = new IoOp(this, false);
    this.#wop = new IoOp(this, true);
  }

  /**
   * Registers a non-blocking descriptor with the poller (starting it if
   * needed; Go's FD.Init). On failure nothing is registered and the caller
   * still owns sysfd.
   */
  static open(sysfd: number): FD {
    const fl = libc.fcntl(sysfd, abi.fcntl.F_GETFL);
    if (fl < 0) throw sysErr("fcntl", fl);
    if ((fl & abi.fcntl.O_NONBLOCK) === 0) {
      throw new RangeError(`fd: descriptor ${sysfd} is in blocking mode (open it with SOCK_NONBLOCK or O_NONBLOCK)`);
    }
    let pd: number;
    try {
      pd = pollOpen(sysfd);
    } catch (e) {
      if (e instanceof PollOpenError) throw new SyscallError("pollopen", new Errno(e.errno));
      throw e;
    }
    return new FD(sysfd, pd);
  }

  /** The descriptor number (-1 once closed). Hold a reference (incref) to use it. */
  get sysfd(): number {
    return this.#sysfd;
  }

  // ---- references (fdMutex) -----------------------------------------------------------

  /**
   * Adds a reference, for work on sysfd outside the methods here (Go's
   * FD.incref): the number stays open until the matching decref. Throws
   * ErrClosed once Close has begun.
   */
  incref(): void {
    if (!this.#mu.incref()) throw ErrClosed;
  }

  /** Drops a reference; the last one after Close closes the descriptor (and returns close(2)'s error, if any). */
  decref(): Error | null {
    return this.#mu.decref() ? this.#destroy() : null;
  }

  /** Go's FD.RawControl: f(sysfd) while holding a reference. */
  rawControl<T>(f: (sysfd: number) => T): T {
    this.incref();
    try {
      return f(this.#sysfd);
    } finally {
      this.decref();
    }
  }

  /** The read lock when tryRwlock did not get it at once (the fast path allocates no generator). */
  *#readLockSlow(r: TryLock): Op<void> {
    if (r === CLOSED || !(yield* this.#mu.rwlock(true))) throw ErrClosed;
  }

  /** The write lock when tryRwlock did not get it at once. */
  *#writeLockSlow(r: TryLock): Op<void> {
    if (r === CLOSED || !(yield* this.#mu.rwlock(false))) throw ErrClosed;
  }

  /** The last reference is gone after Close: deregister, close(2), let Close return. */
  #destroy(): Error | null {
    pollClose(this.#pd); // before close(2): the backend may need the number to deregister
    const r = sysClose(this.#sysfd);
    this.#sysfd = -1;
    this.#csema.release();
    return r === 0 ? null : new SyscallError("close", new Errno(r));
  }

  // ---- I/O --------------------------------------------------------------------------

  /**
   * Reads into buf: the number of bytes read, 0 at EOF (or for an empty
   * buffer). Waits for data; reads on one FD are served one at a time, in
   * order. Throws ErrClosed, ErrDeadlineExceeded or SyscallError("read").
   *
   * After a short read the next one waits for readiness before it calls
   * read(2) (see #drained), so a connection that answers each message pays
   * one read per message, not two.
   */
  read(buf: Uint8Array, wrap: ErrorWrap | null = null): Op<number> {
    let op = this.#rop;
    if (op.state !== ST_IDLE) op = new IoOp(this, false); // another read is under way: one of its own
    return op.start(buf, wrap);
  }

  /**
   * Writes all of buf, waiting for room as often as needed; evaluates to
   * buf.length. Throws ErrClosed, ErrDeadlineExceeded or
   * SyscallError("write") (EPIPE when the peer is gone), wrapped in
   * PartialWriteError when some bytes were written first.
   */
  write(buf: Uint8Array, wrap: ErrorWrap | null = null): Op<number> {
    let op = this.#wop;
    if (op.state !== ST_IDLE) op = new IoOp(this, true);
    return op.start(buf, wrap);
  }

  /** IoOp.next: runs op from where it stopped. Only IoOp calls it. */
  ioNext(op: IoOp, v: unknown): IteratorResult<Yield, number> {
    try {
      switch (op.state) {
        case ST_START: {
          op.state = ST_LOCK;
          const r = this.#mu.tryRwlock(!op.write);
          if (r === CLOSED) throw ErrClosed;
          if (r !== LOCKED) {
            op.inner = this.#mu.rwlock(!op.write)[Symbol.iterator]();
            return this.#lockStep(op, undefined);
          }
          return this.#begin(op);
        }
        case ST_LOCK:
          return this.#lockStep(op, v);
        case ST_WAIT: {
          const w = pollWaitResume(this.#pd, op.write ? MODE_W : MODE_R);
          if (w === WAIT_PARKED) return PARKED;
          if (w !== ERR_NONE) throw op.nn > 0 ? new PartialWriteError(op.nn, pollError(w)) : pollError(w);
          return op.write ? this.#writeLoop(op) : this.#readLoop(op, false);
        }
        default:
          return op.finish(0); // iterated again after it ended: done, as a finished generator would be
      }
    } catch (e) {
      throw this.#fail(op, e);
    }
  }

  /** IoOp.throw: an error thrown into the goroutine while op waits (for the lock or for readiness). */
  ioThrow(op: IoOp, e: unknown): IteratorResult<Yield, number> {
    try {
      if (op.inner !== null) return this.#lockStep(op, e, true);
    } catch (e2) {
      throw this.#fail(op, e2);
    }
    throw this.#fail(op, e);
  }

  /** IoOp.return: the goroutine is dropped while op waits: leave the lock's queue or drop the lock. */
  ioReturn(op: IoOp, v: number): IteratorResult<Yield, number> {
    if (op.inner !== null) op.inner.return?.(false);
    else if (op.state === ST_WAIT) this.#unlock(op.write);
    return op.finish(v);
  }

  /** Waiting for the fdMutex: a step of its rwlock (v: what to resume it with; thrown if isErr). */
  #lockStep(op: IoOp, v: unknown, isErr = false): IteratorResult<Yield, number> {
    const inner = op.inner!;
    const r = isErr ? inner.throw!(v) : inner.next(v);
    if (r.done !== true) return r;
    op.inner = null;
    if (!r.value) throw ErrClosed;
    return this.#begin(op);
  }

  /** The lock is held: prepare and run the system call. */
  #begin(op: IoOp): IteratorResult<Yield, number> {
    op.state = ST_IO;
    if (op.write) {
      const err = pollReset(this.#pd, MODE_W);
      if (err !== ERR_NONE) throw pollError(err);
      return this.#writeLoop(op);
    }
    const buf = op.buf;
    if (buf.length === 0) return this.#done(op, 0);
    const wait = this.#drained && !pollHungUp(this.#pd);
    this.#drained = false;
    if (!wait) {
      const err = pollReset(this.#pd, MODE_R);
      if (err !== ERR_NONE) throw pollError(err);
    }
    if (buf.length > MAX_RW) op.buf = buf.subarray(0, MAX_RW);
    return this.#readLoop(op, wait);
  }

  #readLoop(op: IoOp, wait: boolean): IteratorResult<Yield, number> {
    const p = op.buf;
    for (;;) {
      if (wait) {
        const w = pollWaitStart(this.#pd, MODE_R);
        if (w === WAIT_PARKED) {
          op.state = ST_WAIT;
          return PARKED;
        }
        if (w !== ERR_NONE) throw pollError(w);
      }
      const n = libc.read(this.#sysfd, p);
      if (n > 0) {
        this.#drained = n < p.length;
        return this.#done(op, n);
      }
      if (n === 0) return this.#done(op, 0);
      if (n !== -E.EAGAIN && n !== -E.EINTR) throw sysErr("read", n);
      wait = n === -E.EAGAIN;
    }
  }

  #writeLoop(op: IoOp): IteratorResult<Yield, number> {
    const buf = op.buf;
    for (;;) {
      let nn = op.nn;
      const max = buf.length - nn > MAX_RW ? nn + MAX_RW : buf.length;
      const n = this.#sysWrite(nn === 0 && max === buf.length ? buf : buf.subarray(nn, max));
      if (n > 0) op.nn = nn += n;
      if (nn === buf.length) return this.#done(op, nn);
      if (n === -E.EINTR) continue;
      let cause: Error;
      if (n === -E.EAGAIN) {
        const w = pollWaitStart(this.#pd, MODE_W);
        if (w === WAIT_PARKED) {
          op.state = ST_WAIT;
          return PARKED;
        }
        if (w === ERR_NONE) continue;
        cause = pollError(w);
      } else if (n < 0) {
        cause = sysErr("write", n);
      } else if (n === 0) {
        cause = ErrUnexpectedEOF;
      } else {
        continue; // a short write: the rest
      }
      throw nn > 0 ? new PartialWriteError(nn, cause) : cause;
    }
  }

  /** The op succeeded with n: unlock, and hand the op back for reuse. */
  #done(op: IoOp, n: number): IteratorResult<Yield, number> {
    this.#unlock(op.write);
    return op.finish(n);
  }

  /** The op failed with e: unlock if it held the lock, reset it; the error to throw (wrapped for the caller). */
  #fail(op: IoOp, e: unknown): unknown {
    if (op.state === ST_IO || op.state === ST_WAIT) this.#unlock(op.write);
    const wrap = op.wrap;
    op.finish(0);
    return wrap === null ? e : wrap.opError(op.write ? "write" : "read", e);
  }

  #unlock(write: boolean): void {
    if (this.#mu.rwunlock(!write)) this.#destroy();
  }

  #sysWrite(p: Uint8Array): number {
    if (this.#useSend) {
      const n = libc.send(this.#sysfd, p, S.MSG_NOSIGNAL);
      if (n !== -E.ENOTSOCK) return n;
      this.#useSend = false; // a pipe or a file: write(2) from now on
    }
    return libc.write(this.#sysfd, p);
  }

  /**
   * Accepts a connection on a listening socket: the new descriptor
   * (non-blocking, close-on-exec; open it with FD.open) and the peer's
   * address (null if the kernel gave none the runtime speaks). Retries
   * ECONNABORTED (a connection reset while queued), as Go does. Throws
   * ErrClosed, ErrDeadlineExceeded or SyscallError("accept").
   */
  *accept(): Op<[fd: number, peer: Sockaddr | null]> {
    const r = this.#mu.tryRwlock(true);
    if (r !== LOCKED) yield* this.#readLockSlow(r);
    try {
      let err = pollReset(this.#pd, MODE_R);
      if (err !== ERR_NONE) throw pollError(err);
      for (;;) {
        lenBuf[0] = saBuf.length;
        const s = libc.accept4(this.#sysfd, saBuf, lenBuf, S.SOCK_NONBLOCK | S.SOCK_CLOEXEC);
        if (s >= 0) return [s, decodeSockaddr(saBuf, lenBuf[0]!)];
        if (s === -E.EINTR || s === -E.ECONNABORTED) continue;
        if (s !== -E.EAGAIN) throw sysErr("accept", s);
        err = yield* pollWait(this.#pd, MODE_R);
        if (err !== ERR_NONE) throw pollError(err);
      }
    } finally {
      this.#unlock(false);
    }
  }

  /**
   * Connects to sa (Go's netFD.connect): connect(2), and if that is in
   * progress, wait until writable and ask SO_ERROR, checking with getpeername
   * that a wake-up with no error is a real connection (golang/go#14548,
   * #19289). A write deadline bounds the wait (ErrDeadlineExceeded). Throws
   * ErrClosed or SyscallError("connect") (ECONNREFUSED...).
   */
  *connect(sa: Sockaddr): Op<void> {
    const raw = encodeSockaddr(sa);
    const r = this.#mu.tryRwlock(false);
    if (r !== LOCKED) yield* this.#writeLockSlow(r);
    try {
      let err = pollReset(this.#pd, MODE_W);
      if (err !== ERR_NONE) throw pollError(err);
      const r = libc.connect(this.#sysfd, raw);
      if (r === 0 || r === -E.EISCONN) return;
      // illumos: EINVAL when the server already accepted and closed (golang/go#6828): connected, then EOF.
      if (r === -E.EINVAL && abi.name === "illumos-amd64") return;
      if (r !== -E.EINPROGRESS && r !== -E.EALREADY && r !== -E.EINTR) throw sysErr("connect", r);
      for (;;) {
        // Further connect(2) calls on a non-blocking socket need not report
        // the outcome (golang/go#7474): wait, then ask SO_ERROR.
        err = yield* pollWait(this.#pd, MODE_W);
        if (err !== ERR_NONE) throw pollError(err);
        const soerr = this.#getsockoptInt(S.SOL_SOCKET, S.SO_ERROR);
        if (soerr === E.EINPROGRESS || soerr === E.EALREADY || soerr === E.EINTR) continue;
        if (soerr === E.EISCONN) return;
        if (soerr === 0) {
          // A spurious wake-up (a stale notification) also reads 0: connected only if there is a peer.
          lenBuf[0] = saBuf.length;
          if (libc.getpeername(this.#sysfd, saBuf, lenBuf) === 0) return;
          continue;
        }
        throw new SyscallError("connect", new Errno(soerr));
      }
    } finally {
      this.#unlock(true);
    }
  }

  /**
   * Closes: operations in progress wake with ErrClosed, new ones fail with
   * it, and once the last has returned the descriptor is deregistered and
   * closed; close returns after that. A second close throws ErrClosed.
   * Throws SyscallError("close") if close(2) failed.
   */
  *close(): Op<void> {
    if (!this.#mu.increfAndClose()) throw ErrClosed;
    pollUnblock(this.#pd); // Go's pd.evict: parked readers and writers wake with ERR_CLOSING
    const err = this.decref(); // destroys now if nobody else holds a reference
    yield* this.#csema.acquire("semacquire"); // until destroy has run (Go's csema)
    if (err !== null) throw err;
  }

  /** shutdown(2): SHUT_RD, SHUT_WR or SHUT_RDWR of this OS. */
  shutdown(how: number): void {
    this.incref();
    try {
      this.#drained = false; // SHUT_RD: the next read must see the end of stream, whatever the backend reports
      const r = libc.shutdown(this.#sysfd, how);
      if (r < 0) throw sysErr("shutdown", r);
    } finally {
      this.decref();
    }
  }

  /** shutdown(SHUT_RD) (Go's CloseRead). */
  closeRead(): void {
    this.shutdown(S.SHUT_RD);
  }

  /** shutdown(SHUT_WR) (Go's CloseWrite): the peer reads EOF. */
  closeWrite(): void {
    this.shutdown(S.SHUT_WR);
  }

  // ---- deadlines -----------------------------------------------------------------------

  /**
   * Sets the read and write deadlines: an absolute time on the
   * performance.now() clock (ms), or null for none. An operation waiting
   * past it throws ErrDeadlineExceeded, and so does every new one until the
   * deadline moves; a time not in the future expires at once. Moving it
   * while an operation waits re-arms that wait. Throws ErrClosed after Close.
   */
  setDeadline(at: number | null): void {
    this.#setDeadline(MODE_R | MODE_W, at);
  }

  setReadDeadline(at: number | null): void {
    this.#setDeadline(MODE_R, at);
  }

  setWriteDeadline(at: number | null): void {
    this.#setDeadline(MODE_W, at);
  }

  #setDeadline(modes: number, at: number | null): void {
    if (at !== null && Number.isNaN(at)) throw new RangeError("fd: deadline is NaN");
    this.incref();
    try {
      if (setDeadline(this.#pd, modes, at) === ERR_CLOSING) throw ErrClosed;
    } finally {
      this.decref();
    }
  }

  // ---- socket options and addresses ------------------------------------------------------

  /** setsockopt(2) of an int option. Throws SyscallError("setsockopt"). */
  setsockoptInt(level: number, name: number, value: number): void {
    this.incref();
    try {
      intBuf[0] = value;
      const r = libc.setsockopt(this.#sysfd, level, name, intBuf);
      if (r < 0) throw sysErr("setsockopt", r);
    } finally {
      this.decref();
    }
  }

  /** getsockopt(2) of an int option. Throws SyscallError("getsockopt"). */
  getsockoptInt(level: number, name: number): number {
    this.incref();
    try {
      return this.#getsockoptInt(level, name);
    } finally {
      this.decref();
    }
  }

  #getsockoptInt(level: number, name: number): number {
    intBuf[0] = 0;
    lenBuf[0] = 4;
    const r = libc.getsockopt(this.#sysfd, level, name, intBuf, lenBuf);
    if (r < 0) throw sysErr("getsockopt", r);
    return intBuf[0]!;
  }

  /** TCP_NODELAY: send small segments at once (Go's default for TCP is on). */
  setNoDelay(on: boolean): void {
    this.setsockoptInt(S.IPPROTO_TCP, S.TCP_NODELAY, on ? 1 : 0);
  }

  /** SO_KEEPALIVE. */
  setKeepAlive(on: boolean): void {
    this.setsockoptInt(S.SOL_SOCKET, S.SO_KEEPALIVE, on ? 1 : 0);
  }

  /** SO_REUSEADDR (Go sets it on every listener). */
  setReuseAddr(on: boolean): void {
    this.setsockoptInt(S.SOL_SOCKET, S.SO_REUSEADDR, on ? 1 : 0);
  }

  /** SO_RCVBUF, in bytes (the kernel may round or double it). */
  setReadBuffer(bytes: number): void {
    this.setsockoptInt(S.SOL_SOCKET, S.SO_RCVBUF, bytes);
  }

  /** SO_SNDBUF, in bytes. */
  setWriteBuffer(bytes: number): void {
    this.setsockoptInt(S.SOL_SOCKET, S.SO_SNDBUF, bytes);
  }

  /**
   * SO_LINGER, as Go's SetLinger: sec < 0 or null, the default (close returns
   * at once, the kernel sends what is left); sec = 0, discard and reset the
   * connection on close; sec > 0, send what is left for up to sec seconds.
   */
  setLinger(sec: number | null): void {
    const L = abi.structs.linger.fields;
    const v = new DataView(lingerBuf.buffer);
    const on = sec !== null && sec >= 0;
    v.setInt32(L.l_onoff.offset, on ? 1 : 0, true);
    v.setInt32(L.l_linger.offset, on ? sec : 0, true);
    this.incref();
    try {
      const r = libc.setsockopt(this.#sysfd, S.SOL_SOCKET, S.SO_LINGER, lingerBuf);
      if (r < 0) throw sysErr("setsockopt", r);
    } finally {
      this.decref();
    }
  }

  /** SO_LINGER as setLinger takes it: null when off, else the seconds. */
  linger(): number | null {
    const L = abi.structs.linger.fields;
    this.incref();
    try {
      lingerBuf.fill(0);
      lenBuf[0] = lingerBuf.length;
      const r = libc.getsockopt(this.#sysfd, S.SOL_SOCKET, S.SO_LINGER, lingerBuf, lenBuf);
      if (r < 0) throw sysErr("getsockopt", r);
      const v = new DataView(lingerBuf.buffer);
      return v.getInt32(L.l_onoff.offset, true) === 0 ? null : v.getInt32(L.l_linger.offset, true);
    } finally {
      this.decref();
    }
  }

  /** getsockname(2): the local address (null for a family the runtime does not speak). */
  localAddr(): Sockaddr | null {
    return this.#name("getsockname", libc.getsockname);
  }

  /** getpeername(2): the peer's address. Throws SyscallError("getpeername") (ENOTCONN) when not connected. */
  peerAddr(): Sockaddr | null {
    return this.#name("getpeername", libc.getpeername);
  }

  #name(syscall: string, f: (fd: number, sa: Uint8Array, len: Uint32Array) => number): Sockaddr | null {
    this.incref();
    try {
      lenBuf[0] = saBuf.length;
      const r = f(this.#sysfd, saBuf, lenBuf);
      if (r < 0) throw sysErr(syscall, r);
      return decodeSockaddr(saBuf, lenBuf[0]!);
    } finally {
      this.decref();
    }
  }
}

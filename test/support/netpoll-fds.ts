// Real descriptors for the netpoll tests and benchmark, through koffi: socket
// pairs and pipes (non-blocking, close-on-exec), read, write, shutdown, and
// close. Under the eventports backend on Linux the poller runs on
// native/portemu, which must see every close of a descriptor it watched (an
// fd closed behind its back keeps its epoll registration, and its
// use-after-close counter relies on close going through it): closeFd closes
// through the emulation's close then, libc's otherwise.
//
// Also: Go-style operation loops over a PollDesc (pollReset, syscall,
// pollWait on EAGAIN, as internal/poll's fd_unix.go), and counters used by
// the leak checks (open descriptors of the process).

import { readdirSync } from "node:fs";
import koffi from "koffi";

import { bindPortEmu, type EventPorts, type PortEmuDiagnostics } from "../../src/netpoll/eventport_ffi.ts";
import { ERR_NONE, pollReset, pollWait, MODE_R, MODE_W, type PollErr } from "../../src/netpoll/netpoll.ts";
import type { Op } from "../../src/sched/index.ts";
import { abi, errnoName } from "../../src/runtime/abi/index.ts";

const libc = koffi.load(abi.libraries.libc);
const c = {
  socketpair: libc.func("int socketpair(int domain, int type, int protocol, _Out_ int *sv)") as (
    d: number,
    t: number,
    p: number,
    sv: Int32Array,
  ) => number,
  pipe2: libc.func("int pipe2(_Out_ int *fds, int flags)") as (fds: Int32Array, flags: number) => number,
  read: libc.func("long read(int fd, _Out_ void *buf, unsigned long n)") as (fd: number, b: Uint8Array, n: number) => number,
  write: libc.func("long write(int fd, const void *buf, unsigned long n)") as (fd: number, b: Uint8Array, n: number) => number,
  shutdown: libc.func("int shutdown(int fd, int how)") as (fd: number, how: number) => number,
  close: libc.func("int close(int fd)") as (fd: number) => number,
  fcntl: libc.func("int fcntl(int fd, int cmd, int arg)") as (fd: number, cmd: number, arg: number) => number,
  poll: libc.func("int poll(void *fds, unsigned long nfds, int timeout)") as (fds: Uint8Array, n: number, timeout: number) => number,
};

export const EAGAIN = abi.errno.EAGAIN;
export const EPIPE = abi.errno.EPIPE;
export const EBADF = abi.errno.EBADF;

let emu: (EventPorts & PortEmuDiagnostics) | null = null;

/** The emulation's event ports and violation counters (bound on first use). */
export function portEmu(): EventPorts & PortEmuDiagnostics {
  emu ??= bindPortEmu();
  return emu;
}

/** Which close(2) closeFd uses: the emulation's (eventports on Linux) or libc's. */
let closeThroughEmu = false;

export function setCloseThroughEmulation(on: boolean): void {
  closeThroughEmu = on;
}

function check(r: number, what: string): number {
  if (r < 0) throw new Error(`${what}: ${errnoName(koffi.errno())}`);
  return r;
}

/** A connected AF_UNIX stream pair, both ends non-blocking. */
export function socketPair(): [number, number] {
  const sv = new Int32Array(2);
  const { AF_UNIX, SOCK_STREAM, SOCK_NONBLOCK, SOCK_CLOEXEC } = abi.socket;
  check(c.socketpair(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv), "socketpair");
  return [sv[0]!, sv[1]!];
}

/** A pipe [read end, write end], both non-blocking. */
export function pipe(): [number, number] {
  const fds = new Int32Array(2);
  check(c.pipe2(fds, abi.fcntl.O_NONBLOCK | abi.fcntl.O_CLOEXEC), "pipe2");
  return [fds[0]!, fds[1]!];
}

export function closeFd(fd: number): void {
  check(closeThroughEmu ? portEmu().close(fd) : c.close(fd), `close(${fd})`);
}

/** Whether fd is open (fcntl F_GETFD). */
export function isOpen(fd: number): boolean {
  return c.fcntl(fd, abi.fcntl.F_GETFD, 0) >= 0;
}

export function shutdownFd(fd: number, how: number = abi.socket.SHUT_RDWR): void {
  check(c.shutdown(fd, how), "shutdown");
}

const pollfd = new Uint8Array(8); // struct pollfd { int fd; short events; short revents; }
const pollfdView = new DataView(pollfd.buffer);

/** What poll(2) reports for fd right now (revents), asked for POLLIN and POLLOUT. */
export function revents(fd: number): number {
  pollfdView.setInt32(0, fd, true);
  pollfdView.setInt16(4, abi.poll.POLLIN | abi.poll.POLLOUT, true);
  pollfdView.setInt16(6, 0, true);
  check(c.poll(pollfd, 1, 0), "poll");
  return pollfdView.getInt16(6, true);
}

/** Whether a read (MODE_R) or a write (MODE_W) on fd would not fail with EAGAIN now. */
export function isReady(fd: number, mode: typeof MODE_R | typeof MODE_W): boolean {
  const { POLLIN, POLLOUT, POLLERR, POLLHUP } = abi.poll;
  return (revents(fd) & ((mode === MODE_R ? POLLIN : POLLOUT) | POLLERR | POLLHUP)) !== 0;
}

/** read(2): the count, or -errno. */
export function readFd(fd: number, buf: Uint8Array, n = buf.length): number {
  const r = c.read(fd, buf, n);
  return r >= 0 ? r : -koffi.errno();
}

/** write(2): the count, or -errno. */
export function writeFd(fd: number, buf: Uint8Array, n = buf.length): number {
  const r = c.write(fd, buf, n);
  return r >= 0 ? r : -koffi.errno();
}

const chunk = new Uint8Array(65536);
const sink = new Uint8Array(65536);

/** Writes until the socket buffer is full (EAGAIN); returns the bytes written. */
export function fill(fd: number): number {
  let total = 0;
  for (;;) {
    const n = writeFd(fd, chunk);
    if (n === -EAGAIN) return total;
    if (n < 0) throw new Error(`fill: ${errnoName(-n)}`);
    total += n;
  }
}

/** Reads until EAGAIN (or EOF); returns the bytes read. */
export function drain(fd: number): number {
  let total = 0;
  for (;;) {
    const n = readFd(fd, sink);
    if (n === -EAGAIN || n === 0) return total;
    if (n < 0) throw new Error(`drain: ${errnoName(-n)}`);
    total += n;
  }
}

/** Descriptors open in this process now. */
export function fdCount(): number {
  return readdirSync("/proc/self/fd").length;
}

/** The result of an operation loop: bytes (≥ 0), -errno, or a poll error. */
export type OpResult = { n: number; err: PollErr };

/**
 * Go's fd.Read: pollReset, then read until it does not fail with EAGAIN,
 * waiting on the PollDesc in between. Evaluates to the read's result (n ≥ 0
 * or -errno) with ERR_NONE, or to the poll error that ended the wait.
 */
export function* readOp(pd: number, fd: number, buf: Uint8Array): Op<OpResult> {
  let err = pollReset(pd, MODE_R);
  if (err !== ERR_NONE) return { n: 0, err };
  for (;;) {
    const n = readFd(fd, buf);
    if (n !== -EAGAIN) return { n, err: ERR_NONE };
    err = yield* pollWait(pd, MODE_R);
    if (err !== ERR_NONE) return { n: 0, err };
  }
}

/** Go's fd.Write for one buffer: as readOp, with write(2) and MODE_W. */
export function* writeOp(pd: number, fd: number, buf: Uint8Array): Op<OpResult> {
  let err = pollReset(pd, MODE_W);
  if (err !== ERR_NONE) return { n: 0, err };
  for (;;) {
    const n = writeFd(fd, buf);
    if (n !== -EAGAIN) return { n, err: ERR_NONE };
    err = yield* pollWait(pd, MODE_W);
    if (err !== ERR_NONE) return { n: 0, err };
  }
}

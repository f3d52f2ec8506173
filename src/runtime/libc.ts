// The C library calls under the FD layer (fd.ts), declared once through koffi
// for the ABI of this process (abi/index.ts).
//
// Result convention. Every function returns what the call returns when it
// succeeds (>= 0) and -errno when it fails, errno read with koffi.errno()
// immediately after the call, on this thread: koffi reads the calling
// thread's errno when asked rather than capturing it at the call, so nothing
// may run in between. The error path allocates nothing.
//
// Buffers. A typed array (or a subarray view) given for a pointer parameter
// reaches the kernel as the address of its bytes, with no copy: koffi passes
// the view's data pointer as is when the pointee needs no conversion (void *,
// uint32_t *). The buffer must stay untouched during the call, which a
// synchronous call on this thread guarantees. Never pass a number for a
// pointer: koffi takes a number as an address.
//
// Per OS, in this file only:
//   - libraries: sockets from abi.libraries.libsocket (libsocket.so.1 on
//     illumos, where libc.so.1 exports only private _so_* stubs), the rest
//     from abi.libraries.libc;
//   - symbols: on illumos the XPG4.2 entry points Go binds
//     (syscall_solaris.go: __xnet_socket, __xnet_bind, __xnet_connect,
//     __xnet_listen, __xnet_getsockopt); plain names elsewhere;
//   - accept4: bound when the library has it (glibc; illumos since 2013),
//     else accept(2) then fcntl(2) for the flags (libuv's way on SunOS). A
//     kernel that says ENOSYS at run time switches to the fallback for good,
//     as Go's accept does.
//
// Descriptors registered with the poller are closed with netpoll's sysClose
// (which goes through the event-port emulation on Linux when it runs);
// close() here is for descriptors never registered.

import koffi, { type LibraryHandle } from "koffi";

import { abi } from "./abi/index.ts";

const illumos = abi.name === "illumos-amd64";
const libc = koffi.load(abi.libraries.libc);
const libsocket = abi.libraries.libsocket === abi.libraries.libc ? libc : koffi.load(abi.libraries.libsocket);

/** The symbol of each socket call on this OS. */
const sym = illumos
  ? {
      socket: "__xnet_socket",
      bind: "__xnet_bind",
      connect: "__xnet_connect",
      listen: "__xnet_listen",
      getsockopt: "__xnet_getsockopt",
    }
  : { socket: "socket", bind: "bind", connect: "connect", listen: "listen", getsockopt: "getsockopt" };

const c = {
  socket: libsocket.func(`int ${sym.socket}(int domain, int type, int protocol)`) as (d: number, t: number, p: number) => number,
  bind: libsocket.func(`int ${sym.bind}(int fd, const void *addr, uint32_t len)`) as (fd: number, sa: Uint8Array, len: number) => number,
  listen: libsocket.func(`int ${sym.listen}(int fd, int backlog)`) as (fd: number, backlog: number) => number,
  accept: libsocket.func("int accept(int fd, void *addr, uint32_t *len)") as (fd: number, sa: Uint8Array, len: Uint32Array) => number,
  connect: libsocket.func(`int ${sym.connect}(int fd, const void *addr, uint32_t len)`) as (
    fd: number,
    sa: Uint8Array,
    len: number,
  ) => number,
  send: libsocket.func("intptr_t send(int fd, const void *buf, size_t n, int flags)") as (
    fd: number,
    buf: Uint8Array,
    n: number,
    flags: number,
  ) => number,
  shutdown: libsocket.func("int shutdown(int fd, int how)") as (fd: number, how: number) => number,
  setsockopt: libsocket.func("int setsockopt(int fd, int level, int name, const void *val, uint32_t len)") as (
    fd: number,
    level: number,
    name: number,
    val: Uint8Array | Int32Array,
    len: number,
  ) => number,
  getsockopt: libsocket.func(`int ${sym.getsockopt}(int fd, int level, int name, void *val, uint32_t *len)`) as (
    fd: number,
    level: number,
    name: number,
    val: Uint8Array | Int32Array,
    len: Uint32Array,
  ) => number,
  getsockname: libsocket.func("int getsockname(int fd, void *addr, uint32_t *len)") as (
    fd: number,
    sa: Uint8Array,
    len: Uint32Array,
  ) => number,
  getpeername: libsocket.func("int getpeername(int fd, void *addr, uint32_t *len)") as (
    fd: number,
    sa: Uint8Array,
    len: Uint32Array,
  ) => number,
  read: libc.func("intptr_t read(int fd, void *buf, size_t n)") as (fd: number, buf: Uint8Array, n: number) => number,
  write: libc.func("intptr_t write(int fd, const void *buf, size_t n)") as (fd: number, buf: Uint8Array, n: number) => number,
  // Variadic in C: the third argument is passed as ("int", value).
  fcntl: libc.func("int fcntl(int fd, int cmd, ...)") as (fd: number, cmd: number, type: "int", arg: number) => number,
  close: libc.func("int close(int fd)") as (fd: number) => number,
};

type Accept4 = (fd: number, sa: Uint8Array, len: Uint32Array, flags: number) => number;

let accept4Fn: Accept4 | null = bindOptional<Accept4>(libsocket, "int accept4(int fd, void *addr, uint32_t *len, int flags)");

function bindOptional<F>(lib: LibraryHandle, decl: string): F | null {
  try {
    return lib.func(decl) as F;
  } catch {
    return null; // "Cannot find function": this libc predates it
  }
}

/** What accept4 is on this system: "accept4", or "accept+fcntl" (the fallback). */
export function acceptKind(): "accept4" | "accept+fcntl" {
  return accept4Fn === null ? "accept+fcntl" : "accept4";
}

function ret(r: number): number {
  return r >= 0 ? r : -koffi.errno();
}

export function socket(domain: number, type: number, protocol = 0): number {
  return ret(c.socket(domain, type, protocol));
}

/** bind(2) with an address from encodeSockaddr (its length is the address length). */
export function bind(fd: number, sa: Uint8Array): number {
  return ret(c.bind(fd, sa, sa.length));
}

export function listen(fd: number, backlog: number): number {
  return ret(c.listen(fd, backlog));
}

/**
 * accept4(2): a new descriptor, with the peer's address in sa and its length
 * in salen[0] (set salen[0] to sa.length before). flags: SOCK_NONBLOCK |
 * SOCK_CLOEXEC of this OS.
 */
export function accept4(fd: number, sa: Uint8Array, salen: Uint32Array, flags: number): number {
  if (accept4Fn !== null) {
    const r = accept4Fn(fd, sa, salen, flags);
    if (r >= 0) return r;
    const errno = koffi.errno();
    if (errno !== abi.errno.ENOSYS) return -errno;
    accept4Fn = null; // the kernel lacks it: fall back from now on
  }
  const s = c.accept(fd, sa, salen);
  if (s < 0) return -koffi.errno();
  // Not atomic, unlike accept4: a fork in between would inherit s. Node forks
  // only on this thread (child_process), so not in between.
  const { SOCK_NONBLOCK, SOCK_CLOEXEC } = abi.socket;
  const F = abi.fcntl;
  let r = 0;
  if ((flags & SOCK_CLOEXEC) !== 0) r = c.fcntl(s, F.F_SETFD, "int", F.FD_CLOEXEC);
  if (r >= 0 && (flags & SOCK_NONBLOCK) !== 0) {
    const fl = c.fcntl(s, F.F_GETFL, "int", 0);
    r = fl < 0 ? fl : c.fcntl(s, F.F_SETFL, "int", fl | F.O_NONBLOCK);
  }
  if (r < 0) {
    const errno = koffi.errno();
    c.close(s);
    return -errno;
  }
  return s;
}

/** connect(2) with an address from encodeSockaddr. */
export function connect(fd: number, sa: Uint8Array): number {
  return ret(c.connect(fd, sa, sa.length));
}

/** read(2) into all of buf. */
export function read(fd: number, buf: Uint8Array): number {
  return ret(c.read(fd, buf, buf.length));
}

/** write(2) of all of buf. */
export function write(fd: number, buf: Uint8Array): number {
  return ret(c.write(fd, buf, buf.length));
}

/** send(2) of all of buf; pass MSG_NOSIGNAL so a closed peer is EPIPE, not SIGPIPE. */
export function send(fd: number, buf: Uint8Array, flags: number): number {
  return ret(c.send(fd, buf, buf.length, flags));
}

export function shutdown(fd: number, how: number): number {
  return ret(c.shutdown(fd, how));
}

/** setsockopt(2) with the option value's bytes (an Int32Array(1) for an int option). */
export function setsockopt(fd: number, level: number, name: number, val: Uint8Array | Int32Array): number {
  return ret(c.setsockopt(fd, level, name, val, val.byteLength));
}

/** getsockopt(2): the value into val, its length in vallen[0] (set it to val.byteLength before). */
export function getsockopt(fd: number, level: number, name: number, val: Uint8Array | Int32Array, vallen: Uint32Array): number {
  return ret(c.getsockopt(fd, level, name, val, vallen));
}

/** getsockname(2): the address into sa, its length in salen[0] (set it to sa.length before). */
export function getsockname(fd: number, sa: Uint8Array, salen: Uint32Array): number {
  return ret(c.getsockname(fd, sa, salen));
}

/** getpeername(2), as getsockname. ENOTCONN when not connected. */
export function getpeername(fd: number, sa: Uint8Array, salen: Uint32Array): number {
  return ret(c.getpeername(fd, sa, salen));
}

/** fcntl(2) with an int argument (F_GETFD, F_SETFD, F_GETFL, F_SETFL...). */
export function fcntl(fd: number, cmd: number, arg = 0): number {
  return ret(c.fcntl(fd, cmd, "int", arg));
}

/** close(2), not retried on EINTR (Linux closes the descriptor anyway). Only for descriptors never registered with the poller. */
export function close(fd: number): number {
  return ret(c.close(fd));
}

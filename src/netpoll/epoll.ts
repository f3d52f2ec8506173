// The Linux backend: epoll, as Go's netpoll_epoll.go.
//
// Each descriptor is registered once, edge-triggered, for
// EPOLLIN|EPOLLOUT|EPOLLRDHUP|EPOLLET, with the cookie (slot, fdseq) in
// epoll_data; there is nothing to re-arm. A wait is broken by writing to an
// eventfd registered level-triggered; only a blocking poll reads it back
// and clears CTL_BREAK, so a non-blocking poll cannot swallow the wake-up
// meant for the worker (Go's netpollBreak / netpollWakeSig).
//
// struct epoll_event is packed on x86_64: events (u32) at 0, data (u64) at 4,
// 12 bytes.

import koffi from "koffi";

import { abi } from "../runtime/abi/index.ts";
import { modeOf, type Backend, type BackendHandles, type OnParked } from "./backend.ts";
import {
  CTL_BREAK,
  PD_FDSEQ,
  lockPd,
  pdRead,
  publishHup,
  publishReady,
  unlockPd,
  type Shm,
} from "./shm.ts";

const EV = abi.epoll!;
const EVENT_SIZE = 12;
/** Events taken per epoll_wait, as Go's netpoll (128). */
const MAX_EVENTS = 128;
/** Cookie of the eventfd: no slot has this index. */
const WAKE_PD = 0xffffffff;
const EFD_NONBLOCK = 0o4000;
const EFD_CLOEXEC = 0o2000000;

interface EpollCalls {
  epoll_create1(flags: number): number;
  epoll_ctl(epfd: number, op: number, fd: number, ev: Uint8Array | null): number;
  epoll_wait(epfd: number, events: Uint8Array, max: number, timeout: number): number;
  eventfd(initval: number, flags: number): number;
  read(fd: number, buf: Uint8Array, n: number): number;
  write(fd: number, buf: Uint8Array, n: number): number;
  close(fd: number): number;
}

/** Bound once per thread, on first use (koffi function objects are per thread). */
let calls: EpollCalls | null = null;

function bind(): EpollCalls {
  if (calls !== null) return calls;
  const lib = koffi.load(abi.libraries.libc);
  calls = {
    epoll_create1: lib.func("int epoll_create1(int flags)"),
    epoll_ctl: lib.func("int epoll_ctl(int epfd, int op, int fd, void *event)"),
    epoll_wait: lib.func("int epoll_wait(int epfd, _Out_ void *events, int maxevents, int timeout)"),
    eventfd: lib.func("int eventfd(unsigned int initval, int flags)"),
    read: lib.func("long read(int fd, _Out_ void *buf, unsigned long count)"),
    write: lib.func("long write(int fd, void *buf, unsigned long count)"),
    close: lib.func("int close(int fd)"),
  };
  return calls;
}

function fail(what: string): never {
  const e = koffi.errno();
  throw new Error(`netpoll: ${what} failed (errno ${e})`);
}

export function openBackend(shm: Shm): Backend {
  const c = bind();
  const epfd = c.epoll_create1(EV.EPOLL_CLOEXEC);
  if (epfd < 0) fail("epoll_create1");
  const wakefd = c.eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC);
  if (wakefd < 0) fail("eventfd");
  const b = new Epoll(shm, { kind: "epoll", pollfd: epfd, wakefd, library: abi.libraries.libc }, true);
  if (b.ctl(EV.EPOLL_CTL_ADD, wakefd, EV.EPOLLIN, WAKE_PD) !== 0) fail("epoll_ctl(eventfd)");
  return b;
}

export function attachBackend(shm: Shm, handles: BackendHandles): Backend {
  bind();
  return new Epoll(shm, handles, false);
}

class Epoll implements Backend {
  readonly handles: BackendHandles;
  private readonly shm: Shm;
  private readonly owner: boolean;
  private readonly c: EpollCalls;
  /** This thread's buffers: koffi writes into them in place. */
  private readonly events = new Uint8Array(MAX_EVENTS * EVENT_SIZE);
  private readonly view = new DataView(this.events.buffer);
  private readonly one = new Uint8Array(EVENT_SIZE);
  private readonly oneView = new DataView(this.one.buffer);
  private readonly u64 = new Uint8Array(8);

  constructor(shm: Shm, handles: BackendHandles, owner: boolean) {
    this.shm = shm;
    this.handles = handles;
    this.owner = owner;
    this.c = bind();
  }

  ctl(op: number, fd: number, events: number, pd: number, seq = 0): number {
    this.oneView.setUint32(0, events >>> 0, true);
    this.oneView.setUint32(4, pd >>> 0, true);
    this.oneView.setUint32(8, seq >>> 0, true);
    return this.c.epoll_ctl(this.handles.pollfd, op, fd, this.one) === 0 ? 0 : koffi.errno();
  }

  open(pd: number, fd: number): number {
    const seq = pdRead(this.shm, pd, PD_FDSEQ); // main thread: fdseq's writer
    return this.ctl(EV.EPOLL_CTL_ADD, fd, EV.EPOLLIN | EV.EPOLLOUT | EV.EPOLLRDHUP | EV.EPOLLET, pd, seq);
  }

  close(_pd: number, fd: number): void {
    this.c.epoll_ctl(this.handles.pollfd, EV.EPOLL_CTL_DEL, fd, null);
  }

  arm(): void {
    // Edge-triggered and registered for both directions once: nothing to arm.
  }

  poll(timeoutMs: number, onParked: OnParked): number {
    const n = this.c.epoll_wait(this.handles.pollfd, this.events, MAX_EVENTS, timeoutMs < 0 ? -1 : Math.ceil(timeoutMs));
    if (n < 0) {
      if (koffi.errno() === abi.errno.EINTR) return 0;
      fail("epoll_wait");
    }
    for (let i = 0; i < n; i++) {
      const base = i * EVENT_SIZE;
      const ev = this.view.getUint32(base, true);
      const pd = this.view.getUint32(base + 4, true);
      const seq = this.view.getUint32(base + 8, true);
      if (pd === WAKE_PD) {
        if (timeoutMs !== 0) this.consumeWake();
        continue;
      }
      const mode = modeOf(ev, EV.EPOLLIN | EV.EPOLLRDHUP, EV.EPOLLOUT, EV.EPOLLHUP | EV.EPOLLERR);
      if (mode !== 0) this.deliver(pd, seq, mode, (ev & (EV.EPOLLRDHUP | EV.EPOLLHUP | EV.EPOLLERR)) !== 0, onParked);
    }
    return n;
  }

  /** Under the lock: drop stale events, publish readiness before unlocking. */
  private deliver(pd: number, seq: number, mode: number, hup: boolean, onParked: OnParked): void {
    const shm = this.shm;
    lockPd(shm, pd);
    if (pdRead(shm, pd, PD_FDSEQ) === seq) {
      if (hup) publishHup(shm, pd);
      if ((mode & 1) !== 0 && publishReady(shm, pd, 1)) onParked(pd, 1, seq);
      if ((mode & 2) !== 0 && publishReady(shm, pd, 2)) onParked(pd, 2, seq);
    }
    unlockPd(shm, pd);
  }

  private consumeWake(): void {
    this.c.read(this.handles.wakefd, this.u64, 8);
    Atomics.store(this.shm.i32, CTL_BREAK, 0);
  }

  wake(): void {
    if (Atomics.compareExchange(this.shm.i32, CTL_BREAK, 0, 1) !== 0) return;
    new DataView(this.u64.buffer).setBigUint64(0, 1n, true);
    if (this.c.write(this.handles.wakefd, this.u64, 8) !== 8 && koffi.errno() !== abi.errno.EAGAIN) fail("eventfd write");
  }

  sysClose(fd: number): number {
    return this.c.close(fd) === 0 ? 0 : koffi.errno();
  }

  destroy(): void {
    if (!this.owner) return;
    this.c.close(this.handles.wakefd);
    this.c.close(this.handles.pollfd);
  }
}


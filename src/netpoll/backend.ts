// The contract between the poller protocol (netpoll.ts, poller-worker.ts)
// and an OS backend, written once, as netpoll.go does. One file per backend:
// epoll.ts (Linux), eventport.ts (illumos event ports, or their emulation on
// Linux). A backend object is per thread: the main thread opens the kernel
// poller (openBackend), the worker attaches to the same kernel objects
// through `handles` (attachBackend in poller-worker.ts).
//
//   open(pd, fd)   registers fd for PollDesc slot pd (cookie: pd and its fdseq).
//                  Returns 0 or an errno. Main thread.
//   close(pd, fd)  deregisters fd (EPOLL_CTL_DEL, port_dissociate) before the
//                  caller's close(2). Main thread, after pollUnblock set closing.
//   arm(pd, mode)  one-shot backends: declares interest in mode (MODE_R/MODE_W)
//                  before a goroutine waits. epoll: nothing to do.
//   poll(timeout, onParked)
//                  waits for events (timeout < 0: forever; 0: just look),
//                  handles each under its PollDesc lock (fdseq check,
//                  re-association, publishReady) and calls onParked for every
//                  direction whose parked goroutine must now be readied.
//                  Returns the number of events handled. Either thread.
//   wake()         makes a blocked poll return (Go's netpollBreak), coalesced
//                  through CTL_BREAK; only a blocking poll resets it. Either thread.
//   sysClose(fd)   close(2) as the backend must see it: on Linux under the
//                  event-port emulation that is the emulation's close, which
//                  drops the fd's associations as illumos does and records the
//                  close for its use-after-close check. The FD layer closes
//                  every polled descriptor through it.
//   destroy()      closes what this thread opened.

import * as epoll from "./epoll.ts";
import * as eventport from "./eventport.ts";
import type { Shm } from "./shm.ts";

export type BackendKind = "epoll" | "eventports";

export type Mode = 1 | 2; // MODE_R | MODE_W

/** Kernel objects a worker needs to attach to the main thread's poller. */
export interface BackendHandles {
  readonly kind: BackendKind;
  readonly pollfd: number;
  /** epoll: the eventfd used to break a wait; event ports: unused (-1). */
  readonly wakefd: number;
  /** event ports: the library bound (libc.so.1, or the emulation). */
  readonly library: string;
}

export type OnParked = (pd: number, mode: Mode, seq: number) => void;

export interface Backend {
  readonly handles: BackendHandles;
  open(pd: number, fd: number): number;
  close(pd: number, fd: number): void;
  arm(pd: number, mode: Mode): void;
  poll(timeoutMs: number, onParked: OnParked): number;
  wake(): void;
  sysClose(fd: number): number;
  destroy(): void;
}

/** Backend factories, one per kind: open (main thread) or attach (worker). */
export interface BackendModule {
  openBackend(shm: Shm): Backend;
  attachBackend(shm: Shm, handles: BackendHandles): Backend;
}

/** The default backend of this OS, or the one NETPOLL_BACKEND / the option names. */
export function backendKind(option?: BackendKind): BackendKind {
  const env = process.env.NETPOLL_BACKEND;
  const kind = option ?? (env === "" ? undefined : env) ?? (process.platform === "sunos" ? "eventports" : "epoll");
  if (kind !== "epoll" && kind !== "eventports") {
    throw new Error(`netpoll: unknown backend ${JSON.stringify(kind)} (NETPOLL_BACKEND=eventports|epoll)`);
  }
  if (kind === "epoll" && process.platform !== "linux") throw new Error("netpoll: epoll needs Linux");
  return kind;
}

/** Both modules bind their libraries only when a backend is opened, so importing both is safe anywhere. */
export function backendModule(kind: BackendKind): BackendModule {
  return kind === "epoll" ? epoll : eventport;
}

/** Poll bits → directions, with HUP and ERR waking both (Go's netpoll_solaris.go and epoll.go). */
export function modeOf(ev: number, inBits: number, outBits: number, bothBits: number): number {
  let mode = 0;
  if ((ev & (inBits | bothBits)) !== 0) mode |= 1;
  if ((ev & (outBits | bothBits)) !== 0) mode |= 2;
  return mode;
}

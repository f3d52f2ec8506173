// The illumos backend: event ports, with the protocol of Go commit 199e7030
// ("runtime: fix use after close race in Solaris network poller", Go issue
// 7410), made one step safer. On Linux the same code runs against
// native/portemu, an emulation with the same prototypes and port_event_t.
//
// Event ports are one-shot: retrieving an event dissociates the descriptor,
// so interest must be associated again. As in Go:
//   - open associates the descriptor with no events, under the PollDesc lock;
//   - arm(pd, mode) takes the lock and calls update(pd, POLLIN or POLLOUT, 0);
//   - update (lock held) returns at once if the PollDesc is closing, computes
//     events = (user & ~clear) | set, calls port_associate only if that
//     changed and is non-zero, and stores events in user;
//   - the poll loop takes up to 128 events with port_getn, derives the mode and
//     the bits to clear from POLLIN|POLLHUP|POLLERR (read) and
//     POLLOUT|POLLHUP|POLLERR (write), re-associates what is still wanted
//     with update(pd, 0, clear) under the lock, and readies the waiters;
//   - close (after pollUnblock set closing under the lock) dissociates.
// The worker thread does that re-association itself, under the lock it
// shares with the main thread, which is why closing must be checked there:
// without it the worker could associate a descriptor the main thread has
// closed, or whose number a new file already reuses (the use after close).
//
// Beyond Go: the event's fdseq is compared with the slot's under the same
// lock, and readiness is published before unlocking. Go checks the tag
// before taking the lock, which leaves a window where a freed and reused
// slot gets a spurious wake-up and loses interest bits
// (../shared/netpoll-protocol.md, section 7.1, model version 3).
//
// Breaking a wait uses port_alert, as Go does today; only a blocking poll
// resets the alert (and CTL_BREAK). ETIME with events delivered is success;
// EINTR and ETIME without events return 0 to the caller's loop.
//
// PROTO_PREFIX in CTL_VARIANT (tests only) restores the protocol before the
// fix: re-association with no lock and no closing or fdseq check.

import koffi from "koffi";

import { abi, eventPortConstants as PORT, illumosPoll as POLL, portEventLayout } from "../runtime/abi/index.ts";
import { modeOf, type Backend, type BackendHandles, type Mode, type OnParked } from "./backend.ts";
import { bindEventPorts, PORT_EVENT_SIZE, portEmuPath, setTimespec, type EventPorts } from "./eventport_ffi.ts";
import {
  CTL_BREAK,
  CTL_VARIANT,
  PD_CLOSING,
  PD_FD,
  PD_FDSEQ,
  PD_USER,
  PROTO_PREFIX,
  cookieOf,
  injectedDelay,
  lockPd,
  pdRead,
  pdw,
  publishHup,
  publishReady,
  unlockPd,
  type Shm,
} from "./shm.ts";

/** Events taken per port_getn, as Go's netpoll (128). */
const MAX_EVENTS = 128;
/** Cookie of the break alert: no slot has this index. */
const WAKE_COOKIE = 0xffffffff;
const OFF_EVENTS = portEventLayout.fields.portev_events.offset;
const OFF_SOURCE = portEventLayout.fields.portev_source.offset;
const OFF_USER = portEventLayout.fields.portev_user.offset;

/** libc.so.1 on illumos; the emulation elsewhere. */
export function eventPortLibrary(): string {
  return process.platform === "sunos" ? abi.libraries.libc : portEmuPath;
}

/** Bound once per thread (koffi function objects are per thread). */
let ports: EventPorts | null = null;

function bind(library: string): EventPorts {
  ports ??= bindEventPorts(library);
  return ports;
}

export function openBackend(shm: Shm): Backend {
  const library = eventPortLibrary();
  const p = bind(library);
  const port = p.port_create();
  if (port < 0) throw new Error(`netpoll: port_create failed (errno ${koffi.errno()})`);
  return new EventPort(shm, { kind: "eventports", pollfd: port, wakefd: -1, library }, true);
}

export function attachBackend(shm: Shm, handles: BackendHandles): Backend {
  return new EventPort(shm, handles, false);
}

class EventPort implements Backend {
  readonly handles: BackendHandles;
  private readonly shm: Shm;
  private readonly owner: boolean;
  private readonly p: EventPorts;
  private readonly port: number;
  /** This thread's port_getn buffers: koffi fills them in place. */
  private readonly list = new Uint8Array(MAX_EVENTS * PORT_EVENT_SIZE);
  private readonly view = new DataView(this.list.buffer);
  private readonly nget = new Uint32Array(1);
  private readonly zero = new BigInt64Array(2);

  constructor(shm: Shm, handles: BackendHandles, owner: boolean) {
    this.shm = shm;
    this.handles = handles;
    this.owner = owner;
    this.p = bind(handles.library);
    this.port = handles.pollfd;
  }

  open(pd: number, fd: number): number {
    const shm = this.shm;
    lockPd(shm, pd);
    Atomics.store(shm.i32, pdw(shm, pd, PD_USER), 0);
    const r = this.p.port_associate(this.port, PORT.PORT_SOURCE_FD, fd, 0, this.cookie(pd));
    const e = r === 0 ? 0 : koffi.errno();
    unlockPd(shm, pd);
    return e;
  }

  close(_pd: number, fd: number): void {
    // ENOENT (a fired one-shot association) is expected and ignored, as in Go.
    this.p.port_dissociate(this.port, PORT.PORT_SOURCE_FD, fd);
  }

  arm(pd: number, mode: Mode): void {
    lockPd(this.shm, pd);
    try {
      this.update(pd, mode === 1 ? POLL.POLLIN : POLL.POLLOUT, 0, true);
    } finally {
      unlockPd(this.shm, pd);
    }
  }

  /**
   * Go's netpollupdate; the caller holds the lock (or, under PROTO_PREFIX,
   * nothing: plain racing reads, as Go's pd.user before 199e7030).
   */
  private update(pd: number, set: number, clear: number, checkClosing: boolean): void {
    const shm = this.shm;
    if (checkClosing && pdRead(shm, pd, PD_CLOSING) !== 0) return;
    const old = pdRead(shm, pd, PD_USER);
    const events = (old & ~clear) | set;
    if (old === events) return;
    const fd = pdRead(shm, pd, PD_FD);
    if (events !== 0 && this.p.port_associate(this.port, PORT.PORT_SOURCE_FD, fd, events, this.cookie(pd)) !== 0) {
      const e = koffi.errno();
      if (checkClosing) throw new Error(`netpoll: port_associate(fd ${fd}) failed (errno ${e})`);
      // PROTO_PREFIX races close by design; the emulation counts what it did.
    }
    Atomics.store(shm.i32, pdw(shm, pd, PD_USER), events);
  }

  private cookie(pd: number): number {
    return cookieOf(pd, pdRead(this.shm, pd, PD_FDSEQ)); // under the lock
  }

  poll(timeoutMs: number, onParked: OnParked): number {
    this.nget[0] = 1;
    const ts = timeoutMs < 0 ? null : this.timespec(timeoutMs);
    const r = this.p.port_getn(this.port, this.list, MAX_EVENTS, this.nget, ts);
    if (r < 0) {
      const e = koffi.errno();
      // Events delivered along with ETIME are real (Go #35261); EINTR leaves nget untrusted.
      if (!(e === abi.errno.ETIME && this.nget[0]! > 0)) {
        if (e === abi.errno.EINTR || e === abi.errno.ETIME) return 0;
        throw new Error(`netpoll: port_getn failed (r ${r}, errno ${e}, nget ${this.nget[0]})`);
      }
    }
    const n = this.nget[0]!;
    for (let i = 0; i < n; i++) this.handle(i, timeoutMs !== 0, onParked);
    return n;
  }

  private handle(i: number, blocking: boolean, onParked: OnParked): void {
    const base = i * PORT_EVENT_SIZE;
    const source = this.view.getUint16(base + OFF_SOURCE, true);
    if (source === PORT.PORT_SOURCE_ALERT) {
      if (blocking) this.resetAlert();
      return;
    }
    const ev = this.view.getInt32(base + OFF_EVENTS, true);
    if (ev === 0) return;
    const pd = this.view.getUint32(base + OFF_USER, true);
    const seq = this.view.getUint32(base + OFF_USER + 4, true);
    const mode = modeOf(ev, POLL.POLLIN, POLL.POLLOUT, POLL.POLLHUP | POLL.POLLERR);
    const clear = ((mode & 1) !== 0 ? POLL.POLLIN : 0) | ((mode & 2) !== 0 ? POLL.POLLOUT : 0);
    const hup = (ev & (POLL.POLLHUP | POLL.POLLERR)) !== 0;
    if (Atomics.load(this.shm.i32, CTL_VARIANT) === PROTO_PREFIX) this.deliverPrefix(pd, seq, mode, clear, onParked);
    else this.deliver(pd, seq, mode, clear, hup, onParked);
  }

  /** The protocol: fdseq check, re-association and publication, all under the lock. */
  private deliver(pd: number, seq: number, mode: number, clear: number, hup: boolean, onParked: OnParked): void {
    const shm = this.shm;
    lockPd(shm, pd);
    try {
      if (pdRead(shm, pd, PD_FDSEQ) !== seq) return; // stale: slot freed since
      injectedDelay(shm);
      if (hup) publishHup(shm, pd);
      if (clear !== 0) this.update(pd, 0, clear, true);
      publish(shm, pd, mode, seq, onParked);
    } finally {
      unlockPd(shm, pd);
    }
  }

  /** Go before 199e7030 (tests only): no lock, no closing or fdseq check. */
  private deliverPrefix(pd: number, seq: number, mode: number, clear: number, onParked: OnParked): void {
    injectedDelay(this.shm);
    if (clear !== 0) this.update(pd, 0, clear, false);
    publish(this.shm, pd, mode, seq, onParked);
  }

  private timespec(ms: number): BigInt64Array {
    return ms === 0 ? this.zero : setTimespec(new BigInt64Array(2), ms);
  }

  private resetAlert(): void {
    if (this.p.port_alert(this.port, 0, 0, 0) < 0) throw new Error(`netpoll: port_alert reset failed (errno ${koffi.errno()})`);
    Atomics.store(this.shm.i32, CTL_BREAK, 0);
  }

  wake(): void {
    if (Atomics.compareExchange(this.shm.i32, CTL_BREAK, 0, 1) !== 0) return;
    if (this.p.port_alert(this.port, PORT.PORT_ALERT_UPDATE, POLL.POLLHUP, WAKE_COOKIE) < 0 && koffi.errno() !== abi.errno.EBUSY) {
      throw new Error(`netpoll: port_alert failed (errno ${koffi.errno()})`);
    }
  }

  sysClose(fd: number): number {
    return this.p.close(fd) === 0 ? 0 : koffi.errno();
  }

  destroy(): void {
    if (this.owner) this.p.close(this.port);
  }
}

function publish(shm: Shm, pd: number, mode: number, seq: number, onParked: OnParked): void {
  if ((mode & 1) !== 0 && publishReady(shm, pd, 1)) onParked(pd, 1, seq);
  if ((mode & 2) !== 0 && publishReady(shm, pd, 2)) onParked(pd, 2, seq);
}

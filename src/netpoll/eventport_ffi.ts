// koffi declarations of illumos event ports: port_create(3C), port_associate,
// port_dissociate, port_getn, port_alert, port_send, and the close(2) that goes
// with them. They are written once, as illumos <port.h> declares them, and
// bound by library path only: libc.so.1 on illumos, or on Linux
// native/build/libportemu.so, which emulates event ports over epoll with the
// same names, constants and port_event_t layout (native/portemu/port.c). The
// emulation also counts protocol violations (use after close, Go issue 7410);
// bindPortEmu adds those counters.
//
// No copies on the hot path. koffi passes a typed array given for a pointer
// parameter as the address of its contents (koffi doc "Output buffers",
// transient pointers), so port_getn fills the caller's Uint8Array of
// max * PORT_EVENT_SIZE bytes in place, reads and updates nget in a
// Uint32Array(1) in place, and reads the timeout from a BigInt64Array(2)
// timespec (null waits forever). Decode the events with readPortEvent over a
// DataView of the same buffer. The buffers must not be touched by another
// thread during the call.
//
// Cookies. illumos declares user and portev_user as void *. They are declared
// uintptr_t here: on amd64 both are a 64-bit integer passed in a register
// (SysV ABI, illumos-abi.json "calling_convention"), so the call is the same,
// but koffi then takes a JS number or bigint as the value itself and rejects
// anything else. As void *, koffi would accept a Buffer and pass the address
// of its bytes, a silent bug for a cookie. The runtime's cookies are integers
// anyway (slot index and generation, netpoll-protocol.md section 9 item 3).
//
// errno: read koffi.errno() right after a failing call, on the same thread.
// Under the emulation errno values are Linux's (ETIME 62, EBADFD 77); under
// illumos, illumos's.
//
// koffi type names are per thread and unique: port_event_t, timespec_t, uint_t
// and portemu_violation_t are declared here, once, at import. Import them,
// don't redeclare them.

import koffi, { type LibraryHandle } from 'koffi';
import { fileURLToPath } from 'node:url';

import { portEventLayout } from '../runtime/abi/index.ts';

/** PORT_SOURCE_* and PORT_ALERT_*, and the poll bits port_associate takes
 * and portev_events carries: illumos's values, on illumos and in the
 * emulation alike. Only errno values differ between the two. */
export {
  eventPortConstants as portConstants, illumosPoll as portPollBits,
} from '../runtime/abi/index.ts';

/** native/build/libportemu.so, built by `npm run build:native`. */
export const portEmuPath = fileURLToPath(
  new URL('../../native/build/libportemu.so', import.meta.url));

export const uintT = koffi.alias('uint_t', 'uint32_t');

export const timespecType = koffi.struct('timespec_t', {
  tv_sec: 'int64_t',
  tv_nsec: 'long',
});

export const portEventType = koffi.struct('port_event_t', {
  portev_events: 'int',
  portev_source: 'ushort',
  portev_pad: 'ushort',
  portev_object: 'uintptr_t',
  portev_user: 'uintptr_t', // void *; see "Cookies" above
});

export const PORT_EVENT_SIZE = portEventLayout.size;

/** A cookie: the user argument of port_associate, port_send, port_alert. */
export type Cookie = number | bigint;

export interface EventPorts {
  /** The library the functions were bound from. */
  readonly path: string;
  port_create(): number;
  port_associate(port: number, source: number, object: number, events: number,
    user: Cookie): number;
  port_dissociate(port: number, source: number, object: number): number;
  port_getn(port: number, list: Uint8Array, max: number, nget: Uint32Array,
    timeout: BigInt64Array | null): number;
  port_alert(port: number, flags: number, events: number, user: Cookie): number;
  port_send(port: number, events: number, user: Cookie): number;
  close(fd: number): number;
}

/** Binds the event-port functions of the library at path. */
export function bindEventPorts(path: string): EventPorts {
  return declareEventPorts(loadLibrary(path), path);
}

/** koffi.load with an error that names the library, which koffi's does not. */
function loadLibrary(path: string): LibraryHandle {
  try {
    return koffi.load(path);
  } catch (e) {
    const hint = path === portEmuPath ? ' (build it with `npm run build:native`)' : '';
    throw new Error(`netpoll: cannot load ${path}${hint}: ${e instanceof Error ? e.message : String(e)}`);
  }
}

function declareEventPorts(lib: LibraryHandle, path: string): EventPorts {
  return {
    path,
    port_create: lib.func('int port_create(void)'),
    port_associate: lib.func(
      'int port_associate(int port, int source, uintptr_t object, int events, uintptr_t user)'),
    port_dissociate: lib.func(
      'int port_dissociate(int port, int source, uintptr_t object)'),
    port_getn: lib.func(
      'int port_getn(int port, port_event_t *list, uint_t max, uint_t *nget, timespec_t *timeout)'),
    port_alert: lib.func('int port_alert(int port, int flags, int events, uintptr_t user)'),
    port_send: lib.func('int port_send(int port, int events, uintptr_t user)'),
    close: lib.func('int close(int fd)'),
  };
}

/** Violation kinds of native/portemu/port.h. */
export const violationKind = {
  /** port_associate with a cookie whose descriptor was closed since. */
  associateAfterClose: 1,
  /** port_associate of a descriptor that is not open. */
  associateBadFd: 2,
  /** port_dissociate of a descriptor that is not open. */
  dissociateBadFd: 3,
} as const;

export type ViolationKind = (typeof violationKind)[keyof typeof violationKind];

export interface Violation {
  readonly kind: ViolationKind;
  /** The descriptor named by the violating call. */
  readonly fd: number;
  /** For associateAfterClose, the descriptor the cookie was closed with. */
  readonly closedFd: number;
  readonly user: bigint;
}

export interface PortEmuDiagnostics {
  /** Violations since load or the last reset, all kinds, all ports. */
  violations(): number;
  violationsOf(kind: ViolationKind): number;
  /** Zeroes the counts; returns the old total. */
  resetViolations(): number;
  /** The most recent violation since the last reset, if any. */
  lastViolation(): Violation | null;
}

export const violationType = koffi.struct('portemu_violation_t', {
  user: 'uintptr_t',
  kind: 'int',
  fd: 'int',
  closed_fd: 'int',
});

/** Binds the event ports of the emulation and its violation counters. */
export function bindPortEmu(path: string = portEmuPath): EventPorts & PortEmuDiagnostics {
  const lib = loadLibrary(path);
  const violations: () => number = lib.func('int portemu_violations(void)');
  const violationsOf: (kind: number) => number = lib.func('int portemu_violations_of(int kind)');
  const resetViolations: () => number = lib.func('int portemu_reset_violations(void)');
  const lastViolation: (out: object) => number = lib.func(
    'int portemu_last_violation(_Out_ portemu_violation_t *out)');
  return {
    ...declareEventPorts(lib, path),
    violations,
    violationsOf,
    resetViolations,
    lastViolation(): Violation | null {
      // koffi overwrites every member (_Out_); uintptr_t may come back as
      // either number or bigint.
      const v = { user: 0 as number | bigint, kind: 0, fd: 0, closed_fd: 0 };
      if (lastViolation(v) === 0) return null;
      return {
        kind: v.kind as ViolationKind,
        fd: v.fd,
        closedFd: v.closed_fd,
        user: BigInt(v.user),
      };
    },
  };
}

export interface PortEvent {
  events: number;
  source: number;
  /** The fd for PORT_SOURCE_FD, 0 for PORT_SOURCE_USER and PORT_SOURCE_ALERT. */
  object: number;
  user: bigint;
}

const F = portEventLayout.fields;

/** Decodes event i of a port_getn list (little-endian: amd64, x86_64). */
export function readPortEvent(list: DataView, i: number): PortEvent {
  const base = i * PORT_EVENT_SIZE;
  return {
    events: list.getInt32(base + F.portev_events.offset, true),
    source: list.getUint16(base + F.portev_source.offset, true),
    object: Number(list.getBigUint64(base + F.portev_object.offset, true)),
    user: list.getBigUint64(base + F.portev_user.offset, true),
  };
}

/** Stores a relative timeout of ms (>= 0) milliseconds into a timespec_t
 * (tv_sec, tv_nsec); 0 polls. */
export function setTimespec(ts: BigInt64Array, ms: number): BigInt64Array {
  const ns = BigInt(Math.round(ms * 1e6));
  ts[0] = ns / 1_000_000_000n;
  ts[1] = ns % 1_000_000_000n;
  return ts;
}

// Socket addresses: the three families the runtime speaks (Go's
// syscall.SockaddrInet4, SockaddrInet6, SockaddrUnix), their kernel encodings
// for an ABI table (sockaddr_in, sockaddr_in6, sockaddr_un), and the text
// forms of IP addresses.
//
// Encoding follows the table's layouts (abi/*.ts): the family is a host-order
// u16 at sin_family/sin6_family/sun_family (both supported OSes are
// little-endian amd64), ports and sin6_flowinfo are big-endian, sin6_scope_id
// is host order. The OSes differ: AF_INET6 is 10 on Linux and 26 on illumos,
// and sockaddr_in6 is 28 bytes on Linux and 32 on illumos (illumos's extra
// __sin6_src_id must be zero, which a fresh buffer is). Every function takes
// the table as a last parameter, the running OS's by default, so both can be
// tested anywhere.
//
// Text forms are Go's: IPv4 is four decimal fields without leading zeros;
// IPv6 is RFC 4291 text in, RFC 5952 text out (lowercase, the longest run of
// two or more zero groups as "::", the first on ties), and an IPv4-mapped
// address (::ffff:a.b.c.d) prints as a.b.c.d, as Go's net.IP.String does. A
// zone ("fe80::1%3") must be numeric: it is sin6_scope_id as is. Names
// ("%eth0") would need if_nametoindex and are an AddrError here.
//
// Unix socket paths are bytes (UTF-8) in sun_path. On Linux a path starting
// with "@" names an abstract socket (sun_path[0] = 0, no trailing NUL counted),
// as Go does; an unnamed socket decodes to path "".

import { isIP } from "node:net";

import { abi as currentAbi, type Abi } from "./abi/index.ts";
import { AddrError } from "./errors.ts";

export class SockaddrInet4 {
  readonly family = "inet4" as const;
  /** 4 bytes, network order. */
  readonly addr: Uint8Array;
  /** 0..65535. */
  readonly port: number;

  constructor(addr: Uint8Array, port: number) {
    if (addr.length !== 4) throw new RangeError(`sockaddr: an IPv4 address is 4 bytes, not ${addr.length}`);
    checkPortNumber(port);
    this.addr = addr;
    this.port = port;
  }

  /** The IP as text ("127.0.0.1"). */
  ip(): string {
    return formatIPv4(this.addr);
  }

  /** "127.0.0.1:80", as Go's TCPAddr.String. */
  toString(): string {
    return joinHostPort(this.ip(), this.port);
  }
}

export class SockaddrInet6 {
  readonly family = "inet6" as const;
  /** 16 bytes, network order. */
  readonly addr: Uint8Array;
  readonly port: number;
  /** sin6_scope_id: the interface of a link-local address; 0 for none. */
  readonly scopeId: number;
  /** sin6_flowinfo (traffic class and flow label); usually 0. */
  readonly flowinfo: number;

  constructor(addr: Uint8Array, port: number, scopeId = 0, flowinfo = 0) {
    if (addr.length !== 16) throw new RangeError(`sockaddr: an IPv6 address is 16 bytes, not ${addr.length}`);
    checkPortNumber(port);
    if (!isU32(scopeId)) throw new RangeError(`sockaddr: bad scope id ${scopeId}`);
    if (!isU32(flowinfo)) throw new RangeError(`sockaddr: bad flowinfo ${flowinfo}`);
    this.addr = addr;
    this.port = port;
    this.scopeId = scopeId;
    this.flowinfo = flowinfo;
  }

  /** The IP as text, with its zone if any ("fe80::1%2"). */
  ip(): string {
    const s = formatIPv6(this.addr);
    return this.scopeId === 0 ? s : `${s}%${this.scopeId}`;
  }

  /** "[::1]:80", as Go's TCPAddr.String. */
  toString(): string {
    return joinHostPort(this.ip(), this.port);
  }
}

export class SockaddrUnix {
  readonly family = "unix" as const;
  /** The path; "@name" for a Linux abstract socket; "" for an unnamed socket. */
  readonly path: string;

  constructor(path: string) {
    this.path = path;
  }

  toString(): string {
    return this.path;
  }
}

export type Sockaddr = SockaddrInet4 | SockaddrInet6 | SockaddrUnix;

/** Bytes to allocate for any address the kernel may return (sizeof(struct sockaddr_storage)). */
export function sockaddrStorageSize(table: Abi = currentAbi): number {
  return table.structs.sockaddr_storage.size;
}

/** The AF_* constant of sa's family, for socket(2). */
export function familyOf(sa: Sockaddr, table: Abi = currentAbi): number {
  switch (sa.family) {
    case "inet4":
      return table.socket.AF_INET;
    case "inet6":
      return table.socket.AF_INET6;
    case "unix":
      return table.socket.AF_UNIX;
  }
}

// ---- the kernel encoding --------------------------------------------------------------

/**
 * sa as the kernel takes it (bind, connect): a buffer whose length is the
 * address length to pass. Throws AddrError for a unix path that does not fit.
 */
export function encodeSockaddr(sa: Sockaddr, table: Abi = currentAbi): Uint8Array {
  switch (sa.family) {
    case "inet4": {
      const L = table.structs.sockaddr_in;
      const b = new Uint8Array(L.size);
      const v = view(b);
      v.setUint16(L.fields.sin_family.offset, table.socket.AF_INET, true);
      v.setUint16(L.fields.sin_port.offset, sa.port, false);
      b.set(sa.addr, L.fields.sin_addr.offset);
      return b;
    }
    case "inet6": {
      const L = table.structs.sockaddr_in6;
      const b = new Uint8Array(L.size);
      const v = view(b);
      v.setUint16(L.fields.sin6_family.offset, table.socket.AF_INET6, true);
      v.setUint16(L.fields.sin6_port.offset, sa.port, false);
      v.setUint32(L.fields.sin6_flowinfo.offset, sa.flowinfo, false);
      b.set(sa.addr, L.fields.sin6_addr.offset);
      v.setUint32(L.fields.sin6_scope_id.offset, sa.scopeId, true);
      return b;
    }
    case "unix":
      return encodeUnix(sa.path, table);
  }
}

/**
 * Go's SockaddrUnix.sockaddr: the length counts the path and its NUL; an
 * abstract name ("@" on Linux) has sun_path[0] = 0 and no NUL counted; a path
 * that fills sun_path exactly is allowed only if abstract.
 */
function encodeUnix(path: string, table: Abi): Uint8Array {
  const L = table.structs.sockaddr_un;
  const cap = L.fields.sun_path.size;
  const name = new TextEncoder().encode(path);
  const n = name.length;
  if (name.includes(0) && !(abstractNames(table) && name[0] === 0x40)) {
    throw new AddrError("unix socket path contains a NUL byte", path);
  }
  if (n > cap || (n === cap && !(abstractNames(table) && name[0] === 0x40))) {
    throw new AddrError(`unix socket path longer than ${cap - 1} bytes`, path);
  }
  const base = L.fields.sun_path.offset;
  const b = new Uint8Array(L.size);
  view(b).setUint16(L.fields.sun_family.offset, table.socket.AF_UNIX, true);
  b.set(name, base);
  let len = base; // the family alone: an unnamed address (autobind)
  if (n > 0) len += n + 1;
  if (abstractNames(table) && n > 0 && name[0] === 0x40) {
    b[base] = 0;
    len--; // no trailing NUL for an abstract name
  }
  return b.subarray(0, Math.min(len, L.size));
}

/** Linux has abstract unix socket names; illumos does not. */
function abstractNames(table: Abi): boolean {
  return table.name === "linux-x64";
}

/**
 * The address in the first len bytes of buf, as accept, getsockname and
 * getpeername return it. null when there is none: len too short for a
 * family, AF_UNSPEC, or a family the runtime does not speak.
 */
export function decodeSockaddr(buf: Uint8Array, len: number, table: Abi = currentAbi): Sockaddr | null {
  len = Math.min(len, buf.length);
  if (len < 2) return null;
  const v = view(buf);
  const family = v.getUint16(0, true); // sa_family is at 0 in every layout
  const S = table.structs;
  if (family === table.socket.AF_INET) {
    if (len < S.sockaddr_in.size) return null;
    const F = S.sockaddr_in.fields;
    return new SockaddrInet4(
      buf.slice(F.sin_addr.offset, F.sin_addr.offset + 4),
      v.getUint16(F.sin_port.offset, false),
    );
  }
  if (family === table.socket.AF_INET6) {
    const F = S.sockaddr_in6.fields;
    if (len < F.sin6_scope_id.offset + 4) return null;
    return new SockaddrInet6(
      buf.slice(F.sin6_addr.offset, F.sin6_addr.offset + 16),
      v.getUint16(F.sin6_port.offset, false),
      v.getUint32(F.sin6_scope_id.offset, true),
      v.getUint32(F.sin6_flowinfo.offset, false),
    );
  }
  if (family === table.socket.AF_UNIX) {
    const base = S.sockaddr_un.fields.sun_path.offset;
    let bytes = buf.subarray(base, Math.max(base, len));
    if (bytes.length === 0) return new SockaddrUnix("");
    let prefix = "";
    if (bytes[0] === 0 && bytes.length > 1 && abstractNames(table)) {
      prefix = "@"; // abstract: the name is every byte of the length, NULs included
      bytes = bytes.subarray(1);
    } else {
      const nul = bytes.indexOf(0);
      if (nul >= 0) bytes = bytes.subarray(0, nul);
    }
    return new SockaddrUnix(prefix + new TextDecoder().decode(bytes));
  }
  return null;
}

function view(b: Uint8Array): DataView {
  return new DataView(b.buffer, b.byteOffset, b.byteLength);
}

// ---- building addresses from text ---------------------------------------------------

/** An IPv4 address from text or bytes, and a port. Throws AddrError. */
export function inet4(ip: string | Uint8Array, port: number): SockaddrInet4 {
  const b = typeof ip === "string" ? parseIPv4(ip) : ip;
  if (b === null || b.length !== 4) throw new AddrError("not an IPv4 address", String(ip));
  return new SockaddrInet4(b, checkPort(port, String(ip)));
}

/** An IPv6 address from text (a numeric zone allowed) or bytes, and a port. Throws AddrError. */
export function inet6(ip: string | Uint8Array, port: number, scopeId = 0): SockaddrInet6 {
  if (typeof ip !== "string") {
    if (ip.length !== 16) throw new AddrError("not an IPv6 address", `${ip.length} bytes`);
    return new SockaddrInet6(ip, checkPort(port, formatIPv6(ip)), scopeId);
  }
  const [host, zone] = splitZone(ip);
  const b = parseIPv6(host);
  if (b === null) throw new AddrError("not an IPv6 address", ip);
  return new SockaddrInet6(b, checkPort(port, ip), zone === null ? scopeId : parseZone(zone, ip));
}

/** A unix socket address. */
export function unix(path: string): SockaddrUnix {
  return new SockaddrUnix(path);
}

/**
 * A literal IP (v4, or v6 with an optional numeric zone) and a port: the
 * family follows the text, as Go's net.ParseIP does. No name lookup.
 */
export function sockaddrOf(ip: string, port: number): SockaddrInet4 | SockaddrInet6 {
  const [host, zone] = splitZone(ip);
  if (zone === null) {
    const v4 = parseIPv4(host);
    if (v4 !== null) return new SockaddrInet4(v4, checkPort(port, ip));
  }
  const v6 = parseIPv6(host);
  if (v6 === null) throw new AddrError("not an IP address", ip);
  return new SockaddrInet6(v6, checkPort(port, ip), zone === null ? 0 : parseZone(zone, ip));
}

/** "host:port" with a literal IP ("127.0.0.1:80", "[::1]:80", "[fe80::1%2]:80"). Throws AddrError. */
export function parseAddrPort(hostport: string): SockaddrInet4 | SockaddrInet6 {
  const [host, port] = splitHostPort(hostport);
  return sockaddrOf(host, parsePort(port, hostport));
}

/** Go's net.SplitHostPort: "host:port", "[v6]:port". Throws AddrError with Go's messages. */
export function splitHostPort(hostport: string): [host: string, port: string] {
  const missingPort = "missing port in address";
  const tooManyColons = "too many colons in address";
  const i = hostport.lastIndexOf(":");
  if (i < 0) throw new AddrError(missingPort, hostport);
  let host: string;
  let j = 0;
  let k = 0;
  if (hostport[0] === "[") {
    const end = hostport.indexOf("]");
    if (end < 0) throw new AddrError("missing ']' in address", hostport);
    if (end + 1 === hostport.length) throw new AddrError(missingPort, hostport);
    if (end + 1 !== i) {
      // Either ']' isn't followed by a colon, or it is followed by a colon that is not the last one.
      if (hostport[end + 1] === ":") throw new AddrError(tooManyColons, hostport);
      throw new AddrError(missingPort, hostport);
    }
    host = hostport.slice(1, end);
    j = 1;
    k = end + 1;
  } else {
    host = hostport.slice(0, i);
    if (host.includes(":")) throw new AddrError(tooManyColons, hostport);
  }
  if (hostport.indexOf("[", j) >= 0) throw new AddrError("unexpected '[' in address", hostport);
  if (hostport.indexOf("]", k) >= 0) throw new AddrError("unexpected ']' in address", hostport);
  return [host, hostport.slice(i + 1)];
}

/** Go's net.JoinHostPort: brackets a host that contains a colon. */
export function joinHostPort(host: string, port: number | string): string {
  return host.includes(":") ? `[${host}]:${port}` : `${host}:${port}`;
}

/** A decimal port 0..65535 ("" is 0, as Go's dial takes it). Throws AddrError "invalid port". */
export function parsePort(port: string, addr: string = port): number {
  if (port === "") return 0;
  if (!/^[0-9]+$/.test(port)) throw new AddrError("invalid port", addr);
  const n = Number(port);
  if (n > 65535) throw new AddrError("invalid port", addr);
  return n;
}

function checkPort(port: number, addr: string): number {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new AddrError("invalid port", joinHostPort(addr, port));
  return port;
}

function checkPortNumber(port: number): void {
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new RangeError(`sockaddr: bad port ${port}`);
}

function isU32(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= 0xffffffff;
}

function splitZone(ip: string): [host: string, zone: string | null] {
  const i = ip.indexOf("%");
  return i < 0 ? [ip, null] : [ip.slice(0, i), ip.slice(i + 1)];
}

function parseZone(zone: string, addr: string): number {
  if (!/^[0-9]+$/.test(zone) || !isU32(Number(zone))) {
    throw new AddrError("zone must be a numeric interface index", addr);
  }
  return Number(zone);
}

// ---- IP text -------------------------------------------------------------------------

/** Dotted decimal to 4 bytes; null if s is not one (leading zeros are rejected, as Go does). */
export function parseIPv4(s: string): Uint8Array | null {
  if (isIP(s) !== 4) return null;
  const parts = s.split(".");
  const b = new Uint8Array(4);
  for (let i = 0; i < 4; i++) b[i] = Number(parts[i]);
  return b;
}

/** RFC 4291 text (no zone) to 16 bytes; null if s is not one. */
export function parseIPv6(s: string): Uint8Array | null {
  if (s.includes("%") || isIP(s) !== 6) return null;
  const b = new Uint8Array(16);
  const dv = view(b);
  const halves = s.split("::");
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === "") return [];
    const out: number[] = [];
    const parts = h.split(":");
    for (let i = 0; i < parts.length; i++) {
      const p = parts[i]!;
      if (p.includes(".")) {
        // An embedded IPv4 tail: two groups.
        const v4 = i === parts.length - 1 ? parseIPv4(p) : null;
        if (v4 === null) return null;
        out.push((v4[0]! << 8) | v4[1]!, (v4[2]! << 8) | v4[3]!);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(p)) return null;
        out.push(parseInt(p, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]!);
  const tail = halves.length === 2 ? groups(halves[1]!) : [];
  if (head === null || tail === null) return null;
  if (halves.length === 1 ? head.length !== 8 : head.length + tail.length > 7) return null;
  head.forEach((g, i) => dv.setUint16(i * 2, g, false));
  tail.forEach((g, i) => dv.setUint16(16 - (tail.length - i) * 2, g, false));
  return b;
}

/** A 4- or 16-byte address from text (v4 first, as Go's ParseIP); null if neither. No zone. */
export function parseIP(s: string): Uint8Array | null {
  return parseIPv4(s) ?? parseIPv6(s);
}

export function formatIPv4(b: Uint8Array): string {
  if (b.length !== 4) throw new RangeError(`formatIPv4: ${b.length} bytes`);
  return `${b[0]}.${b[1]}.${b[2]}.${b[3]}`;
}

/** RFC 5952, with IPv4-mapped addresses as dotted quads (Go's net.IP.String). */
export function formatIPv6(b: Uint8Array): string {
  if (b.length !== 16) throw new RangeError(`formatIPv6: ${b.length} bytes`);
  if (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff) return formatIPv4(b.subarray(12));
  const g: number[] = [];
  for (let i = 0; i < 16; i += 2) g.push((b[i]! << 8) | b[i + 1]!);
  // The longest run of zero groups, at least two long; the first on ties.
  let best = -1;
  let bestLen = 1;
  for (let i = 0; i < 8; ) {
    if (g[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && g[j] === 0) j++;
    if (j - i > bestLen) {
      best = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = (xs: number[]): string => xs.map((x) => x.toString(16)).join(":");
  if (best < 0) return hex(g);
  return `${hex(g.slice(0, best))}::${hex(g.slice(best + bestLen))}`;
}

/** A 4- or 16-byte address as text. */
export function formatIP(b: Uint8Array): string {
  return b.length === 4 ? formatIPv4(b) : formatIPv6(b);
}

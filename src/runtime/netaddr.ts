// Network addresses for the net API (net.ts): Go's TCPAddr and UnixAddr, the
// networks it speaks, and the resolution of "host:port" text into socket
// addresses (Go's ipsock.go internetAddrList, lookup.go LookupPort,
// ipsock_posix.go favoriteAddrFamily).
//
// Resolution, as Go:
//   - "host:port" is split by splitHostPort (AddrError "missing port in
//     address"...). The port is decimal 0..65535 or a service name from
//     /etc/services ("http"); a number out of range is AddrError "invalid
//     port" with the port as its address ("address 70000: invalid port"),
//     an unknown name is DNSError "lookup tcp/name: unknown port".
//   - A literal IP (v4, or v6 with a numeric zone) is used as is; it must
//     suit the network (tcp4: IPv4, IPv4-mapped included; tcp6: IPv6), else
//     AddrError "no suitable address found".
//   - Any other host is looked up with dns.ts's lookupIP (getaddrinfo in the
//     blocking pool), bounded by the caller's context.
//   - An empty host, or a wildcard (0.0.0.0, ::) to listen on: on "tcp", a
//     dual-stack [::] socket (IPV6_V6ONLY off) when the host can map IPv4
//     into IPv6, else 0.0.0.0; "tcp4" 0.0.0.0; "tcp6" [::]. So, as in Go,
//     listen("tcp", ":7000") and listen("tcp", "0.0.0.0:7000") both report
//     "[::]:7000" on a host with IPv6. An empty host to dial is loopback
//     (127.0.0.1, or ::1 for tcp6), where Go dials the unspecified address,
//     which the kernel also takes as the local host.
//
// Departure: Go dials a name's addresses in two racing groups (happy
// eyeballs, RFC 6555); here they are tried one after the other, in the
// resolver's order (see dial in net.ts).

import { readFileSync } from "node:fs";

import type { Op } from "../sched/g.ts";
import type { Context } from "../sched/context.ts";
import { abi } from "./abi/index.ts";
import { DNSError } from "./dnserror.ts";
import { lookupIP } from "./dns.ts";
import { AddrError, type NetError } from "./errors.ts";
import * as libc from "./libc.ts";
import {
  SockaddrInet4,
  SockaddrInet6,
  encodeSockaddr,
  formatIPv6,
  joinHostPort,
  sockaddrOf,
  splitHostPort,
  type Sockaddr,
} from "./sockaddr.ts";

const S = abi.socket;

/** The networks of listen and dial. */
export type TCPNetwork = "tcp" | "tcp4" | "tcp6";
export type Network = TCPNetwork | "unix";

/** Go's net.Addr: the network name and the address as text. */
export interface Addr {
  network(): string;
  toString(): string;
}

/** A TCP endpoint (Go's net.TCPAddr). toString gives "127.0.0.1:7000", "[::1]:7000", "[fe80::1%2]:80". */
export class TCPAddr implements Addr {
  /** The IP as text: dotted quad for IPv4 and IPv4-mapped addresses, RFC 5952 for IPv6. */
  readonly ip: string;
  readonly port: number;
  /** The IPv6 zone (a numeric scope id here), "" for none. */
  readonly zone: string;

  constructor(ip: string, port: number, zone = "") {
    this.ip = ip;
    this.port = port;
    this.zone = zone;
  }

  network(): string {
    return "tcp";
  }

  toString(): string {
    return joinHostPort(this.zone === "" ? this.ip : `${this.ip}%${this.zone}`, this.port);
  }

  /** The address from a kernel socket address. */
  static of(sa: SockaddrInet4 | SockaddrInet6): TCPAddr {
    if (sa.family === "inet4") return new TCPAddr(sa.ip(), sa.port);
    return new TCPAddr(formatIPv6(sa.addr), sa.port, sa.scopeId === 0 ? "" : String(sa.scopeId));
  }
}

/** A unix socket endpoint (Go's net.UnixAddr): toString is the path ("" for an unnamed socket, "@name" for an abstract one). */
export class UnixAddr implements Addr {
  readonly name: string;
  readonly net: string;

  constructor(name: string, net = "unix") {
    this.name = name;
    this.net = net;
  }

  network(): string {
    return this.net;
  }

  toString(): string {
    return this.name;
  }
}

/** The Addr of a kernel socket address, for a connection or listener of `network`. */
export function addrOf(sa: Sockaddr): TCPAddr | UnixAddr {
  return sa.family === "unix" ? new UnixAddr(sa.path) : TCPAddr.of(sa);
}

/** Go's net.UnknownNetworkError: "unknown network udp". */
export class UnknownNetworkError extends Error implements NetError {
  override name = "UnknownNetworkError";
  readonly network: string;

  constructor(network: string) {
    super(`unknown network ${network}`);
    this.network = network;
  }
  timeout(): boolean {
    return false;
  }
  temporary(): boolean {
    return false;
  }
}

/** Throws UnknownNetworkError unless network is one this runtime speaks. */
export function checkNetwork(network: string): asserts network is Network {
  if (network !== "tcp" && network !== "tcp4" && network !== "tcp6" && network !== "unix") {
    throw new UnknownNetworkError(network);
  }
}

// ---- ports -------------------------------------------------------------------------

let services: Map<string, number> | null = null;

/** /etc/services' TCP entries (names and aliases), read once. */
function servicePorts(): Map<string, number> {
  if (services !== null) return services;
  services = new Map();
  let text = "";
  try {
    text = readFileSync("/etc/services", "utf8");
  } catch {
    // no file: only Go's built-in few below
  }
  for (const line of text.split("\n")) {
    const f = line.replace(/#.*/, "").trim().split(/\s+/);
    const m = /^(\d+)\/tcp$/.exec(f[1] ?? "");
    if (m === null) continue;
    for (const name of [f[0]!, ...f.slice(2)]) if (!services.has(name)) services.set(name, Number(m[1]));
  }
  // Go's fallback table (lookup.go services), for a system without the file.
  for (const [name, port] of [
    ["domain", 53],
    ["ftp", 21],
    ["ftps", 990],
    ["gopher", 70],
    ["http", 80],
    ["https", 443],
    ["imap2", 143],
    ["imap3", 220],
    ["imaps", 993],
    ["pop3", 110],
    ["pop3s", 995],
    ["smtp", 25],
    ["submissions", 465],
    ["ssh", 22],
    ["telnet", 23],
  ] as const) {
    if (!services.has(name)) services.set(name, port);
  }
  return services;
}

/**
 * Go's LookupPort for TCP: "" is 0, a decimal number (an optional sign, as
 * Go) must be 0..65535, anything else is a service name.
 */
export function lookupPort(network: string, service: string): number {
  if (service === "") return 0;
  const m = /^([+-]?)(\d+)$/.exec(service);
  if (m !== null) {
    const n = m[1] === "-" ? -Number(m[2]) : Number(m[2]);
    if (n < 0 || n > 65535) throw new AddrError("invalid port", service);
    return n;
  }
  const port = servicePorts().get(service.toLowerCase());
  if (port === undefined) {
    throw new DNSError({ err: "unknown port", host: `${network}/${service}`, isNotFound: true });
  }
  return port;
}

// ---- what the host can do ---------------------------------------------------------------

let ipv6: { v6: boolean; v4map: boolean } | null = null;

/** Whether this host has IPv6 loopback, and maps IPv4 into IPv6 sockets (Go's supportsIPv6/supportsIPv4map probes). */
export function ipStackCapabilities(): { v6: boolean; v4map: boolean } {
  if (ipv6 !== null) return ipv6;
  const probe = (addr: string, v6only: number): boolean => {
    const s = libc.socket(S.AF_INET6, S.SOCK_STREAM | S.SOCK_CLOEXEC);
    if (s < 0) return false;
    try {
      if (libc.setsockopt(s, S.IPPROTO_IPV6, S.IPV6_V6ONLY, Int32Array.of(v6only)) < 0) return false;
      return libc.bind(s, encodeSockaddr(sockaddrOf(addr, 0))) === 0;
    } finally {
      libc.close(s);
    }
  };
  ipv6 = { v6: probe("::1", 1), v4map: probe("::ffff:127.0.0.1", 0) };
  return ipv6;
}

// ---- resolution --------------------------------------------------------------------------

/** A resolved TCP address: the socket address, and whether its socket is IPv6-only (Go's ipv6only). */
export interface TCPTarget {
  readonly sa: SockaddrInet4 | SockaddrInet6;
  /** IPV6_V6ONLY for an IPv6 socket: on for "tcp6" (as Go), off otherwise (a dual-stack wildcard). */
  readonly v6only: boolean;
}

function isWildcard(sa: SockaddrInet4 | SockaddrInet6): boolean {
  return sa.addr.every((b) => b === 0);
}

function isIPv4(sa: SockaddrInet4 | SockaddrInet6): boolean {
  if (sa.family === "inet4") return true;
  const b = sa.addr;
  return b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff;
}

function suits(network: TCPNetwork, sa: SockaddrInet4 | SockaddrInet6): boolean {
  return network === "tcp" || (network === "tcp4") === isIPv4(sa);
}

/** The IPv4 form of an IPv4 or IPv4-mapped address, for a tcp4 socket. */
function asInet4(sa: SockaddrInet4 | SockaddrInet6): SockaddrInet4 {
  return sa.family === "inet4" ? sa : new SockaddrInet4(sa.addr.slice(12), sa.port);
}

/**
 * The candidate addresses of "host:port" on a TCP network, for `mode`.
 * listen: one address (the first IPv4 one, as Go); dial: all of them, in
 * the resolver's order. Throws AddrError, DNSError, or a context's DNSError.
 */
export function* resolveTCP(
  network: TCPNetwork,
  address: string,
  mode: "listen" | "dial",
  ctx: Context,
): Op<TCPTarget[]> {
  const [host, portText] = splitHostPort(address);
  const port = lookupPort(network, portText);
  const v6only = network === "tcp6";
  const caps = ipStackCapabilities();

  let addrs: (SockaddrInet4 | SockaddrInet6)[];
  if (host === "") {
    if (mode === "dial") {
      addrs = [sockaddrOf(network === "tcp6" ? "::1" : "127.0.0.1", port)];
    } else {
      addrs = [sockaddrOf(network === "tcp4" ? "0.0.0.0" : "::", port)];
    }
  } else {
    let literal: SockaddrInet4 | SockaddrInet6 | null = null;
    try {
      literal = sockaddrOf(host, port);
    } catch (e) {
      if (!(e instanceof AddrError) || e.err !== "not an IP address") throw e;
    }
    if (literal !== null) {
      if (!suits(network, literal)) throw new AddrError("no suitable address found", host);
      addrs = [literal];
    } else {
      const ips = yield* lookupIP(network === "tcp4" ? "ip4" : network === "tcp6" ? "ip6" : "ip", host, ctx);
      addrs = ips.map((ip) => sockaddrOf(ip, port));
    }
  }

  const out: TCPTarget[] = [];
  for (let sa of addrs) {
    if (isIPv4(sa)) sa = asInet4(sa); // an IPv4-mapped address takes an IPv4 socket, as in Go
    if (mode === "listen" && isWildcard(sa) && network === "tcp") {
      // Go's favoriteAddrFamily: a wildcard listener on "tcp" is dual-stack when the host can.
      sa = caps.v4map ? sockaddrOf("::", port) : sockaddrOf("0.0.0.0", port);
    }
    out.push({ sa, v6only: sa.family === "inet6" && v6only });
  }
  if (mode === "listen") {
    const v4 = out.find((t) => isIPv4(t.sa));
    return [v4 ?? out[0]!];
  }
  return out;
}

// Name lookups through the system resolver (Go's net.LookupHost and
// net.LookupIP with the cgo resolver): getaddrinfo(3) runs in the blocking
// pool (blocking.ts, getaddrinfoTask) while the goroutine parks.
//
// As in Go:
// - A numeric address is answered at once, without the pool: lookupHost
//   returns it as given, lookupIP in canonical form (or fails if it is not
//   of the network asked for).
// - An empty name is "no such host".
// - Failures are DNSErrors: isNotFound for EAI_NONAME/EAI_NODATA, isTemporary
//   for EAI_AGAIN. A lookup whose context is done throws a DNSError with
//   err "operation was canceled" (context.Canceled) or "i/o timeout" and
//   isTimeout (DeadlineExceeded), the context's error as its cause (Go's
//   mapErr and DNSError.Unwrap).
// - "localhost" and names under ".localhost" are loopback only (RFC 6761
//   section 6.3): getaddrinfo("localhost") is asked and its answer filtered
//   to loopback addresses; if none remain (no hosts entry for that family),
//   the answer is 127.0.0.1 and/or ::1.
//
// A numeric address of the wrong family for lookupIP is an AddrError "no
// suitable address found", as in Go.
//
// Differences: addresses are strings, not IP values (IPv4-mapped ones print
// as a.b.c.d, as Go's IP.String does); a zone in an answer is the numeric
// scope id (Go names the interface).

import type { Op } from '../sched/g.ts';
import { background, DeadlineExceeded, type Context } from '../sched/context.ts';
import { blockingContext, getaddrinfoTask } from './blocking.ts';
import { DNSError, errNoSuchHost } from './dnserror.ts';
import { AddrError } from './errors.ts';
import { formatIP, parseIP } from './sockaddr.ts';

export { DNSError } from './dnserror.ts';

/** The networks of lookupIP (Go's "ip", "ip4", "ip6"). */
export type IPNetwork = 'ip' | 'ip4' | 'ip6';

const familyOf: Record<IPNetwork, 0 | 4 | 6> = { ip: 0, ip4: 4, ip6: 6 };

/** Whether the name is localhost or under .localhost (case-insensitive, trailing dot allowed). */
function isLocalhostName(host: string): boolean {
  const h = (host.endsWith('.') ? host.slice(0, -1) : host).toLowerCase();
  return h === 'localhost' || h.endsWith('.localhost');
}

/** A numeric address: its bytes (4 or 16) and IPv6 zone ('' if none); null for a name. */
function numeric(host: string): { bytes: Uint8Array; zone: string } | null {
  const pct = host.indexOf('%');
  if (pct < 0) {
    const bytes = parseIP(host);
    return bytes === null ? null : { bytes, zone: '' };
  }
  const zone = host.slice(pct + 1);
  const bytes = parseIP(host.slice(0, pct));
  return bytes === null || bytes.length !== 16 || zone === '' ? null : { bytes, zone };
}

/** IPv4, or IPv4-mapped IPv6 (Go's To4() != nil): what "ip4" accepts and "ip6" refuses. */
function isIPv4(b: Uint8Array): boolean {
  return b.length === 4 || (b.subarray(0, 10).every((x) => x === 0) && b[10] === 0xff && b[11] === 0xff);
}

/** 127.0.0.0/8 (IPv4-mapped too) or ::1 (Go's IP.IsLoopback). */
function isLoopback(b: Uint8Array): boolean {
  if (isIPv4(b)) return b[b.length - 4] === 127;
  return b.every((x, i) => x === (i === 15 ? 1 : 0));
}

function matches(b: Uint8Array, network: IPNetwork): boolean {
  return network === 'ip' || (network === 'ip4') === isIPv4(b);
}

function noSuchHost(host: string): DNSError {
  return new DNSError({ err: errNoSuchHost, host, isNotFound: true });
}

/** Go's mapErr: the error of a lookup whose context is done. */
function canceled(host: string, err: Error): DNSError {
  const timeout = err === DeadlineExceeded;
  return new DNSError({ err: timeout ? 'i/o timeout' : 'operation was canceled', host, isTimeout: timeout, cause: err });
}

/** getaddrinfo in the pool, with the context and localhost rules above. */
function* resolve(ctx: Context, host: string, network: IPNetwork): Op<string[]> {
  if (host.includes('\0')) throw noSuchHost(host); // C would see a shorter name
  const local = isLocalhostName(host);
  let addrs: string[];
  try {
    addrs = yield* blockingContext(ctx, getaddrinfoTask, local ? 'localhost' : host, familyOf[network]);
  } catch (e) {
    if (e !== null && e === ctx.err()) throw canceled(host, e as Error);
    if (!(local && e instanceof DNSError)) throw e;
    addrs = [];
  }
  if (local) {
    addrs = addrs.filter((s) => {
      const a = numeric(s);
      return a !== null && isLoopback(a.bytes);
    });
    if (addrs.length === 0) addrs = network === 'ip4' ? ['127.0.0.1'] : network === 'ip6' ? ['::1'] : ['127.0.0.1', '::1'];
  }
  if (addrs.length === 0) throw noSuchHost(host);
  return addrs;
}

/**
 * The longest name looked up: a DNS name is at most 253 characters (255
 * bytes on the wire), 254 with the trailing dot. A longer one is "no such
 * host" without a trip to the pool (Go's isDomainName refuses it too).
 */
const MAX_NAME = 254;

/** A host that is not a string is a programming error (TypeError), not a lookup failure. */
function checkHost(host: unknown): asserts host is string {
  if (typeof host !== 'string') throw new TypeError(`lookup: host must be a string, not ${host === null ? 'null' : typeof host}`);
}

/**
 * The addresses of host (Go's LookupHost), as text: a numeric host is
 * returned as is, without the pool. ctx bounds the lookup.
 */
export function* lookupHost(host: string, ctx: Context = background()): Op<string[]> {
  checkHost(host);
  if (host === '' || host.length > MAX_NAME) throw noSuchHost(host);
  if (numeric(host) !== null) return [host];
  return yield* resolve(ctx, host, 'ip');
}

/**
 * The addresses of host on network (Go's LookupIP): "ip" any, "ip4" IPv4
 * only, "ip6" IPv6 only; canonical text. A numeric host is answered without
 * the pool. ctx bounds the lookup.
 */
export function* lookupIP(network: IPNetwork, host: string, ctx: Context = background()): Op<string[]> {
  if (typeof network !== 'string' || !Object.hasOwn(familyOf, network)) throw new TypeError(`unknown network ${String(network)}`);
  checkHost(host);
  if (host === '' || host.length > MAX_NAME) throw noSuchHost(host);
  const a = numeric(host);
  if (a !== null) {
    if (!matches(a.bytes, network)) throw new AddrError('no suitable address found', host);
    return [a.zone === '' ? formatIP(a.bytes) : `${formatIP(a.bytes)}%${a.zone}`];
  }
  return yield* resolve(ctx, host, network);
}

// A thread of the blocking pool (blocking.ts): piscina calls dispatch() for
// every task, and dispatch runs the named function of the named module. The
// built-in tasks are defined here: getaddrinfo (the system resolver through
// koffi, as Go's cgo resolver calls it) and readFile. User tasks are any
// exported function of any module: TypeScript modules are loaded through
// tsx's tsImport (Node 20 carries no --import loader into worker threads),
// others with import(). Loaded modules are cached per thread.
//
// The thread is booted by blocking-worker.mjs, a plain-JS shim that loads
// this file through tsImport and hands dispatch to piscina as its default
// export.
//
// koffi is loaded on the first getaddrinfo call only, so a pool that runs
// only user tasks never loads it (koffi keeps per-thread state, and a koffi
// library loaded on several threads has known faults: peers.md section 4).

import { readFileSync } from 'node:fs';

import { move } from 'piscina';
import { tsImport } from 'tsx/esm/api';

import { abi } from './abi/index.ts';
import { eaiName, selectNetdb, type Netdb } from './abi/netdb.ts';
import {
  BUILTIN_MODULE, FAILED, serializeError, type FailedTask, type TaskMessage,
} from './blocking-protocol.ts';
import { DNSError, errNoSuchHost } from './dnserror.ts';
import { decodeSockaddr } from './sockaddr.ts';

// ---- dispatch ----------------------------------------------------------------

type TaskFn = (...args: unknown[]) => unknown;

const modules = new Map<string, Promise<Record<string, unknown>>>();

function load(m: string): Promise<Record<string, unknown>> {
  let p = modules.get(m);
  if (p === undefined) {
    p = m === BUILTIN_MODULE
      ? Promise.resolve(builtins)
      : /\.[cm]?tsx?$/.test(new URL(m).pathname)
        ? (tsImport(m, import.meta.url) as Promise<Record<string, unknown>>)
        : (import(m) as Promise<Record<string, unknown>>);
    p.catch(() => modules.delete(m)); // retry the import on the next call
    modules.set(m, p);
  }
  return p;
}

function failed(e: unknown): FailedTask {
  return { [FAILED]: true, error: e === null ? null : serializeError(e) };
}

/** piscina's handler: runs one task message; a failure is thrown as a FailedTask. */
export async function dispatch(msg: TaskMessage): Promise<unknown> {
  if (msg.c !== null && Atomics.load(msg.c, 0) !== 0) throw failed(null); // caller gave up while queued
  let fn: unknown;
  try {
    fn = (await load(msg.m))[msg.f];
  } catch (e) {
    throw failed(e);
  }
  if (typeof fn !== 'function') {
    throw failed(new TypeError(`blocking: ${msg.m} exports no function ${JSON.stringify(msg.f)}`));
  }
  try {
    return await (fn as TaskFn)(...msg.a);
  } catch (e) {
    throw failed(e);
  }
}

// ---- getaddrinfo ---------------------------------------------------------------

interface Resolver {
  readonly netdb: Netdb;
  readonly errno: () => number;
  readonly view: (p: unknown, len: number) => ArrayBuffer;
  readonly decodePtr: (p: unknown, offset: number) => unknown;
  readonly getaddrinfo: (node: string, service: string | null, hints: Uint8Array, res: unknown[]) => number;
  readonly freeaddrinfo: (res: unknown) => void;
  readonly gai_strerror: (code: number) => string;
  readonly strerror: (errno: number) => string;
}

let resolver: Promise<Resolver> | null = null;

async function loadResolver(): Promise<Resolver> {
  const { default: koffi } = await import('koffi');
  // getaddrinfo, freeaddrinfo and gai_strerror live in libsocket on illumos.
  const sock = koffi.load(abi.libraries.libsocket);
  const libc = abi.libraries.libc === abi.libraries.libsocket ? sock : koffi.load(abi.libraries.libc);
  return {
    netdb: selectNetdb(process.platform, process.arch),
    errno: () => koffi.errno(),
    view: (p, len) => koffi.view(p, len),
    decodePtr: (p, offset) => koffi.decode(p, offset, 'void *') as unknown,
    getaddrinfo: sock.func(
      'int getaddrinfo(const char *node, const char *service, const void *hints, _Out_ void **res)'),
    freeaddrinfo: sock.func('void freeaddrinfo(void *res)'),
    gai_strerror: sock.func('const char *gai_strerror(int code)'),
    strerror: libc.func('const char *strerror(int errnum)'),
  };
}

/** 0: any family (AF_UNSPEC); 4: IPv4 only; 6: IPv6 only. */
export type AddrFamily = 0 | 4 | 6;

/**
 * Resolves host with the system resolver (getaddrinfo(3), SOCK_STREAM
 * hints, no flags) and returns its addresses as text, in the resolver's
 * order, without duplicates. Failures are DNSErrors mapped as Go's cgo
 * resolver maps them: EAI_NONAME and EAI_NODATA are "no such host"
 * (isNotFound), EAI_AGAIN is temporary, EAI_SYSTEM carries errno's text,
 * anything else gai_strerror's.
 */
export async function getaddrinfo(host: string, family: AddrFamily = 0): Promise<string[]> {
  const r = await (resolver ??= loadResolver());
  const { addrinfo: ai, eai } = r.netdb;
  const { AF_UNSPEC, AF_INET, AF_INET6, SOCK_STREAM } = abi.socket;
  const hints = new Uint8Array(ai.size);
  const hv = new DataView(hints.buffer);
  hv.setInt32(ai.fields.ai_family.offset, family === 4 ? AF_INET : family === 6 ? AF_INET6 : AF_UNSPEC, true);
  hv.setInt32(ai.fields.ai_socktype.offset, SOCK_STREAM, true);
  const res: unknown[] = [null];
  const rc = r.getaddrinfo(host, null, hints, res);
  const errno = rc === eai.EAI_SYSTEM ? r.errno() : 0; // at once, on this thread
  if (rc !== 0) throw gaiError(r, host, rc, errno);
  const out: string[] = [];
  try {
    for (let p = res[0]; p !== null && p !== 0n && p !== undefined; p = r.decodePtr(p, ai.fields.ai_next.offset)) {
      const v = new DataView(r.view(p, ai.size));
      const len = v.getUint32(ai.fields.ai_addrlen.offset, true);
      const sa = r.decodePtr(p, ai.fields.ai_addr.offset);
      if (sa === null || sa === 0n || len < 2) continue;
      const text = sockaddrText(new Uint8Array(r.view(sa, len)));
      if (text !== null && !out.includes(text)) out.push(text);
    }
  } finally {
    r.freeaddrinfo(res[0]);
  }
  return out;
}

/** The IP of a sockaddr_in or sockaddr_in6 as text, with a numeric zone if any; null for other families. */
function sockaddrText(sa: Uint8Array): string | null {
  const a = decodeSockaddr(sa, sa.length);
  return a === null || a.family === 'unix' ? null : a.ip();
}

function gaiError(r: Resolver, host: string, rc: number, errno: number): DNSError {
  const { eai } = r.netdb;
  const gai = { gaiCode: rc, gaiName: eaiName(rc, r.netdb) };
  if (rc === eai.EAI_NONAME || rc === eai.EAI_NODATA) {
    return new DNSError({ err: errNoSuchHost, host, isNotFound: true, ...gai });
  }
  if (rc === eai.EAI_SYSTEM) {
    // Go: EAI_SYSTEM with errno 0 happens (golang.org/issue/6232); it reports EMFILE then.
    const text = r.strerror(errno === 0 ? abi.errno.EMFILE : errno);
    return new DNSError({ err: text, host, ...gai });
  }
  return new DNSError({ err: r.gai_strerror(rc), host, isTemporary: rc === eai.EAI_AGAIN, ...gai });
}

// ---- readFile --------------------------------------------------------------------

/**
 * Reads a whole file with readFileSync: the read blocks this pool thread,
 * not the scheduler. The bytes are transferred back when the Buffer owns its
 * memory, copied otherwise (small Buffers share Node's pool slab).
 */
export function readFile(path: string): Uint8Array {
  const buf = readFileSync(path);
  const bytes = new Uint8Array(buf.buffer, buf.byteOffset, buf.byteLength);
  if (buf.byteOffset === 0 && buf.byteLength === buf.buffer.byteLength) {
    return move(bytes) as unknown as Uint8Array; // piscina unwraps it on the way out
  }
  return bytes;
}

/** The built-in tasks, by name: what BUILTIN_MODULE resolves to. */
const builtins: Record<string, unknown> = { getaddrinfo, readFile };

// Go's *net.DNSError. Thrown by the resolver task inside the blocking pool
// (blocking-worker.ts) and by dns.ts; blocking.ts revives it on the
// goroutine's side as a real DNSError, so `e instanceof DNSError` holds.
//
// Go's Name field (the name looked up) is `host` here: `name` is the error
// class name on every JS Error.

import type { NetError } from './errors.ts';

export interface DNSErrorFields {
  /** Description of the error (Go's Err): "no such host", a gai_strerror text... */
  readonly err: string;
  /** The name looked up (Go's Name). */
  readonly host: string;
  /** The server used (Go's Server); '' for the system resolver. */
  readonly server?: string;
  readonly isTimeout?: boolean;
  readonly isTemporary?: boolean;
  /** The name has no records (NXDOMAIN, EAI_NONAME/EAI_NODATA). */
  readonly isNotFound?: boolean;
  /** getaddrinfo's return code (EAI_*), when the error came from it. */
  readonly gaiCode?: number | null;
  /** Its EAI_* name ('EAI_NONAME'). */
  readonly gaiName?: string | null;
  /** What lies beneath: context.Canceled or DeadlineExceeded for a canceled lookup. */
  readonly cause?: unknown;
}

/** The text of Go's errNoSuchHost. */
export const errNoSuchHost = 'no such host';

/** A failed name lookup (Go's net.DNSError). message is Go's Error(): "lookup NAME[ on SERVER]: ERR". */
export class DNSError extends Error implements NetError {
  override name = 'DNSError';
  declare readonly err: string;
  declare readonly host: string;
  declare readonly server: string;
  declare readonly isTimeout: boolean;
  declare readonly isTemporary: boolean;
  declare readonly isNotFound: boolean;
  declare readonly gaiCode: number | null;
  declare readonly gaiName: string | null;

  constructor(f: DNSErrorFields) {
    const server = f.server ?? '';
    super(`lookup ${f.host}${server === '' ? '' : ` on ${server}`}: ${f.err}`,
      f.cause === undefined ? undefined : { cause: f.cause });
    this.err = f.err;
    this.host = f.host;
    this.server = server;
    this.isTimeout = f.isTimeout ?? false;
    this.isTemporary = f.isTemporary ?? false;
    this.isNotFound = f.isNotFound ?? false;
    this.gaiCode = f.gaiCode ?? null;
    this.gaiName = f.gaiName ?? null;
  }

  /** Go's Timeout() method. */
  timeout(): boolean {
    return this.isTimeout;
  }

  /** Go's Temporary() method. */
  temporary(): boolean {
    return this.isTimeout || this.isTemporary;
  }
}

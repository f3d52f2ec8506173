// Helpers for servers, over the Listener interface of net.ts:
//
//   acceptRetry(ln)       accept, backing off on temporary errors: the accept
//                         half of Go's net/http Server.Serve loop.
//   limitListener(ln, n)  at most n connections open at once: Go's
//                         golang.org/x/net/netutil.LimitListener.
//
// Why the backoff is here and not in Listener.accept: see "The accept loop"
// at the top of net.ts.

import type { Op } from "../sched/g.ts";
import { chan, type Chan } from "../sched/chan.ts";
import type { Context } from "../sched/context.ts";
import { recv, select, send } from "../sched/select.ts";
import { after, sleep } from "../sched/time.ts";
import { isDeadlineExceeded, isTemporary } from "./errors.ts";
import type { Addr } from "./netaddr.ts";
import type { Conn, Deadline, Listener } from "./net.ts";

/** First and longest backoff after a temporary accept error (Go's net/http: 5 ms doubling to 1 s). */
const BACKOFF_MIN_MS = 5;
const BACKOFF_MAX_MS = 1000;

export interface AcceptRetryOptions {
  /** Called with each temporary error and the delay before the next try (log it: Go's http.Server does). */
  onError?: (err: Error, delayMs: number) => void;
  /** Ends a backoff wait early when done: the temporary error is then thrown. */
  ctx?: Context;
}

/**
 * Accepts a connection, riding out temporary failures as Go's http.Server
 * does: on an error for which isTemporary holds (EMFILE and ENFILE, "too
 * many open files"; ECONNRESET from accept; EINTR), it waits 5 ms, then
 * twice as long after each further failure up to 1 s, and tries again; the
 * delay starts over with the next call. Any other error is thrown: ErrClosed
 * once the listener is closed, ErrDeadlineExceeded for a listener deadline
 * (temporary, but retrying would not move the deadline). ECONNABORTED never
 * gets here: accept retries it at once (fd.ts).
 */
export function* acceptRetry<C extends Conn>(ln: { accept(): Op<C> }, opts: AcceptRetryOptions = {}): Op<C> {
  if (typeof (ln as { accept?: unknown } | null)?.accept !== "function") {
    throw new TypeError("acceptRetry: ln must be a Listener (an object with accept())");
  }
  if (typeof opts !== "object" || opts === null) throw new TypeError("acceptRetry: opts must be an object");
  if (opts.onError !== undefined && typeof opts.onError !== "function") throw new TypeError("acceptRetry: onError must be a function");
  let delay = 0;
  for (;;) {
    try {
      return yield* ln.accept();
    } catch (e) {
      if (!(e instanceof Error) || !isTemporary(e) || isDeadlineExceeded(e)) throw e;
      delay = delay === 0 ? BACKOFF_MIN_MS : Math.min(delay * 2, BACKOFF_MAX_MS);
      opts.onError?.(e, delay);
      const done = opts.ctx?.done() ?? null;
      if (done === null) {
        yield* sleep(delay);
      } else {
        const r = yield* select([recv(after(delay)), recv(done)]);
        if (r.index === 1) throw e;
      }
    }
  }
}

/**
 * A listener that keeps at most n of its connections open (Go's
 * netutil.LimitListener): accept waits for a slot before accepting, so
 * beyond n the kernel queues new connections (up to the backlog) instead of
 * the server accepting and dropping them. Closing a connection frees its
 * slot (once, however often it is closed). Close closes ln; an accept
 * waiting for a slot then fails as ln's accept does (ErrClosed).
 *
 * The connections are wrappers (Conn): TCPConn's own methods (setNoDelay,
 * closeWrite...) are not on them, as in Go.
 */
export function limitListener(ln: Listener, n: number): Listener {
  if (typeof (ln as { accept?: unknown; close?: unknown } | null)?.accept !== "function" || typeof ln.close !== "function") {
    throw new TypeError("limitListener: ln must be a Listener (accept and close)");
  }
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`limitListener: n must be a positive integer, not ${n}`);
  return new LimitListener(ln, n);
}

class LimitListener implements Listener {
  readonly #ln: Listener;
  /** One element per open connection (Go's sem). */
  readonly #sem: Chan<void>;
  /** Closed by close (Go's done). */
  readonly #done = chan<void>();
  #closed = false;
  readonly #release: () => void;

  constructor(ln: Listener, n: number) {
    this.#ln = ln;
    this.#sem = chan<void>(n);
    this.#release = () => {
      this.#sem.tryRecv();
    };
  }

  get addr(): Addr {
    return this.#ln.addr;
  }

  *accept(): Op<Conn> {
    const r = yield* select([send(this.#sem, undefined), recv(this.#done)]);
    if (r.index === 1) {
      // Closed: the wrapped listener's accept fails now. Should it hand out a
      // connection anyway, close it and ask again, as Go does.
      for (;;) {
        const c = yield* this.#ln.accept();
        try {
          yield* c.close();
        } catch {
          // nothing to report
        }
      }
    }
    let c: Conn;
    try {
      c = yield* this.#ln.accept();
    } catch (e) {
      this.#release();
      throw e;
    }
    return new LimitedConn(c, this.#release);
  }

  *close(): Op<void> {
    if (!this.#closed) {
      this.#closed = true;
      this.#done.close();
    }
    yield* this.#ln.close();
  }
}

/** A connection of a LimitListener: frees its slot on the first close. */
class LimitedConn implements Conn {
  readonly #c: Conn;
  #release: (() => void) | null;

  constructor(c: Conn, release: () => void) {
    this.#c = c;
    this.#release = release;
  }

  get localAddr(): Addr {
    return this.#c.localAddr;
  }

  get remoteAddr(): Addr {
    return this.#c.remoteAddr;
  }

  /** The connection this one wraps. */
  get conn(): Conn {
    return this.#c;
  }

  read(buf: Uint8Array): Op<number> {
    return this.#c.read(buf);
  }

  write(buf: Uint8Array): Op<number> {
    return this.#c.write(buf);
  }

  *close(): Op<void> {
    const release = this.#release;
    this.#release = null;
    try {
      yield* this.#c.close();
    } finally {
      release?.();
    }
  }

  setDeadline(at: Deadline): void {
    this.#c.setDeadline(at);
  }

  setReadDeadline(at: Deadline): void {
    this.#c.setReadDeadline(at);
  }

  setWriteDeadline(at: Deadline): void {
    this.#c.setWriteDeadline(at);
  }
}

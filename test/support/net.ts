// Connections for the net and reliability tests: bounded waits, a loopback
// listener, a connected pair, an echo server.

import { dial, isClosed, listen, type Conn, type Listener, type TCPConn, type TCPListener, type TCPNetwork } from "../../src/runtime/net.ts";
import { WaitGroup, go, type Op } from "../../src/sched/index.ts";

/** What any single wait may take before a test counts it as lost. */
export const BOUND_MS = 10_000;

/** c with a deadline BOUND_MS away: a lost wake-up fails the test instead of hanging it. */
export function bounded<C extends Conn>(c: C): C {
  c.setDeadline(performance.now() + BOUND_MS);
  return c;
}

export function* listenTCP(): Op<TCPListener> {
  const ln = yield* listen("tcp4", "127.0.0.1:0");
  ln.setDeadline(performance.now() + BOUND_MS);
  return ln;
}

/** A listener (ln, or a new one) and a pair connected through it: [listener, client, server]; the client dials on `network`. */
export function* tcpPair(ln?: TCPListener, network: TCPNetwork = "tcp4"): Op<[TCPListener, TCPConn, TCPConn]> {
  const l = ln ?? (yield* listenTCP());
  const acc = go(function* acceptor() {
    return bounded(yield* l.accept());
  });
  const client = bounded(yield* dial(network, l.addr.toString()));
  const server = yield* acc.join();
  return [l, client, server];
}

/**
 * Echoes until end of stream, then closes. An error is recorded in `errors`
 * when given, else thrown (the goroutine panics and fails the test).
 */
export function* echo(c: Conn, errors: unknown[] | null = null, wg: WaitGroup | null = null): Op<void> {
  const buf = new Uint8Array(65536);
  try {
    for (;;) {
      const n = yield* c.read(buf);
      if (n === 0) break;
      yield* c.write(buf.subarray(0, n));
    }
  } catch (e) {
    if (errors === null) throw e;
    errors.push(e);
  } finally {
    yield* c.close();
    wg?.done();
  }
}

/** Accepts and echoes (errors as echo's) until the listener is closed; evaluates to the connections served. */
export function* echoServer(ln: Listener, errors: unknown[] | null = null): Op<number> {
  const wg = new WaitGroup();
  let n = 0;
  try {
    for (;;) {
      const c = bounded(yield* ln.accept());
      n++;
      wg.add(1);
      go(echo, c, errors, wg);
    }
  } catch (e) {
    if (!isClosed(e)) throw e;
  }
  yield* wg.wait();
  return n;
}

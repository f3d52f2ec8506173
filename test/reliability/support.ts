// Helpers of the reliability tests (test/reliability/*.test.ts): the
// per-backend harness of test/runtime/net.test.ts (poller started and warmed
// up, a baseline of descriptors, leak checks after each test: nobody parked,
// every PollDesc closed, scheduler at rest, descriptors back to the
// baseline, no use after close under the event-port emulation), loopback
// pairs, and child processes with a bound.

import assert from "node:assert/strict";

import { type Conn } from "../../src/runtime/net.ts";
import { type Op } from "../../src/sched/index.ts";
import { readFull } from "../support/io.ts";

export { killChildren, root, startChild, until, type Child } from "../support/child.ts";
export const BACKENDS = ["epoll", "eventports"] as const;
export type Backend = (typeof BACKENDS)[number];

export { backendHooks } from "../support/netpoll-harness.ts";
export { closeAll, failing, pattern, readFull } from "../support/io.ts";
export { BOUND_MS, bounded, echo, echoServer, listenTCP, tcpPair } from "../support/net.ts";

/** One round trip of msg on c, checked. */
export function* roundTrip(c: Conn, msg: Uint8Array): Op<void> {
  yield* c.write(msg);
  const back = yield* readFull(c, msg.length);
  assert.deepEqual(back, msg, "the echo came back intact");
}

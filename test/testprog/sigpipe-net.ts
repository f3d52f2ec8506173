// EPIPE through the net API with SIGPIPE at its default action (Node itself
// ignores SIGPIPE; this program restores SIG_DFL first, as a process that
// embeds the runtime might have it). A TCP pair on loopback; the server side
// closes (variant "close") or resets (variant "reset", SO_LINGER 0); the
// client keeps writing until a write fails. It must fail with an OpError
// (EPIPE or ECONNRESET), and the program prints its message and exits 0; a
// SIGPIPE would kill it. argv: backend, variant.

import koffi from "koffi";

import { startPoller, type PollerOptions } from "../../src/netpoll/netpoll.ts";
import { abi } from "../../src/runtime/abi/index.ts";
import { OpError, isErrno } from "../../src/runtime/net.ts";
import { runMain, sleep } from "../../src/sched/index.ts";
import { tcpPair } from "../support/net.ts";

const [backend, variant] = process.argv.slice(2) as [PollerOptions["backend"], "close" | "reset"];
const SIGPIPE = 13; // Linux and illumos
const signal = koffi.load(abi.libraries.libc).func("void *signal(int sig, void *handler)") as (s: number, h: null) => unknown;
signal(SIGPIPE, null); // SIG_DFL
startPoller({ backend });

runMain(function* main() {
  const [ln, client, server] = yield* tcpPair();
  if (variant === "reset") server.setLinger(0);
  yield* server.close();
  let writes = 0;
  for (;;) {
    try {
      yield* client.write(new Uint8Array(4096));
      writes++;
      yield* sleep(1);
    } catch (e) {
      const ok = e instanceof OpError && e.op === "write" && (isErrno(e, "EPIPE") || isErrno(e, "ECONNRESET"));
      process.stdout.write(`${ok ? "ok" : "unexpected"} after ${writes} writes: ${(e as Error).message}\n`);
      break;
    }
  }
  yield* client.close();
  yield* ln.close();
});

// EPIPE with SIGPIPE at its default action (Node ignores SIGPIPE; this
// program restores SIG_DFL first). Mode "fd": FD.write on a socket shut for
// writing must fail with EPIPE and the program exits 0, printing the error.
// Mode "raw": write(2) on the same socket, the control: the process dies of
// SIGPIPE. The second argument names the poller backend.
import koffi from "koffi";

import { startPoller, type PollerOptions } from "../../src/netpoll/netpoll.ts";
import { abi } from "../../src/runtime/abi/index.ts";
import { FD } from "../../src/runtime/fd.ts";
import * as libc from "../../src/runtime/libc.ts";
import { encodeSockaddr, inet4 } from "../../src/runtime/sockaddr.ts";
import { go, runMain } from "../../src/sched/index.ts";

const [mode, backend] = process.argv.slice(2) as ["fd" | "raw", PollerOptions["backend"]];
const SIGPIPE = 13; // Linux and illumos
const signal = koffi.load(abi.libraries.libc).func("void *signal(int sig, void *handler)") as (s: number, h: null) => unknown;
signal(SIGPIPE, null); // SIG_DFL
startPoller({ backend });

const S = abi.socket;
const flags = S.SOCK_STREAM | S.SOCK_NONBLOCK | S.SOCK_CLOEXEC;

runMain(function* main() {
  const l = libc.socket(S.AF_INET, flags);
  if (libc.bind(l, encodeSockaddr(inet4("127.0.0.1", 0))) !== 0 || libc.listen(l, 1) !== 0) throw new Error("listen");
  const ln = FD.open(l);
  const acc = go(function* acceptor() {
    const [s] = yield* ln.accept();
    return FD.open(s);
  });
  const client = FD.open(libc.socket(S.AF_INET, flags));
  yield* client.connect(ln.localAddr()!);
  const server = yield* acc.join();
  client.closeWrite();
  if (mode === "raw") {
    libc.write(client.sysfd, Uint8Array.of(1));
    process.stdout.write("survived write(2)\n");
  } else {
    try {
      yield* client.write(Uint8Array.of(1));
      process.stdout.write("no error\n");
    } catch (e) {
      process.stdout.write(`${(e as Error).message}\n`);
    }
  }
  yield* client.close();
  yield* server.close();
  yield* ln.close();
});

// With dumpOnSigquit(), SIGQUIT prints every goroutine to stderr and exits
// with status 2, as a Go program does. Prints "ready" once everyone waits.
import { chan, dumpOnSigquit, go, gosched, runMain, sleep } from "../../src/sched/index.ts";

dumpOnSigquit();

runMain(function* main() {
  go(function* blockedReceiver() {
    yield* chan<number>().recv();
  });
  yield* gosched();
  process.stdout.write("ready\n");
  yield* sleep(60_000);
});

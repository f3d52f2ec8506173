// An unrecovered panic in a goroutine other than main: exit status 2, with
// "panic: ..." and the goroutine's entry on stderr.
import { go, runMain, sleep } from "../../src/sched/index.ts";

runMain(function* main() {
  go(function* exploder() {
    throw new Error("boom");
  });
  yield* sleep(10_000);
});

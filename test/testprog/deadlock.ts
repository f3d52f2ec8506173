// A program whose main blocks on a channel nobody sends on: Go prints
// "fatal error: all goroutines are asleep - deadlock!" and exits with status 2.
import { chan, go, runMain, type Chan, type Op } from "../../src/sched/index.ts";

function* worker(c: Chan<number>): Op<void> {
  yield* c.send(1); // nobody receives on c
}

runMain(function* main() {
  go(worker, chan<number>());
  const never = chan<number>();
  yield* never.recv();
});

// A program that ends normally (status 0): workers, a recovered panic, a
// timer; goroutines still blocked when main returns are dropped, as in Go.
import { chan, go, runMain, sleep } from "../../src/sched/index.ts";

runMain(function* main() {
  const results = chan<number>();
  for (let i = 1; i <= 3; i++) {
    go(function* worker() {
      yield* sleep(i);
      yield* results.send(i * i);
    });
  }
  let sum = 0;
  for (let i = 0; i < 3; i++) sum += yield* results.recv();
  const closed = chan<number>();
  closed.close();
  try {
    yield* closed.send(1);
  } catch {
    sum += 1000; // recovered
  }
  go(function* leftBehind() {
    yield* chan<number>().recv();
  });
  process.stdout.write(`sum ${sum}\n`);
});

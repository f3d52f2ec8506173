// A program for the execution-trace and schedtrace tests (test/sched/trace.test.ts),
// run with GORT_TRACE / GORT_SCHEDTRACE set: a ping-pong pair, ten goroutines
// blocked on a channel receive, and a sleeper. ROUNDS ping-pongs (argv[2],
// default 100) and SLEEPS sleeps of 20 ms (argv[3], default 1).
import { chan, go, runMain, sleep, type Op } from "../../src/sched/index.ts";

const rounds = Number(process.argv[2] ?? 100);
const sleeps = Number(process.argv[3] ?? 1);

runMain(function* main(): Op<void> {
  const a = chan<number>();
  const b = chan<number>();
  go(function* echo(): Op<void> {
    for (const r = a.range(); yield* r.next(); ) yield* b.send(r.value);
  });
  const never = chan<number>();
  for (let i = 0; i < 10; i++) {
    go(function* blocked(): Op<void> {
      yield* never.recv();
    });
  }
  let sum = 0;
  for (let s = 0; s < sleeps; s++) {
    for (let i = 0; i < rounds; i++) {
      yield* a.send(i);
      sum += yield* b.recv();
    }
    yield* sleep(20);
  }
  a.close();
  process.stdout.write(`sum ${sum}\n`);
});

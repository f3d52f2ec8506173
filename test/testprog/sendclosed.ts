// Send on a closed channel in main, not recovered: a runtime panic, status 2.
import { chan, runMain } from "../../src/sched/index.ts";

runMain(function* main() {
  const c = chan<number>(1);
  c.close();
  yield* c.send(1);
  process.stdout.write("unreachable\n");
});

// A program that starts the poller and never gives it a descriptor: it must
// still exit when main returns (the worker was left ref'd by its 'message'
// listener once, and this hung forever).
import { runMain, sleep } from "../../src/sched/index.ts";
import { pollerUp, startPoller } from "../../src/runtime/net.ts";

runMain(function* main() {
  startPoller();
  while (!pollerUp()) yield* sleep(2);
  process.stdout.write("up\n");
});

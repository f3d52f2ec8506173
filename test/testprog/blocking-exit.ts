// A program that uses the blocking pool and never closes it: it must exit
// by itself once main returns (piscina unrefs idle threads), with status 0.
// Argument "abandoned": main also gives up on a task that is still running
// (abandon mode); the process then exits once that task ends.
import { blockingContext, blocking, defineTask, readFile } from "../../src/runtime/blocking.ts";
import { lookupHost } from "../../src/runtime/dns.ts";
import { DeadlineExceeded, background, runMain, withTimeout } from "../../src/sched/index.ts";
import type { add, sleepSync } from "../support/blocking-tasks.ts";

const tasks = new URL("../support/blocking-tasks.ts", import.meta.url);
const addTask = defineTask<typeof add>(tasks, "add");
const sleepTask = defineTask<typeof sleepSync>(tasks, "sleepSync", { cancel: "abandon" });

runMain(function* main() {
  const sum = yield* blocking(addTask, 40, 2);
  const hosts = yield* readFile("/etc/hosts");
  const addrs = yield* lookupHost("localhost");
  let abandoned = "";
  if (process.argv[2] === "abandoned") {
    const [ctx, cancel] = withTimeout(background(), 50);
    try {
      yield* blockingContext(ctx, sleepTask, 500);
    } catch (e) {
      abandoned = e === DeadlineExceeded ? " abandoned" : ` ${String(e)}`;
    }
    cancel();
  }
  process.stdout.write(`sum ${sum} hosts ${hosts.length > 0} localhost ${addrs.length > 0}${abandoned}\n`);
});

// After each test, the scheduler must be back at rest: no goroutine, nothing
// runnable, no timer and no external reference left by the test's program.
// Use it as a hook: `afterEach(checkNoLeaks)` at the top of a describe block.

import assert from "node:assert/strict";

import { schedStats } from "../../src/sched/index.ts";

export function checkNoLeaks(): void {
  assert.deepEqual(schedStats(), { goroutines: 0, runq: 0, timers: 0, externalRefs: 0 }, "scheduler left state behind");
}

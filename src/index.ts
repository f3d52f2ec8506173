// gort: a Go-style runtime for TypeScript. The scheduler (goroutines,
// channels, select, time, sync, context) is re-exported here.
export * from "./sched/index.ts";

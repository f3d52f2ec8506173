// gort: a Go-style runtime for TypeScript. The scheduler (goroutines,
// channels, select, time, sync, context) is re-exported here, and Go's net
// package as the `net` namespace (also importable on its own as "gort/net").
export * from "./sched/index.ts";
export * as net from "./runtime/net.ts";

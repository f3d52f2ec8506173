// Entry of the poller worker thread. Node 20 does not carry the tsx loader
// into worker threads, so this plain-JS shim registers it and imports the
// TypeScript entry named in workerData.
import { workerData } from "node:worker_threads";
import { tsImport } from "tsx/esm/api";

await tsImport(workerData.entry, import.meta.url);

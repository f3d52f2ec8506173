// Entry of a blocking-pool thread, as piscina's `filename`. Node 20 does not
// carry the tsx loader into worker threads, so this plain-JS shim loads the
// TypeScript side through tsx's API (as src/netpoll/worker-boot.mjs does) and
// gives piscina its task handler as the default export.
import { tsImport } from "tsx/esm/api";

const { dispatch } = await tsImport("./blocking-worker.ts", import.meta.url);

export default dispatch;

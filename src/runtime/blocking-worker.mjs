// Entry of a blocking-pool thread, as piscina's `filename`. Node 20 does not
// carry the tsx loader into worker threads, so this plain-JS shim loads the
// TypeScript side through tsx's API and gives piscina its task handler as the
// default export. (The poller thread is bundled instead, src/netpoll/worker-bundle.ts:
// its code is fixed; a pool task may import any module of the program.)
import { tsImport } from "tsx/esm/api";

const { dispatch } = await tsImport("./blocking-worker.ts", import.meta.url);

export default dispatch;

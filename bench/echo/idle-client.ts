// The idle-connection client of the echo benchmark's memory figure, run by
// bench/echo.bench.ts as its own process (it needs ~one descriptor per
// connection, and so does the server: separate processes keep each under the
// 20,000-descriptor limit).
//
//   node --import tsx bench/echo/idle-client.ts --addr 127.0.0.1:PORT --n 10000 [--batch 500] [--size 16]
//
// Opens n TCP connections, at most `batch` connecting at once; on each it
// sends `size` bytes and waits for their echo, so the server has certainly
// accepted it and its handler (goroutine) is parked in a read again; then
// keeps it open and idle. Progress goes to stderr; once every connection is
// either confirmed or failed, one JSON line goes to stdout:
//   {"ready": n, "failed": k, "connect_ms": t, "first_error": "..."|null}
// It then holds the connections until stdin ends (the parent closes it, or
// dies), closes them all and exits 0.

import net from "node:net";
import { parseArgs } from "node:util";

const { values } = parseArgs({
  options: {
    addr: { type: "string" },
    n: { type: "string", default: "10000" },
    batch: { type: "string", default: "500" },
    size: { type: "string", default: "16" },
    "timeout-ms": { type: "string", default: "30000" },
  },
  strict: true,
});

function die(msg: string): never {
  process.stderr.write(`idle-client: ${msg}\n`);
  process.exit(2);
}

const addr = values.addr ?? die("--addr HOST:PORT is required");
const colon = addr.lastIndexOf(":");
const host = addr.slice(0, colon);
const port = Number(addr.slice(colon + 1));
const n = Number(values.n);
const batch = Number(values.batch);
const size = Number(values.size);
const timeoutMs = Number(values["timeout-ms"]);
if (colon < 0 || !Number.isInteger(port)) die(`bad --addr ${addr}`);
for (const [k, v] of [["n", n], ["batch", batch], ["size", size], ["timeout-ms", timeoutMs]] as const) {
  if (!Number.isInteger(v) || v < 1) die(`--${k}: want a positive integer`);
}

const payload = Buffer.alloc(size, "x");
const open: net.Socket[] = [];
let started = 0;
let inflight = 0;
let ready = 0;
let failed = 0;
let firstError: string | null = null;
let reported = false;
const t0 = performance.now();

function settle(s: net.Socket, err: string | null): void {
  inflight--;
  if (err === null) {
    ready++;
    open.push(s);
    if (ready % 2000 === 0) process.stderr.write(`idle-client: ${ready}/${n} connections idle\n`);
  } else {
    failed++;
    firstError ??= err;
    s.destroy();
  }
  pump();
}

function connectOne(): void {
  started++;
  inflight++;
  const s = net.connect({ host, port });
  let got = 0;
  let done = false;
  const finish = (err: string | null): void => {
    if (done) return;
    done = true;
    clearTimeout(timer);
    s.removeAllListeners("data");
    settle(s, err);
  };
  const timer = setTimeout(() => finish(`no echo within ${timeoutMs} ms`), timeoutMs);
  s.setNoDelay(true);
  s.on("connect", () => s.write(payload));
  s.on("data", (d: Buffer) => {
    got += d.length;
    if (got >= size) finish(null);
  });
  // Errors after the round trip (the server going away at the end) are expected.
  s.on("error", (e: Error) => finish(e.message));
  s.on("close", () => finish("closed by the server"));
}

function pump(): void {
  while (inflight < batch && started < n) connectOne();
  if (inflight === 0 && started === n && !reported) {
    reported = true;
    const connectMs = Math.round(performance.now() - t0);
    process.stdout.write(`${JSON.stringify({ ready, failed, connect_ms: connectMs, first_error: firstError })}\n`);
  }
}

function closeAll(): void {
  for (const s of open) s.destroy();
  process.exit(0);
}

process.stdin.on("data", () => {});
process.stdin.on("end", closeAll);
process.stdin.on("error", closeAll);
pump();

// The echo server's limits (examples/echo-server.ts), as a user runs it: a
// child process on 127.0.0.1, clients from Node's own net module, and the
// server's descriptors and resident memory read from /proc. One peer must
// not be able to exhaust the process: connections are capped (--max-conns,
// extra ones wait unaccepted in the kernel's backlog), memory per connection
// is bounded by --buf (at most 1 MiB), and the default address is loopback.

import assert from "node:assert/strict";
import { spawnSync } from "node:child_process";
import { cpSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, symlinkSync } from "node:fs";
import * as nodeNet from "node:net";
import { tmpdir } from "node:os";
import path from "node:path";

import { BACKENDS, killChildren, root, startChild, until, type Child } from "./support.ts";

async function startServer(...args: string[]): Promise<Child & { port: number }> {
  const p = startChild(process.execPath, ["--import", "tsx", "examples/echo-server.ts", "--addr", "127.0.0.1:0", ...args]);
  await until(() => /start: listening on 127\.0\.0\.1:\d+/.test(p.err()) || p.child.exitCode !== null, "the start line", p, 20_000);
  const m = /start: listening on 127\.0\.0\.1:(\d+)/.exec(p.err());
  assert.ok(m, `no start line:\n${p.err()}`);
  return { ...p, port: Number(m[1]) };
}

/** The server's open sockets (other descriptors come and go: the module loader's files, a worker's own). */
function sockets(pid: number): number {
  let n = 0;
  for (const fd of readdirSync(`/proc/${pid}/fd`)) {
    try {
      if (readlinkSync(`/proc/${pid}/fd/${fd}`).startsWith("socket:")) n++;
    } catch {
      // closed meanwhile
    }
  }
  return n;
}

function rssMiB(pid: number): number {
  return Number(/^VmRSS:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"))![1]) / 1024;
}

function connect(port: number): Promise<nodeNet.Socket> {
  return new Promise((resolve, reject) => {
    const s = nodeNet.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe("reliability: limits of the echo server", function () {
  this.timeout(40_000);
  before(function () {
    if (process.platform !== "linux") this.skip(); // /proc
  });
  afterEach(killChildren);

  for (const backend of BACKENDS) {
    it(`${backend}: one peer opening 40 connections against --max-conns 4 gets 4 served at a time (the server holds 4 connection sockets); every one is served as slots free`, async function () {
      const srv = await startServer("--backend", backend, "--max-conns", "4");
      const pid = srv.child.pid!;
      const idle = sockets(pid);
      const N = 40;
      const socks: nodeNet.Socket[] = [];
      const got: string[] = Array.from({ length: N }, () => "");
      try {
        for (let i = 0; i < N; i++) {
          const s = await connect(srv.port); // the kernel completes the handshake: the backlog
          s.on("data", (d: Buffer) => (got[i] += d.toString()));
          s.on("error", () => {});
          s.write(`m${i};`);
          socks.push(s);
        }
        const served = () => got.filter((g) => g !== "").length;
        await until(() => served() === 4, "four echoes", srv);
        await sleep(200);
        assert.equal(served(), 4, "no fifth connection is served while four are open");
        assert.equal(sockets(pid), idle + 4, "the server accepted only four sockets: the rest wait unaccepted in the backlog");
        // Each served client leaves; the next in the backlog is served.
        const ended = new Set<number>();
        await until(
          () => {
            got.forEach((g, i) => {
              if (g !== "" && !ended.has(i)) {
                ended.add(i);
                socks[i]!.end();
              }
            });
            return ended.size === N;
          },
          "every connection to be served",
          srv,
          20_000,
        );
        assert.ok(got.every((g, i) => g === `m${i};`));
        srv.child.kill("SIGINT");
        const { code } = await srv.exited;
        assert.equal(code, 0, srv.err());
        assert.match(srv.err(), new RegExp(`stop: ${N} connections served, \\d+ bytes echoed, 0 errors`));
      } finally {
        for (const s of socks) s.destroy();
      }
    });
  }

  it("memory per connection is bounded by --buf: 16 peers each pushing 8 MiB without reading leave the server's RSS nearly flat", async function () {
    const srv = await startServer("--buf", String(1 << 20));
    const pid = srv.child.pid!;
    // Warm up a little first (JIT, the first connection's allocations).
    const w = await connect(srv.port);
    w.write("warm");
    await new Promise((r) => w.once("data", r));
    w.destroy();
    await sleep(200);
    const before = rssMiB(pid);
    const socks: nodeNet.Socket[] = [];
    try {
      for (let i = 0; i < 16; i++) {
        const s = await connect(srv.port);
        s.pause(); // never read the echoes
        s.on("error", () => {});
        s.write(Buffer.alloc(8 << 20, i)); // 128 MiB in all, buffered on this side
        socks.push(s);
      }
      await sleep(1500);
      const after = rssMiB(pid);
      // 16 × 1 MiB of buffers, plus allocator and JIT noise; without the bound it would hold up to 128 MiB.
      assert.ok(after - before < 16 + 40, `the server's RSS grew ${(after - before).toFixed(1)} MiB (from ${before.toFixed(1)})`);
      assert.equal(srv.child.exitCode, null);
    } finally {
      for (const s of socks) s.destroy();
    }
    srv.child.kill("SIGINT");
    assert.equal((await srv.exited).code, 0, srv.err());
  });

  it("a poller that cannot start (the event-port emulation not built) is one error line naming the library and the build command, and exit status 1", function () {
    this.timeout(60_000);
    // A copy of the sources without native/build: its emulation path leads nowhere.
    const dir = mkdtempSync(path.join(tmpdir(), "gort-nobuild-"));
    try {
      for (const d of ["src", "examples", "package.json"]) cpSync(path.join(root, d), path.join(dir, d), { recursive: true });
      symlinkSync(path.join(root, "node_modules"), path.join(dir, "node_modules"));
      const r = spawnSync(process.execPath, ["--import", "tsx", "examples/echo-server.ts", "--backend", "eventports", "--addr", "127.0.0.1:0"], {
        cwd: dir,
        encoding: "utf8",
        timeout: 30_000,
        env: { ...process.env, NODE_OPTIONS: "" },
      });
      assert.equal(r.status, 1, r.stderr);
      const lines = r.stderr.trim().split("\n");
      assert.equal(lines.length, 1, r.stderr);
      assert.match(lines[0], /echo-server: error: netpoll: cannot load \S*native\/build\/libportemu\.so \(build it with `npm run build:native`\): /);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("--buf above 1 MiB (or below 1) is refused; the default address is 127.0.0.1:7000", async function () {
    for (const v of [String((1 << 20) + 1), "1e9", "0"]) {
      const p = startChild(process.execPath, ["--import", "tsx", "examples/echo-server.ts", "--buf", v]);
      assert.equal((await p.exited).code, 2, p.err());
      assert.match(p.err(), /--buf: want an integer >= 1 and <= 1048576/);
    }
    // Without --addr: loopback port 7000 (or, when something else has that port, the error names it).
    const p = startChild(process.execPath, ["--import", "tsx", "examples/echo-server.ts"]);
    await until(() => /listening on|error: listen/.test(p.err()), "the start line or a listen error", p, 20_000);
    assert.match(p.err(), /listening on 127\.0\.0\.1:7000 |error: listen tcp 127\.0\.0\.1:7000: bind: address already in use/);
    p.child.kill("SIGINT");
    await p.exited;
  });
});

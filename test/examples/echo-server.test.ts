// examples/echo-server.ts (and its client) as a user runs them: a child
// process on 127.0.0.1:0 (the start line gives the port), clients from
// Node's own net module, then a signal, and the exit status and log lines.

import assert from "node:assert/strict";
import * as nodeNet from "node:net";

import { killChildren, startTs, until, type Child } from "../support/child.ts";

/** Starts the echo server on a free port; resolves once it listens, with the port. */
async function startServer(...args: string[]): Promise<Child & { port: number }> {
  const p = startTs("examples/echo-server.ts", ["--addr", "127.0.0.1:0", ...args]);
  await until(() => /start: listening on 127\.0\.0\.1:\d+/.test(p.err()) || p.child.exitCode !== null, "the start line", p);
  const m = /start: listening on 127\.0\.0\.1:(\d+)/.exec(p.err());
  assert.ok(m, `no start line:\n${p.err()}`);
  return { ...p, port: Number(m[1]) };
}

function connect(port: number): Promise<nodeNet.Socket> {
  return new Promise((resolve, reject) => {
    const s = nodeNet.connect(port, "127.0.0.1", () => resolve(s));
    s.once("error", reject);
  });
}

/** Collects what a socket receives; `ended` resolves at end of stream (or error). */
function collect(s: nodeNet.Socket): { data: () => Buffer; ended: Promise<void> } {
  const chunks: Buffer[] = [];
  s.on("data", (d: Buffer) => chunks.push(d));
  const ended = new Promise<void>((resolve) => {
    s.once("end", resolve);
    s.once("close", resolve);
    s.once("error", () => resolve());
  });
  return { data: () => Buffer.concat(chunks), ended };
}

/** One client: sends msg, waits for it to come back, closes. */
async function echoOnce(port: number, msg: Buffer): Promise<void> {
  const s = await connect(port);
  const c = collect(s);
  s.write(msg);
  await until(() => c.data().length >= msg.length, "the echo");
  assert.ok(c.data().equals(msg));
  s.end();
  await c.ended;
  s.destroy();
}

describe("examples/echo-server", function () {
  this.timeout(60_000);

  afterEach(function () {
    killChildren();
  });

  it("serves clients; SIGINT stops it cleanly: idle connections end, a stop line with the counts, exit 0", async function () {
    const srv = await startServer();
    // The server picks the default backend, or the one NETPOLL_BACKEND names (the suite runs under both).
    const backend = process.env.NETPOLL_BACKEND || "epoll";
    assert.match(srv.err(), new RegExp(`backend ${backend}, max-conns 10000`));
    const msgs = [Buffer.from("a"), Buffer.from("hello, echo"), Buffer.alloc(200_000, 7)];
    await Promise.all(msgs.map((m) => echoOnce(srv.port, m)));
    const idle = await connect(srv.port);
    const ic = collect(idle);
    idle.write("still here");
    await until(() => ic.data().length === 10, "the idle client's echo");
    const t = Date.now();
    srv.child.kill("SIGINT");
    await ic.ended; // the server closed the idle connection
    const { code, signal } = await srv.exited;
    assert.equal(signal, null);
    assert.equal(code, 0, srv.err());
    assert.ok(Date.now() - t < 4000, `stopping took ${Date.now() - t} ms, not the whole grace period`);
    const bytes = msgs.reduce((n, m) => n + m.length, 0) + 10;
    assert.match(srv.err(), /stopping \(SIGINT\): 1 connections open, grace 5000 ms/);
    assert.match(srv.err(), new RegExp(`stop: 4 connections served, ${bytes} bytes echoed, 0 errors, 0 cut off, up \\d+\\.\\d s`));
    assert.equal(srv.err().trim().split("\n").length, 3, "a line each for start, stopping and stop:\n" + srv.err());
    idle.destroy();
  });

  it("SIGTERM on the event-port backend; the client's interactive and load modes", async function () {
    const srv = await startServer("--backend", "eventports", "--max-conns", "0");
    assert.match(srv.err(), /backend eventports, max-conns unlimited/);
    const inter = startTs("examples/echo-client.ts", ["--addr", `127.0.0.1:${srv.port}`], "hello\nworld\n");
    const ir = await inter.exited;
    assert.equal(ir.code, 0, inter.err());
    assert.equal(inter.out(), "hello\nworld\n");
    const load = startTs("examples/echo-client.ts", [
      "--addr",
      `127.0.0.1:${srv.port}`,
      "--load",
      "--conns",
      "8",
      "--size",
      "100",
      "--duration",
      "0.5",
      "--warmup",
      "0.1",
      "--verify",
    ]);
    const lr = await load.exited;
    assert.equal(lr.code, 0, load.err());
    const report = JSON.parse(load.out()) as Record<string, unknown> & { latency_us: Record<string, number> };
    assert.equal(report.conns, 8);
    assert.equal(report.size, 100);
    assert.equal(report.errors, 0);
    assert.equal(report.mismatches, 0);
    assert.ok((report.msgs as number) > 0 && (report.msgs_per_s as number) > 0, load.out());
    assert.ok(report.latency_us.p50! > 0 && report.latency_us.p50! <= report.latency_us.p99!, load.out());
    srv.child.kill("SIGTERM");
    const { code } = await srv.exited;
    assert.equal(code, 0, srv.err());
    assert.match(srv.err(), /stopping \(SIGTERM\)/);
    assert.match(srv.err(), /stop: 9 connections served, \d+ bytes echoed, 0 errors/);
  });

  it("a client that does not read: its echo is cut off after --grace, and the server still exits 0", async function () {
    const srv = await startServer("--grace", "300");
    const s = await connect(srv.port);
    s.pause(); // never read: the server's writes back fill the socket buffers and wait
    s.on("error", () => {});
    s.write(Buffer.alloc(32 << 20, 1));
    await new Promise((r) => setTimeout(r, 300));
    const t = Date.now();
    srv.child.kill("SIGINT");
    const { code } = await srv.exited;
    assert.equal(code, 0, srv.err());
    const took = Date.now() - t;
    assert.ok(took >= 250 && took < 4000, `stopped after ${took} ms:\n${srv.err()}`);
    assert.match(srv.err(), /stop: 1 connections served, \d+ bytes echoed, 0 errors, 1 cut off/);
    s.destroy();
  });

  it("--max-conns 2: a third client waits in the backlog until a connection closes", async function () {
    const srv = await startServer("--max-conns", "2");
    const socks = await Promise.all([0, 1, 2].map(() => connect(srv.port)));
    const cs = socks.map(collect);
    socks.forEach((s, i) => s.write(`client ${i}`));
    await until(() => cs.filter((c) => c.data().length > 0).length === 2, "two echoes", srv);
    await new Promise((r) => setTimeout(r, 100));
    const waiting = cs.findIndex((c) => c.data().length === 0);
    assert.ok(waiting >= 0, "one client is not served yet");
    const served = socks.findIndex((_, i) => i !== waiting);
    socks[served]!.end();
    await until(() => cs[waiting]!.data().toString() === `client ${waiting}`, "the third echo once a slot freed", srv);
    srv.child.kill("SIGINT");
    assert.equal((await srv.exited).code, 0, srv.err());
    assert.match(srv.err(), /stop: 3 connections served/);
    for (const s of socks) s.destroy();
  });

  it("--help, a bad flag, and an address in use", async function () {
    const help = startTs("examples/echo-server.ts", ["--help"]);
    assert.equal((await help.exited).code, 0);
    assert.match(help.out(), /^usage: npm run echo/);
    assert.match(help.out(), /--addr HOST:PORT/);
    assert.match(help.out(), /--max-conns N/);
    const bad = startTs("examples/echo-server.ts", ["--max-conns", "lots"]);
    assert.equal((await bad.exited).code, 2);
    assert.match(bad.err(), /--max-conns: want an integer/);
    const unknown = startTs("examples/echo-server.ts", ["--nope"]);
    assert.equal((await unknown.exited).code, 2);
    const srv = await startServer();
    const busy = startTs("examples/echo-server.ts", ["--addr", `127.0.0.1:${srv.port}`]);
    assert.equal((await busy.exited).code, 1);
    assert.match(busy.err(), new RegExp(`error: listen tcp 127\\.0\\.0\\.1:${srv.port}: bind: address already in use`));
    srv.child.kill("SIGINT");
    assert.equal((await srv.exited).code, 0);
  });
});

describe("examples/chat", function () {
  this.timeout(60_000);

  it("relays lines between clients, drops an idle one, and closes the room on SIGINT", async function () {
    const p = startTs("examples/chat.ts", ["--addr", "127.0.0.1:0", "--idle", "1"]);
    try {
      await until(() => /start: listening on 127\.0\.0\.1:\d+/.test(p.err()), "the start line", p);
      const port = Number(/listening on 127\.0\.0\.1:(\d+)/.exec(p.err())![1]);
      const a = await connect(port);
      const ac = collect(a);
      await until(() => ac.data().toString().includes("nobody else"), "a's welcome", p);
      const b = await connect(port);
      const bc = collect(b);
      await until(() => ac.data().toString().includes("has arrived"), "b's arrival, told to a", p);
      b.write("hello room\r\n");
      await until(() => /: hello room\n/.test(ac.data().toString()), "b's line at a", p);
      // Both go quiet: each is dropped after 1 s of silence, with a goodbye.
      await ac.ended;
      await bc.ended;
      assert.match(ac.data().toString(), /You have been idle for 1 s\. Bye\.\n$/);
      assert.match(p.err(), /was dropped \(idle 1 s\)/);
      const c = await connect(port);
      const cc = collect(c);
      await until(() => cc.data().toString().includes("nobody else"), "c's welcome", p);
      p.child.kill("SIGINT");
      await cc.ended;
      assert.match(cc.data().toString(), /The room is closing\. Bye\.\n$/);
      const { code } = await p.exited;
      assert.equal(code, 0, p.err());
      assert.match(p.err(), /chat: stop\n$/);
      for (const s of [a, b, c]) s.destroy();
    } finally {
      p.child.kill("SIGKILL");
    }
  });
});

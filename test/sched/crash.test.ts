// Programs run as child processes through runMain, checked the way Go's
// runtime/crash_test.go checks its testprog: exit status and stderr.

import assert from "node:assert/strict";
import { spawn, spawnSync, type SpawnSyncReturns } from "node:child_process";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("../../", import.meta.url));

function runTestProg(name: string): SpawnSyncReturns<string> {
  const r = spawnSync(process.execPath, ["--import", "tsx", `test/testprog/${name}.ts`], {
    cwd: root,
    encoding: "utf8",
    timeout: 10_000,
    env: { ...process.env, NODE_OPTIONS: "" },
  });
  if (r.error !== undefined) throw r.error;
  assert.equal(r.signal, null, `testprog ${name} was killed by ${r.signal}\nstderr:\n${r.stderr}`);
  return r;
}

describe("sched: crashing programs (runMain)", function () {
  this.timeout(15_000);

  it("a normal program exits with status 0 and writes nothing to stderr", function () {
    const r = runTestProg("ok");
    assert.equal(r.stderr, "");
    assert.equal(r.stdout, "sum 1014\n");
    assert.equal(r.status, 0);
  });

  it("a program that starts the poller and never uses it exits with status 0", function () {
    const r = runTestProg("poller-idle");
    assert.equal(r.stdout, "up\n");
    assert.equal(r.status, 0, r.stderr);
  });

  it("deadlock: status 2, Go's fatal error and a dump of every goroutine", function () {
    const r = runTestProg("deadlock");
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.startsWith("fatal error: all goroutines are asleep - deadlock!\n\n"), r.stderr);
    assert.match(r.stderr, /^goroutine 1 \[chan receive, \d+ms\]:\nmain\(\.\.\.\)\n/m);
    assert.match(r.stderr, /^goroutine 2 \[chan send, \d+ms\]:\nworker\(\.\.\.\)\ncreated by main in goroutine 1\n/m);
  });

  it("an unrecovered panic in a goroutine: status 2, 'panic: ' and that goroutine", function () {
    const r = runTestProg("panic");
    assert.equal(r.status, 2, r.stderr);
    assert.ok(r.stderr.startsWith("panic: Error: boom\n\ngoroutine 2 [running]:\n"), r.stderr);
    assert.match(r.stderr, /\n {4}at exploder .*panic\.ts/);
    assert.match(r.stderr, /created by main in goroutine 1\n/);
  });

  it("send on a closed channel: status 2 and a runtime panic in main", function () {
    const r = runTestProg("sendclosed");
    assert.equal(r.status, 2, r.stderr);
    assert.equal(r.stdout, "");
    assert.ok(r.stderr.startsWith("panic: RuntimeError: send on closed channel\n\ngoroutine 1 [running]:\n"), r.stderr);
  });

  it("dumpOnSigquit: SIGQUIT prints every goroutine and exits with status 2", async function () {
    const child = spawn(process.execPath, ["--import", "tsx", "test/testprog/sigquit.ts"], {
      cwd: root,
      env: { ...process.env, NODE_OPTIONS: "" },
      stdio: ["ignore", "pipe", "pipe"],
    });
    let stdout = "";
    let stderr = "";
    child.stdout.setEncoding("utf8").on("data", (d: string) => {
      stdout += d;
      if (stdout.includes("ready\n")) child.kill("SIGQUIT");
    });
    child.stderr.setEncoding("utf8").on("data", (d: string) => (stderr += d));
    const killer = setTimeout(() => child.kill("SIGKILL"), 10_000);
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve) =>
      child.on("close", (c, s) => resolve([c, s])),
    );
    clearTimeout(killer);
    assert.equal(stdout, "ready\n");
    assert.equal(signal, null, `killed by ${signal}; stderr:\n${stderr}`);
    assert.equal(code, 2, stderr);
    assert.ok(stderr.startsWith("SIGQUIT: quit\n\n"), stderr);
    assert.match(stderr, /^goroutine 1 \[sleep, \d+ms\]:\nmain\(\.\.\.\)\n/m);
    assert.match(stderr, /^goroutine 2 \[chan receive, \d+ms\]:\nblockedReceiver\(\.\.\.\)\ncreated by main in goroutine 1\n/m);
  });
});

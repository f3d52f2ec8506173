// The poller thread's code as one CommonJS script, for `new Worker(script,
// { eval: true })`.
//
// Why: a worker thread does not inherit the main thread's tsx loader (Node
// 20), and loading tsx in the poller thread cost ~0.5 s of CPU and ~30 MiB
// (its module hooks run on a loader thread of their own) at every start. The
// thread's code is small and self-contained (poller-worker.ts, the backends,
// shm, ring, the ABI tables), so it is bundled once with esbuild, which tsx
// already depends on, and cached in the OS temporary directory under a hash
// of its sources: a later start reads one file. The bundling runs in a
// child process: esbuild's synchronous API keeps a worker thread and the
// esbuild service alive in the calling process for its later calls, and a
// program that never bundles anything else should not carry them.
//
// Two things a bundle changes, handled here:
//   - koffi stays outside (it loads its native module from its own folder)
//     and is required by absolute path, as the eval'd script has no module
//     folder of its own;
//   - import.meta.url has no meaning in a CommonJS script: the one module of
//     the bundle that uses it (eventport_ffi.ts, for the emulation's path)
//     gets its own file URL. A second user would get the wrong one, so the
//     bundle is refused if any other input mentions import.meta.

import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const here = fileURLToPath(new URL(".", import.meta.url));
const entry = join(here, "poller-worker.ts");
/** The folders the thread's code comes from: the cache key hashes every .ts file in them. */
const sourceDirs = [here, fileURLToPath(new URL("../runtime/abi/", import.meta.url))];
/** The one input allowed to use import.meta.url. */
const metaUser = join(here, "eventport_ffi.ts");

function sourceHash(): string {
  const h = createHash("sha256");
  for (const dir of sourceDirs) {
    for (const f of readdirSync(dir).filter((n) => n.endsWith(".ts")).sort()) {
      h.update(f).update(readFileSync(join(dir, f)));
    }
  }
  return h.digest("hex").slice(0, 16);
}

/** esbuild's buildSync in a child Node process: the bundle and its inputs (relative to `here`). */
function bundleInChild(esbuildPath: string): { code: string; inputs: string[] } {
  const options = {
    entryPoints: [entry],
    bundle: true,
    write: false,
    metafile: true,
    format: "cjs",
    platform: "node",
    target: "node20",
    external: ["koffi"],
    absWorkingDir: here,
    define: { "import.meta.url": JSON.stringify(new URL(`file://${metaUser}`).href) },
    logLevel: "silent",
  };
  const script =
    `const r = require(${JSON.stringify(esbuildPath)}).buildSync(${JSON.stringify(options)});` +
    `process.stdout.write(JSON.stringify({ code: r.outputFiles[0].text, inputs: Object.keys(r.metafile.inputs) }));`;
  const out = spawnSync(process.execPath, ["-e", script], {
    encoding: "utf8",
    maxBuffer: 64 << 20,
    env: { ...process.env, NODE_OPTIONS: "", ESBUILD_WORKER_THREADS: "0" },
  });
  if (out.status !== 0) throw new Error(`netpoll: bundling the poller thread's code failed: ${out.error?.message ?? out.stderr}`);
  return JSON.parse(out.stdout) as { code: string; inputs: string[] };
}

function build(koffiPath: string, esbuildPath: string): string {
  const r = bundleInChild(esbuildPath);
  for (const input of r.inputs) {
    const abs = join(here, input);
    if (!sourceDirs.some((d) => !relative(d, abs).startsWith(".."))) {
      throw new Error(`netpoll: the poller thread's code imports ${input}, outside the folders its cache key covers`);
    }
    if (abs !== metaUser && readFileSync(abs, "utf8").includes("import.meta")) {
      throw new Error(`netpoll: ${input} uses import.meta, which the poller thread's bundle cannot give it`);
    }
  }
  const code = r.code;
  const bound = code.replaceAll('require("koffi")', `require(${JSON.stringify(koffiPath)})`);
  if (bound === code) throw new Error("netpoll: the poller thread's bundle does not require koffi");
  return bound;
}

/** The poller thread's script: from the cache, or bundled now (~150 ms, once per change of its sources). */
export function pollerWorkerScript(): string {
  const require = createRequire(import.meta.url);
  const koffiPath = require.resolve("koffi");
  const dir = join(tmpdir(), "gort-netpoll");
  const koffiKey = createHash("sha256").update(koffiPath).digest("hex").slice(0, 8);
  const file = join(dir, `poller-${sourceHash()}-${koffiKey}.cjs`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    // not cached yet
  }
  const script = build(koffiPath, require.resolve("esbuild"));
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, script);
    renameSync(tmp, file); // atomic: a concurrent start reads a whole file or none
    removeOlderBundles(dir, file, koffiKey);
  } catch {
    // an unwritable temporary directory: bundle again next time
  }
  return script;
}

/**
 * Removes the bundles of earlier sources for the same koffi (this checkout's
 * older versions), so the cache holds one file per checkout. A process still
 * starting from one it removes just bundles again.
 */
function removeOlderBundles(dir: string, keep: string, koffiKey: string): void {
  for (const name of readdirSync(dir)) {
    if (name.startsWith("poller-") && name.endsWith(`-${koffiKey}.cjs`) && join(dir, name) !== keep) rmSync(join(dir, name), { force: true });
  }
}

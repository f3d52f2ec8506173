// The poller thread's code as one CommonJS script, for `new Worker(script,
// { eval: true })`.
//
// Why: a worker thread does not inherit the main thread's tsx loader (Node
// 20), and loading tsx in the poller thread cost ~0.5 s of CPU and ~30 MiB
// (its module hooks run on a loader thread of their own) at every start. The
// thread's code is small and self-contained (poller-worker.ts, the backends,
// shm, ring, the ABI tables), so it is bundled once with esbuild, which tsx
// already depends on, and cached in the OS temporary directory under a hash
// of its sources: a later start reads one file.
//
// Two things a bundle changes, handled here:
//   - koffi stays outside (it loads its native module from its own folder)
//     and is required by absolute path, as the eval'd script has no module
//     folder of its own;
//   - import.meta.url has no meaning in a CommonJS script: the one module of
//     the bundle that uses it (eventport_ffi.ts, for the emulation's path)
//     gets its own file URL. A second user would get the wrong one, so the
//     bundle is refused if any other input mentions import.meta.

import { createHash } from "node:crypto";
import { mkdirSync, readdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

import { buildSync } from "esbuild";

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

function build(koffiPath: string): string {
  const r = buildSync({
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
  });
  for (const input of Object.keys(r.metafile.inputs)) {
    const abs = join(here, input);
    if (!sourceDirs.some((d) => !relative(d, abs).startsWith(".."))) {
      throw new Error(`netpoll: the poller thread's code imports ${input}, outside the folders its cache key covers`);
    }
    if (abs !== metaUser && readFileSync(abs, "utf8").includes("import.meta")) {
      throw new Error(`netpoll: ${input} uses import.meta, which the poller thread's bundle cannot give it`);
    }
  }
  const code = r.outputFiles[0]!.text;
  const bound = code.replaceAll('require("koffi")', `require(${JSON.stringify(koffiPath)})`);
  if (bound === code) throw new Error("netpoll: the poller thread's bundle does not require koffi");
  return bound;
}

/** The poller thread's script: from the cache, or bundled now (~150 ms, once per change of its sources). */
export function pollerWorkerScript(): string {
  const koffiPath = createRequire(import.meta.url).resolve("koffi");
  const dir = join(tmpdir(), "gort-netpoll");
  const file = join(dir, `poller-${sourceHash()}-${createHash("sha256").update(koffiPath).digest("hex").slice(0, 8)}.cjs`);
  try {
    return readFileSync(file, "utf8");
  } catch {
    // not cached yet
  }
  const script = build(koffiPath);
  try {
    mkdirSync(dir, { recursive: true });
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, script);
    renameSync(tmp, file); // atomic: a concurrent start reads a whole file or none
  } catch {
    // an unwritable temporary directory: bundle again next time
  }
  return script;
}

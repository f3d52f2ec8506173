#!/usr/bin/env bash
# echo-threads.sh PORT 'SERVER COMMAND' [conns] [size] [seconds]
#
# Where an echo server's CPU goes, thread by thread. The set-up is
# ../shared/bench/echo-vs.sh's (server pinned to CPU 0, echoload on CPU 1,
# 0.5 s warm-up), but the server's CPU is read per thread from
# /proc/PID/task/TID/schedstat (the scheduler's own nanoseconds on CPU, not
# tick samples), with voluntary context switches from .../status. One JSON
# line: msgs_per_s, then for each thread that ran at least 0.1 us per message
# its CPU and switches per message, and the total. Use it for the question
# echo-vs.sh's one figure cannot answer: how much of a message the poller
# thread costs (docs/benchmarks.md, "One connection").
set -u
here=$(cd "$(dirname "$0")" && pwd)
bin=${ECHOBENCH_BIN:-/tmp/echobench-bin}
[ -x "$bin/echoload" ] || bin=$(bash "$here/../../shared/bench/build.sh")
port=$1; cmd=$2; conns=${3:-1}; size=${4:-64}; secs=${5:-5}
out=$(mktemp -d)
trap 'rm -rf "$out"' EXIT
taskset -c 0 bash -c "exec $cmd" >"$out/server.log" 2>&1 &
spid=$!
for _ in $(seq 1 150); do
  (exec 3<>/dev/tcp/127.0.0.1/"$port") 2>/dev/null && break
  sleep 0.1
done
# tid, ns on CPU, voluntary switches: one line per thread.
snap() {
  for t in /proc/"$spid"/task/*; do
    echo "${t##*/} $(cut -d' ' -f1 "$t/schedstat") $(awk '/^voluntary_ctxt_switches/ {print $2}' "$t/status")"
  done 2>/dev/null
}
taskset -c 1 "$bin/echoload" -addr "127.0.0.1:$port" -conns "$conns" -size "$size" -duration "${secs}s" -warmup 500ms >"$out/load.json" &
lpid=$!
sleep 0.5; snap >"$out/s0"
wait $lpid; rc=$?
snap >"$out/s1"
kill $spid 2>/dev/null; wait $spid 2>/dev/null
[ $rc -eq 0 ] || { echo "echo-threads.sh: load failed (rc=$rc); server log:" >&2; tail -5 "$out/server.log" >&2; exit $rc; }
node -e '
const fs = require("fs");
const [dir, secs] = process.argv.slice(1);
const load = JSON.parse(fs.readFileSync(dir + "/load.json", "utf8"));
const msgs = load.msgs_per_s * Number(secs);
const read = (f) => new Map(fs.readFileSync(f, "utf8").trim().split("\n").map((l) => l.split(" ")).map(([t, ns, sw]) => [t, [Number(ns), Number(sw)]]));
const a = read(dir + "/s0"), b = read(dir + "/s1");
const threads = [];
let total = 0;
for (const [tid, [ns1, sw1]] of b) {
  const [ns0, sw0] = a.get(tid) ?? [0, 0];
  const us = (ns1 - ns0) / 1e3 / msgs;
  total += us;
  if (us >= 0.1) threads.push({ tid: Number(tid), cpu_us_per_msg: +us.toFixed(2), switches_per_msg: +((sw1 - sw0) / msgs).toFixed(2) });
}
console.log(JSON.stringify({ conns: load.conns, size: load.size, msgs_per_s: Math.round(load.msgs_per_s), cpu_us_per_msg: +total.toFixed(2), threads }));
' "$out" "$secs"

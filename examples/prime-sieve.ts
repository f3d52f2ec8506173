// Go's concurrent prime sieve (go.dev/doc/play/sieve.go), goroutine for goroutine:
// a generator feeds 2, 3, 4, ... into a chain of filters, one per prime found.
//
//   npm run example:sched -- [count]     prints the first `count` primes (default 100)

import { chan, go, runMain, type Chan, type Op } from "../src/index.ts";

function* generate(ch: Chan<number>): Op<void> {
  for (let i = 2; ; i++) yield* ch.send(i);
}

function* filter(src: Chan<number>, dst: Chan<number>, prime: number): Op<void> {
  for (;;) {
    const i = yield* src.recv();
    if (i % prime !== 0) yield* dst.send(i);
  }
}

const count = Number(process.argv[2] ?? 100);
if (!Number.isSafeInteger(count) || count < 1) {
  process.stderr.write("usage: prime-sieve [count ≥ 1]\n");
  process.exit(2);
}

runMain(function* main() {
  let ch = chan<number>();
  go(generate, ch);
  const primes: number[] = [];
  for (let i = 0; i < count; i++) {
    const prime = yield* ch.recv();
    primes.push(prime);
    const next = chan<number>();
    go(filter, ch, next, prime);
    ch = next;
  }
  process.stdout.write(primes.join(" ") + "\n");
});

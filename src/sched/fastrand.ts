// The scheduler's random source (Go's cheaprand): select's poll order.
// Deterministic once seeded, so fairness tests can fix the seed.
// splitmix32: one multiply-xorshift per draw, good enough for shuffling.

let state = (Math.random() * 0x100000000) >>> 0;

/** Seeds the runtime's random source (for reproducible select order in tests). */
export function seedRand(seed: number): void {
  state = seed >>> 0;
}

/** A uniform integer in [0, n), n ≤ 2^32. */
export function cheaprandn(n: number): number {
  state = (state + 0x9e3779b9) | 0;
  let z = state;
  z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
  z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
  z = (z ^ (z >>> 16)) >>> 0;
  return Math.floor((z / 0x100000000) * n);
}

// Test data: n pseudo-random bytes from a seed (an LCG's high bytes), the
// same on every run, so a corrupted or reordered echo shows.

export function pattern(n: number, seed: number): Uint8Array {
  const b = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    b[i] = x >>> 24;
  }
  return b;
}

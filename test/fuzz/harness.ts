/**
 * What every reader fuzzer shares: the run count and seed (VITX_FUZZ_RUNS, VITX_FUZZ_SEED), the
 * property that a failure is the reader's own one-line error, a random source for mutate.ts, and
 * the per-case budgets that catch amplification (a small file that makes a reader allocate
 * gigabytes or work for a minute): peak RSS growth and CPU time, measured around each case.
 */
import fc from 'fast-check';
import { expect } from 'vitest';
import { measure } from '../helpers/budget.js';
import { type Rng, rngFrom } from './mutate.js';

export const RUNS = Number(process.env['VITX_FUZZ_RUNS'] ?? 1000);
export const SEED = Number(process.env['VITX_FUZZ_SEED'] ?? 20261129);
export const params = { numRuns: RUNS, seed: SEED, endOnFailure: true };
/** Long runs (`npm run fuzz`) outlast vitest's default per-test timeout. */
export const TIMEOUT = 300_000 + RUNS * 50;

/** Raw JavaScript error text that must never be all a message says. */
export const RAW_JS = /Cannot read properties|is not a function|is not iterable|Invalid array length|Invalid typed array length|Maximum call stack|out of memory|Cannot convert|\bis not defined$/;

export function expectReaderError(e: unknown, types: readonly (abstract new (...a: never[]) => Error)[]): void {
  if (!types.some((t) => e instanceof t)) throw new Error(`not a reader error: ${(e as Error)?.constructor?.name}: ${(e as Error)?.message}`);
  const msg = (e as Error).message;
  expect(msg.length).toBeGreaterThan(0);
  expect(msg).not.toContain('\n');
  expect(msg).not.toMatch(RAW_JS);
}

export const withRng = (f: (r: Rng) => void) => fc.property(fc.gen(), (g) => f(rngFrom((lo, hi) => g(fc.integer, { min: lo, max: hi }))));

/**
 * Like withRng, but each case draws one 32-bit seed from fast-check and runs a small PRNG
 * (mulberry32) from it: for generators that make 10^5 draws a case, where a fast-check draw per
 * call dominates the time. A failure prints that seed, which replays the case.
 */
export const withSeededRng = (f: (r: Rng) => void) => fc.property(fc.integer({ min: 0, max: 2 ** 32 - 1 }), (seed) => {
  let a = seed >>> 0;
  const next = () => { a = (a + 0x6d2b79f5) >>> 0; let t = a; t = Math.imul(t ^ (t >>> 15), t | 1); t ^= t + Math.imul(t ^ (t >>> 7), t | 61); return ((t ^ (t >>> 14)) >>> 0) / 2 ** 32; };
  f(rngFrom((lo, hi) => lo + Math.floor(next() * (hi - lo + 1))));
});

/**
 * What one case may take: CPU time (user + system: wall time stretches with the load of a shared
 * machine, CPU time does not), and peak RSS growth as a function of the input's size.
 */
export interface Budget { cpuMs: number; peakMB: (inputBytes: number) => number; why: string }

/**
 * Checkpoints and .npy files: memory proportional to the file (the unpickler's own budget is 32
 * estimated bytes per byte + 16 MiB; real memory stays within about twice that), so 64 MB + 128 ×
 * the file. Pre-fix amplification was 475 bytes per byte (EMPTY_DICT) and unbounded for memoized
 * copies (8 × items × calls). Cases are at most a few hundred kB and read in well under a second;
 * the quadratic CRC took ~1 min.
 */
export const DATA_BUDGET: Budget = { cpuMs: 2000, peakMB: (n) => 64 + (128 * n) / 2 ** 20, why: '64 MB + 128 × the file' };
/**
 * Photos: a decoded image is bounded by documented limits rather than by its file (a 1 Mpixel
 * JPEG needs no density, PNG data inflates up to 1032×), so a flat 256 MB; a 4000×1 PNG took 4.1 GB.
 */
export const IMAGE_BUDGET: Budget = { cpuMs: 2000, peakMB: () => 256, why: '256 MB' };

/** Runs one case: `f` must pass (its own assertions) within `budget`. */
export function withinBudget(what: string, budget: Budget, inputBytes: number, f: () => void): void {
  const m = measure(f);
  if (m.error) throw m.error;
  if (m.cpuMs > budget.cpuMs) throw new Error(`${what}: a case of ${inputBytes} bytes took ${m.cpuMs.toFixed(0)} ms of CPU (${m.ms.toFixed(0)} ms wall), over the ${budget.cpuMs} ms budget (amplification or quadratic work?)`);
  const limit = budget.peakMB(inputBytes);
  if (m.peakGrowthMB !== null && m.peakGrowthMB > limit) throw new Error(`${what}: a case of ${inputBytes} bytes raised peak RSS by ${m.peakGrowthMB.toFixed(0)} MB, over its budget of ${limit.toFixed(0)} MB (${budget.why}): amplification?`);
}

/**
 * System packages some tests need (scripts/setup.sh installs them on Debian 12):
 *
 *   chromium           /usr/bin/chromium (or $VITX_CHROMIUM): the browser backends, and SwiftShader's
 *                      Vulkan driver (/usr/lib/chromium/vk_swiftshader_icd.json) for WebGPU without a GPU
 *   python3-onnx       /usr/bin/python3 with `import onnx`: the ONNX checker and reader as test oracles
 *   libonnx-testdata   /usr/share/libonnx-testdata/data: the ONNX project's backend test data
 *
 * A test that needs one calls `needs(ctx, …)` first. When one is missing the test is skipped
 * VISIBLY — reported as skipped with the reason (the summary line lists it) — or, when the
 * environment says the prerequisites are installed (`VITX_REQUIRE_SYSTEM=1`: .ci/run and the
 * README's test command, which run scripts/setup.sh first), it FAILS: in CI a missing package is a
 * broken setup, never a pass. No test returns early on its own.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import type { TestContext } from 'vitest';
import { chromiumPath } from '../../src/runtime/browser.js';
import { SWIFTSHADER_ICD } from '../../src/runtime/webgpu-env.js';

export type Prerequisite = 'chromium' | 'python3-onnx' | 'libonnx-testdata';

export const ONNX_TESTDATA = '/usr/share/libonnx-testdata/data';

const cache = new Map<Prerequisite, string | null>();

function probe(p: Prerequisite): string | null {
  switch (p) {
    case 'chromium': {
      const exe = chromiumPath();
      if (!existsSync(exe)) return `no Chromium at ${exe}`;
      return existsSync(SWIFTSHADER_ICD) ? null : `no SwiftShader Vulkan driver at ${SWIFTSHADER_ICD}`;
    }
    case 'python3-onnx':
      try {
        execFileSync('/usr/bin/python3', ['-c', 'import onnx'], { stdio: 'ignore' });
        return null;
      } catch {
        return '/usr/bin/python3 cannot import onnx';
      }
    case 'libonnx-testdata':
      return existsSync(`${ONNX_TESTDATA}/node`) ? null : `no ${ONNX_TESTDATA}/node`;
  }
}

/** Why `p` is not usable on this machine, or null when it is (probed once per process). */
export function missing(p: Prerequisite): string | null {
  if (!cache.has(p)) cache.set(p, probe(p));
  return cache.get(p)!;
}

/** Whether a missing prerequisite fails the test (CI) instead of skipping it. */
export function systemRequired(): boolean {
  return process.env['VITX_REQUIRE_SYSTEM'] === '1';
}

export class MissingPrerequisiteError extends Error {}

/**
 * Stops the test unless every prerequisite is there: a visible skip naming what is missing, or a
 * failure with VITX_REQUIRE_SYSTEM=1.
 */
export function needs(ctx: Pick<TestContext, 'skip'>, ...ps: Prerequisite[]): void {
  const gaps = ps.map((p) => [p, missing(p)] as const).filter(([, why]) => why !== null);
  if (gaps.length === 0) return;
  const what = gaps.map(([p, why]) => `${p} (${why})`).join(', ');
  if (systemRequired()) throw new MissingPrerequisiteError(`missing prerequisite ${what}; VITX_REQUIRE_SYSTEM=1 says it is installed: run scripts/setup.sh`);
  ctx.skip(`needs ${what}: install with scripts/setup.sh`);
}

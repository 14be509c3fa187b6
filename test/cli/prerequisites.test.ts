/**
 * A test whose system prerequisite is missing is never a silent pass: it is reported as skipped
 * with the reason, or — with VITX_REQUIRE_SYSTEM=1, as CI and the README's test command run — it
 * fails. Checked by running vitest itself on test/cli/trust.test.ts's SwiftShader test (which used to
 * return early) with Chromium made "missing" through VITX_CHROMIUM.
 */
import { spawnSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { needs } from '../helpers/prerequisites.js';
import { ROOT } from '../helpers/cli.js';

function nested(env: Record<string, string>): { code: number; out: string } {
  const base: Record<string, string | undefined> = { ...process.env };
  delete base['VITX_REQUIRE_SYSTEM'];
  const r = spawnSync(process.execPath, [join(ROOT, 'node_modules', 'vitest', 'vitest.mjs'), 'run', '--config', 'test/helpers/vitest.nested.config.ts',
    'test/cli/trust.test.ts', '-t', 'falls back to SwiftShader'], {
    cwd: ROOT, encoding: 'utf8', env: { ...base, ...env }, timeout: 300_000,
  });
  return { code: r.status ?? -1, out: `${r.stdout}${r.stderr}` };
}

describe('missing prerequisites', () => {
  it('skipped visibly, with the reason, when prerequisites are not required', () => {
    const r = nested({ VITX_CHROMIUM: '/nonexistent/chromium' });
    expect(r.out).toMatch(/\n0 passed, 0 failed, \d+ skipped\n/);
    expect(r.out).toContain('skipped: test/cli/trust.test.ts > WebGPU without a GPU > a system Vulkan driver that gives no adapter: falls back to SwiftShader and says so: needs chromium (no Chromium at /nonexistent/chromium): install with scripts/setup.sh');
    expect(r.code).toBe(0);
  }, 300_000);

  it('a failure with VITX_REQUIRE_SYSTEM=1 (CI installed them: a missing one is a broken setup)', () => {
    const r = nested({ VITX_CHROMIUM: '/nonexistent/chromium', VITX_REQUIRE_SYSTEM: '1' });
    expect(r.out).toMatch(/\n0 passed, 1 failed/);
    expect(r.out).toContain('missing prerequisite chromium (no Chromium at /nonexistent/chromium); VITX_REQUIRE_SYSTEM=1 says it is installed');
    expect(r.code).not.toBe(0);
  }, 300_000);

  it('run as usual when the prerequisite is there', (ctx) => {
    needs(ctx, 'chromium'); // the outer run's own prerequisite: this one is routed through the helper too
    const r = nested({});
    expect(r.out).toMatch(/\n1 passed, 0 failed/);
    expect(r.code).toBe(0);
  }, 300_000);
});

/**
 * Prints the plain closing line CI reads: "N passed, N failed" (", N skipped" when any), preceded by
 * one line per test skipped with a reason (a missing prerequisite: test/helpers/prerequisites.ts),
 * so a skip is never silent.
 */
import type { Reporter, TestModule } from 'vitest/node';

export default class SummaryReporter implements Reporter {
  onTestRunEnd(modules: readonly TestModule[]): void {
    let passed = 0, failed = 0, skipped = 0;
    const reasons: string[] = [];
    for (const m of modules) {
      for (const t of m.children.allTests()) {
        const r = t.result();
        if (r.state === 'passed') passed++;
        else if (r.state === 'failed') failed++;
        else {
          skipped++;
          if (r.state === 'skipped' && r.note) reasons.push(`skipped: ${m.relativeModuleId} > ${t.fullName}: ${r.note}`);
        }
      }
      if (m.state() === 'failed' && [...m.children.allTests()].length === 0) failed++;
    }
    if (reasons.length) process.stdout.write(`\n${reasons.join('\n')}\n`);
    process.stdout.write(`\n${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}\n`);
  }
}

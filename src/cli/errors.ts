/** The CLI's error classes and exit codes live below it (src/errors.ts), so that every floor can raise them. */
import { oneLine } from '../errors.js';

export { EXIT, oneLine, UsageError } from '../errors.js';

const JS_ERRORS: readonly unknown[] = [TypeError, RangeError, ReferenceError, SyntaxError, EvalError, URIError];

/** A JavaScript runtime error (not one of vitx's own): a bug, never the user's fault. */
export function isInternal(e: unknown): boolean {
  return !(e instanceof Error) || JS_ERRORS.includes(e.constructor);
}

/** "internal error in <command> on <file>: …": the last resort, so no raw JS error text stands alone. */
export function internalMessage(command: string, operands: readonly string[], e: unknown): string {
  const on = operands.length ? ` on ${operands.join(', ')}` : '';
  return `internal error in ${command}${on}: ${oneLine(e)}; rerun with VITX_DEBUG=1 and report it`;
}

/**
 * User-facing failures. Anything thrown with a known error class becomes one line on stderr
 * ("vitx: <message>") and a non-zero exit; nothing else prints a stack trace unless VITX_DEBUG=1.
 */
export class UsageError extends Error {}

/** Exit codes: 0 ok, 1 failure (verification mismatch, bad input file), 2 usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}

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

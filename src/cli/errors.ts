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

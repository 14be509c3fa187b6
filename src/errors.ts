/**
 * User-facing failures every floor may raise (the CLI turns them into one line on stderr and an
 * exit code; library callers catch them by class). Anything thrown with a known error class
 * becomes one line ("vitx: <message>"); nothing prints a stack trace unless VITX_DEBUG=1.
 */

/** A usage mistake (a flag value, an option combination, a model without weights to download): exit 2. */
export class UsageError extends Error {}

/** Exit codes: 0 ok, 1 failure (verification mismatch, bad input file), 2 usage error. */
export const EXIT = { ok: 0, failure: 1, usage: 2 } as const;

export function oneLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return msg.split('\n')[0]!.trim();
}

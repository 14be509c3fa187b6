/**
 * Text from a file (tensor, node and key names, metadata) made safe to print. A name may hold any
 * character; those a terminal acts on or that reorder what is shown are escaped so a message stays
 * one line and shows what the file holds:
 *
 *   C0 controls and DEL        U+0000–U+001F, U+007F   (newline, carriage return, ESC …)
 *   C1 controls                U+0080–U+009F           (U+009B is CSI, an ESC [ of its own)
 *   bidi marks and overrides   U+061C, U+200E, U+200F, U+202A–U+202E, U+2066–U+2069
 *   line / paragraph separator U+2028, U+2029
 *
 * as `\xNN` (code points below 0x100) or `\uNNNN`. Escaping twice changes nothing more: the
 * escapes are plain ASCII.
 */

const UNSAFE = /[\u0000-\u001f\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;
// the same set without C0 (the CLI's own output uses \n, \r and ESC [K on purpose)
const UNSAFE_ABOVE_C0 = /[\u007f-\u009f\u061c\u200e\u200f\u2028-\u202e\u2066-\u2069]/g;

const escape = (c: string): string => {
  const n = c.charCodeAt(0);
  return n < 0x100 ? `\\x${n.toString(16).padStart(2, '0')}` : `\\u${n.toString(16).padStart(4, '0')}`;
};

/** `s` with every control, bidi and separator character escaped (see above). */
export function printable(s: string): string {
  return s.replace(UNSAFE, escape);
}

/**
 * The last line of defence on the way to a terminal: C1 controls, bidi marks and separators
 * escaped as `\uNNNN` in anything vitx prints (also valid inside a JSON string, where it decodes
 * to the same character); C0 is left to the message itself, since vitx writes \n, \r and ESC [K.
 */
export function terminalSafe(s: string): string {
  return s.replace(UNSAFE_ABOVE_C0, (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, '0')}`);
}

#!/usr/bin/env node
import { main } from '../dist/cli/main.js';
import { printable } from '../dist/printable.js';

// `vitx list | head`: a closed pipe ends the output quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
}
// The last resort for an error outside a command's own handling (main() turns those into one line):
// still one line, never a stack trace unless VITX_DEBUG=1.
process.on('uncaughtException', (e) => {
  if (process.env.VITX_DEBUG === '1') process.stderr.write(`${e?.stack ?? e}\n`);
  process.stderr.write(`vitx: error: internal error: ${printable(String(e?.message ?? e).split('\n')[0])}; rerun with VITX_DEBUG=1 and report it\n`);
  process.exit(1);
});
main(process.argv).then((code) => { process.exitCode = code; });

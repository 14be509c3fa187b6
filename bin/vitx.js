#!/usr/bin/env node
import { main } from '../dist/cli/main.js';

// `vitx list | head`: a closed pipe ends the output quietly, as for any Unix tool.
for (const stream of [process.stdout, process.stderr]) {
  stream.on('error', (e) => { if (e.code === 'EPIPE') process.exit(process.exitCode ?? 0); else throw e; });
}
main(process.argv).then((code) => { process.exitCode = code; });

/**
 * Browser stand-in for commander, which src/cli/options.ts imports for its `Option` builders; the
 * worker uses only that module's value parsers (the CLI's own checks and messages). See README.md.
 */
export class Option {
  constructor() {
    throw new Error('command-line options are not available in the browser');
  }
}

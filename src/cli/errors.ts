/** The CLI's error classes and exit codes live below it (src/errors.ts), so that every floor can raise them. */
export { EXIT, oneLine, UsageError } from '../errors.js';

/**
 * `vitx` command line. Each command lives in its own module and registers itself on the program;
 * this file only wires them together and turns errors into one-line messages with exit codes.
 */
import { Command, CommanderError } from 'commander';
import '../builders/index.js';
import { VITX_VERSION } from '../onnx/serialize.js';
import { FeatureIndexError, SizeError, UnknownModelError } from '../builders/registry.js';
import { OpsetError } from '../onnx/legalize.js';
import { EXIT, internalMessage, isInternal, oneLine, UsageError } from './errors.js';
import { COMMANDS } from './commands.js';
import { printable, terminalSafe } from '../printable.js';
import { setPlatform } from '../platform/index.js';
import { NODE_PLATFORM } from '../platform/node.js';

setPlatform(NODE_PLATFORM);

export interface Io {
  out: (s: string) => void;
  err: (s: string) => void;
  isTTY: boolean;
}

/** Nothing reaches the terminal with a raw C1 control or bidi override (names from files: src/printable.ts). */
export const processIo: Io = {
  out: (s) => process.stdout.write(terminalSafe(s)),
  err: (s) => process.stderr.write(terminalSafe(s)),
  isTTY: Boolean(process.stderr.isTTY),
};

export type CommandResult = number | void;

export function makeProgram(io: Io, setCode: (c: number) => void): Command {
  const program = new Command('vitx')
    .description('Build, optimize, export and verify hybrid vision transformers as ONNX')
    .version(VITX_VERSION)
    .exitOverride()
    .configureOutput({ writeOut: io.out, writeErr: io.err, outputError: (s, write) => write(s.startsWith('error:') ? `vitx: ${s}` : s) })
    .showSuggestionAfterError(true);
  for (const register of COMMANDS) register(program, io, setCode);
  return program;
}

export async function main(argv: readonly string[], io: Io = processIo): Promise<number> {
  let code: number = EXIT.ok;
  const program = makeProgram(io, (c) => { code = c; });
  let running = { command: 'vitx', operands: [] as string[] };
  program.hook('preAction', (_p, action) => { running = { command: action.name(), operands: [...action.args] }; });
  try {
    await program.parseAsync([...argv]);
    return code;
  } catch (e) {
    if (e instanceof CommanderError) {
      if (e.exitCode === 0) return EXIT.ok; // --help, --version
      return EXIT.usage;
    }
    if (process.env['VITX_DEBUG'] === '1') io.err(`${(e as Error).stack}\n`);
    // every error is one line whoever threw it: names from files escaped (control and bidi characters)
    io.err(`vitx: error: ${printable(isInternal(e) ? internalMessage(running.command, running.operands, e) : oneLine(e))}\n`);
    const usage = e instanceof UsageError || e instanceof UnknownModelError || e instanceof SizeError || e instanceof OpsetError || e instanceof FeatureIndexError;
    return usage ? EXIT.usage : EXIT.failure;
  }
}

export { internalMessage, isInternal } from './errors.js';

/**
 * `vitx inspect <file.onnx>`: parameters, MACs, op histogram, largest tensor rank, dynamic
 * dimensions and (with --target) the target's lint findings, as text or JSON. Exit code 1 when
 * the lint reports errors, so scripts can gate on it.
 */
import type { Command } from 'commander';
import { formatReport } from '../inspect/format.js';
import { inspect } from '../library.js';
import { readOnnxFile } from '../onnx/external.js';
import { countErrors, type TargetName } from '../targets/index.js';
import { EXIT } from './errors.js';
import type { Io } from './main.js';
import { parseTarget } from './options.js';

export function registerInspect(program: Command, io: Io, setCode: (code: number) => void): void {
  program
    .command('inspect')
    .description('summarize an ONNX file: params, MACs, ops, ranks, dynamic dims, target lint')
    .argument('<file>', 'an .onnx file (external data is read from its folder)')
    .option('--target <name>', 'lint for ort, tensorrt, coreml or web', parseTarget)
    .option('--json', 'machine-readable output')
    .action((file: string, f: { target?: TargetName; json?: boolean }) => {
      const r = inspect(readOnnxFile(file), { target: f.target }); // external data from the file's folder
      io.out(f.json ? `${JSON.stringify(r, null, 2)}\n` : formatReport(r));
      if (countErrors(r.findings) > 0) setCode(EXIT.failure);
    });
}

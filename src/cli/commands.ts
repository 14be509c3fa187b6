/** The command table: one import and one entry per command module. */
import type { Command } from 'commander';
import { registerBench } from './bench.js';
import { registerDiff } from './diff.js';
import { registerExport } from './export.js';
import { registerInspect } from './inspect.js';
import { registerList } from './list.js';
import type { Io } from './main.js';
import { registerQuantize } from './quantize.js';
import { registerVerify } from './verify.js';

export type RegisterCommand = (program: Command, io: Io, setCode: (code: number) => void) => void;

export const COMMANDS: RegisterCommand[] = [
  registerList,
  registerExport,
  registerInspect,
  registerVerify,
  registerDiff,
  registerQuantize,
  registerBench,
];

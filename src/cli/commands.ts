/** The command table: one import and one entry per command module. */
import type { Command } from 'commander';
import { registerExport } from './export.js';
import { registerInspect } from './inspect.js';
import { registerList } from './list.js';
import type { Io } from './main.js';

export type RegisterCommand = (program: Command, io: Io, setCode: (code: number) => void) => void;

export const COMMANDS: RegisterCommand[] = [
  registerList,
  registerExport,
  registerInspect,
];

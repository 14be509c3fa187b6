/** The command table: one import and one entry per command module. */
import type { Command } from 'commander';
import type { Io } from './main.js';

export type RegisterCommand = (program: Command, io: Io, setCode: (code: number) => void) => void;

export const COMMANDS: RegisterCommand[] = [];

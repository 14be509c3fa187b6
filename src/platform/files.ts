/**
 * Reading input files on the Node host, with one-line errors naming the file: used by the CLI and
 * by the Node-only readers below it (calibration folders, quant/data.ts). The core never reads a
 * file; it takes bytes.
 */
import { constants as bufferConstants } from 'node:buffer';
import { readRegularFile } from '../onnx/external.js';

const MAX_LENGTH = bufferConstants.MAX_LENGTH;

/** A file cannot be read or written: exit 1. */
export class FileError extends Error {}

/** Reads a regular input file (not a directory, device or FIFO) with a one-line error naming it. */
export function readInput(path: string, what: string): Uint8Array {
  return readRegularFile(path, what, MAX_LENGTH, FileError);
}

/** File helpers with user-facing errors: read with a clear message, write atomically. */
import { accessSync, constants, closeSync, fsyncSync, openSync, readFileSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, resolve } from 'node:path';

export class FileError extends Error {}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
}

export function readInput(path: string, what: string): Uint8Array {
  try {
    if (statSync(path).isDirectory()) throw new FileError(`cannot read ${what} ${path}: is a directory`);
    return readFileSync(path);
  } catch (e) {
    if (e instanceof FileError) throw e;
    throw new FileError(`cannot read ${what} ${path}: ${reason(e)}`);
  }
}

/** Fails early if `path` cannot be written (missing or read-only folder, or a directory). */
export function checkWritable(path: string, inputs: readonly string[] = []): void {
  const abs = resolve(path);
  for (const i of inputs) if (resolve(i) === abs) throw new FileError(`refusing to overwrite the input file ${i}; choose another output path`);
  try {
    if (statSync(abs).isDirectory()) throw new FileError(`cannot write ${path}: is a directory`);
  } catch (e) {
    if (e instanceof FileError) throw e;
  }
  try {
    accessSync(dirname(abs), constants.W_OK);
  } catch (e) {
    throw new FileError(`cannot write ${path}: ${reason(e)} (folder ${dirname(abs)})`);
  }
}

/** Writes via a temporary file in the same folder and renames: no partial file on failure. */
export function writeAtomic(path: string, chunks: readonly Uint8Array[]): void {
  const abs = resolve(path);
  const tmp = `${abs}.vitx-tmp-${process.pid}`;
  let fd: number | null = null;
  try {
    fd = openSync(tmp, 'w');
    for (const c of chunks) {
      let off = 0;
      while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
    }
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, abs);
  } catch (e) {
    if (fd !== null) try { closeSync(fd); } catch { /* already failing */ }
    try { unlinkSync(tmp); } catch { /* nothing to clean */ }
    throw new FileError(`cannot write ${path}: ${reason(e)}`);
  }
}

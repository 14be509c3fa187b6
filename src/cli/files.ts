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
  writeAtomicMany([[path, chunks]]);
}

/**
 * Writes several files atomically as a group: every file goes to a temporary name first (fsynced),
 * and only when all are complete are they renamed into place, in the order given (so a model is
 * renamed after its data file). On failure no temporary file is left behind.
 */
export function writeAtomicMany(files: readonly (readonly [string, readonly Uint8Array[]])[]): void {
  const tmps: [string, string, string][] = [];
  let current = '';
  try {
    for (const [path, chunks] of files) {
      current = path;
      const abs = resolve(path);
      const tmp = `${abs}.vitx-tmp-${process.pid}`;
      tmps.push([tmp, abs, path]);
      const fd = openSync(tmp, 'w');
      try {
        for (const c of chunks) {
          let off = 0;
          while (off < c.byteLength) off += writeSync(fd, c, off, c.byteLength - off);
        }
        fsyncSync(fd);
      } finally {
        closeSync(fd);
      }
    }
    for (const [tmp, abs, path] of tmps) { current = path; renameSync(tmp, abs); }
  } catch (e) {
    for (const [tmp] of tmps) try { unlinkSync(tmp); } catch { /* nothing to clean */ }
    throw new FileError(`cannot write ${current}: ${reason(e)}`);
  }
}

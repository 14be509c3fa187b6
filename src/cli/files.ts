/** File helpers with user-facing errors: read with a clear message, write atomically. */
import { accessSync, constants, closeSync, fsyncSync, openSync, readdirSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError } from '../platform/files.js';

export { FileError, readInput } from '../platform/files.js';

/** Temporary files are `<target>.vitx-tmp-<pid>`, next to their target. */
const TMP_SUFFIX = /\.vitx-tmp-(\d+)$/;

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM'; // exists, owned by someone else
  }
}

/**
 * Removes temporary files a killed vitx run left in `folder` (`*.vitx-tmp-<pid>` whose process no
 * longer exists). A live process's temporary files are left alone. Best effort: never fails a write.
 */
export function removeStaleTemps(folder: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(folder); } catch { return removed; }
  for (const n of names) {
    const m = TMP_SUFFIX.exec(n);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    try {
      if (!statSync(join(folder, n)).isFile()) continue;
      unlinkSync(join(folder, n));
      removed.push(n);
    } catch { /* raced with another cleaner, or not ours to remove */ }
  }
  return removed;
}

function reason(e: unknown): string {
  const code = (e as NodeJS.ErrnoException).code;
  return code === 'ENOENT' ? 'no such file' : code === 'EACCES' ? 'permission denied' : code === 'EISDIR' ? 'is a directory' : (e as Error).message;
}

/** Fails early if `path` cannot be written (missing or read-only folder, or a directory). */
export function checkWritable(path: string, inputs: readonly string[] = []): void {
  const abs = resolve(path);
  for (const i of inputs) if (resolve(i) === abs) throw new FileError(`refusing to overwrite the input file ${i}; choose another output path`);
  try {
    const st = statSync(abs);
    if (st.isDirectory()) throw new FileError(`cannot write ${path}: is a directory`);
    // a device, FIFO or socket would be replaced by the rename, not written to
    if (!st.isFile()) throw new FileError(`cannot write ${path}: not a regular file (a device, FIFO or socket); vitx writes files atomically`);
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
  for (const folder of new Set(files.map(([p]) => dirname(resolve(p))))) removeStaleTemps(folder);
  try {
    for (const [path, chunks] of files) {
      current = path;
      const abs = resolve(path);
      const tmp = join(dirname(abs), `${basename(abs)}.vitx-tmp-${process.pid}`);
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

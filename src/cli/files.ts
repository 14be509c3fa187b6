/** File helpers with user-facing errors: read with a clear message, write atomically. */
import { randomBytes } from 'node:crypto';
import { accessSync, constants, closeSync, fsyncSync, lstatSync, openSync, readdirSync, realpathSync, renameSync, statSync, unlinkSync, writeSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import { FileError } from '../platform/files.js';

export { FileError, readInput } from '../platform/files.js';

/**
 * Temporary files are `<target>.vitx-tmp-<pid>-<16 random hex>`, next to their target, created with
 * O_CREAT | O_EXCL | O_NOFOLLOW: a name planted in advance (a symbolic link to another file, a file
 * someone else owns) makes the open fail instead of being followed or truncated. The pid says whose
 * it is, so a later run can remove the temporary files of a process that no longer exists; the
 * older `<target>.vitx-tmp-<pid>` form is recognized too.
 */
const TMP_SUFFIX = /\.vitx-tmp-(\d+)(?:-[0-9a-f]{16})?$/;

/** The temporary name for `abs` (absolute): unpredictable, and never an existing file. */
export function tempNameFor(abs: string): string {
  return join(dirname(abs), `${basename(abs)}.vitx-tmp-${process.pid}-${randomBytes(8).toString('hex')}`);
}

/** Flags for a new temporary file: create it, fail if the name exists, never follow a link. */
export const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

/** Whether process `pid` exists (EPERM: it does, owned by someone else). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/**
 * Removes temporary files a killed vitx run left in `folder` (`*.vitx-tmp-<pid>[-<hex>]` whose
 * process no longer exists). Only regular files are removed (lstat: a symbolic link or folder of
 * that name is left alone, never followed); a live process's temporary files are kept. Best
 * effort: never fails a write.
 */
export function removeStaleTemps(folder: string): string[] {
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(folder); } catch { return removed; }
  for (const n of names) {
    const m = TMP_SUFFIX.exec(n);
    if (!m || Number(m[1]) === process.pid || alive(Number(m[1]))) continue;
    try {
      if (!lstatSync(join(folder, n)).isFile()) continue;
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

/**
 * What a path is on disk, for telling whether two paths name the same file: an existing file is
 * its device and inode (through any symbolic link, alias folder or hard link); a file not yet
 * there is its folder's real path and its name (so `alias/x` and `real/x` agree).
 */
function identity(path: string): string {
  try {
    const st = statSync(path);
    return `inode ${st.dev}:${st.ino}`;
  } catch { /* not there (yet) */ }
  const abs = resolve(path);
  try { return `path ${join(realpathSync(dirname(abs)), basename(abs))}`; } catch { return `path ${abs}`; }
}

/** Fails early if `path` cannot be written (missing or read-only folder, a directory, or one of `inputs`). */
export function checkWritable(path: string, inputs: readonly string[] = []): void {
  const abs = resolve(path);
  const id = identity(path);
  for (const i of inputs) {
    if (identity(i) === id) throw new FileError(`refusing to overwrite the input file ${i}${resolve(i) === abs ? '' : ` (${path} is the same file)`}; choose another output path`);
  }
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

/** An output a command may write: the flag that names it (for messages) and its path. */
export type OutputPath = readonly [flag: string, path: string | undefined];

/**
 * Checks every output of a command before any work: each is writable and none is one of the
 * `inputs` (compared as files, not as strings: symbolic links, alias folders and hard links
 * included), and no two outputs are the same file (the second write would replace the first).
 */
export function checkOutputs(outputs: readonly OutputPath[], inputs: readonly (string | undefined)[]): void {
  const ins = inputs.filter((i): i is string => i !== undefined);
  const seen = new Map<string, OutputPath>();
  for (const o of outputs) {
    const [flag, path] = o;
    if (path === undefined) continue;
    checkWritable(path, ins);
    const id = identity(path);
    const prev = seen.get(id);
    if (prev) throw new FileError(`${prev[0]} ${prev[1]} and ${flag} ${path} are the same file; choose different output paths`);
    seen.set(id, o);
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
      const tmp = tempNameFor(abs);
      const fd = openSync(tmp, CREATE_NEW, 0o666);
      tmps.push([tmp, abs, path]);
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

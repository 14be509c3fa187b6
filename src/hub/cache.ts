/**
 * The rules vitx keeps when it writes into the hub cache (download.ts does the HTTP):
 *
 *   - Every folder it writes in must resolve inside the cache folder (realpath of HF_HUB_CACHE /
 *     $HF_HOME/hub): folders are made one level at a time, and a symbolic link on the way
 *     (`blobs/`, `refs/`, `snapshots/<commit>`, the repository folder) that leads outside is refused
 *     in one line, so a planted link cannot make a write land elsewhere. The cache folder itself may
 *     be a link (a cache moved to another disk).
 *   - New files (downloads, refs) are created O_CREAT | O_EXCL | O_NOFOLLOW under unpredictable
 *     names and renamed into place; a rename replaces a link, never writes through it.
 *   - A blob is trusted only after hashing: `blobs/<etag>` is the sha256 of its content (LFS) or
 *     git's blob sha1 (`sha1("blob <size>\0" + content)`) for 40-hex ETags; other ETags are refused.
 *   - Downloads in progress are `blobs/<etag>.vitx-<host>-<pid>-<16 hex>.incomplete`. One is stale,
 *     and removed by the next download into that folder, when its process is gone (same host, pid
 *     not alive) or when it has not been written for an hour (a live download writes at least every
 *     HF_HUB_DOWNLOAD_TIMEOUT seconds or gives up). huggingface_hub's own `<etag>.incomplete`
 *     files are left alone: Python resumes them.
 */
import { createHash, randomBytes } from 'node:crypto';
import { closeSync, constants, lstatSync, mkdirSync, openSync, readdirSync, readSync, realpathSync, statSync, unlinkSync } from 'node:fs';
import { hostname } from 'node:os';
import { isAbsolute, join, relative, sep } from 'node:path';

/** A cache problem the user can act on; the message is one line. */
export class CacheError extends Error {}

export const SHA256_RE = /^[0-9a-f]{64}$/;
export const SHA1_RE = /^[0-9a-f]{40}$/;

/** Flags for a new file: create it, fail if the name exists, never follow a link. */
export const CREATE_NEW = constants.O_WRONLY | constants.O_CREAT | constants.O_EXCL | constants.O_NOFOLLOW;

function inside(root: string, p: string): boolean {
  const rel = relative(root, p);
  return rel === '' || (!rel.startsWith(`..${sep}`) && rel !== '..' && !isAbsolute(rel));
}

/** The cache folder's real path (made when missing): the root every write must stay under. */
export function cacheRoot(cacheDir: string): string {
  mkdirSync(cacheDir, { recursive: true });
  return realpathSync(cacheDir);
}

/**
 * Makes `dir` (under `cacheDir`) one level at a time, refusing any level that is a link leading
 * outside the cache or that is not a folder.
 */
export function ensureDirInside(cacheDir: string, dir: string): void {
  const root = cacheRoot(cacheDir);
  const parts = relative(cacheDir, dir).split(sep).filter((x) => x !== '');
  if (parts.includes('..')) throw new CacheError(`${dir} is not inside the hub cache ${cacheDir}`);
  let cur = cacheDir;
  for (const part of parts) {
    cur = join(cur, part);
    let st;
    try { st = lstatSync(cur); } catch { mkdirSync(cur); continue; }
    if (st.isSymbolicLink()) {
      let real: string;
      try { real = realpathSync(cur); } catch { throw new CacheError(`hub cache folder ${cur} is a dangling link; remove it`); }
      if (!inside(root, real)) throw new CacheError(`hub cache folder ${cur} is a link to ${real}, outside the cache ${root}; remove it (vitx writes only inside the cache)`);
      if (!statSync(real).isDirectory()) throw new CacheError(`hub cache path ${cur} is not a folder; remove it`);
    } else if (!st.isDirectory()) {
      throw new CacheError(`hub cache path ${cur} is not a folder; remove it`);
    }
  }
}

/** The hash an ETag promises: sha256 of the content (LFS) or git's blob sha1; null for any other ETag. */
export function etagHash(etag: string, size: number): { update(b: Uint8Array): unknown; digest(): string; algo: string } | null {
  let h;
  if (SHA256_RE.test(etag)) h = { hash: createHash('sha256'), algo: 'sha256' };
  else if (SHA1_RE.test(etag)) h = { hash: createHash('sha1').update(`blob ${size}\0`), algo: 'git sha1' };
  else return null;
  return { update: (b) => h.hash.update(b), digest: () => h.hash.digest('hex'), algo: h.algo };
}

/** Whether the regular file at `path` (followed) has `size` bytes whose hash is `etag`. */
export function fileMatches(path: string, etag: string, size: number): boolean {
  const h = etagHash(etag, size);
  if (!h) return false;
  let fd: number;
  try { fd = openSync(path, constants.O_RDONLY | constants.O_NONBLOCK); } catch { return false; }
  try {
    const st = statSync(path);
    if (!st.isFile() || st.size !== size) return false;
    const buf = Buffer.allocUnsafe(Math.min(size, 8 << 20) || 1);
    let pos = 0;
    for (let n; pos < size && (n = readSync(fd, buf, 0, Math.min(buf.length, size - pos), pos)) > 0; pos += n) h.update(buf.subarray(0, n));
    return pos === size && h.digest() === etag;
  } finally {
    closeSync(fd);
  }
}

const HOST = hostname().replace(/[^A-Za-z0-9]/g, '').slice(0, 32) || 'host';
const INCOMPLETE_RE = /^(?:[0-9a-f]{40}|[0-9a-f]{64})\.(?:vitx-([A-Za-z0-9]*)-(\d+)-[0-9a-f]{16}|[0-9a-f]{8})\.incomplete$/;
/** A download untouched this long has no live writer (it writes at least every download timeout). */
export const STALE_INCOMPLETE_MS = 60 * 60 * 1000;

/** The name of a download in progress next to `blobPath`: the host and pid say whose it is. */
export function incompleteName(blobPath: string): string {
  return `${blobPath}.vitx-${HOST}-${process.pid}-${randomBytes(8).toString('hex')}.incomplete`;
}

function alive(pid: number): boolean {
  try { process.kill(pid, 0); return true; } catch (e) { return (e as NodeJS.ErrnoException).code === 'EPERM'; }
}

/**
 * Removes vitx's stale downloads from `blobs` (see the header: this host's dead pids, or an hour
 * without a write; the older `<etag>.<8 hex>.incomplete` form by age only). Regular files only;
 * best effort. Returns the names removed.
 */
export function removeStaleIncomplete(blobs: string, now = Date.now()): string[] {
  const removed: string[] = [];
  let names: string[];
  try { names = readdirSync(blobs); } catch { return removed; }
  for (const n of names) {
    const m = INCOMPLETE_RE.exec(n);
    if (!m) continue;
    try {
      const st = lstatSync(join(blobs, n));
      if (!st.isFile()) continue;
      const deadHere = m[1] === HOST && Number(m[2]) !== process.pid && !alive(Number(m[2]));
      if (!deadHere && now - st.mtimeMs < STALE_INCOMPLETE_MS) continue;
      unlinkSync(join(blobs, n));
      removed.push(n);
    } catch { /* raced with another cleaner */ }
  }
  return removed;
}

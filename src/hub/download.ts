/**
 * One file from the Hugging Face Hub into the hub's own cache, as huggingface_hub's
 * `hf_hub_download` does it (file_download.py), so a cache filled by Python tools is reused and
 * the other way round.
 *
 *   HEAD {endpoint}/{repo}/resolve/{revision}/{file}       Authorization: Bearer <token> (if any)
 *        redirects that stay on the hub (same host name, or hf.co / huggingface.co / the endpoint's
 *        host: a renamed repository) are followed; one to another host (the CDN) is not, and its
 *        answer carries the metadata (huggingface_hub 2.0's _httpx2_follow_hub_redirects).
 *        The token goes only to the endpoint's own origin (scheme, host and port): a redirect
 *        anywhere else, even the same host on another port, is followed without it:
 *        X-Repo-Commit      commit the revision points at
 *        X-Linked-Etag      the LFS object id: sha256 of the content (else ETag: the git blob sha1)
 *        X-Linked-Size      size in bytes (else Content-Length of a non-redirect answer)
 *        Location           where the bytes are (a signed CDN URL); else the resolve URL itself
 *   GET  that location (the token is dropped off the hub: the CDN URL is signed)
 *
 *   cache/models--{org}--{name}/
 *     blobs/{etag}                              the content, named by its hash
 *     snapshots/{commit}/{file} → ../../blobs/{etag}   relative symlink (a copy where links fail)
 *     refs/{revision}                           the commit a branch or tag pointed at last time
 *
 * The download goes to a process-unique `blobs/{etag}.vitx-{host}-{pid}-{random}.incomplete` file
 * and is renamed into place only after its size and hash are checked (sha256 = the ETag for LFS
 * files, git's sha1("blob {size}\0" + content) for 40-hex git ETags; any other ETag is refused).
 * A failure removes the temporary file; a killed run's is removed later (cache.ts). A blob or
 * snapshot file already in the cache is used only when its hash is the ETag; the cache's folder
 * and file rules (no write through a link leading outside it) are in cache.ts.
 * When the hub cannot be reached (or answers 401/5xx) the cached file of the revision is used, as
 * Python does; a missing file or revision (404 EntryNotFound / RevisionNotFound) is never masked.
 * Offline mode never touches the network. Not implemented: Xet transfers (the hub falls back to
 * plain HTTP for clients without Xet), resuming a broken download, `.locks` (unique temporary
 * names make concurrent downloads safe, at worst duplicated) and `.no_exist` markers.
 */
import { randomBytes } from 'node:crypto';
import { closeSync, constants, copyFileSync, existsSync, fsyncSync, openSync, readFileSync, renameSync, symlinkSync, unlinkSync, writeSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { VITX_VERSION } from '../version.js';
import { CacheError, CREATE_NEW, ensureDirInside, etagHash, fileMatches, incompleteName, removeStaleIncomplete, SHA1_RE, SHA256_RE } from './cache.js';
import type { HubEnv } from './env.js';

/** A hub failure the user can act on; the message is one line. */
export class HubError extends Error {}

export interface HubFileRequest {
  /** `org/name` */
  repo: string;
  filename: string;
  /** Branch, tag or commit (default "main"). */
  revision?: string;
}

export interface HubFile {
  /** The snapshot path (a symlink into blobs/). */
  path: string;
  commit: string;
  /** False when the file came from the cache. */
  downloaded: boolean;
}

export type Progress = (received: number, total: number) => void;

const COMMIT_RE = SHA1_RE;
/** A path segment the server may name (etag, commit): no separators, not '.' or '..'. */
const SAFE_SEGMENT_RE = /^(?!\.\.?$)[A-Za-z0-9._-]+$/;

function checkRequest(r: HubFileRequest): void {
  if (!/^[A-Za-z0-9][A-Za-z0-9._-]*(\/[A-Za-z0-9][A-Za-z0-9._-]*)?$/.test(r.repo) || r.repo.includes('..')) throw new HubError(`invalid hub repository id '${r.repo}'`);
  if (r.filename.split('/').some((s) => !SAFE_SEGMENT_RE.test(s))) throw new HubError(`invalid file name '${r.filename}' in ${r.repo}`);
  const rev = r.revision ?? 'main';
  if (rev === '' || rev.split('/').some((s) => !SAFE_SEGMENT_RE.test(s))) throw new HubError(`invalid revision '${rev}' for ${r.repo}`);
}

/** `models--{org}--{name}` (huggingface_hub's repo_folder_name). */
export function repoFolder(cacheDir: string, repo: string): string {
  return join(cacheDir, ['models', ...repo.split('/')].join('--'));
}

/** The cached snapshot file of `revision`, or null (a branch or tag goes through refs/). */
export function cachedFile(env: HubEnv, r: HubFileRequest): { path: string; commit: string } | null {
  checkRequest(r);
  const storage = repoFolder(env.cacheDir, r.repo);
  const rev = r.revision ?? 'main';
  let commit: string | null = COMMIT_RE.test(rev) ? rev : null;
  if (!commit) {
    try { commit = readFileSync(join(storage, 'refs', ...rev.split('/')), 'utf8').trim(); } catch { return null; }
  }
  if (!SAFE_SEGMENT_RE.test(commit)) return null;
  const path = join(storage, 'snapshots', commit, ...r.filename.split('/'));
  return existsSync(path) ? { path, commit } : null; // existsSync follows the link: a dangling one is absent
}

function describe(r: HubFileRequest): string {
  return `${r.repo}/${r.filename}${r.revision && r.revision !== 'main' ? `@${r.revision}` : ''}`;
}

const NETWORK_CODES: Record<string, string> = {
  ECONNREFUSED: 'connection refused', ENOTFOUND: 'host not found', ECONNRESET: 'connection reset',
  ETIMEDOUT: 'timed out', UND_ERR_SOCKET: 'connection closed', UND_ERR_CONNECT_TIMEOUT: 'timed out',
  EAI_AGAIN: 'DNS lookup failed', EHOSTUNREACH: 'host unreachable', ENETUNREACH: 'network unreachable',
};

function networkReason(e: unknown): string {
  const err = e as { name?: string; message?: string; cause?: { code?: string; message?: string } };
  if (err.name === 'TimeoutError' || err.name === 'AbortError') return 'timed out';
  const cause = err.cause;
  if (cause?.code) return NETWORK_CODES[cause.code] ?? cause.code;
  return (cause?.message ?? err.message ?? String(e)).split('\n')[0]!;
}

/** Whether `target` is served by the hub itself: `url`'s host name, hf.co, huggingface.co or the endpoint's host. */
function onHub(url: string, target: string, env: HubEnv): boolean {
  const host = new URL(target).hostname.toLowerCase();
  return host === new URL(url).hostname.toLowerCase() || ['hf.co', 'huggingface.co', 'hub-ci.huggingface.co', new URL(env.endpoint).hostname.toLowerCase()].includes(host);
}

/** The request headers for `url`: the token only when `url` has the endpoint's origin (scheme, host, port). */
function headersFor(url: string, headers: Record<string, string>, env: HubEnv): Record<string, string> {
  if (new URL(url).origin === new URL(env.endpoint).origin) return headers;
  const { authorization: _dropped, ...rest } = headers;
  return rest;
}

interface Metadata { commit: string; etag: string; size: number; location: string }

/** Why a HEAD answer is an error, and whether the cache may stand in for it. */
function headFailure(r: HubFileRequest, res: Response, env: HubEnv): { message: string; cacheMayAnswer: boolean } {
  const code = res.headers.get('x-error-code');
  const what = describe(r);
  if (code === 'EntryNotFound') return { message: `${r.repo} has no file ${r.filename} (404 EntryNotFound)`, cacheMayAnswer: false };
  if (code === 'RevisionNotFound') return { message: `${r.repo} has no revision '${r.revision ?? 'main'}' (404 RevisionNotFound)`, cacheMayAnswer: false };
  const login = env.token ? 'the token in HF_TOKEN was not accepted' : 'set HF_TOKEN to a token with access';
  if (code === 'GatedRepo') return { message: `${r.repo} is gated: accept its conditions on the hub, then ${login} (${res.status} GatedRepo)`, cacheMayAnswer: true };
  if (res.status === 401 || res.status === 403) return { message: `${res.status} ${res.status === 401 ? 'Unauthorized' : 'Forbidden'} for ${what}: the repository is private, gated or does not exist; ${login}`, cacheMayAnswer: true };
  if (res.status === 404) return { message: `${r.repo} not found on ${env.endpoint} (404${code ? ` ${code}` : ''})`, cacheMayAnswer: true };
  return { message: `${env.endpoint} answered ${res.status} ${res.statusText} for ${what}`, cacheMayAnswer: true };
}

async function fetchMetadata(url: string, headers: Record<string, string>, env: HubEnv, r: HubFileRequest): Promise<Metadata | { message: string; cacheMayAnswer: boolean }> {
  let res: Response;
  for (let hops = 0; ; hops++) {
    try {
      res = await fetch(url, { method: 'HEAD', headers: { ...headersFor(url, headers, env), 'accept-encoding': 'identity' }, redirect: 'manual', signal: AbortSignal.timeout(env.etagTimeoutMs) });
    } catch (e) {
      return { message: `cannot reach ${env.endpoint} (${networkReason(e)}) for ${describe(r)}`, cacheMayAnswer: true };
    }
    const loc = res.headers.get('location');
    if (res.status >= 300 && res.status < 400 && loc && hops < 20) {
      const target = new URL(loc, url).href;
      if (onHub(url, target, env)) { url = target; continue; }
    }
    break;
  }
  if (res.status >= 400 || res.status < 200) return headFailure(r, res, env);
  const isRedirect = res.status >= 300;
  const commit = res.headers.get('x-repo-commit');
  const etag = (res.headers.get('x-linked-etag') ?? res.headers.get('etag'))?.replace(/^W\//, '').replace(/^"|"$/g, '');
  const sizeText = res.headers.get('x-linked-size') ?? (isRedirect ? null : res.headers.get('content-length'));
  const notHub = `${env.endpoint} does not look like a Hugging Face Hub (check HF_ENDPOINT and proxy settings)`;
  if (!commit) return { message: `no X-Repo-Commit header in the answer for ${describe(r)}: ${notHub}`, cacheMayAnswer: true };
  if (!etag) return { message: `no ETag in the answer for ${describe(r)}: ${notHub}`, cacheMayAnswer: true };
  if (!SAFE_SEGMENT_RE.test(commit)) return { message: `unusable commit in the answer for ${describe(r)}: ${notHub}`, cacheMayAnswer: true };
  // the blob is named by its ETag and checked against it: only a content hash will do
  if (!SHA256_RE.test(etag) && !SHA1_RE.test(etag)) return { message: `the ETag in the answer for ${describe(r)} is neither a sha256 nor a git sha1, so the download could not be checked: ${notHub}`, cacheMayAnswer: true };
  if (sizeText === null || !/^\d+$/.test(sizeText)) return { message: `no file size in the answer for ${describe(r)}: ${notHub}`, cacheMayAnswer: true };
  const location = isRedirect ? new URL(res.headers.get('location')!, url).href : url;
  return { commit, etag, size: Number(sizeText), location };
}

async function downloadBlob(m: Metadata, url: string, headers: Record<string, string>, blobPath: string, env: HubEnv, r: HubFileRequest, progress?: Progress): Promise<void> {
  const tmp = incompleteName(blobPath);
  const controller = new AbortController();
  let timer: NodeJS.Timeout | undefined;
  const arm = () => { clearTimeout(timer); timer = setTimeout(() => controller.abort(), env.downloadTimeoutMs); };
  let fd: number | null = null, created = false;
  try {
    arm();
    // redirects followed here, one by one, so that the token reaches only the endpoint's origin
    let res: Response, at = m.location;
    for (let hops = 0; ; hops++) {
      try {
        res = await fetch(at, { headers: { ...headersFor(at, headers, env), 'accept-encoding': 'identity' }, redirect: 'manual', signal: controller.signal });
      } catch (e) {
        throw new HubError(`cannot download ${describe(r)} from ${new URL(at).host} (${networkReason(e)})`);
      }
      const loc = res.headers.get('location');
      if (res.status < 300 || res.status >= 400 || !loc || hops >= 20) break;
      at = new URL(loc, at).href;
    }
    if (res.status !== 200 || !res.body) throw new HubError(`downloading ${describe(r)}: ${new URL(at).host} answered ${res.status} ${res.statusText}`);
    const check = etagHash(m.etag, m.size)!;
    fd = openSync(tmp, CREATE_NEW, 0o644);
    created = true;
    let received = 0;
    try {
      for await (const chunk of res.body as unknown as AsyncIterable<Uint8Array>) {
        arm();
        received += chunk.byteLength;
        if (received > m.size) throw new HubError(`download of ${describe(r)} is corrupt: more than the announced ${m.size} bytes`);
        check.update(chunk);
        let off = 0;
        while (off < chunk.byteLength) off += writeSync(fd, chunk, off, chunk.byteLength - off);
        progress?.(received, m.size);
      }
    } catch (e) {
      if (e instanceof HubError) throw e;
      throw new HubError(`download of ${describe(r)} broke off after ${received} of ${m.size} bytes (${networkReason(e)}); nothing kept, run again`);
    }
    if (received !== m.size) throw new HubError(`download of ${describe(r)} is truncated: ${received} of ${m.size} bytes; nothing kept, run again`);
    const got = check.digest();
    if (got !== m.etag) throw new HubError(`download of ${describe(r)} is corrupt: ${check.algo} ${got.slice(0, 12)}… does not match the ETag ${m.etag.slice(0, 12)}…; nothing kept, run again`);
    fsyncSync(fd);
    closeSync(fd);
    fd = null;
    renameSync(tmp, blobPath);
  } catch (e) {
    if (e instanceof HubError) throw e;
    throw new HubError(`cannot store ${describe(r)} in ${env.cacheDir}: ${(e as NodeJS.ErrnoException).code ?? networkReason(e)}`);
  } finally {
    clearTimeout(timer);
    if (fd !== null) try { closeSync(fd); } catch { /* already closed */ }
    if (created) try { unlinkSync(tmp); } catch { /* renamed */ }
  }
}

/** snapshots/{commit}/{file} → the blob: a relative symlink, or a copy where links are refused. */
function linkPointer(env: HubEnv, blobPath: string, pointerPath: string): void {
  ensureDirInside(env.cacheDir, dirname(pointerPath));
  try { unlinkSync(pointerPath); } catch { /* absent */ }
  try {
    symlinkSync(relative(dirname(pointerPath), blobPath), pointerPath);
  } catch {
    copyFileSync(blobPath, pointerPath, constants.COPYFILE_EXCL);
  }
}

/** refs/{revision} ← commit, atomically (tmp + rename), only when it changed. */
function writeRef(env: HubEnv, storage: string, revision: string, commit: string): void {
  if (revision === commit) return;
  const ref = join(storage, 'refs', ...revision.split('/'));
  try {
    if (readFileSync(ref, 'utf8') === commit) return;
  } catch { /* new ref */ }
  ensureDirInside(env.cacheDir, dirname(ref));
  const tmp = `${ref}.${randomBytes(8).toString('hex')}.tmp`;
  const fd = openSync(tmp, CREATE_NEW, 0o644);
  try { writeSync(fd, commit); } finally { closeSync(fd); }
  renameSync(tmp, ref);
}

/**
 * Returns the cached file of `r`, downloading it first when the cache lacks it. Throws HubError
 * (one line) on every failure, leaving no partial file behind.
 */
export async function hubDownload(r: HubFileRequest, env: HubEnv, progress?: Progress): Promise<HubFile> {
  checkRequest(r);
  const revision = r.revision ?? 'main';
  const storage = repoFolder(env.cacheDir, r.repo);
  if (COMMIT_RE.test(revision)) {
    const hit = cachedFile(env, r);
    if (hit) return { ...hit, downloaded: false };
  }
  if (env.offline) {
    const hit = cachedFile(env, r);
    if (hit) return { ...hit, downloaded: false };
    throw new HubError(`${describe(r)} is not in the cache ${env.cacheDir} and HF_HUB_OFFLINE is set: run once online or unset HF_HUB_OFFLINE`);
  }
  const url = `${env.endpoint}/${r.repo}/resolve/${encodeURIComponent(revision)}/${r.filename.split('/').map(encodeURIComponent).join('/')}`;
  const headers: Record<string, string> = { 'user-agent': `vitx/${VITX_VERSION}; node/${process.versions.node}` };
  if (env.token) headers['authorization'] = `Bearer ${env.token}`;
  const m = await fetchMetadata(url, headers, env, r);
  if ('message' in m) {
    const hit = m.cacheMayAnswer ? cachedFile(env, r) : null;
    if (hit) return { ...hit, downloaded: false };
    throw new HubError(m.message);
  }
  const blobPath = join(storage, 'blobs', m.etag);
  const pointerPath = join(storage, 'snapshots', m.commit, ...r.filename.split('/'));
  try {
    // what the cache holds is used only when its content hashes to the ETag
    if (fileMatches(pointerPath, m.etag, m.size)) {
      try { writeRef(env, storage, revision, m.commit); } catch { /* a read-only cache still serves */ }
      return { path: pointerPath, commit: m.commit, downloaded: false };
    }
    ensureDirInside(env.cacheDir, dirname(blobPath));
    removeStaleIncomplete(dirname(blobPath));
    let downloaded = false;
    if (!fileMatches(blobPath, m.etag, m.size)) {
      await downloadBlob(m, url, headers, blobPath, env, r, progress);
      downloaded = true;
    }
    linkPointer(env, blobPath, pointerPath);
    writeRef(env, storage, revision, m.commit);
    return { path: pointerPath, commit: m.commit, downloaded };
  } catch (e) {
    if (e instanceof HubError) throw e;
    if (e instanceof CacheError) throw new HubError(e.message);
    throw new HubError(`cannot write the hub cache ${env.cacheDir}: ${(e as NodeJS.ErrnoException).code ?? (e as Error).message}`);
  }
}

/**
 * A local stand-in for the Hugging Face Hub's resolve endpoint and its CDN, on 127.0.0.1, with the
 * hub's header semantics (huggingface_hub file_download.py / utils/_http.py):
 *
 *   HEAD|GET /{repo}/resolve/{revision}/{file}   on the hub server
 *     LFS file → 302, Location: http://localhost:{cdn}/blobs/{sha256}?X-Amz-Signature=… (another host
 *                name than the hub's 127.0.0.1, as a real CDN is: clients must not follow it on HEAD),
 *                X-Repo-Commit, X-Linked-Etag: "{sha256}", X-Linked-Size, ETag: "{git sha1 of the pointer}"
 *     unknown repo → 404 RepoNotFound; private repo without its token → 401 RepoNotFound;
 *     unknown revision → 404 RevisionNotFound; unknown file → 404 EntryNotFound (+ X-Repo-Commit)
 *   GET /blobs/{sha256}                          on the CDN server: the bytes (ETag = sha256)
 *
 * `fault` makes the CDN misbehave: 'corrupt' (same length, one byte flipped), 'short' (a complete
 * but shorter body), 'drop' (announces the full length, closes the connection half-way).
 * Every request is logged with its method, server, path and Authorization header. A repository can
 * also announce another ETag (`etag`) or redirect to another server (`redirectTo`, e.g. a second
 * hub on another port of the same host).
 */
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { BIN, ROOT, type CliResult } from './cli.js';

export interface HubRepo {
  commit: string;
  files: Record<string, Uint8Array>;
  /** Bearer token required (else 401). */
  token?: string;
  /** Plain git files (no LFS): 200 from the hub itself, ETag = git blob sha1, no X-Linked-*. */
  plain?: boolean;
  /** A renamed repository: 307 with a relative Location to the new name, as the hub answers. */
  movedTo?: string;
  /** 307 to the same path on another server (an absolute base URL, e.g. this host on another port). */
  redirectTo?: string;
  /** The ETag to announce instead of the content's hash (X-Linked-Etag, or ETag of a plain file). */
  etag?: string;
}

export interface HubRequest { server: 'hub' | 'cdn'; method: string; path: string; auth: string | null }

export type Fault = 'corrupt' | 'short' | 'drop' | null;

export interface HubServer {
  endpoint: string;
  repos: Map<string, HubRepo>;
  log: HubRequest[];
  fault: Fault;
  close(): Promise<void>;
}

const sha256 = (b: Uint8Array) => createHash('sha256').update(b).digest('hex');

async function listen(handler: (req: IncomingMessage, res: ServerResponse) => void): Promise<[Server, number]> {
  const s = createServer(handler);
  await new Promise<void>((ok) => s.listen(0, '127.0.0.1', ok));
  return [s, (s.address() as AddressInfo).port];
}

/** The same handler on ::1 and `port` too, where the machine has IPv6 ('localhost' may resolve there first). */
async function alsoOnIpv6(handler: (req: IncomingMessage, res: ServerResponse) => void, port: number): Promise<Server | null> {
  const s = createServer(handler);
  return new Promise((ok) => {
    s.once('error', () => ok(null));
    s.listen(port, '::1', () => ok(s));
  });
}

export async function startHubServer(): Promise<HubServer> {
  const blobs = new Map<string, Uint8Array>();
  const state: HubServer = { endpoint: '', repos: new Map(), log: [], fault: null, close: async () => {} };
  const cdnHandler = (req: IncomingMessage, res: ServerResponse) => {
    const path = new URL(req.url!, 'http://x').pathname;
    state.log.push({ server: 'cdn', method: req.method!, path, auth: req.headers.authorization ?? null });
    const m = /^\/blobs\/([0-9a-f]{64})$/.exec(path);
    const bytes = m ? blobs.get(m[1]!) : undefined;
    if (!bytes) { res.writeHead(404).end(); return; }
    let body = bytes;
    if (state.fault === 'corrupt') { body = bytes.slice(); body[body.length >> 1] ^= 0xff; }
    if (state.fault === 'short') body = bytes.subarray(0, bytes.length >> 1);
    res.writeHead(200, { 'content-length': String(state.fault === 'drop' ? bytes.length : body.length), etag: `"${m![1]}"`, 'content-type': 'binary/octet-stream' });
    if (req.method === 'HEAD') { res.end(); return; }
    if (state.fault === 'drop') { res.write(bytes.subarray(0, bytes.length >> 1), () => res.destroy()); return; }
    res.end(body);
  };
  const [cdn, cdnPort] = await listen(cdnHandler);
  const cdn6 = await alsoOnIpv6(cdnHandler, cdnPort);
  const [hub, hubPort] = await listen((req, res) => {
    const path = decodeURIComponent(new URL(req.url!, 'http://x').pathname);
    state.log.push({ server: 'hub', method: req.method!, path, auth: req.headers.authorization ?? null });
    const m = /^\/([^/]+\/[^/]+)\/resolve\/([^/]+)\/(.+)$/.exec(path);
    const repo = m ? state.repos.get(m[1]!) : undefined;
    const err = (status: number, code: string, extra: Record<string, string> = {}) => res.writeHead(status, { 'x-error-code': code, ...extra }).end();
    if (!m || !repo) return err(404, 'RepoNotFound');
    if (repo.movedTo) { res.writeHead(307, { location: `/${repo.movedTo}/resolve/${m[2]}/${m[3]}` }).end(); return; }
    if (repo.redirectTo) { res.writeHead(307, { location: `${repo.redirectTo}/${m[1]}/resolve/${m[2]}/${m[3]}` }).end(); return; }
    if (repo.token && req.headers.authorization !== `Bearer ${repo.token}`) return err(401, 'RepoNotFound', { 'x-error-message': 'Invalid username or password.' });
    if (m[2] !== 'main' && m[2] !== repo.commit) return err(404, 'RevisionNotFound');
    const bytes = repo.files[m[3]!];
    if (!bytes) return err(404, 'EntryNotFound', { 'x-repo-commit': repo.commit });
    if (repo.plain) {
      const sha1 = createHash('sha1').update(`blob ${bytes.length}\0`).update(bytes).digest('hex');
      let body = bytes;
      if (state.fault === 'corrupt') { body = bytes.slice(); body[0] ^= 0xff; }
      res.writeHead(200, { 'x-repo-commit': repo.commit, etag: `"${repo.etag ?? sha1}"`, 'content-length': String(bytes.length) });
      res.end(req.method === 'HEAD' ? undefined : body);
      return;
    }
    const sha = sha256(bytes);
    blobs.set(sha, bytes);
    const pointer = `version https://git-lfs.github.com/spec/v1\noid sha256:${sha}\nsize ${bytes.length}\n`;
    const pointerSha1 = createHash('sha1').update(`blob ${pointer.length}\0${pointer}`).digest('hex');
    res.writeHead(302, {
      location: `http://localhost:${cdnPort}/blobs/${sha}?X-Amz-Signature=test`,
      'x-repo-commit': repo.commit, 'x-linked-etag': `"${repo.etag ?? sha}"`, 'x-linked-size': String(bytes.length),
      etag: `"${pointerSha1}"`, 'content-length': '0',
    }).end();
  });
  state.endpoint = `http://127.0.0.1:${hubPort}`;
  state.close = async () => {
    await Promise.all([hub, cdn, ...(cdn6 ? [cdn6] : [])].map((s) => new Promise<void>((ok) => { s.closeAllConnections(); s.close(() => ok()); })));
  };
  return state;
}

/** The real CLI without blocking this process's event loop (the local server must answer). */
export function vitxAsync(args: readonly string[], opts: { cwd?: string; env?: Record<string, string> } = {}): Promise<CliResult> {
  return new Promise((ok) => {
    const p = spawn(process.execPath, [BIN, ...args], { cwd: opts.cwd ?? ROOT, env: { ...process.env, ...opts.env } });
    let stdout = '', stderr = '';
    p.stdout.on('data', (d) => { stdout += d; });
    p.stderr.on('data', (d) => { stderr += d; });
    p.on('close', (code) => ok({ code: code ?? -1, stdout, stderr }));
  });
}

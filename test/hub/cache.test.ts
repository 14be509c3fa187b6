/**
 * Issue 17 §3: the hub cache as an attacker (or a broken disk) leaves it, against the local hub.
 * An ETag that is no content hash is refused; a cached blob or snapshot file is used only when it
 * hashes to the ETag; a symbolic link in the cache cannot make a write land outside it; the token
 * reaches only the endpoint's origin after a redirect; killed downloads' `.incomplete` files are
 * removed by the next download (dead pid on this host, or an hour without a write).
 */
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { incompleteName } from '../../src/hub/cache.js';
import { hubDownload, HubError } from '../../src/hub/download.js';
import type { HubEnv } from '../../src/hub/env.js';
import { tempDir } from '../helpers/cli.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';

const COMMIT = 'd'.repeat(40);
const WEIGHTS = new Uint8Array(Buffer.from('safetensors-ish bytes for the cache tests '.repeat(50)));
const CONFIG = new TextEncoder().encode('{"architecture": "mobilevit_xxs"}\n');
const SHA256 = createHash('sha256').update(WEIGHTS).digest('hex');
const SHA1 = createHash('sha1').update(`blob ${CONFIG.length}\0`).update(CONFIG).digest('hex');
let hub: HubServer, other: HubServer, dir: string;

const envFor = (name: string): HubEnv => ({ endpoint: hub.endpoint, token: 'hf_t', cacheDir: join(dir, name), offline: false, etagTimeoutMs: 5000, downloadTimeoutMs: 5000 });
const storage = (env: HubEnv, repo: string) => join(env.cacheDir, `models--${repo.replace('/', '--')}`);
const lfs = { repo: 'org/lfs', filename: 'model.safetensors' }, plain = { repo: 'org/plain', filename: 'config.json' };

beforeAll(async () => {
  hub = await startHubServer();
  other = await startHubServer(); // the same host, another port
  dir = tempDir('vitx-hubcache-');
  hub.repos.set('org/lfs', { commit: COMMIT, files: { 'model.safetensors': WEIGHTS } });
  hub.repos.set('org/plain', { commit: COMMIT, files: { 'config.json': CONFIG }, plain: true });
  hub.repos.set('org/odd-etag', { commit: COMMIT, files: { 'model.safetensors': WEIGHTS }, etag: 'abc-123' });
  hub.repos.set('org/odd-plain', { commit: COMMIT, files: { 'config.json': CONFIG }, plain: true, etag: 'W1234' });
  hub.repos.set('org/elsewhere', { commit: COMMIT, files: {}, redirectTo: other.endpoint });
  other.repos.set('org/elsewhere', { commit: COMMIT, files: { 'config.json': CONFIG }, plain: true });
});
afterAll(async () => { await hub.close(); await other.close(); });

describe('ETags', () => {
  it('an ETag that is neither a sha256 nor a git sha1 is refused and nothing is stored (LFS and plain files)', async () => {
    for (const [repo, filename] of [['org/odd-etag', 'model.safetensors'], ['org/odd-plain', 'config.json']]) {
      const env = envFor(`odd-${repo.slice(4)}`);
      await expect(hubDownload({ repo: repo!, filename: filename! }, env)).rejects.toThrow(/the ETag in the answer for org\/odd-[a-z]+\/[a-z.]+ is neither a sha256 nor a git sha1/);
      expect(existsSync(join(storage(env, repo!), 'blobs'))).toBe(false);
    }
  });
});

describe('cached files are hashed before use', () => {
  const corrupt = (p: string) => { const b = readFileSync(p); b[7] ^= 0xff; writeFileSync(p, b); };

  it('a blob of the right size but other content, planted before the first download, is replaced (sha256 and git sha1)', async () => {
    for (const [req, etag, bytes] of [[lfs, SHA256, WEIGHTS], [plain, SHA1, CONFIG]] as const) {
      const env = envFor(`planted-${etag.length}`);
      mkdirSync(join(storage(env, req.repo), 'blobs'), { recursive: true });
      const blob = join(storage(env, req.repo), 'blobs', etag);
      writeFileSync(blob, Buffer.alloc(bytes.length, 0x41));
      const got = await hubDownload(req, env);
      expect(got.downloaded).toBe(true);
      expect(Buffer.compare(readFileSync(got.path), Buffer.from(bytes))).toBe(0);
    }
  });

  it('a blob corrupted after the download (same size) is downloaded again, not served', async () => {
    const env = envFor('corrupted');
    const first = await hubDownload(lfs, env);
    corrupt(join(storage(env, lfs.repo), 'blobs', SHA256));
    hub.log.length = 0;
    const again = await hubDownload(lfs, env);
    expect(again.downloaded).toBe(true);
    expect(hub.log.filter((q) => q.method === 'GET')).toHaveLength(1);
    expect(Buffer.compare(readFileSync(again.path), Buffer.from(WEIGHTS))).toBe(0);
    expect(again.path).toBe(first.path);
    // and an intact cache is served without a GET
    hub.log.length = 0;
    expect((await hubDownload(lfs, env)).downloaded).toBe(false);
    expect(hub.log.map((q) => q.method)).toEqual(['HEAD']);
  });
});

describe('no write lands outside the cache through a symbolic link', () => {
  for (const what of ['blobs', 'refs', 'snapshots/<commit>', 'the repository folder'] as const) {
    it(`${what} linked outside the cache: refused in one line, nothing written there`, async () => {
      const env = envFor(`link-${what.replace(/[^a-z]/g, '')}`);
      const outside = join(dir, `outside-${what.replace(/[^a-z]/g, '')}`);
      mkdirSync(outside);
      const s = storage(env, plain.repo);
      const link = what === 'the repository folder' ? s : join(s, what === 'snapshots/<commit>' ? join('snapshots', COMMIT) : what);
      mkdirSync(join(link, '..'), { recursive: true });
      symlinkSync(outside, link);
      const err = await hubDownload(plain, env).then(() => null, (e: unknown) => e);
      expect(err).toBeInstanceOf(HubError);
      expect((err as Error).message).toMatch(new RegExp(`^hub cache folder .*${what === 'the repository folder' ? 'models--org--plain' : what.replace('<commit>', COMMIT)} is a link to .*outside-[a-z]+, outside the cache .*; remove it`));
      expect(readdirSync(outside)).toEqual([]);
    });
  }

  it('a link that stays inside the cache is followed', async () => {
    const env = envFor('link-inside');
    mkdirSync(join(env.cacheDir, 'shared-blobs'), { recursive: true });
    mkdirSync(storage(env, plain.repo), { recursive: true });
    symlinkSync(join(env.cacheDir, 'shared-blobs'), join(storage(env, plain.repo), 'blobs'));
    const got = await hubDownload(plain, env);
    expect(readFileSync(got.path, 'utf8')).toBe(new TextDecoder().decode(CONFIG));
    expect(readdirSync(join(env.cacheDir, 'shared-blobs'))).toEqual([SHA1]);
  });
});

describe('the token after a redirect', () => {
  it('goes only to the endpoint\'s origin: not to the same host on another port (HEAD and GET)', async () => {
    hub.log.length = 0; other.log.length = 0;
    const got = await hubDownload({ repo: 'org/elsewhere', filename: 'config.json' }, envFor('elsewhere'));
    expect(readFileSync(got.path, 'utf8')).toBe(new TextDecoder().decode(CONFIG));
    expect(hub.log.map((q) => `${q.method} ${q.auth}`)).toEqual(['HEAD Bearer hf_t']);
    expect(other.log.map((q) => `${q.method} ${q.auth}`)).toEqual(['HEAD null', 'GET null']);
  });
});

describe('downloads a killed run left behind', () => {
  it('are removed by the next download into blobs/: this host\'s dead pids, and any untouched for an hour; Python\'s and live ones are kept', async () => {
    const env = envFor('incomplete');
    const blobs = join(storage(env, lfs.repo), 'blobs');
    mkdirSync(blobs, { recursive: true });
    const mine = incompleteName(join(blobs, SHA256)).slice(blobs.length + 1); // <etag>.vitx-<host>-<this pid>-<hex>.incomplete
    const host = /\.vitx-([A-Za-z0-9]*)-\d+-/.exec(mine)![1]!;
    const dead = spawnSync('true').pid!;
    const names = {
      deadHere: `${SHA256}.vitx-${host}-${dead}-0123456789abcdef.incomplete`,
      otherHostOld: `${SHA1}.vitx-elsewhere-${dead}-0123456789abcdef.incomplete`,
      otherHostFresh: `${SHA1}.vitx-elsewhere-1-fedcba9876543210.incomplete`,
      live: `${SHA256}.vitx-${host}-${process.pid}-0123456789abcdef.incomplete`,
      olderFormOld: `${SHA256}.0badcafe.incomplete`,
      olderFormFresh: `${SHA1}.0badcafe.incomplete`,
      python: `${SHA256}.incomplete`,
    };
    for (const n of Object.values(names)) writeFileSync(join(blobs, n), 'partial');
    const hourAgo = new Date(Date.now() - 2 * 3600_000);
    for (const n of [names.otherHostOld, names.olderFormOld]) utimesSync(join(blobs, n), hourAgo, hourAgo);
    const victim = join(dir, 'victim.txt');
    writeFileSync(victim, 'precious');
    const planted = `${SHA256}.vitx-${host}-${dead}-aaaaaaaaaaaaaaaa.incomplete`;
    symlinkSync(victim, join(blobs, planted));
    await hubDownload(lfs, env);
    expect(readdirSync(blobs).sort()).toEqual([SHA256, names.olderFormFresh, names.otherHostFresh, names.live, names.python, planted].sort());
    expect(lstatSync(join(blobs, planted)).isSymbolicLink()).toBe(true);
    expect(readFileSync(victim, 'utf8')).toBe('precious');
  });
});

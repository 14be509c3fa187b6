/**
 * The hub client in-process against the local hub: the cases the CLI tests do not reach (plain git
 * files with a git-sha1 ETag, renamed repositories, pinned commits, the environment variables).
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hubDownload, HubError } from '../../src/hub/download.js';
import { type HubEnv, hubEnv } from '../../src/hub/env.js';
import { tempDir } from '../helpers/cli.js';
import { type HubServer, startHubServer } from '../helpers/hub-server.js';

const COMMIT = 'c'.repeat(40);
const CONFIG = new TextEncoder().encode('{"architecture": "mobilevit_xxs", "num_classes": 1000}\n');
let hub: HubServer;
let dir: string;

const envFor = (name: string, extra: Partial<HubEnv> = {}): HubEnv => ({
  endpoint: hub.endpoint, token: 'hf_t', cacheDir: join(dir, name), offline: false, etagTimeoutMs: 5000, downloadTimeoutMs: 5000, ...extra,
});

beforeAll(async () => {
  hub = await startHubServer();
  dir = tempDir('vitx-hubdl-');
  hub.repos.set('org/plain', { commit: COMMIT, files: { 'config.json': CONFIG }, plain: true });
  hub.repos.set('org/old-name', { commit: COMMIT, files: {}, movedTo: 'org/plain' });
});
afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('hubDownload', () => {
  it('a plain git file: 200 from the hub, checked against its git blob sha1', async () => {
    const env = envFor('plain');
    const got = await hubDownload({ repo: 'org/plain', filename: 'config.json' }, env);
    expect(got.downloaded).toBe(true);
    const sha1 = createHash('sha1').update(`blob ${CONFIG.length}\0`).update(CONFIG).digest('hex');
    expect(existsSync(join(env.cacheDir, 'models--org--plain', 'blobs', sha1))).toBe(true);
    expect(readFileSync(got.path, 'utf8')).toBe(new TextDecoder().decode(CONFIG));
  });

  it('a corrupt plain file is refused and leaves no blob', async () => {
    const env = envFor('plain-corrupt');
    hub.fault = 'corrupt';
    try {
      await expect(hubDownload({ repo: 'org/plain', filename: 'config.json' }, env)).rejects.toThrow(/^download of org\/plain\/config\.json is corrupt: git sha1 /);
    } finally {
      hub.fault = null;
    }
    expect(readdirSync(join(env.cacheDir, 'models--org--plain', 'blobs'))).toEqual([]);
  });

  it('a renamed repository: the relative redirect is followed, with the token', async () => {
    hub.log.length = 0;
    const got = await hubDownload({ repo: 'org/old-name', filename: 'config.json' }, envFor('moved'));
    expect(got.path).toBe(join(dir, 'moved', 'models--org--old-name', 'snapshots', COMMIT, 'config.json'));
    expect(hub.log.map((q) => `${q.method} ${q.path} ${q.auth}`)).toEqual([
      'HEAD /org/old-name/resolve/main/config.json Bearer hf_t', 'HEAD /org/plain/resolve/main/config.json Bearer hf_t', 'GET /org/plain/resolve/main/config.json Bearer hf_t',
    ]);
  });

  it('a pinned commit already in the cache needs no request; an unknown revision is a 404 one-liner', async () => {
    const env = envFor('plain');
    hub.log.length = 0;
    expect((await hubDownload({ repo: 'org/plain', filename: 'config.json', revision: COMMIT }, env)).downloaded).toBe(false);
    expect(hub.log).toEqual([]);
    await expect(hubDownload({ repo: 'org/plain', filename: 'config.json', revision: 'v2' }, env)).rejects.toThrow(new HubError("org/plain has no revision 'v2' (404 RevisionNotFound)"));
  });

  it('refuses ids and names that would leave the cache folder', async () => {
    await expect(hubDownload({ repo: '../etc', filename: 'x' }, envFor('bad'))).rejects.toThrow(/invalid hub repository id/);
    await expect(hubDownload({ repo: 'org/plain', filename: '../../x' }, envFor('bad'))).rejects.toThrow(/invalid file name/);
  });
});

describe('hubEnv', () => {
  it('reads the variables huggingface_hub reads, with its defaults and precedence', () => {
    const d = hubEnv({});
    expect(d.endpoint).toBe('https://huggingface.co');
    expect(d.cacheDir).toBe(join(homedir(), '.cache', 'huggingface', 'hub'));
    expect(d.offline).toBe(false);
    const e = hubEnv({ HF_ENDPOINT: 'https://mirror.example/', HF_HOME: '/h', HF_TOKEN: 'hf_x', HF_HUB_OFFLINE: 'yes', HF_HUB_ETAG_TIMEOUT: '3' });
    expect(e).toMatchObject({ endpoint: 'https://mirror.example', cacheDir: join('/h', 'hub'), token: 'hf_x', offline: true, etagTimeoutMs: 3000 });
    expect(hubEnv({ XDG_CACHE_HOME: '/x' }).cacheDir).toBe(join('/x', 'huggingface', 'hub'));
    expect(hubEnv({ HF_HOME: '/h', HF_HUB_CACHE: '/c' }).cacheDir).toBe('/c');
    expect(hubEnv({ TRANSFORMERS_OFFLINE: '1' }).offline).toBe(true);
    expect(hubEnv({ HF_HUB_OFFLINE: '0' }).offline).toBe(false);
  });
});

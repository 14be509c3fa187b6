/**
 * `vitx export <model> --pretrained` against a local hub (test/helpers/hub-server.ts): the tag's
 * model.safetensors is downloaded once into the hub's cache layout, reused, read offline, and
 * every failure is one line with no partial file. The served checkpoint is the reference one, so
 * the exported logits are checked against PyTorch's.
 */
import { createHash } from 'node:crypto';
import { existsSync, lstatSync, mkdirSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseOnnx } from '../../src/onnx/parse.js';
import { runOnnx } from '../../src/runtime/ort.js';
import { main } from '../../src/cli/main.js';
import { tempDir } from '../helpers/cli.js';
import { type HubServer, startHubServer, vitxAsync } from '../helpers/hub-server.js';
import { checkLogits, referenceInput, referenceSafetensors } from '../helpers/reference.js';

const MODEL = 'mobilevit_xxs';
const REPO = 'timm/mobilevit_xxs.cvnets_in1k'; // the default tag's hf_hub_id in timm v1.0.28
const COMMIT = 'a'.repeat(8) + '0123456789abcdef0123456789abcdef';
let hub: HubServer;
let dir: string;
let ckpt: Uint8Array;
let sha: string;
/** An address nothing listens on (a port bound, then released). */
let DEAD: string;

/** Environment of a user with the cache in `home` and the hub at the local server. */
function env(home: string, extra: Record<string, string> = {}): Record<string, string> {
  return {
    HF_HOME: home, HF_ENDPOINT: hub.endpoint, HF_TOKEN: '', HF_HUB_OFFLINE: '', TRANSFORMERS_OFFLINE: '',
    HF_HUB_CACHE: '', HUGGINGFACE_HUB_CACHE: '', HF_HUB_DOWNLOAD_TIMEOUT: '5', HF_HUB_ETAG_TIMEOUT: '5', ...extra,
  };
}

const storage = (home: string) => join(home, 'hub', 'models--timm--mobilevit_xxs.cvnets_in1k');
const fileGets = () => hub.log.filter((r) => r.server === 'cdn' && r.method === 'GET').length;

/** Every file under `d` (recursively), as paths relative to it. */
function files(d: string): string[] {
  if (!existsSync(d)) return [];
  return readdirSync(d, { recursive: true, withFileTypes: true }).filter((e) => !e.isDirectory()).map((e) => join(e.parentPath, e.name).slice(d.length + 1)).sort();
}

async function logits(file: string): Promise<Float32Array> {
  const x = referenceInput(MODEL);
  return (await runOnnx(readFileSync(file), { input: { dtype: 'float32', dims: x.dims, data: x.data } }))['logits']!.data as Float32Array;
}

beforeAll(async () => {
  hub = await startHubServer();
  const probe = createServer();
  await new Promise<void>((ok) => probe.listen(0, '127.0.0.1', ok));
  DEAD = `http://127.0.0.1:${(probe.address() as AddressInfo).port}`;
  await new Promise((ok) => probe.close(ok));
  dir = tempDir('vitx-hub-');
  ckpt = referenceSafetensors(MODEL);
  sha = createHash('sha256').update(ckpt).digest('hex');
  hub.repos.set(REPO, { commit: COMMIT, files: { 'model.safetensors': ckpt } });
});

afterAll(async () => {
  await hub.close();
  rmSync(dir, { recursive: true, force: true });
});

describe('--pretrained downloads like hf_hub_download', () => {
  const home = () => join(dir, 'hf');

  it('downloads once into the hub cache layout; the model has the PyTorch reference logits', async () => {
    hub.log.length = 0;
    const out = join(dir, 'a.onnx');
    const r = await vitxAsync(['export', MODEL, '--pretrained', '-o', out], { env: env(home(), { HF_TOKEN: 'hf_test' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(new RegExp(`weights ${REPO} \\(downloaded, commit ${COMMIT.slice(0, 12)}\\)`));
    // HEAD on the resolve endpoint with the token, then GET on the CDN without it
    expect(hub.log.map((q) => `${q.server} ${q.method} ${q.path}`)).toEqual([
      `hub HEAD /${REPO}/resolve/main/model.safetensors`, `cdn GET /blobs/${sha}`,
    ]);
    expect(hub.log[0]!.auth).toBe('Bearer hf_test');
    expect(hub.log[1]!.auth).toBeNull();
    // huggingface_hub's layout: blobs/{sha256}, snapshots/{commit}/file → ../../blobs/{sha256}, refs/main
    const s = storage(home());
    expect(files(s)).toEqual([`blobs/${sha}`, 'refs/main', `snapshots/${COMMIT}/model.safetensors`]);
    expect(readFileSync(join(s, 'refs', 'main'), 'utf8')).toBe(COMMIT);
    const pointer = join(s, 'snapshots', COMMIT, 'model.safetensors');
    expect(lstatSync(pointer).isSymbolicLink()).toBe(true);
    expect(readlinkSync(pointer)).toBe(`../../blobs/${sha}`);
    expect(Buffer.compare(readFileSync(pointer), Buffer.from(ckpt))).toBe(0);
    const check = checkLogits(MODEL, await logits(out));
    expect(check.maxAbsDiff).toBeLessThanOrEqual(check.tolerance);
    expect(check.pass).toBe(true);
    expect(parseOnnx(readFileSync(out)).graph.metadata.get('vitx.weights')).toBe(`hf-hub:${REPO}/model.safetensors@${COMMIT}`);
  });

  it('a second run reuses the cache: metadata only (HEAD), no GET of the file', async () => {
    hub.log.length = 0;
    const out = join(dir, 'b.onnx');
    const r = await vitxAsync(['export', `${MODEL}.cvnets_in1k`, '--pretrained', '-o', out], { env: env(home()) });
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/\(cached, commit /);
    expect(hub.log.map((q) => `${q.server} ${q.method}`)).toEqual(['hub HEAD']);
    expect(Buffer.compare(readFileSync(out), readFileSync(join(dir, 'a.onnx')))).toBe(0);
  });

  it('HF_HUB_OFFLINE=1 works from the cache without any request; an empty cache is one line', async () => {
    hub.log.length = 0;
    const r = await vitxAsync(['export', MODEL, '--pretrained', '-o', join(dir, 'c.onnx'), '-q'], { env: env(home(), { HF_HUB_OFFLINE: '1' }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    expect(hub.log).toEqual([]);
    const empty = join(dir, 'empty');
    const e = await vitxAsync(['export', MODEL, '--pretrained', '-o', join(dir, 'd.onnx')], { env: env(empty, { HF_HUB_OFFLINE: '1' }) });
    expect(e.code).toBe(1);
    expect(e.stderr).toBe(`vitx: error: ${REPO}/model.safetensors is not in the cache ${join(empty, 'hub')} and HF_HUB_OFFLINE is set: run once online or unset HF_HUB_OFFLINE\n`);
    expect(hub.log).toEqual([]);
    expect(existsSync(join(dir, 'd.onnx'))).toBe(false);
  });

  it('the hub down: the cached file is used, as huggingface_hub does', async () => {
    const r = await vitxAsync(['export', MODEL, '--pretrained', '-o', join(dir, 'e.onnx'), '-q'], { env: env(home(), { HF_ENDPOINT: DEAD }) });
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
  });
});

describe('--pretrained failures: one line, exit 1, no partial file', () => {
  for (const [fault, message] of [
    ['corrupt', /^vitx: error: download of timm\/mobilevit_xxs\.cvnets_in1k\/model\.safetensors is corrupt: sha256 [0-9a-f]{12}… does not match the ETag [0-9a-f]{12}…; nothing kept, run again\n$/],
    ['short', /^vitx: error: download of timm\/mobilevit_xxs\.cvnets_in1k\/model\.safetensors is truncated: \d+ of \d+ bytes; nothing kept, run again\n$/],
    ['drop', /^vitx: error: download of timm\/mobilevit_xxs\.cvnets_in1k\/model\.safetensors broke off after \d+ of \d+ bytes \(connection closed\); nothing kept, run again\n$/],
  ] as const) {
    it(`${fault} download`, async () => {
      const home = join(dir, `hf-${fault}`);
      hub.fault = fault;
      try {
        const out = join(dir, `${fault}.onnx`);
        const r = await vitxAsync(['export', MODEL, '--pretrained', '-o', out], { env: env(home) });
        expect(r.stderr).toMatch(message);
        expect(r.code).toBe(1);
        expect(existsSync(out)).toBe(false);
        // nothing left in blobs/ or snapshots/ (no .incomplete file, no dangling pointer)
        expect(files(storage(home)).filter((f) => !f.startsWith('refs/'))).toEqual([]);
      } finally {
        hub.fault = null;
      }
    });
  }

  it('401 (private repository, no token), 404 repository, 404 file, unreachable hub', async () => {
    const home = join(dir, 'hf-errors');
    hub.repos.set('timm/mobilevit_xs.cvnets_in1k', { commit: COMMIT, files: { 'model.safetensors': referenceSafetensors('mobilevit_xs') }, token: 'hf_secret' });
    hub.repos.set('timm/fastvit_t8.apple_in1k', { commit: COMMIT, files: {} });
    const cases: [string[], Record<string, string>, string][] = [
      [['mobilevit_xs'], {}, '401 Unauthorized for timm/mobilevit_xs.cvnets_in1k/model.safetensors: the repository is private, gated or does not exist; set HF_TOKEN to a token with access'],
      [['mobilevit_xs'], { HF_TOKEN: 'hf_wrong' }, '401 Unauthorized for timm/mobilevit_xs.cvnets_in1k/model.safetensors: the repository is private, gated or does not exist; the token in HF_TOKEN was not accepted'],
      [['mobilevit_s'], {}, `timm/mobilevit_s.cvnets_in1k not found on ${hub.endpoint} (404 RepoNotFound)`],
      [['fastvit_t8'], {}, 'timm/fastvit_t8.apple_in1k has no file model.safetensors (404 EntryNotFound)'],
      [['mobilevit_xxs'], { HF_ENDPOINT: DEAD }, `cannot reach ${DEAD} (connection refused) for timm/mobilevit_xxs.cvnets_in1k/model.safetensors`],
    ];
    for (const [args, extra, message] of cases) {
      const r = await vitxAsync(['export', ...args, '--pretrained', '-o', join(dir, 'x.onnx')], { env: env(home, extra) });
      expect(r.stderr, args.join(' ')).toBe(`vitx: error: ${message}\n`);
      expect(r.code).toBe(1);
    }
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
    const ok = await vitxAsync(['export', 'mobilevit_xs', '--pretrained', '-o', join(dir, 'x.onnx'), '-q'], { env: env(home, { HF_TOKEN: 'hf_secret' }) });
    expect(ok.stderr).toBe('');
    expect(ok.code).toBe(0);
  });

  it('usage mistakes: --weights with --pretrained, a model timm has no weights for, an unknown tag', async () => {
    mkdirSync(join(dir, 'u'), { recursive: true });
    const e = env(join(dir, 'u'));
    const cases: [string[], string][] = [
      [['mobilevit_xxs', '--pretrained', '--weights', 'w.safetensors'], "--pretrained and --weights are exclusive: --pretrained downloads the tag's checkpoint"],
      [['edgevit_xxs', '--pretrained'], 'edgevit_xxs has no pretrained weights on the Hugging Face Hub in timm v1.0.28; use --weights'],
      [['mobilevit_xxs.in1k', '--pretrained'], "unknown pretrained tag 'mobilevit_xxs.in1k' of mobilevit_xxs (its tags: mobilevit_xxs.cvnets_in1k; 'vitx list --pretrained' shows all tags)"],
      [['mobilevit_xxx.cvnets_in1k', '--pretrained'], "unknown model 'mobilevit_xxx.cvnets_in1k' (did you mean mobilevit_xxs, mobilevit_xs, mobilevit_xxs.cvnets_in1k, mobilevit_xs.cvnets_in1k? 'vitx list --pretrained' shows all tags)"],
    ];
    for (const [args, message] of cases) {
      const r = await vitxAsync(['export', ...args, '-o', join(dir, 'u', 'x.onnx')], { env: e });
      expect(r.stderr, args.join(' ')).toBe(`vitx: error: ${message}\n`);
      expect(r.code).toBe(2);
    }
    expect(hub.log.some((q) => q.path.includes('edgevit'))).toBe(false);
  });
});

describe('progress on a terminal', () => {
  it('draws a bar on stderr while downloading (in-process CLI with a TTY Io)', async () => {
    const home = join(dir, 'hf-tty');
    const saved = { ...process.env };
    Object.assign(process.env, env(home));
    let out = '', err = '';
    try {
      const code = await main(['node', 'vitx', 'export', MODEL, '--pretrained', '-o', join(dir, 'tty.onnx'), '-q'], { out: (s) => { out += s; }, err: (s) => { err += s; }, isTTY: true });
      expect(code).toBe(0);
    } finally {
      for (const k of Object.keys(process.env)) if (!(k in saved)) delete process.env[k];
      Object.assign(process.env, saved);
    }
    expect(out).toBe('');
    expect(err).toMatch(/^\rtimm\/mobilevit_xxs\.cvnets_in1k \[#* *\] +\d+% /);
    expect(err).toMatch(/\[#{24}\] 100% 5\.\d\/5\.\d MB [\d.]+ MB\/s\x1b\[K\n$/);
  });
});

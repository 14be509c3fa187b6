/**
 * Hugging Face Hub settings from the environment, read the way huggingface_hub reads them
 * (constants.py, utils/_auth.py), so that vitx and Python tools share one cache and one login:
 *
 *   HF_ENDPOINT                 hub address (default https://huggingface.co; trailing '/' dropped)
 *   HF_TOKEN                    access token, sent as `Authorization: Bearer …`; else the file
 *                               HF_TOKEN_PATH (default $HF_HOME/token, written by `hf auth login`)
 *   HF_HUB_CACHE                cache folder; else HUGGINGFACE_HUB_CACHE; else $HF_HOME/hub
 *   HF_HOME                     default $XDG_CACHE_HOME/huggingface, else ~/.cache/huggingface
 *   HF_HUB_OFFLINE              1/ON/YES/TRUE: no network, cache only (also TRANSFORMERS_OFFLINE)
 *   HF_HUB_ETAG_TIMEOUT         seconds to wait for the metadata (HEAD) answer (default 10)
 *   HF_HUB_DOWNLOAD_TIMEOUT     seconds without data before a download is abandoned (default 10)
 */
import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

export interface HubEnv {
  endpoint: string;
  token: string | null;
  cacheDir: string;
  offline: boolean;
  etagTimeoutMs: number;
  downloadTimeoutMs: number;
}

const TRUE_VALUES = new Set(['1', 'ON', 'YES', 'TRUE']);
const isTrue = (v: string | undefined) => v !== undefined && TRUE_VALUES.has(v.toUpperCase());
const expandHome = (p: string) => (p === '~' || p.startsWith('~/') ? join(homedir(), p.slice(1)) : p);
const nonEmpty = (v: string | undefined) => (v !== undefined && v !== '' ? v : undefined);

function seconds(v: string | undefined, dflt: number): number {
  const n = Number(v);
  return v !== undefined && /^\d+$/.test(v) && n > 0 ? n * 1000 : dflt * 1000;
}

export function hubEnv(env: NodeJS.ProcessEnv = process.env): HubEnv {
  const hfHome = expandHome(nonEmpty(env['HF_HOME']) ?? join(nonEmpty(env['XDG_CACHE_HOME']) ?? join(homedir(), '.cache'), 'huggingface'));
  const cacheDir = expandHome(nonEmpty(env['HF_HUB_CACHE']) ?? nonEmpty(env['HUGGINGFACE_HUB_CACHE']) ?? join(hfHome, 'hub'));
  let token = nonEmpty(env['HF_TOKEN']) ?? nonEmpty(env['HUGGING_FACE_HUB_TOKEN']) ?? null;
  if (token === null) {
    try {
      token = readFileSync(expandHome(nonEmpty(env['HF_TOKEN_PATH']) ?? join(hfHome, 'token')), 'utf8').trim() || null;
    } catch { /* not logged in */ }
  }
  return {
    endpoint: (nonEmpty(env['HF_ENDPOINT']) ?? 'https://huggingface.co').replace(/\/+$/, ''),
    token,
    cacheDir,
    offline: isTrue(env['HF_HUB_OFFLINE']) || isTrue(env['TRANSFORMERS_OFFLINE']),
    etagTimeoutMs: seconds(env['HF_HUB_ETAG_TIMEOUT'], 10),
    downloadTimeoutMs: seconds(env['HF_HUB_DOWNLOAD_TIMEOUT'], 10),
  };
}

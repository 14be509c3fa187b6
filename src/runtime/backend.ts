/**
 * Execution backends behind one interface: run an ONNX file (bytes) on named inputs, get named
 * outputs back as host tensors.
 *
 *   cpu             onnxruntime-node, CPU execution provider
 *   webgpu          onnxruntime-node, bundled WebGPU execution provider (Dawn); without a GPU it
 *                   runs on SwiftShader's Vulkan driver from Debian's chromium (see webgpu-env.ts)
 *   wasm            onnxruntime-web in this Node process (WebAssembly, one thread)
 *   browser-webgpu  onnxruntime-web in headless Chromium, WebGPU execution provider
 *   browser-wasm    onnxruntime-web in headless Chromium, WebAssembly
 *
 * Every backend runs with onnxruntime's own graph optimizations disabled: vitx verifies *its* graph.
 * A backend that cannot start throws a BackendUnavailableError whose message is one line that says
 * why and what to do. A `BackendPool` opens each backend once and shares one browser between the
 * two browser backends.
 */
import { type BackendOpener, platform } from '../platform/index.js';
import type { HostTensor } from './tensors.js';

export type { HostTensor };
export type Feeds = Record<string, HostTensor>;
export type Outputs = Record<string, HostTensor>;

export const BACKEND_NAMES = ['cpu', 'webgpu', 'wasm', 'browser-webgpu', 'browser-wasm'] as const;
export type BackendName = (typeof BACKEND_NAMES)[number];

export function isBackendName(s: string): s is BackendName {
  return (BACKEND_NAMES as readonly string[]).includes(s);
}

export interface Backend {
  readonly name: BackendName;
  /** One line describing what actually runs (library, provider, adapter). */
  readonly description: string;
  /** Runs `model` once; `outputNames` restricts (and orders) the outputs fetched. */
  run(model: Uint8Array, feeds: Feeds, outputNames?: readonly string[]): Promise<Outputs>;
  close(): Promise<void>;
}

/** The backend cannot start on this machine; the message is one line: "<name>: <why> — <what to do>". */
export class BackendUnavailableError extends Error {}

/** A run on a started backend failed (e.g. an op the provider rejects); message "<name>: <why>". */
export class BackendRunError extends Error {}

export function firstLine(e: unknown): string {
  const msg = e instanceof Error ? e.message : String(e);
  return (msg.split('\n').find((l) => l.trim() !== '') ?? msg).trim();
}

/** Wraps a backend so that run failures carry the backend's name and stay one line. */
export function guarded(b: Backend): Backend {
  return {
    name: b.name,
    description: b.description,
    async run(model, feeds, outputNames) {
      try {
        return await b.run(model, feeds, outputNames);
      } catch (e) {
        if (e instanceof BackendRunError || e instanceof BackendUnavailableError) throw e;
        throw new BackendRunError(`${b.name}: ${firstLine(e)}`);
      }
    },
    close: () => b.close(),
  };
}

/**
 * Opens backends on first use, each once, through the host's opener (platform/index.ts: Node opens
 * onnxruntime-node, onnxruntime-web and one headless browser for both browser backends; a page opens
 * onnxruntime-web).
 */
export class BackendPool {
  private readonly open = new Map<BackendName, Promise<Backend>>();
  private opener: BackendOpener | null = null;

  get(name: BackendName): Promise<Backend> {
    let p = this.open.get(name);
    if (!p) {
      this.opener ??= platform().backendOpener();
      p = this.opener.open(name).then(guarded);
      p.catch(() => undefined); // failures are reported by whoever awaits get()
      this.open.set(name, p);
    }
    return p;
  }

  /** Closes every backend that started, then what the opener shares (the browser). */
  async close(): Promise<void> {
    const started = await Promise.allSettled(this.open.values());
    for (const s of started) if (s.status === 'fulfilled') await s.value.close().catch(() => undefined);
    this.open.clear();
    const o = this.opener;
    this.opener = null;
    await o?.close();
  }
}

/** Parses "cpu,wasm,…" (the CLI's --ep); duplicates removed, order kept. */
export function parseBackendList(s: string): BackendName[] | { unknown: string } {
  const out: BackendName[] = [];
  for (const raw of s.split(',')) {
    const n = raw.trim();
    if (n === '') continue;
    if (n === 'all') { for (const b of BACKEND_NAMES) if (!out.includes(b)) out.push(b); continue; }
    if (!isBackendName(n)) return { unknown: n };
    if (!out.includes(n)) out.push(n);
  }
  return out;
}

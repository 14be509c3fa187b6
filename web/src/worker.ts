/**
 * The web app's worker: every heavy step (reading the checkpoint, building, optimizing,
 * serializing, quantizing, onnxruntime sessions) runs here, so the page stays responsive. Each
 * task's code is loaded on first use (code splitting: web/build.ts). The last export is kept for
 * verify, bench and classify.
 */
import { internalMessage, isInternal, oneLine } from '../../src/cli/errors.js';
import type { Exported } from './tasks/export.js';
import type { DownloadDone, Reply, Request } from './protocol.js';

let last: { kept: Exported; in1k: boolean } | null = null;

const post = (r: Reply, transfer: Transferable[] = []) => (self as unknown as Worker).postMessage(r, transfer);

/** The CLI's one-line error: `vitx: error: <message>` (an internal error says so and names the task). */
export function errorLine(task: string, operands: string[], e: unknown): string {
  return `vitx: error: ${isInternal(e) ? internalMessage(task, operands, e) : oneLine(e)}`;
}

function needExport(): { kept: Exported; in1k: boolean } {
  if (!last) throw new Error('export a model first');
  return last;
}

async function handle(m: Request): Promise<void> {
  const progress = (stage: string, fraction: number) => post({ id: m.id, kind: 'progress', stage, fraction });
  switch (m.kind) {
    case 'export': {
      last = null; // the previous file's bytes go as soon as a new export starts
      const { runExport } = await import('./tasks/export.js');
      const { done, kept } = await runExport(m.req, progress);
      last = { kept, in1k: done.in1k };
      post({ id: m.id, kind: 'done', result: done });
      return;
    }
    case 'verify': {
      const { runVerify } = await import('./tasks/verify.js');
      post({ id: m.id, kind: 'done', result: await runVerify(needExport().kept, m.eps, m.checkpoint, progress) });
      return;
    }
    case 'hash': {
      // incremental SHA-256 (the platform's): no copy of the file, unlike crypto.subtle.digest
      const { platform } = await import('../../src/platform/index.js');
      post({ id: m.id, kind: 'done', result: platform().sha256().update(needExport().kept.bytes).hex() });
      return;
    }
    case 'download': {
      const k = needExport().kept;
      const type = { type: 'application/octet-stream' };
      const result: DownloadDone = {
        name: `${k.req.model}.onnx`, file: new Blob([k.bytes as BlobPart], type),
        data: k.data && { name: k.data.name, file: new Blob(k.data.chunks as BlobPart[], type) },
      };
      post({ id: m.id, kind: 'done', result });
      return;
    }
    case 'bench': {
      const { runBench } = await import('./tasks/bench.js');
      post({ id: m.id, kind: 'done', result: await runBench(needExport().kept, m.eps, m.runs, m.warmup, progress) });
      return;
    }
    case 'classify': {
      const { runClassify } = await import('./tasks/classify.js');
      const x = needExport();
      post({ id: m.id, kind: 'done', result: await runClassify(x.kept, m.image, x.in1k) });
      return;
    }
  }
}

self.onmessage = (ev: MessageEvent<Request>) => {
  const m = ev.data;
  handle(m).catch((e: unknown) => {
    const operands = m.kind === 'export' ? [m.req.checkpoint?.name ?? m.req.model] : m.kind === 'classify' ? [m.image.name] : [];
    post({ id: m.id, kind: 'error', message: errorLine(m.kind, operands, e) });
  });
};

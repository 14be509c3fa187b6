/**
 * The page's side of the worker protocol: one worker (started on first use), requests as promises,
 * progress as callbacks. Byte arrays are transferred, not copied.
 */
import type { DroppedFile, Reply, Request } from './protocol.js';

type Pending = { resolve: (v: unknown) => void; reject: (e: Error) => void; progress?: (stage: string, fraction: number) => void };

/** An error the worker reported: its message is already the CLI's one line. */
export class TaskError extends Error {}

type Body = Request extends infer R ? (R extends { id: number } ? Omit<R, 'id'> : never) : never;

export class WorkerClient {
  private worker: Worker | null = null;
  private next = 1;
  private readonly pending = new Map<number, Pending>();

  private start(): Worker {
    if (this.worker) return this.worker;
    const w = new Worker(new URL('./worker.js', import.meta.url), { type: 'module', name: 'vitx' });
    w.onmessage = (ev: MessageEvent<Reply>) => {
      const m = ev.data, p = this.pending.get(m.id);
      if (!p) return;
      if (m.kind === 'progress') { p.progress?.(m.stage, m.fraction); return; }
      this.pending.delete(m.id);
      if (m.kind === 'done') p.resolve(m.result); else p.reject(new TaskError(m.message));
    };
    w.onerror = (ev) => {
      ev.preventDefault();
      for (const p of this.pending.values()) p.reject(new TaskError(`vitx: error: internal error in the worker: ${ev.message || 'it stopped'}; reload the page and report it`));
      this.pending.clear();
      this.worker = null;
      w.terminate();
    };
    this.worker = w;
    return w;
  }

  call<T>(body: Body, progress?: Pending['progress']): Promise<T> {
    const id = this.next++;
    const transfer: Transferable[] = [];
    const add = (f: DroppedFile | undefined) => { if (f) transfer.push(f.bytes); };
    if (body.kind === 'export') { add(body.req.checkpoint); body.req.calibration?.forEach(add); }
    if (body.kind === 'classify') add(body.image);
    if (body.kind === 'verify') add(body.checkpoint);
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject, progress });
      this.start().postMessage({ ...body, id } as Request, transfer);
    });
  }
}

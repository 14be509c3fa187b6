/** A one-line download progress bar for a terminal (stderr), redrawn at most ten times a second. */
import type { Progress } from './download.js';

const mb = (n: number) => (n / 1e6).toFixed(1);

export function progressBar(label: string, write: (s: string) => void, width = 24): { update: Progress; done: () => void } {
  let last = 0, drawn = false;
  const t0 = Date.now();
  const draw = (received: number, total: number) => {
    const frac = total > 0 ? Math.min(1, received / total) : 1;
    const fill = Math.round(frac * width);
    const secs = Math.max((Date.now() - t0) / 1000, 1e-3);
    write(`\r${label} [${'#'.repeat(fill)}${' '.repeat(width - fill)}] ${String(Math.floor(frac * 100)).padStart(3)}% ${mb(received)}/${mb(total)} MB ${mb(received / secs)} MB/s\x1b[K`);
    drawn = true;
  };
  return {
    update(received, total) {
      const now = Date.now();
      if (received < total && now - last < 100) return;
      last = now;
      draw(received, total);
    },
    done() { if (drawn) write('\n'); },
  };
}

/**
 * `npm run web`: builds the app (web/build.ts) and serves dist/web on 127.0.0.1 (port 8790, or
 * the next free one; `--port N`, `--no-build`), printing the URL. A static server: files only, no
 * API; the page talks to nothing else.
 */
import { existsSync, readFileSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { buildWeb, OUT } from './build.js';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.css': 'text/css; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.wasm': 'application/wasm', '.txt': 'text/plain; charset=utf-8', '.png': 'image/png',
};

/** Serves `root` (GET/HEAD only, nothing outside it); resolves when listening. */
export function serveStatic(root: string, port = 0): Promise<Server> {
  const server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    const inside = !relative(root, file).startsWith('..') && (file === root || file.startsWith(root + sep));
    if ((req.method !== 'GET' && req.method !== 'HEAD') || !inside || !existsSync(file) || !statSync(file).isFile()) {
      res.writeHead(req.method === 'GET' || req.method === 'HEAD' ? 404 : 405, { 'content-type': 'text/plain' });
      res.end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    res.end(req.method === 'HEAD' ? undefined : readFileSync(file));
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve(server));
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const portArg = args.indexOf('--port');
  let port = portArg >= 0 ? Number(args[portArg + 1]) : 8790;
  if (!args.includes('--no-build')) {
    const r = await buildWeb();
    console.log(`built dist/web (app JavaScript ${(r.appGzip / 1024).toFixed(0)} KiB gzipped)`);
  }
  let server: Server | null = null;
  for (let i = 0; i < 20 && !server; i++) {
    try { server = await serveStatic(OUT, port); } catch (e) { if ((e as NodeJS.ErrnoException).code === 'EADDRINUSE' && portArg < 0) port++; else throw e; }
  }
  if (!server) throw new Error('no free port');
  console.log(`vitx web app: http://127.0.0.1:${(server.address() as AddressInfo).port}/  (Ctrl-C to stop)`);
}

// A static file server on 127.0.0.1 (a secure context, so WebGPU and the Cache API work) with a few
// routes that misbehave on purpose, for the weight-download tests. Counts requests per path.
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript', '.css': 'text/css', '.map': 'application/json',
  '.json': 'application/json', '.png': 'image/png', '.safetensors': 'application/octet-stream',
};

export type Route = (req: IncomingMessage, res: ServerResponse) => void;

export interface TestServer {
  origin: string;
  /** Requests per path. */
  hits: Map<string, number>;
  close(): Promise<void>;
}

/** Serves `root`; `routes` answer exact paths; `mounts` serve other folders under a path prefix. */
export async function startServer(root: string, routes: Record<string, Route> = {}, mounts: Record<string, string> = {}): Promise<TestServer> {
  const hits = new Map<string, number>();
  const srv = createServer((req, res) => {
    const path = new URL(req.url ?? '/', 'http://x').pathname;
    hits.set(path, (hits.get(path) ?? 0) + 1);
    const route = routes[path];
    if (route) return route(req, res);
    const mount = Object.keys(mounts).find((m) => path.startsWith(m));
    const base = resolve(mount ? mounts[mount]! : root);
    const file = normalize(join(base, mount ? path.slice(mount.length) : path === '/' ? '/index.html' : path));
    if (!file.startsWith(base) || !existsSync(file) || statSync(file).isDirectory()) {
      res.writeHead(404).end('not found');
      return;
    }
    res.writeHead(200, { 'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'content-length': statSync(file).size, 'cache-control': 'no-store' });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const { port } = srv.address() as AddressInfo;
  return {
    origin: `http://127.0.0.1:${port}`,
    hits,
    close: () =>
      new Promise<void>((r) => {
        srv.closeAllConnections();
        srv.close(() => r());
      }),
  };
}

/** Serves `bytes` in full, with a Content-Length. */
export function full(bytes: Uint8Array): Route {
  return (_req, res) => {
    res.writeHead(200, { 'content-type': 'application/octet-stream', 'content-length': bytes.byteLength, 'cache-control': 'no-store' });
    res.end(bytes);
  };
}

/**
 * Sends the first `keep` bytes and then fails: `abort` announces the full Content-Length and drops
 * the connection (the client sees a network error); `short` sends no length and ends cleanly
 * (the client sees a stream that is merely too short).
 */
export function truncated(bytes: Uint8Array, keep: number, how: 'abort' | 'short'): Route {
  return (_req, res) => {
    const headers: Record<string, string | number> = { 'content-type': 'application/octet-stream', 'cache-control': 'no-store' };
    if (how === 'abort') headers['content-length'] = bytes.byteLength;
    res.writeHead(200, headers);
    res.write(bytes.subarray(0, keep), () => {
      if (how === 'short') res.end();
      else setTimeout(() => res.destroy(), 50);
    });
  };
}

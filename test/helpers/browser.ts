/**
 * A real browser for end-to-end tests: Debian's chromium driven by playwright-core, WebGPU
 * on SwiftShader, and a static file server on loopback for the pages it opens. No browser is
 * downloaded: CI installs the `chromium` package. Every test that opens a page goes through
 * here so the flags (and the closed network they assume) are in one place.
 */
import { createReadStream, existsSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, resolve } from 'node:path';
import type { Browser } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

/** The flags the task's machine needs: WebGPU on SwiftShader, no background network. */
export const CHROMIUM_FLAGS = [
  '--headless=new',
  '--no-sandbox',
  '--enable-unsafe-webgpu',
  '--use-webgpu-adapter=swiftshader',
  '--enable-unsafe-swiftshader',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
];

export const hasChromium = existsSync(CHROMIUM);

/** Browser tests skip without chromium, except in CI (WEBPEFT_REQUIRE_BROWSER=1). */
export function browserUnavailable(): string | null {
  if (hasChromium) return null;
  if (process.env.WEBPEFT_REQUIRE_BROWSER === '1') {
    throw new Error(`WEBPEFT_REQUIRE_BROWSER=1 but ${CHROMIUM} is missing (apt-get install -y chromium)`);
  }
  return `${CHROMIUM} missing`;
}

export async function launchChromium(): Promise<Browser> {
  const { chromium } = await import('playwright-core');
  return chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_FLAGS, headless: true });
}

const MIME: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json',
  '.wasm': 'application/wasm',
  '.onnx': 'application/octet-stream',
  '.safetensors': 'application/octet-stream',
  '.txt': 'text/plain; charset=utf-8',
  '.jsonl': 'text/plain; charset=utf-8',
  '.png': 'image/png',
  '.svg': 'image/svg+xml',
};

export interface StaticServer {
  url: string;
  /** Every path requested, in order: tests use it to show that no data left the page. */
  requests: string[];
  close(): Promise<void>;
}

/**
 * Serves files under `roots` (first match wins; `mounts` maps a URL prefix to a folder).
 * Cross-origin isolation headers are set so onnxruntime-web may use threads.
 */
export async function serveStatic(mounts: Record<string, string>): Promise<StaticServer> {
  const requests: string[] = [];
  const table = Object.entries(mounts)
    .map(([prefix, dir]) => [prefix.endsWith('/') ? prefix : `${prefix}/`, resolve(dir)] as const)
    .sort((a, b) => b[0].length - a[0].length);
  const server: Server = createServer((req, res) => {
    const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    requests.push(`${req.method} ${path}`);
    const file = locate(table, path);
    if (!file) {
      res.writeHead(404).end(`not found: ${path}`);
      return;
    }
    res.writeHead(200, {
      'content-type': MIME[extname(file)] ?? 'application/octet-stream',
      'cross-origin-opener-policy': 'same-origin',
      'cross-origin-embedder-policy': 'require-corp',
      'cache-control': 'no-store',
    });
    createReadStream(file).pipe(res);
  });
  await new Promise<void>((done) => server.listen(0, '127.0.0.1', done));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    requests,
    close: () => new Promise<void>((done) => server.close(() => done())),
  };
}

function locate(table: (readonly [string, string])[], path: string): string | null {
  const wanted = path.endsWith('/') ? `${path}index.html` : path;
  for (const [prefix, dir] of table) {
    if (!wanted.startsWith(prefix)) continue;
    const file = normalize(join(dir, wanted.slice(prefix.length)));
    if (!file.startsWith(dir)) return null; // no `..` out of the mount
    if (existsSync(file) && statSync(file).isFile()) return file;
  }
  return null;
}

/**
 * The web server the player tests point Chromium at, on loopback only: the player page, hls.js from node_modules
 * (no CDN: the tests run offline), and an embedded runtime's derivatives bucket folder under /media/, with the
 * content types a player expects and byte ranges.
 */
import { createReadStream } from 'node:fs';
import { stat } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createRequire } from 'node:module';
import path from 'node:path';

const PAGE_FILE = path.join(import.meta.dirname, '..', 'player', 'page.html');
/** The full (non-light) build: the light one leaves out alternate audio, which the two-language case needs. */
const HLS_JS_FILE = createRequire(import.meta.url).resolve('hls.js/dist/hls.js');
export const MEDIA_PREFIX = '/media/';

const CONTENT_TYPES: Readonly<Record<string, string>> = {
  '.m3u8': 'application/vnd.apple.mpegurl',
  '.mp4': 'video/mp4',
  '.m4s': 'video/mp4',
  '.m4a': 'audio/mp4',
  '.vtt': 'text/vtt',
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
};

export interface PlayerServer {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** The page URL that plays the given gs:// master playlist of the served bucket. */
  pageUrl(masterUri: string, query?: Readonly<Record<string, string>>): string;
  close(): Promise<void>;
}

/** Serves `bucketDir` (the derivatives bucket's folder) as gs://`bucket`/<name> → /media/<name>. */
export async function startPlayerServer(bucket: string, bucketDir: string): Promise<PlayerServer> {
  const server = createServer((request, response) => {
    serve(bucketDir, request, response).catch((error: unknown) => {
      if (!response.headersSent) response.writeHead(500, { 'content-type': 'text/plain' });
      response.end(String(error));
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', resolve);
  });
  const origin = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return {
    origin,
    pageUrl(masterUri, query = {}) {
      const prefix = `gs://${bucket}/`;
      if (!masterUri.startsWith(prefix)) throw new Error(`${masterUri} is not in the served bucket ${bucket}`);
      // Each segment encoded: the asset folder is the document id, whose '#' would otherwise start a fragment.
      const src = MEDIA_PREFIX + masterUri.slice(prefix.length).split('/').map(encodeURIComponent).join('/');
      return `${origin}/?${new URLSearchParams({ src, ...query }).toString()}`;
    },
    close: () => closeServer(server),
  };
}

async function serve(bucketDir: string, request: IncomingMessage, response: ServerResponse): Promise<void> {
  const url = new URL(request.url ?? '/', 'http://127.0.0.1');
  let file: string | undefined;
  if (url.pathname === '/') file = PAGE_FILE;
  else if (url.pathname === '/hls.js') file = HLS_JS_FILE;
  else if (url.pathname.startsWith(MEDIA_PREFIX)) file = inside(bucketDir, decodeURIComponent(url.pathname.slice(MEDIA_PREFIX.length)));
  const info = file ? await stat(file).catch(() => undefined) : undefined;
  if (!file || !info?.isFile()) {
    response.writeHead(404, { 'content-type': 'text/plain' }).end(`not found: ${url.pathname}`);
    return;
  }
  const headers = { 'content-type': CONTENT_TYPES[path.extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes', 'cache-control': 'no-store' };
  const range = parseRange(request.headers.range, info.size);
  if (range === 'unsatisfiable') {
    response.writeHead(416, { ...headers, 'content-range': `bytes */${info.size}` }).end();
    return;
  }
  const { start, end } = range ?? { start: 0, end: info.size - 1 };
  response.writeHead(range ? 206 : 200, {
    ...headers,
    'content-length': String(end - start + 1),
    ...(range ? { 'content-range': `bytes ${start}-${end}/${info.size}` } : {}),
  });
  if (request.method === 'HEAD' || info.size === 0) {
    response.end();
    return;
  }
  createReadStream(file, { start, end }).pipe(response);
}

/** The file for an object name, or undefined when the name would climb out of the bucket folder. */
function inside(root: string, name: string): string | undefined {
  const file = path.resolve(root, ...name.split('/'));
  return file.startsWith(root + path.sep) ? file : undefined;
}

/** One `bytes=` range (hls.js asks for one at most); undefined for none or a form this server does not take. */
function parseRange(header: string | undefined, size: number): { start: number; end: number } | 'unsatisfiable' | undefined {
  const match = header ? /^bytes=(\d*)-(\d*)$/.exec(header.trim()) : null;
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  const start = match[1] === '' ? Math.max(0, size - Number(match[2])) : Number(match[1]);
  const end = match[1] === '' || match[2] === '' ? size - 1 : Math.min(Number(match[2]), size - 1);
  return start > end || start >= size ? 'unsatisfiable' : { start, end };
}

function closeServer(server: Server): Promise<void> {
  server.closeAllConnections();
  return new Promise((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
}

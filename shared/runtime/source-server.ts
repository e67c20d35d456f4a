/**
 * A source object served to ffmpeg over loopback HTTP with byte ranges, so a media tool reads only what it seeks
 * to (one segment's GOPs of a two-hour film, the index and header of the file) instead of a whole copy in scratch
 * space, which on Cloud Run is memory. The bytes come through the BlobStore port pinned to one generation, so the
 * same code serves the local store, fake-gcs-server and GCS, and no credential reaches the tool's command line.
 * It listens on 127.0.0.1 only, on a port the kernel picks, under a random path, for one invocation.
 */
import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type OutgoingHttpHeaders, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname } from 'node:path';
import type { Readable } from 'node:stream';
import { TransientError } from '../errors.ts';
import type { ByteSource, MediaInput } from '../media/input.ts';
import { BlobNotFoundError, type BlobMetadata, type BlobRef, type BlobStore, type ByteRange } from '../ports/blob-store.ts';

/** ffmpeg's http protocol runs over its tcp protocol; nothing else is allowed, so the source cannot name other URLs. */
const SERVED_PROTOCOLS = 'http,tcp';
/**
 * A direct read (a box header, the first bytes) fetches at least this much and keeps it: a box walk's next header
 * usually lies within the previous box's small payload, so one request serves several reads.
 */
const READ_AHEAD_BYTES = 64 * 1024;
/** Extensions kept on the URL: raw streams (ADTS AAC, MP3) are probed partly by name. */
const SAFE_EXTENSION = /^\.[A-Za-z0-9]{1,8}$/;

/** What was read of the source so far: requests to the store and the bytes they returned (ffmpeg's and direct reads). */
export interface SourceReadStats {
  readonly requests: number;
  readonly bytesRead: number;
}

export interface ServedSource {
  /** For ffmpeg and ffprobe. */
  readonly input: MediaInput;
  /** The same pinned bytes for checks that read them directly, through the store; counted in the stats too. */
  readonly bytes: ByteSource;
  /** The generation served: every range comes from it, and a replaced object fails the read rather than mixing bytes. */
  readonly meta: BlobMetadata;
  stats(): SourceReadStats;
  /**
   * Awaits a tool's run over the source. A failure to read the source outranks whatever the tool made of it: a
   * tool that failed, or that succeeded on what looked to it like a truncated file, was failed by the store and
   * not by the media, so the store's error is thrown (a replaced object, a transient GCS fault) instead.
   */
  settle<T>(run: Promise<T>): Promise<T>;
}

/**
 * Serves `ref` for the duration of `fn`; the server and every open upstream read are closed in `finally`.
 * `demuxers` (MediaTools.sourceDemuxers) is the input's format whitelist: with http allowed, a demuxer that
 * follows URLs inside the file could reach any host.
 */
export async function withServedSource<T>(blobs: BlobStore, ref: BlobRef, demuxers: string, fn: (source: ServedSource) => Promise<T>): Promise<T> {
  const meta = await blobs.stat(ref);
  if (!meta) throw new BlobNotFoundError(ref);
  const pinned: BlobRef = { bucket: meta.bucket, name: meta.name, generation: meta.generation };
  const route = `/${randomBytes(16).toString('hex')}/source${SAFE_EXTENSION.test(extname(meta.name)) ? extname(meta.name) : ''}`;
  let requests = 0;
  let bytesRead = 0;
  let failure: Error | undefined;
  const fail = (error: unknown): void => {
    failure ??= error instanceof Error ? error : new Error(String(error));
  };

  const respond = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    if (request.url !== route) return void response.writeHead(404).end();
    if (request.method !== 'GET' && request.method !== 'HEAD') return void response.writeHead(405, { Allow: 'GET, HEAD' }).end();
    requests++;
    const range = parseRange(request.headers.range, meta.size);
    if (range === 'unsatisfiable') return void response.writeHead(416, { 'Content-Range': `bytes */${meta.size}` }).end();
    const span = range ?? (meta.size > 0 ? { start: 0, end: meta.size - 1 } : undefined);
    const headers: OutgoingHttpHeaders = {
      'Accept-Ranges': 'bytes',
      'Content-Type': meta.contentType ?? 'application/octet-stream',
      'Content-Length': span ? span.end - span.start + 1 : 0,
    };
    if (range) headers['Content-Range'] = `bytes ${range.start}-${range.end}/${meta.size}`;
    if (request.method === 'HEAD' || !span) return void response.writeHead(range ? 206 : 200, headers).end();
    let body: Readable;
    try {
      // Opened before the status line, so a store that cannot serve the range answers 503 rather than a short 206.
      body = await blobs.createReadStream(pinned, span);
    } catch (error) {
      fail(error);
      return void response.writeHead(503).end();
    }
    response.writeHead(range ? 206 : 200, headers);
    let sent = 0;
    let abandoned = false;
    // ffmpeg seeks by dropping the connection: the upstream read stops with it, and that is not a failure.
    response.once('close', () => {
      if (!response.writableFinished) {
        abandoned = true;
        body.destroy();
      }
    });
    body.on('data', (chunk: Buffer) => {
      sent += chunk.length;
      bytesRead += chunk.length;
    });
    body.once('error', (error) => {
      if (!abandoned) fail(error);
      response.destroy();
    });
    body.once('end', () => {
      const expected = span.end - span.start + 1;
      if (sent !== expected)
        fail(new TransientError('SOURCE_READ_SHORT', `gs://${meta.bucket}/${meta.name}: the store sent ${sent} of the ${expected} bytes asked for`));
    });
    body.pipe(response);
  };

  const server = createServer((request, response) => {
    respond(request, response).catch((error: unknown) => {
      fail(error);
      response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  let window: { offset: number; data: Buffer } | undefined;
  const bytes: ByteSource = {
    size: meta.size,
    async read(offset, length) {
      const end = Math.min(offset + length, meta.size);
      if (offset >= end) return Buffer.alloc(0);
      if (!window || offset < window.offset || end > window.offset + window.data.length) {
        requests++;
        const last = Math.min(meta.size, offset + Math.max(length, READ_AHEAD_BYTES)) - 1;
        const chunks: Buffer[] = [];
        try {
          for await (const chunk of await blobs.createReadStream(pinned, { start: offset, end: last })) chunks.push(chunk as Buffer);
        } catch (error) {
          fail(error);
          throw error;
        }
        window = { offset, data: Buffer.concat(chunks) };
        bytesRead += window.data.length;
      }
      return window.data.subarray(offset - window.offset, end - window.offset);
    },
  };
  const source: ServedSource = {
    bytes,
    input: { url: `http://127.0.0.1:${port}${route}`, protocols: SERVED_PROTOCOLS, demuxers },
    meta,
    stats: () => ({ requests, bytesRead }),
    async settle(run) {
      let result: Awaited<typeof run>;
      try {
        result = await run;
      } catch (error) {
        throw failure ?? error;
      }
      if (failure !== undefined) throw failure;
      return result;
    },
  };
  try {
    return await fn(source);
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/**
 * One range of an HTTP Range header (RFC 9110 §14.1.2) resolved against the object's size: undefined means serve
 * the whole object (no header, a syntax this server does not take, or several ranges, all of which a server may
 * ignore), 'unsatisfiable' means 416.
 */
export function parseRange(header: string | undefined, size: number): ByteRange | 'unsatisfiable' | undefined {
  const match = header === undefined ? null : /^bytes=(\d*)-(\d*)$/.exec(header.trim());
  if (!match || (match[1] === '' && match[2] === '')) return undefined;
  // Both groups always take part in a match (each may be empty), so they are strings.
  const [, first = '', last = ''] = match;
  if (first === '') {
    const suffix = Number(last);
    if (suffix === 0 || size === 0) return 'unsatisfiable';
    return { start: Math.max(0, size - suffix), end: size - 1 };
  }
  const start = Number(first);
  if (start >= size) return 'unsatisfiable';
  const end = last === '' ? size - 1 : Number(last);
  if (end < start) return undefined;
  return { start, end: Math.min(end, size - 1) };
}

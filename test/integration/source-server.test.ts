import { randomBytes } from 'node:crypto';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { encodeArgs } from '../../functions/hls-segment/encode.ts';
import { segmentParams } from '../../functions/hls-segment/params.ts';
import { runFfmpeg } from '../../scripts/sample-media/sample-media.ts';
import { LocalBlobStore } from '../../shared/adapters/local/blob-store.ts';
import { TransientError } from '../../shared/errors.ts';
import { runTool, ToolFailure } from '../../shared/media/ffmpeg/run.ts';
import { parseInit, parseSegment, splitFragmented } from '../../shared/media/hls/fmp4.ts';
import { planVideo } from '../../shared/media/hls/plan.ts';
import { DEFAULT_HLS_SETTINGS } from '../../shared/media/hls/settings.ts';
import { probeFile } from '../../shared/media/probe.ts';
import { inputArgs } from '../../shared/media/input.ts';
import { resolveMediaTools, type MediaTools } from '../../shared/media/tools.ts';
import { BlobNotFoundError, type BlobMetadata, type BlobRef, type BlobStore, type ByteRange } from '../../shared/ports/blob-store.ts';
import { parseRange, withServedSource, type ServedSource } from '../../shared/runtime/source-server.ts';
import { playlistNaming, withBystander } from '../support/bystander.ts';

const BUCKET = 'sources';
const SIZE = 1000;
const TOOL_TIMEOUT_MS = 60_000;

describe('parseRange', () => {
  it.each([
    ['no header', undefined, SIZE, undefined],
    ['a closed range', 'bytes=10-19', SIZE, { start: 10, end: 19 }],
    ['an open range (what ffmpeg sends on a seek)', 'bytes=990-', SIZE, { start: 990, end: 999 }],
    ['an end past the object, clamped', 'bytes=990-5000', SIZE, { start: 990, end: 999 }],
    ['a suffix', 'bytes=-100', SIZE, { start: 900, end: 999 }],
    ['a suffix longer than the object', 'bytes=-5000', SIZE, { start: 0, end: 999 }],
    ['a start at the end', 'bytes=1000-', SIZE, 'unsatisfiable'],
    ['a zero suffix', 'bytes=-0', SIZE, 'unsatisfiable'],
    ['any range of an empty object', 'bytes=0-', 0, 'unsatisfiable'],
    ['several ranges, which a server may ignore', 'bytes=0-1,5-9', SIZE, undefined],
    ['another unit', 'items=0-1', SIZE, undefined],
    ['an end before the start', 'bytes=20-10', SIZE, undefined],
    ['nothing on either side', 'bytes=-', SIZE, undefined],
  ])('%s', (_what, header, size, expected) => {
    expect(parseRange(header, size)).toEqual(expected);
  });
});

describe('withServedSource', () => {
  let root = '';
  let blobs: LocalBlobStore;
  let tools: MediaTools;
  const data = randomBytes(SIZE);
  let meta: BlobMetadata;

  beforeAll(async () => {
    root = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-source-server-'));
    blobs = new LocalBlobStore({ root, buckets: [BUCKET] });
    meta = await blobs.write({ bucket: BUCKET, name: 'in/clip.mp4' }, data);
    tools = await resolveMediaTools({ PATH: process.env.PATH });
  });
  afterAll(async () => {
    await rm(root, { recursive: true, force: true });
  });

  const pinned = (): BlobRef => ({ bucket: BUCKET, name: 'in/clip.mp4', generation: meta.generation });

  it('answers GET and HEAD with the whole object or one range, and counts what it sent', async () => {
    await withServedSource(blobs, pinned(), tools.sourceDemuxers, async (source) => {
      expect(source.input.protocols).toBe('http,tcp');
      expect(source.input.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+\/[0-9a-f]{32}\/source\.mp4$/);

      const whole = await fetch(source.input.url);
      expect(whole.status).toBe(200);
      expect(whole.headers.get('accept-ranges')).toBe('bytes');
      expect(Buffer.from(await whole.arrayBuffer()).equals(data)).toBe(true);

      const part = await fetch(source.input.url, { headers: { Range: 'bytes=100-199' } });
      expect(part.status).toBe(206);
      expect(part.headers.get('content-range')).toBe(`bytes 100-199/${SIZE}`);
      expect(Buffer.from(await part.arrayBuffer()).equals(data.subarray(100, 200))).toBe(true);

      const head = await fetch(source.input.url, { method: 'HEAD', headers: { Range: 'bytes=-10' } });
      expect([head.status, head.headers.get('content-length'), head.headers.get('content-range')]).toEqual([206, '10', `bytes 990-999/${SIZE}`]);

      const beyond = await fetch(source.input.url, { headers: { Range: `bytes=${SIZE}-` } });
      expect([beyond.status, beyond.headers.get('content-range')]).toEqual([416, `bytes */${SIZE}`]);
      expect(source.stats()).toEqual({ requests: 4, bytesRead: SIZE + 100 });
    });
  });

  it('serves nothing but its one random path and the read methods, and nothing once it is closed', async () => {
    const url = await withServedSource(blobs, pinned(), tools.sourceDemuxers, async (source) => {
      const other = new URL(source.input.url);
      other.pathname = '/source.mp4';
      expect((await fetch(other)).status).toBe(404);
      expect((await fetch(source.input.url, { method: 'POST', body: 'x' })).status).toBe(405);
      expect(source.stats().requests).toBe(0);
      return source.input.url;
    });
    await expect(fetch(url)).rejects.toThrow();
  });

  it('refuses to start for an object or generation that does not exist', async () => {
    await expect(withServedSource(blobs, { ...pinned(), generation: '1' }, tools.sourceDemuxers, () => Promise.resolve())).rejects.toBeInstanceOf(
      BlobNotFoundError,
    );
    await expect(withServedSource(blobs, { bucket: BUCKET, name: 'missing.mp4' }, tools.sourceDemuxers, () => Promise.resolve())).rejects.toBeInstanceOf(
      BlobNotFoundError,
    );
  });

  it('blames a replaced object, not the media, for the tool run that could not read it', async () => {
    const name = 'in/replaced.mp4';
    const first = await blobs.write({ bucket: BUCKET, name }, data);
    await withServedSource(blobs, { bucket: BUCKET, name, generation: first.generation }, tools.sourceDemuxers, async (source) => {
      await blobs.write({ bucket: BUCKET, name }, randomBytes(SIZE));
      const probe = runTool(tools.ffprobe, ['-v', 'error', ...inputArgs(source.input)], { label: 'ffprobe', signal: AbortSignal.timeout(TOOL_TIMEOUT_MS) });
      await expect(probe).rejects.toBeInstanceOf(ToolFailure);
      await expect(source.settle(probe)).rejects.toBeInstanceOf(BlobNotFoundError);
    });
  });

  it('fails a run that the store cut short even when the tool itself exited 0', async () => {
    const flaky = cutAfter(blobs, 300);
    await withServedSource(flaky, pinned(), tools.sourceDemuxers, async (source) => {
      const response = await fetch(source.input.url)
        .then((r) => r.arrayBuffer())
        .catch((error: unknown) => error);
      expect(response).toBeInstanceOf(Error);
      await expect(source.settle(Promise.resolve('looked fine'))).rejects.toThrow(/connection reset by the store/);
    });
  });

  it('treats a client that drops the connection (how ffmpeg seeks) as no failure, and stops the upstream read', async () => {
    const tracked = trackStreams(blobs);
    await withServedSource(tracked.store, pinned(), tools.sourceDemuxers, async (source) => {
      const aborter = new AbortController();
      const response = await fetch(source.input.url, { signal: aborter.signal });
      const reader = response.body!.getReader();
      await reader.read();
      aborter.abort();
      await expect.poll(() => tracked.streams.every((stream) => stream.destroyed)).toBe(true);
      await expect(source.settle(Promise.resolve('ok'))).resolves.toBe('ok');
    });
  });

  it('refuses an uploaded playlist: no URL named inside a source is ever fetched (SSRF), though http is allowed', async () => {
    await withBystander(async ({ origin, hits }) => {
      const written = await blobs.write({ bucket: BUCKET, name: 'in/innocent.mp4' }, playlistNaming(`${origin}/internal/secret.ts`));
      await withServedSource(blobs, { bucket: BUCKET, name: 'in/innocent.mp4', generation: written.generation }, tools.sourceDemuxers, async (source) => {
        const guarded = runTool(tools.ffprobe, ['-v', 'error', ...inputArgs(source.input)], { label: 'ffprobe', signal: AbortSignal.timeout(TOOL_TIMEOUT_MS) });
        await expect(guarded).rejects.toThrow(/Format not on whitelist/);
        expect(hits).toEqual([]);
        // The same probe without the demuxer whitelist follows the playlist to the other server.
        const unguarded = runTool(tools.ffprobe, ['-v', 'error', ...inputArgs({ ...source.input, demuxers: undefined })], {
          label: 'ffprobe',
          signal: AbortSignal.timeout(TOOL_TIMEOUT_MS),
        });
        await unguarded.catch(() => undefined);
        expect(hits).toEqual(['/internal/secret.ts']);
      });
    });
  });

  describe('over a large interleaved source', () => {
    const file = (): string => path.join(root, 'long.mp4');
    let uploaded: BlobMetadata;
    beforeAll(async () => {
      // Lossless video, so the two-minute file is large (about 60 MB) while taking seconds to make, and AAC
      // interleaved with it as a muxer lays out a real film.
      await runFfmpeg(tools.ffmpeg, [
        '-f',
        'lavfi',
        '-i',
        'testsrc2=size=640x360:rate=25',
        '-f',
        'lavfi',
        '-i',
        'sine=frequency=440:sample_rate=48000',
        '-t',
        '120',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-qp',
        '0',
        '-g',
        '50',
        '-pix_fmt',
        'yuv420p',
        '-c:a',
        'aac',
        file(),
      ]);
      uploaded = await blobs.upload(file(), { bucket: BUCKET, name: 'in/long.mp4' });
    });

    it('lets a segment encode read its few seconds, not the whole file', async () => {
      const plan = planVideo({ probe: await probeFile(file(), tools) }, DEFAULT_HLS_SETTINGS);
      const params = segmentParams(plan, DEFAULT_HLS_SETTINGS, 10);
      const output = path.join(root, 'segment-10.mp4');
      const read = await withServedSource(
        blobs,
        { bucket: BUCKET, name: 'in/long.mp4', generation: uploaded.generation },
        tools.sourceDemuxers,
        async (source: ServedSource) => {
          await source.settle(
            runTool(tools.ffmpeg, encodeArgs(params, source.input, [output]), { label: 'segment encode', signal: AbortSignal.timeout(TOOL_TIMEOUT_MS) }),
          );
          return source.stats();
        },
      );
      expect(plan.renditions.map((rendition) => rendition.name)).toEqual(['360p']);
      const { init, fragments } = splitFragmented(await readFile(output));
      const timing = parseSegment(Buffer.concat(fragments), parseInit(init)[0]!);
      expect(timing.samples).toBe(DEFAULT_HLS_SETTINGS.segmentSeconds * 25);
      // A twentieth of the timeline (about 3 MB), plus the index and what the loopback socket buffers ahead of each
      // seek before ffmpeg drops the connection (a few MB per request).
      expect(read.bytesRead).toBeLessThan(uploaded.size / 3);
      expect(read.requests).toBeGreaterThan(1);
    });

    it('lets an audio-only pass read the file through in a few requests, not one per chunk of video it skips', async () => {
      const read = await withServedSource(
        blobs,
        { bucket: BUCKET, name: 'in/long.mp4', generation: uploaded.generation },
        tools.sourceDemuxers,
        async (source) => {
          const pass = runTool(tools.ffmpeg, ['-v', 'error', ...inputArgs(source.input), '-map', '0:a', '-f', 'null', '-'], {
            label: 'audio pass',
            signal: AbortSignal.timeout(TOOL_TIMEOUT_MS),
          });
          await source.settle(pass);
          return source.stats();
        },
      );
      expect(read.requests).toBeLessThan(8);
    });
  });
});

/** The store, but every ranged stream fails after `bytes` bytes, as a dropped GCS connection would. */
function cutAfter(store: BlobStore, bytes: number): BlobStore {
  return withStreams(store, (stream) => {
    let seen = 0;
    return Readable.from(
      (async function* () {
        for await (const chunk of stream) {
          const buffer = chunk as Buffer;
          if (seen + buffer.length > bytes) {
            yield buffer.subarray(0, bytes - seen);
            throw new TransientError('TEST_CUT', 'connection reset by the store');
          }
          seen += buffer.length;
          yield buffer;
        }
      })(),
    );
  });
}

function trackStreams(store: BlobStore): { store: BlobStore; streams: Readable[] } {
  const streams: Readable[] = [];
  return {
    streams,
    store: withStreams(store, (stream) => {
      streams.push(stream);
      return stream;
    }),
  };
}

function withStreams(store: BlobStore, wrap: (stream: Readable) => Readable): BlobStore {
  return new Proxy(store, {
    get(target, property, receiver) {
      if (property === 'createReadStream') return async (ref: BlobRef, range?: ByteRange) => wrap(await target.createReadStream(ref, range));
      const value: unknown = Reflect.get(target, property, receiver);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}

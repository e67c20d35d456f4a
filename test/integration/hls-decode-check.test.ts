/**
 * The package step's read-back of a track, on real segments in a real store: intact ones measure and decode
 * cleanly, and damage that leaves every box intact (so only a decoder can see it) is reported by the decode check,
 * which skips the deblocking filter to save CPU but nothing that could find an error.
 */
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { measureTracks, type MeasureJob, type TrackSpec } from '../../functions/hls-package/measure.ts';
import { runFfmpeg } from '../../scripts/sample-media/sample-media.ts';
import { LocalBlobStore } from '../../shared/adapters/local/blob-store.ts';
import { loadConfig, type Config } from '../../shared/config/config.ts';
import { splitFragmented } from '../../shared/media/hls/fmp4.ts';
import { HLS_SEGMENT_STEP, initFile, segmentFile } from '../../shared/media/hls/layout.ts';
import { resolveMediaTools } from '../../shared/media/tools.ts';
import { derivativeName } from '../../shared/runtime/derivatives.ts';

const ASSET_ID = 'mediaflow-ingest/clip.mp4#1';
const RENDITION = '240p';
const FPS = 25;
const SEGMENT_FRAMES = 2 * FPS;
const TOOL_TIMEOUT_MS = 60_000;

describe('the package step decode check', () => {
  let dir = '';
  let blobs: LocalBlobStore;
  let config: Config;
  let ffmpeg = '';
  let init: Buffer;
  let fragments: readonly Buffer[];

  beforeAll(async () => {
    dir = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-decode-check-'));
    config = loadConfig({}, { dataDir: dir });
    blobs = new LocalBlobStore({ root: path.join(dir, 'buckets'), buckets: [config.buckets.derivatives] });
    ffmpeg = (await resolveMediaTools({ PATH: process.env.PATH })).ffmpeg;
    // Three 2 s fragments, each opening with an IDR frame: the shape the segment step writes.
    const file = path.join(dir, 'track.mp4');
    await runFfmpeg(
      ffmpeg,
      [
        '-f',
        'lavfi',
        '-i',
        `testsrc2=size=320x240:rate=${FPS}`,
        '-t',
        '6',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p',
        '-x264-params',
        `keyint=${SEGMENT_FRAMES}:min-keyint=${SEGMENT_FRAMES}:scenecut=0:open-gop=0`,
        '-f',
        'mp4',
        '-movflags',
        '+frag_keyframe+empty_moov+default_base_moof',
        file,
      ],
      TOOL_TIMEOUT_MS,
    );
    ({ init, fragments } = splitFragmented(await readFile(file)));
  });
  afterAll(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  /** Writes the segments as hls-segment would: in its folder, or in its version folder for a reprocess. */
  async function store(segments: readonly Buffer[], version?: string): Promise<TrackSpec> {
    const name = (file: string): { bucket: string; name: string } => ({
      bucket: config.buckets.derivatives,
      name: derivativeName(ASSET_ID, HLS_SEGMENT_STEP, file, version),
    });
    await blobs.write(name(initFile(RENDITION)), init);
    for (const [index, segment] of segments.entries()) await blobs.write(name(segmentFile(RENDITION, index)), segment);
    return { name: RENDITION, kind: 'video', step: HLS_SEGMENT_STEP, segmentCount: segments.length };
  }

  async function measure(spec: TrackSpec, inputVersions?: Record<string, string>) {
    const scratchDir = await mkdtemp(path.join(dir, 'scratch-'));
    const order = { assetId: ASSET_ID, ...(inputVersions ? { inputVersions } : {}) };
    const job: MeasureJob = { blobs, config, order, ffmpeg, scratchDir, signal: AbortSignal.timeout(TOOL_TIMEOUT_MS), targetDuration: 2 };
    const [track] = await measureTracks(job, [spec], 2);
    return track!;
  }

  it('measures and decodes intact segments without a complaint', async () => {
    expect(fragments).toHaveLength(3);
    const track = await measure(await store(fragments));
    expect(track.segments.map((segment) => [segment.index, segment.samples, segment.startsWithSync])).toEqual([
      [0, SEGMENT_FRAMES, true],
      [1, SEGMENT_FRAMES, true],
      [2, SEGMENT_FRAMES, true],
    ]);
    expect(track.decodeErrors).toEqual([]);
  });

  it('reports a segment whose coded pictures are damaged though its boxes are intact', async () => {
    const damaged = Buffer.from(fragments[1]!);
    const mdat = damaged.indexOf('mdat', 0, 'latin1');
    // Past the first NAL units' headers, into the slice data of the IDR picture and the frames after it.
    for (let offset = mdat + 200; offset < damaged.length; offset += 97) damaged[offset] = damaged[offset]! ^ 0xa5;
    const track = await measure(await store([fragments[0]!, damaged, fragments[2]!]));
    expect(track.segments).toHaveLength(3);
    expect(track.decodeErrors).toHaveLength(1);
    expect(track.decodeErrors[0]).toMatch(/^240p segments 0–2: .*(error|decod|invalid)/i);
  });

  it('reads the segments of a reprocessed hls-segment from the version folder the order names, not the live ones', async () => {
    const version = 'r2.20261206-3fa2c1';
    // The live folder holds one segment, the reprocess's folder three: only the latter has what the order expects.
    await blobs
      .delete({ bucket: config.buckets.derivatives, name: derivativeName(ASSET_ID, HLS_SEGMENT_STEP, segmentFile(RENDITION, 2)) })
      .catch(() => undefined);
    await store([fragments[0]!]);
    const spec = await store(fragments, version);
    const track = await measure(spec, { [HLS_SEGMENT_STEP]: version });
    expect(track.segments.map((segment) => segment.index)).toEqual([0, 1, 2]);
    expect(track.decodeErrors).toEqual([]);
    // Without the version the order reads the live folder, where segment 2 does not exist.
    await expect(measure(spec)).rejects.toThrow(/segments-exist: 240p segment 2 does not exist/);
  });
});

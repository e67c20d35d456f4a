/**
 * Reading back every track as a player would get it: the init segment, then each media segment, measured from
 * its boxes (decode time, duration, first presentation, sync sample, bytes) and decoded by ffmpeg through an
 * HLS playlist. Tracks are taken in slices of segments, downloaded, measured, decoded and deleted, so scratch
 * space stays bounded however long the asset is, and slices decode in parallel on all the instance's cores.
 */
import { createHash } from 'node:crypto';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';
import type { Config } from '../../shared/config/config.ts';
import { PermanentError } from '../../shared/errors.ts';
import { BoxError } from '../../shared/media/hls/bmff.ts';
import { classifyFailure } from '../../shared/media/ffmpeg/classify.ts';
import { runTool, ToolFailure } from '../../shared/media/ffmpeg/run.ts';
import { quietArgs } from '../../shared/media/hls/ffmpeg.ts';
import { fileInput, inputArgs } from '../../shared/media/input.ts';
import { parseInit, parseSegment, type SegmentTiming, type TrackInfo } from '../../shared/media/hls/fmp4.ts';
import { INIT_FILE, initFile, segmentFile } from '../../shared/media/hls/layout.ts';
import { writeMediaPlaylist, type VideoRange } from '../../shared/media/hls/playlist.ts';
import { BlobNotFoundError, type BlobStore } from '../../shared/ports/blob-store.ts';
import { dependencyName, type InputReader } from '../../shared/runtime/derivatives.ts';
import { mapLimit } from './pool.ts';
import { HLS_VALIDATION_FAILED } from './validate.ts';

/** Segments per slice: 50 six-second segments is five minutes of one rendition, a few hundred MB at most. */
export const SLICE_SEGMENTS = 50;
/** Downloads in flight per slice: enough to hide GCS latency, few enough not to starve the decoder of I/O. */
const DOWNLOAD_CONCURRENCY = 8;
/**
 * The check decodes every picture but skips H.264's deblocking filter: a fixed post-filter over pixels already
 * reconstructed, which reads no bitstream syntax, so it can report nothing that parsing, entropy decoding, reference
 * lists and reconstruction have not already reported. It is about a quarter of a 1080p decode's CPU, and the
 * pictures are thrown away.
 */
const DECODE_CHECK_OPTIONS = ['-threads', '1', '-skip_loop_filter', 'all'];

export interface TrackSpec {
  readonly name: string;
  readonly kind: 'video' | 'audio';
  /** The step whose folder holds the track's objects (its version folder, when the order's inputVersions name one). */
  readonly step: string;
  readonly segmentCount: number;
  /** Video of a presentation with an HDR ladder: the VIDEO-RANGE its variant is listed with. */
  readonly videoRange?: VideoRange;
}

export interface MeasuredSegment extends SegmentTiming {
  readonly index: number;
  readonly bytes: number;
}

export interface MeasuredTrack {
  readonly spec: TrackSpec;
  readonly info: TrackInfo;
  readonly initSha256: string;
  readonly segments: readonly MeasuredSegment[];
  /** ffmpeg's complaints per slice that did not decode cleanly; empty when every segment decoded. */
  readonly decodeErrors: readonly string[];
}

export interface MeasureJob {
  readonly blobs: BlobStore;
  readonly config: Config;
  /** The package order: its asset, and the output versions of the steps whose segments it reads. */
  readonly order: InputReader;
  readonly ffmpeg: string;
  readonly scratchDir: string;
  readonly signal: AbortSignal;
  readonly targetDuration: number;
}

/**
 * Measures and decodes every track. The unit of work is a slice of one track, and slices of all tracks share one
 * pool of `concurrency` single-threaded decoders, so a long asset's biggest rendition does not serialize the step.
 */
export async function measureTracks(job: MeasureJob, specs: readonly TrackSpec[], concurrency: number): Promise<MeasuredTrack[]> {
  const heads = await mapLimit(specs, DOWNLOAD_CONCURRENCY, (spec) => readInit(job, spec));
  const slices = heads.flatMap((head, track) => {
    const starts: { track: number; first: number }[] = [];
    for (let first = 0; first < head.spec.segmentCount; first += SLICE_SEGMENTS) starts.push({ track, first });
    return starts;
  });
  const measured = await mapLimit(slices, concurrency, ({ track, first }) => measureSlice(job, heads[track]!, first));
  return heads.map((head, track) => ({
    spec: head.spec,
    info: head.info,
    initSha256: head.initSha256,
    segments: measured.filter((_, i) => slices[i]!.track === track).flatMap((slice) => slice.segments),
    decodeErrors: measured.filter((_, i) => slices[i]!.track === track).flatMap((slice) => (slice.error ? [slice.error] : [])),
  }));
}

interface TrackHead {
  readonly spec: TrackSpec;
  readonly dir: string;
  readonly info: TrackInfo;
  readonly initSha256: string;
}

async function readInit(job: MeasureJob, spec: TrackSpec): Promise<TrackHead> {
  const dir = path.join(job.scratchDir, spec.kind, spec.name);
  await mkdir(dir, { recursive: true });
  const initPath = path.join(dir, INIT_FILE);
  await readable(`${spec.name} init segment`, async () => {
    await job.blobs.download(objectRef(job, spec, initFile(spec.name)), initPath);
  });
  const init = await readFile(initPath);
  const [info] = await readable(`${spec.name} init segment`, () => parseInit(init));
  if (!info) throw new PermanentError(HLS_VALIDATION_FAILED, `${spec.name}: the init segment holds no track`);
  return { spec, dir, info, initSha256: createHash('sha256').update(init).digest('hex') };
}

async function measureSlice(job: MeasureJob, head: TrackHead, first: number): Promise<{ segments: MeasuredSegment[]; error: string | undefined }> {
  const { spec, dir, info } = head;
  const indices = Array.from({ length: Math.min(SLICE_SEGMENTS, spec.segmentCount - first) }, (_, i) => first + i);
  const slice = await mapLimit(indices, DOWNLOAD_CONCURRENCY, async (index) => {
    const local = path.join(dir, `${index}.m4s`);
    await readable(`${spec.name} segment ${index}`, async () => {
      await job.blobs.download(objectRef(job, spec, segmentFile(spec.name, index)), local);
    });
    const bytes = await readFile(local);
    return { index, bytes: bytes.length, local, ...(await readable(`${spec.name} segment ${index}`, () => parseSegment(bytes, info))) };
  });
  try {
    const error = await decodeSlice(job, spec, dir, slice, info);
    return { segments: slice.map(({ local: _local, ...segment }) => segment), error };
  } finally {
    await Promise.all(slice.map((segment) => rm(segment.local, { force: true })));
  }
}

/**
 * Decodes one slice through an HLS playlist of the local files, as a player would fetch them. Any line at
 * ffmpeg's error level counts: a decoder that conceals a broken slice still says so there.
 */
async function decodeSlice(
  job: MeasureJob,
  spec: TrackSpec,
  dir: string,
  slice: readonly (MeasuredSegment & { local: string })[],
  info: TrackInfo,
): Promise<string | undefined> {
  const playlist = path.join(dir, `slice-${slice[0]!.index}.m3u8`);
  const text = writeMediaPlaylist({
    targetDuration: job.targetDuration,
    initUri: INIT_FILE,
    segments: slice.map((segment) => ({ uri: path.basename(segment.local), durationSeconds: segment.duration / info.timescale })),
  });
  await writeFile(playlist, text);
  const where = `${spec.name} segments ${slice[0]!.index}–${slice.at(-1)!.index}`;
  try {
    const run = await runTool(job.ffmpeg, [...quietArgs(), ...DECODE_CHECK_OPTIONS, ...inputArgs(fileInput(playlist)), '-map', '0', '-f', 'null', '-'], {
      tool: 'ffmpeg',
      label: `decode of ${where}`,
      signal: job.signal,
    });
    const complaint = run.stderr.trim();
    return complaint === '' ? undefined : `${where}: ${complaint.split('\n').slice(0, 3).join(' | ').slice(0, 400)}`;
  } catch (error) {
    // A kill from outside or a full disk says nothing about the segments: retry rather than fail the asset; only a
    // fault of the input (the segments) is a complaint. A missing ffmpeg is a ConfigError, thrown as it is.
    const verdict = classifyFailure(error, { what: `decode of ${where}`, inputCode: HLS_VALIDATION_FAILED });
    if (error instanceof ToolFailure && verdict instanceof PermanentError) return `${where}: ${error.message}`;
    throw verdict;
  } finally {
    await rm(playlist, { force: true });
  }
}

/**
 * Every shard reported success, so a segment that is missing or unreadable now will not appear on a retry (GCS
 * reads are strongly consistent): the presentation fails its check, naming the object.
 */
async function readable<T>(what: string, read: () => T | Promise<T>): Promise<T> {
  try {
    return await read();
  } catch (error) {
    if (error instanceof BlobNotFoundError) throw new PermanentError(HLS_VALIDATION_FAILED, `segments-exist: ${what} does not exist`, { cause: error });
    if (error instanceof BoxError)
      throw new PermanentError(HLS_VALIDATION_FAILED, `segments-parse: ${what} is not a valid fragmented MP4 segment (${error.message})`, { cause: error });
    throw error;
  }
}

function objectRef(job: MeasureJob, spec: TrackSpec, file: string): { bucket: string; name: string } {
  return { bucket: job.config.buckets.derivatives, name: dependencyName(job.order, spec.step, file) };
}

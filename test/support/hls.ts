/**
 * Shared by the HLS integration tests: a registry of just the steps HLS needs, settings small enough for CI
 * (2 s segments, ultrafast), and readers for what the pipeline published: playlists parsed, streams probed and
 * decoded by the real ffmpeg straight from the embedded runtime's bucket folders.
 */
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { audioStep } from '../../functions/audio/step.ts';
import { createHlsAudioStep } from '../../functions/hls-audio/step.ts';
import { createPackageStep } from '../../functions/hls-package/step.ts';
import { createSegmentStep } from '../../functions/hls-segment/step.ts';
import { createSubtitlesStep } from '../../functions/hls-subtitles/step.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { createStepRegistry, type StepRegistry } from '../../shared/domain/step.ts';
import { parseMaster, parseMedia, type ParsedMaster, type ParsedMedia } from '../../shared/media/hls/playlist.ts';
import { DEFAULT_HLS_SETTINGS, type HlsSettings } from '../../shared/media/hls/settings.ts';
import { BUCKETS_DIR } from '../../shared/runtime/embedded.ts';
import { uploadAndSettle as settleUpload, type TestRuntime } from './embedded.ts';

const run = promisify(execFile);
/** ffprobe and full decodes of a few seconds of small video. */
const TOOL_TIMEOUT_MS = 60_000;

/** Short segments so a 5 s clip spans several, and ultrafast: the assertions are about structure, not quality. */
export const TEST_HLS_SETTINGS: HlsSettings = { ...DEFAULT_HLS_SETTINGS, segmentSeconds: 2, keyframeSeconds: 1, x264Preset: 'ultrafast' };

export function hlsRegistry(settings: HlsSettings = TEST_HLS_SETTINGS): StepRegistry {
  return createStepRegistry([audioStep, createSegmentStep(settings), createHlsAudioStep(settings), createSubtitlesStep(settings), createPackageStep(settings)]);
}

/** The settled asset itself: every HLS test needs one, so a missing document fails here with the file's name. */
export async function uploadAndSettle(runtime: TestRuntime, file: string, name: string): Promise<AssetDoc> {
  const { asset } = await settleUpload(runtime, file, name);
  if (!asset) throw new Error(`no asset for ${name}`);
  return asset;
}

/** The local file behind a gs:// URI in the embedded runtime. */
export function localPath(runtime: TestRuntime, uri: string): string {
  const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not a gs:// URI: ${uri}`);
  return path.join(runtime.dataDir, BUCKETS_DIR, match[1]!, ...match[2]!.split('/'));
}

/**
 * Paths are relative to `root`, the asset's folder in the derivatives bucket, and tools run there: the folder's
 * name is the asset's document id, whose '#' a URL parser (ffmpeg's, resolving the playlists' relative URIs)
 * would take for a fragment. Served over HTTP, the object name is percent-encoded and resolves the same way.
 */
export interface Presentation {
  readonly root: string;
  readonly masterPath: string;
  readonly master: ParsedMaster;
  /** Media playlists by URI as the master names them. */
  readonly media: ReadonlyMap<string, { readonly path: string; readonly playlist: ParsedMedia }>;
}

export async function readPresentation(runtime: TestRuntime, asset: AssetDoc): Promise<Presentation> {
  const masterUri = asset.steps['hls-package']?.outputs?.masterUri;
  if (typeof masterUri !== 'string') throw new Error(`asset ${asset.id} has no master playlist (status ${asset.status}, error ${JSON.stringify(asset.error)})`);
  const absolute = localPath(runtime, masterUri);
  const root = path.dirname(path.dirname(absolute));
  const masterPath = path.relative(root, absolute);
  const master = parseMaster(await readFile(absolute, 'utf8'));
  const uris = [...master.variants.map((variant) => variant.uri), ...master.media.map((media) => media.URI).filter((uri): uri is string => uri !== undefined)];
  const media = new Map<string, { path: string; playlist: ParsedMedia }>();
  for (const uri of new Set(uris)) {
    const file = path.join(path.dirname(masterPath), uri);
    media.set(uri, { path: file, playlist: parseMedia(await readFile(path.join(root, file), 'utf8')) });
  }
  return { root, masterPath, master, media };
}

export async function ffprobeJson(cwd: string, file: string, args: readonly string[]): Promise<Record<string, unknown>> {
  const { stdout } = await run('ffprobe', ['-v', 'error', '-print_format', 'json', ...args, file], {
    cwd,
    timeout: TOOL_TIMEOUT_MS,
    maxBuffer: 64 * 1024 * 1024,
  });
  return JSON.parse(stdout) as Record<string, unknown>;
}

/** Decodes a playlist (every stream) with ffmpeg; resolves with whatever it printed at error level. */
export async function decodeErrors(cwd: string, playlist: string): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-v', 'error', '-i', playlist, '-map', '0:v?', '-map', '0:a?', '-f', 'null', '-'], {
    cwd,
    timeout: TOOL_TIMEOUT_MS,
    maxBuffer: 16 * 1024 * 1024,
  });
  return stderr.trim();
}

export interface DecodedStream {
  readonly width?: number;
  readonly height?: number;
  readonly sampleAspectRatio?: string;
  /** Presentation times of every frame, in seconds, as ffprobe decodes them. */
  readonly frameTimes: readonly number[];
  readonly frameDurations: readonly number[];
}

/** Every decoded frame of the first stream of the given type, with the stream's geometry. */
export async function decodeStream(cwd: string, playlist: string, type: 'v' | 'a'): Promise<DecodedStream> {
  const json = await ffprobeJson(cwd, playlist, [
    '-select_streams',
    `${type}:0`,
    '-show_entries',
    'stream=width,height,sample_aspect_ratio:frame=pts_time,pkt_duration_time',
  ]);
  const stream = (json.streams as { width?: number; height?: number; sample_aspect_ratio?: string }[])[0] ?? {};
  const frames = (json.frames as { pts_time?: string; pkt_duration_time?: string }[]) ?? [];
  return {
    ...(stream.width ? { width: stream.width } : {}),
    ...(stream.height ? { height: stream.height } : {}),
    ...(stream.sample_aspect_ratio ? { sampleAspectRatio: stream.sample_aspect_ratio } : {}),
    frameTimes: frames.map((frame) => Number(frame.pts_time)),
    frameDurations: frames.map((frame) => Number(frame.pkt_duration_time)),
  };
}

export async function runFfmpeg(cwd: string, args: readonly string[]): Promise<string> {
  const { stderr } = await run('ffmpeg', ['-nostdin', '-hide_banner', ...args], { cwd, timeout: TOOL_TIMEOUT_MS, maxBuffer: 64 * 1024 * 1024 });
  return stderr;
}

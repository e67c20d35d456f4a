/**
 * A video's poster and storyboard. One ffmpeg pass decodes the storyboard tiles (every frame, or only keyframes
 * for long videos); the tiles double as poster candidates, scored in memory. The best candidate is then
 * extracted once at full display size with an accurate seek, checked again (a tile from a keyframe can differ
 * from the exact frame), and rendered like any still: one master, cascaded sizes, every format.
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { inputArgs, type MediaInput } from '../../shared/media/input.ts';
import type { EncodeOptions, RawImage } from './encoders.ts';
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import { settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { baseArgs, displayFilters, PICTURE_DECODE } from './ffmpeg.ts';
import { frameStats, isUsable, rankCandidates, type Candidate, type FrameStats } from './frames.ts';
import type { VideoParams } from './plan.ts';
import type { StoryboardSettings, ThumbnailProfile } from './profiles.ts';
import { renderFromMaster, type StillSet } from './renditions.ts';
import { fitLongEdge, targetSizes, type Dimensions } from './sizes.ts';
import { composeSheets, planStoryboard, tileTime, webvtt } from './storyboard.ts';

/** One accurate seek and one decoded frame; minutes would mean a wedged process. */
export const POSTER_FRAME_TIMEOUT_MS = 60_000;
/** A full decode of a long 4K video at tile size; keyframe-only decoding keeps long videos well inside this. */
export const STORYBOARD_TIMEOUT_MS = 6 * 60_000;
/** Candidates tried when the extracted frame turns out black; after that the best-scoring one is kept. */
const POSTER_ATTEMPTS = 3;

export interface VideoContext {
  readonly ffmpeg: string;
  readonly scratchDir: string;
  readonly signal: AbortSignal;
}

export interface Storyboard {
  readonly sheets: RawImage[];
  readonly vtt: string;
  readonly tile: Dimensions;
  readonly columns: number;
  readonly intervalSeconds: number;
  readonly tiles: number;
}

export interface VideoRender {
  readonly poster: StillSet & { readonly timeSeconds: number; readonly width: number; readonly height: number };
  readonly storyboard: Storyboard | null;
}

export async function renderVideo(
  source: MediaInput,
  video: VideoParams,
  profile: ThumbnailProfile,
  encodeOptions: EncodeOptions,
  context: VideoContext,
): Promise<VideoRender> {
  const display = { width: video.width, height: video.height };
  const tiles = video.durationSeconds === null ? null : await extractTiles(source, video, video.durationSeconds, profile.storyboard, context);
  const candidates = tiles?.candidates.length
    ? rankCandidates(tiles.candidates, video.durationSeconds ?? 0)
    : [{ timeSeconds: 0, stats: { mean: 0, stdev: 0, entropy: 0 } }];

  const sizes = targetSizes(profile.sizes, display);
  const posterSize = fitLongEdge(display, sizes[0]!);
  let chosen: Extracted | undefined;
  for (const candidate of candidates.slice(0, POSTER_ATTEMPTS)) {
    const extracted = await extractFrame(source, video, candidate.timeSeconds, posterSize, context);
    const usable = isUsable(extracted.stats);
    // A usable frame ends the search; otherwise the most detailed of the attempts is kept.
    if (usable || !chosen || extracted.stats.entropy > chosen.stats.entropy) chosen = extracted;
    if (usable) break;
  }
  const poster = await renderFromMaster(chosen!.frame, display, sizes, profile.formats, encodeOptions);
  return {
    poster: { ...poster, timeSeconds: chosen!.timeSeconds, width: posterSize.width, height: posterSize.height },
    storyboard: tiles && tiles.count > 0 ? tiles.storyboard : null,
  };
}

interface Extracted {
  readonly frame: RawImage;
  readonly timeSeconds: number;
  readonly stats: FrameStats;
}

async function extractFrame(source: MediaInput, video: VideoParams, timeSeconds: number, size: Dimensions, context: VideoContext): Promise<Extracted> {
  const out = path.join(context.scratchDir, 'poster.rgb');
  await settleRun(
    runTool(
      context.ffmpeg,
      [
        ...baseArgs(),
        '-noautorotate',
        '-ss',
        timeSeconds.toFixed(3),
        ...inputArgs(source),
        '-map',
        `0:${video.streamIndex}`,
        '-frames:v',
        '1',
        '-vf',
        displayFilters(video, size).join(','),
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-y',
        `file:${out}`,
      ],
      { tool: 'ffmpeg', label: 'poster frame', timeoutMs: POSTER_FRAME_TIMEOUT_MS, signal: context.signal },
    ),
    PICTURE_DECODE,
  );
  const data = await readFile(out);
  // A seek past the last frame (a stream shorter than the container says) yields nothing: fall back to the start.
  if (data.length < size.width * size.height * 3) {
    if (timeSeconds > 0) return extractFrame(source, video, 0, size, context);
    throw new Error(`ffmpeg produced no frame from stream ${video.streamIndex}`);
  }
  return { frame: { data, width: size.width, height: size.height, channels: 3 }, timeSeconds, stats: frameStats(data) };
}

interface Tiles {
  readonly count: number;
  readonly candidates: Candidate[];
  readonly storyboard: Storyboard;
}

async function extractTiles(
  source: MediaInput,
  video: VideoParams,
  durationSeconds: number,
  settings: StoryboardSettings,
  context: VideoContext,
): Promise<Tiles> {
  const plan = planStoryboard(durationSeconds, { width: video.width, height: video.height }, settings);
  const out = path.join(context.scratchDir, 'tiles.rgb');
  // setpts rebases timestamps to zero (MPEG-TS starts wherever the encoder's clock stood), as -ss does for the poster.
  const select = `setpts=PTS-STARTPTS,select='gte(t,(selected_n+0.5)*${plan.intervalSeconds})'`;
  await settleRun(
    runTool(
      context.ffmpeg,
      [
        ...baseArgs(),
        '-noautorotate',
        ...(plan.keyframesOnly ? ['-skip_frame', 'nokey'] : []),
        ...inputArgs(source),
        '-map',
        `0:${video.streamIndex}`,
        '-vf',
        [select, ...displayFilters(video, plan.tile)].join(','),
        '-fps_mode',
        'passthrough',
        '-frames:v',
        String(plan.tiles),
        '-f',
        'rawvideo',
        '-pix_fmt',
        'rgb24',
        '-y',
        `file:${out}`,
      ],
      { tool: 'ffmpeg', label: 'storyboard frames', timeoutMs: STORYBOARD_TIMEOUT_MS, signal: context.signal },
    ),
    PICTURE_DECODE,
  );

  const tileBytes = plan.tile.width * plan.tile.height * 3;
  const data = await readFile(out);
  const count = Math.min(plan.tiles, Math.floor(data.length / tileBytes));
  const candidates = Array.from({ length: count }, (_, index) => ({
    timeSeconds: tileTime(index, plan.intervalSeconds),
    stats: frameStats(data, index * tileBytes, plan.tile.width * plan.tile.height),
  }));
  return {
    count,
    candidates,
    storyboard: {
      sheets: composeSheets(data, count, plan.tile, settings),
      vtt: webvtt(count, plan.intervalSeconds, durationSeconds, plan.tile, settings, storyboardSheetName),
      tile: plan.tile,
      columns: Math.min(settings.columns, count),
      intervalSeconds: plan.intervalSeconds,
      tiles: count,
    },
  };
}

/** The file name of a storyboard sheet, as the VTT refers to it. */
export function storyboardSheetName(sheet: number): string {
  return `storyboard-${sheet}.jpg`;
}

/**
 * Deterministic sample video for the HLS tests and bench, made with the real ffmpeg from lavfi test sources:
 * the shapes a ladder must honour (anamorphic, rotated, portrait, variable frame rate, no audio) and a clip whose
 * picture and sound carry a sync mark, so A/V sync can be measured from decoded content rather than timestamps.
 * Each generator is `(ffmpegPath, outPath, opts?) => Promise<outPath>`, like scripts/sample-media/sample-media.ts.
 */
import { runFfmpeg } from './sample-media.ts';
import { rename, rm } from 'node:fs/promises';

/** Generous: a 60 s 1080p encode (the bench source) takes a minute on two busy cores. */
const FFMPEG_TIMEOUT_MS = 300_000;
const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

export interface ClipOptions {
  durationSeconds?: number;
  width?: number;
  height?: number;
  fps?: number;
  /** Source GOP in frames (x264 -g); a mezzanine-like 1 s by default. */
  keyframeInterval?: number;
  /** x264 preset of the source itself. */
  preset?: string;
}

/** The beeping tone of sample-media's videoWithSound, as a second input. */
function tone(durationSeconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${durationSeconds}`];
}

function h264(fps: number, keyframeInterval: number | undefined, preset = 'veryfast'): string[] {
  return ['-c:v', 'libx264', '-preset', preset, '-pix_fmt', 'yuv420p', '-g', String(keyframeInterval ?? fps)];
}

const AAC = ['-c:a', 'aac', '-ac', '2', '-b:a', '128k'];

/** testsrc2 pictures with a beeping tone: the plain case, in any shape (portrait when height > width). */
export async function clipWithSound(ffmpegPath: string, outPath: string, opts: ClipOptions = {}): Promise<string> {
  const { durationSeconds = 4, width = 640, height = 360, fps = 30 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationSeconds}`,
    ...tone(durationSeconds),
    ...h264(fps, opts.keyframeInterval, opts.preset),
    ...AAC,
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/** Pictures only: nothing for an audio rendition to carry. */
export async function silentClip(ffmpegPath: string, outPath: string, opts: ClipOptions = {}): Promise<string> {
  const { durationSeconds = 4, width = 640, height = 360, fps = 30 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationSeconds}`,
    ...h264(fps, opts.keyframeInterval, opts.preset),
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/**
 * Anamorphic storage: `width`×`height` stored pixels with a non-square sample aspect ratio, e.g. 480×360 at 4:3
 * (displays 640×360) or PAL's 720×576 at 16:11 (displays 1047×576).
 */
export async function anamorphicClip(ffmpegPath: string, outPath: string, opts: ClipOptions & { sar?: string } = {}): Promise<string> {
  const { durationSeconds = 4, width = 480, height = 360, fps = 25, sar = '4/3' } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationSeconds},setsar=${sar}`,
    ...tone(durationSeconds),
    ...h264(fps, opts.keyframeInterval, opts.preset),
    ...AAC,
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/**
 * A phone held upright: stored landscape with a display matrix turning it a quarter turn clockwise. This ffmpeg
 * writes the matrix from the `rotate` tag on a remux (ffprobe: Display Matrix, rotation -90).
 */
export async function rotatedClip(ffmpegPath: string, outPath: string, opts: ClipOptions = {}): Promise<string> {
  const plain = `${outPath}.plain.mp4`;
  await clipWithSound(ffmpegPath, plain, opts);
  await ffmpeg(ffmpegPath, ['-i', plain, '-c', 'copy', '-metadata:s:v:0', 'rotate=90', ...BITEXACT, '-f', 'mp4', `${outPath}.tmp`]);
  await rename(`${outPath}.tmp`, outPath);
  await rm(plain, { force: true });
  return outPath;
}

/**
 * Variable frame rate, as phones record when the light drops: a `fps` clip with every fifth frame missing and the
 * survivors keeping their timestamps, so it averages 4/5 of `fps` while its timestamps stay on the 1/fps grid.
 */
export async function variableFrameRateClip(ffmpegPath: string, outPath: string, opts: ClipOptions = {}): Promise<string> {
  const { durationSeconds = 4, width = 640, height = 360, fps = 30 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationSeconds},select='not(eq(mod(n\\,5)\\,2))'`,
    ...tone(durationSeconds),
    '-fps_mode:v',
    'passthrough',
    ...h264(fps, opts.keyframeInterval, opts.preset),
    ...AAC,
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/**
 * A sync mark every second: a white picture for the first frame of each second over black, and a 1 kHz tone for
 * the first 50 ms of each second over silence. Decoded, the flashes and the tone onsets must coincide.
 */
export async function syncMarkClip(ffmpegPath: string, outPath: string, opts: ClipOptions = {}): Promise<string> {
  const { durationSeconds = 4, width = 640, height = 360, fps = 30 } = opts;
  const flash = `drawbox=x=0:y=0:w=iw:h=ih:color=white:t=fill:enable='lt(mod(t\\,1)\\,${(0.5 / fps).toFixed(6)})'`;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `color=c=black:size=${width}x${height}:rate=${fps}:duration=${durationSeconds},${flash}`,
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='if(lt(mod(t\\,1)\\,0.05)\\,0.5*sin(2*PI*1000*t)\\,0)':channel_layout=stereo:sample_rate=48000:duration=${durationSeconds}`,
    ...h264(fps, opts.keyframeInterval, opts.preset),
    ...AAC,
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

function ffmpeg(ffmpegPath: string, args: readonly string[]): Promise<void> {
  return runFfmpeg(ffmpegPath, args, FFMPEG_TIMEOUT_MS);
}

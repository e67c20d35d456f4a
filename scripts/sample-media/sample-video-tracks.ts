/**
 * Sample video whose tracks and timelines are the point: several audio languages and a subtitle track, x264's
 * default B-frames, audio that starts after the video (as Android phones record it) and a transport stream whose
 * audio and video PTS start apart. Small (320×240, a few seconds) and deterministic, made with the real ffmpeg
 * from lavfi sources. Each generator is `(ffmpegPath, outPath, opts?) => Promise<outPath>`, like sample-video.ts.
 */
import { rm, writeFile } from 'node:fs/promises';
import { runFfmpeg } from './sample-media.ts';

const FFMPEG_TIMEOUT_MS = 120_000;
const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact'];
const AAC = ['-c:a', 'aac', '-ac', '2', '-b:a', '96k'];

export interface TrackClipOptions {
  durationSeconds?: number;
  width?: number;
  height?: number;
  fps?: number;
}

function picture(opts: TrackClipOptions): string[] {
  const { durationSeconds = 3, width = 320, height = 240, fps = 25 } = opts;
  return ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationSeconds}`];
}

function sine(frequency: number, durationSeconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=${frequency}:sample_rate=48000:duration=${durationSeconds}`];
}

/** x264 as a phone or an editor leaves it: the medium preset, so three B-frames and a two-frame decode delay. */
function h264(opts: TrackClipOptions, extra: readonly string[] = []): string[] {
  return ['-c:v', 'libx264', '-preset', 'medium', '-pix_fmt', 'yuv420p', '-g', String(opts.fps ?? 25), ...extra];
}

/** SRT cues, one per second, the last ending with the clip. */
export function srtCues(durationSeconds: number): string {
  const cues: string[] = [];
  for (let second = 0; second < Math.floor(durationSeconds); second++) {
    cues.push(`${second + 1}\n${srtTime(second + 0.1)} --> ${srtTime(second + 0.9)}\nLine ${second + 1}\n`);
  }
  return cues.join('\n');
}

function srtTime(seconds: number): string {
  const ms = Math.round(seconds * 1000);
  const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
  return `${pad(Math.floor(ms / 3_600_000))}:${pad(Math.floor(ms / 60_000) % 60)}:${pad(Math.floor(ms / 1000) % 60)},${pad(ms % 1000, 3)}`;
}

/**
 * Matroska with two audio languages (English, default, 440 Hz; French, 660 Hz, titled) and an English SRT
 * subtitle track: what a film rip brings.
 */
export async function multiLanguageMkv(ffmpegPath: string, outPath: string, opts: TrackClipOptions = {}): Promise<string> {
  const { durationSeconds = 3 } = opts;
  const srt = `${outPath}.srt`;
  await writeFile(srt, srtCues(durationSeconds));
  try {
    await runFfmpeg(
      ffmpegPath,
      [
        ...picture(opts),
        ...sine(440, durationSeconds),
        ...sine(660, durationSeconds),
        '-i',
        srt,
        '-map',
        '0:v',
        '-map',
        '1:a',
        '-map',
        '2:a',
        '-map',
        '3:s',
        ...h264(opts),
        ...AAC,
        '-c:s',
        'srt',
        '-metadata:s:a:0',
        'language=eng',
        '-metadata:s:a:1',
        'language=fra',
        '-metadata:s:a:1',
        'title=Français (doublage)',
        '-metadata:s:s:0',
        'language=eng',
        '-disposition:a:0',
        'default',
        '-disposition:a:1',
        '0',
        '-disposition:s:0',
        '0',
        ...BITEXACT,
        '-f',
        'matroska',
        outPath,
      ],
      FFMPEG_TIMEOUT_MS,
    );
  } finally {
    await rm(srt, { force: true });
  }
  return outPath;
}

/** MP4 with x264's default B-frames (composition offsets, and an edit list shifting them out) and AAC. */
export async function bFrameMp4(ffmpegPath: string, outPath: string, opts: TrackClipOptions = {}): Promise<string> {
  const { durationSeconds = 3 } = opts;
  await runFfmpeg(ffmpegPath, [...picture(opts), ...sine(440, durationSeconds), ...h264(opts), ...AAC, ...BITEXACT, '-f', 'mp4', outPath], FFMPEG_TIMEOUT_MS);
  return outPath;
}

/**
 * An Android recording: H.264 with B-frames from 0, AAC starting `audioDelaySeconds` later (the MP4 states it with
 * an empty edit before the audio's samples).
 */
export async function lateAudioMp4(ffmpegPath: string, outPath: string, opts: TrackClipOptions & { audioDelaySeconds?: number } = {}): Promise<string> {
  const { durationSeconds = 3, audioDelaySeconds = 0.5 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...picture(opts),
      '-itsoffset',
      String(audioDelaySeconds),
      ...sine(440, durationSeconds - audioDelaySeconds),
      '-map',
      '0:v',
      '-map',
      '1:a',
      ...h264(opts),
      ...AAC,
      ...BITEXACT,
      '-f',
      'mp4',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/**
 * MPEG-TS whose video PTS start `videoDelaySeconds` after the audio's, over the muxer's usual 1.4 s delay: a
 * broadcast capture cut mid-GOP. AC-3 stereo audio, as broadcasters carry it.
 */
export async function offsetStartsTs(ffmpegPath: string, outPath: string, opts: TrackClipOptions & { videoDelaySeconds?: number } = {}): Promise<string> {
  const { durationSeconds = 3, videoDelaySeconds = 0.2 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      '-itsoffset',
      String(videoDelaySeconds),
      ...picture({ ...opts, durationSeconds: durationSeconds - videoDelaySeconds }),
      ...sine(440, durationSeconds),
      '-map',
      '0:v',
      '-map',
      '1:a',
      ...h264(opts),
      '-c:a',
      'ac3',
      '-b:a',
      '192k',
      ...BITEXACT,
      '-f',
      'mpegts',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

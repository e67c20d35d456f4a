/**
 * Deterministic sample media made with the real ffmpeg, for the demo, the tests and the benches. Every input is a
 * lavfi test source, and bitexact flags keep encoder version strings out, so the same ffmpeg yields the same bytes.
 * Each generator is `(ffmpegPath, outPath, opts?) => Promise<outPath>`; the few that need no ffmpeg keep the shape.
 */
import { execFile } from 'node:child_process';
import { stat, truncate, writeFile } from 'node:fs/promises';

/** Generous: a 20 s 720p encode takes a few seconds on two cores, and CI machines are slower. */
const FFMPEG_TIMEOUT_MS = 120_000;
const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

export interface ImageOptions {
  width?: number;
  height?: number;
}
export interface AudioOptions {
  durationSeconds?: number;
}
export interface VideoOptions {
  durationSeconds?: number;
  width?: number;
  height?: number;
  fps?: number;
}

/** A single 1920x1080 JPEG frame of testsrc2 (format image2, codec mjpeg). */
export async function jpegImage(ffmpegPath: string, outPath: string, opts: ImageOptions = {}): Promise<string> {
  const { width = 1920, height = 1080 } = opts;
  await runFfmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=1`,
    '-frames:v',
    '1',
    '-c:v',
    'mjpeg',
    '-pix_fmt',
    'yuvj420p',
    '-q:v',
    '3',
    ...BITEXACT,
    '-f',
    'image2',
    '-update',
    '1',
    outPath,
  ]);
  return outPath;
}

/** A small RGBA PNG whose alpha ramps from transparent (left) to opaque (right). */
export async function pngWithAlpha(ffmpegPath: string, outPath: string, opts: ImageOptions = {}): Promise<string> {
  const { width = 128, height = 96 } = opts;
  await runFfmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=1,format=rgba,geq=r='r(X,Y)':g='g(X,Y)':b='b(X,Y)':a='255*X/W'`,
    '-frames:v',
    '1',
    '-c:v',
    'png',
    ...BITEXACT,
    '-f',
    'image2',
    '-update',
    '1',
    outPath,
  ]);
  return outPath;
}

/**
 * Stereo 48 kHz AAC in an M4A that sounds like music rather than a test tone: a C–G–Am–F progression (one chord
 * per 2 s bar) of plucked triads over a bass note. The left channel plucks on the beat at 120 bpm, the right on the
 * off-beat and slightly detuned, so the channels differ as a real stereo mix does (and loudness/waveform steps see it).
 */
export async function musicLikeAudio(ffmpegPath: string, outPath: string, opts: AudioOptions = {}): Promise<string> {
  const { durationSeconds = 30 } = opts;
  const bar = 'mod(floor(t/2),4)';
  const root = `if(eq(${bar},0),261.63,if(eq(${bar},1),196,if(eq(${bar},2),220,174.61)))`;
  const third = `if(eq(${bar},2),1.2,1.25)`; // minor third on the A minor bar, major elsewhere
  // st()/ld() keep the chord lookup to once per sample: aevalsrc evaluates the whole expression 48000 times a second.
  const channel = (detune: number, beatOffset: number): string => {
    const pluck = `exp(-4*mod(t+${beatOffset},0.5))`;
    const triad = `sin(ld(0)*t)+0.8*sin(ld(0)*ld(1)*t)+0.7*sin(ld(0)*1.5*t)`;
    const bass = `0.2*exp(-1.5*mod(t,2))*sin(ld(0)*t/(2*${detune}))`; // an octave below the root, struck once per bar
    return `st(0,2*PI*${detune}*${root});st(1,${third});0.25*${pluck}*(${triad})+${bass}`;
  };
  await runFfmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='${channel(1, 0)}|${channel(1.003, 0.25)}':channel_layout=stereo:sample_rate=48000:duration=${durationSeconds}`,
    '-c:a',
    'aac',
    '-b:a',
    '160k',
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/** H.264 yuv420p + stereo AAC in MP4: testsrc2 pictures with a beeping 440 Hz tone. */
export async function videoWithSound(ffmpegPath: string, outPath: string, opts: VideoOptions & { faststart?: boolean } = {}): Promise<string> {
  const { durationSeconds = 20, width = 1280, height = 720, fps = 30, faststart = true } = opts;
  await runFfmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=${fps}:duration=${durationSeconds}`,
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${durationSeconds}`,
    '-c:v',
    'libx264',
    '-preset',
    'veryfast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-ac',
    '2',
    '-b:a',
    '128k',
    ...(faststart ? ['-movflags', '+faststart'] : []),
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/** Mono 22.05 kHz MP3 with ID3 tags and a JPEG front cover (an attached_pic video stream). */
export async function mp3WithCoverArt(ffmpegPath: string, outPath: string, opts: AudioOptions = {}): Promise<string> {
  const { durationSeconds = 5 } = opts;
  await runFfmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=330:sample_rate=22050:duration=${durationSeconds}`,
    '-f',
    'lavfi',
    '-i',
    'testsrc2=size=300x300:rate=1:duration=1',
    '-map',
    '0:a',
    '-map',
    '1:v',
    '-c:a',
    'libmp3lame',
    '-ac',
    '1',
    '-ar',
    '22050',
    '-b:a',
    '64k',
    '-c:v',
    'mjpeg',
    '-pix_fmt',
    'yuvj420p',
    '-frames:v',
    '1',
    '-disposition:v',
    'attached_pic',
    ...BITEXACT,
    '-metadata',
    'title=Sample Tone',
    '-metadata',
    'artist=mediaflow',
    '-metadata:s:v',
    'comment=Cover (front)',
    '-id3v2_version',
    '3',
    '-f',
    'mp3',
    outPath,
  ]);
  return outPath;
}

/** Plain text, e.g. to be named song.mp3: what a wrong upload looks like. */
export async function textFile(_ffmpegPath: string, outPath: string, opts: { content?: string } = {}): Promise<string> {
  await writeFile(outPath, opts.content ?? 'This is not an audio file.\nIt is a note someone uploaded by mistake.\n');
  return outPath;
}

export async function zeroByteFile(_ffmpegPath: string, outPath: string): Promise<string> {
  await writeFile(outPath, '');
  return outPath;
}

/**
 * An MP4 cut off mid-upload: written without faststart, so the moov box comes after the mdat, then truncated to
 * `keepFraction` of its size. The moov is lost, which is what an interrupted transfer of a camera file does.
 * With `faststart: true` the moov survives and only the mdat is short: ffprobe reads that one without complaint.
 */
export async function truncatedMp4(
  ffmpegPath: string,
  outPath: string,
  opts: VideoOptions & { keepFraction?: number; faststart?: boolean } = {},
): Promise<string> {
  const { keepFraction = 0.6, durationSeconds = 2, width = 320, height = 240, fps = 30, faststart = false } = opts;
  await videoWithSound(ffmpegPath, outPath, { durationSeconds, width, height, fps, faststart });
  const { size } = await stat(outPath);
  await truncate(outPath, Math.floor(size * keepFraction));
  return outPath;
}

/** A looping GIF of `frames` testsrc2 frames at 10 fps. */
export async function animatedGif(ffmpegPath: string, outPath: string, opts: ImageOptions & { frames?: number } = {}): Promise<string> {
  const { width = 160, height = 120, frames = 10 } = opts;
  await runFfmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=10`,
    '-frames:v',
    String(frames),
    '-loop',
    '0',
    ...BITEXACT,
    '-f',
    'gif',
    outPath,
  ]);
  return outPath;
}

/** Runs ffmpeg quietly with a hard limit; every sample generator (media, audio, images, video) goes through here. */
export function runFfmpeg(ffmpegPath: string, args: readonly string[], timeoutMs = FFMPEG_TIMEOUT_MS): Promise<void> {
  const fullArgs = ['-y', '-nostdin', '-v', 'error', ...args];
  return new Promise((resolvePromise, reject) => {
    execFile(ffmpegPath, fullArgs, { timeout: timeoutMs, killSignal: 'SIGKILL', maxBuffer: 4 * 1024 * 1024 }, (error, _stdout, stderr) => {
      if (!error) return resolvePromise();
      const why = error.killed ? `timed out after ${timeoutMs} ms` : stderr.trim() || error.message;
      reject(new Error(`ffmpeg ${fullArgs.join(' ')} failed: ${why}`, { cause: error }));
    });
  });
}

/**
 * Deterministic video sources with the picture problems of issue 14, made with the real ffmpeg from lavfi test
 * sources: interlaced (flagged, unflagged, flagged but progressive, telecined film), HDR (HLG and PQ HEVC Main10),
 * unusual pixel formats and ranges (4:4:4 screen capture, full-range MJPEG), BT.601 SD and HD, and high frame
 * rates. Each generator is `(ffmpegPath, outPath, opts?) => Promise<outPath>`, like scripts/sample-media/sample-video.ts;
 * every one defaults to a short, small clip (where the resolution does not matter to what it exercises).
 */
import { runFfmpeg } from './sample-media.ts';

/** A 1080i encode of a few seconds takes seconds; two busy cores and HEVC 10-bit need more headroom. */
const FFMPEG_TIMEOUT_MS = 300_000;
const BITEXACT = ['-fflags', '+bitexact', '-flags:v', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];
const DEFAULT_SECONDS = 2;

export interface SourceOptions {
  durationSeconds?: number;
  width?: number;
  height?: number;
}

/** BT.2020 primaries, D65, 1000 nits peak / 0.0001 nits black: x265's master-display syntax, a common HDR10 master. */
export const HDR10_MASTER_DISPLAY = 'G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1)';
/** MaxCLL, MaxFALL in nits. */
export const HDR10_MAX_CLL = '1000,400';

/**
 * A camera's softness: testsrc2's pixel-sharp edges read as combing to idet even when progressive, which no lens
 * produces; a slight blur makes progressive pictures look progressive and woven fields still comb.
 */
const CAMERA_BLUR_SIGMA = 1.2;

function testPicture(width: number, height: number, rate: string, seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `testsrc2=size=${width}x${height}:rate=${rate}:duration=${seconds},gblur=sigma=${CAMERA_BLUR_SIGMA}`];
}

function tone(seconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=440:beep_factor=4:sample_rate=48000:duration=${seconds}`];
}

/**
 * Broadcast 1080i25: 50 moving pictures a second woven two by two into 25 frames (top field first), MPEG-2 coded
 * as interlaced (ffprobe field_order=tt) with AC-3 stereo, in MPEG-TS.
 */
export async function interlacedBroadcastTs(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 1920, height = 1080 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '50', durationSeconds),
      ...tone(durationSeconds),
      '-vf',
      'tinterlace=mode=interleave_top,setfield=tff',
      '-flags:v',
      '+ilme+ildct',
      '-top',
      '1',
      '-c:v',
      'mpeg2video',
      '-b:v',
      '8M',
      '-g',
      '12',
      '-pix_fmt',
      'yuv420p',
      '-c:a',
      'ac3',
      '-b:a',
      '192k',
      '-ac',
      '2',
      ...BITEXACT,
      '-f',
      'mpegts',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/** The same woven fields coded as progressive H.264 in MP4: combed pictures that no flag admits to (an old capture). */
export async function unflaggedInterlacedClip(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 640, height = 360 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '50', durationSeconds),
      '-vf',
      'tinterlace=mode=interleave_top,setfield=prog',
      '-c:v',
      'libx264',
      '-preset',
      'veryfast',
      '-crf',
      '18',
      '-pix_fmt',
      'yuv420p',
      '-g',
      '25',
      ...BITEXACT,
      '-f',
      'mp4',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/** Progressive 25 fps pictures coded as interlaced MPEG-2 (field_order=tt): the flag lies, nothing is combed. */
export async function flaggedProgressiveClip(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 640, height = 360 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '25', durationSeconds),
      '-vf',
      'setfield=tff',
      '-flags:v',
      '+ilme+ildct',
      '-top',
      '1',
      '-c:v',
      'mpeg2video',
      '-b:v',
      '4M',
      '-g',
      '12',
      '-pix_fmt',
      'yuv420p',
      ...BITEXACT,
      '-f',
      'mpegts',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/** Film at 23.976 fps telecined 3:2 to 29.97 interlaced frames (two in five combed), MPEG-2 top field first. */
export async function telecinedFilmClip(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 640, height = 360 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '24000/1001', durationSeconds),
      '-vf',
      'telecine=first_field=top:pattern=23,setfield=tff',
      '-flags:v',
      '+ilme+ildct',
      '-top',
      '1',
      '-c:v',
      'mpeg2video',
      '-b:v',
      '4M',
      '-g',
      '15',
      '-pix_fmt',
      'yuv420p',
      ...BITEXACT,
      '-f',
      'mpegts',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/**
 * An iPhone-style HLG clip: HEVC Main10, BT.2020, ARIB STD-B67, in MOV with AAC. The test picture is converted
 * to HLG by zscale, so a correct tone map gives back colours close to the SDR original.
 */
export async function hlgHevcMov(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 640, height = 360 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '30', durationSeconds),
      ...tone(durationSeconds),
      '-vf',
      'zscale=tin=bt709:min=bt709:pin=bt709:t=arib-std-b67:m=bt2020nc:p=bt2020:npl=203,format=yuv420p10le',
      '-c:v',
      'libx265',
      '-preset',
      'ultrafast',
      '-tag:v',
      'hvc1',
      '-color_primaries',
      'bt2020',
      '-color_trc',
      'arib-std-b67',
      '-colorspace',
      'bt2020nc',
      '-color_range',
      'tv',
      '-x265-params',
      'log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc:range=limited:keyint=30',
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-ac',
      '2',
      ...BITEXACT,
      '-f',
      'mov',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/** HDR10: HEVC Main10, BT.2020, SMPTE ST 2084 (PQ), with mastering display and content light level SEI, in MP4. */
export async function pqHevcHdr10(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 640, height = 360 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '24', durationSeconds),
      '-vf',
      'zscale=tin=bt709:min=bt709:pin=bt709:t=smpte2084:m=bt2020nc:p=bt2020:npl=203,format=yuv420p10le',
      '-c:v',
      'libx265',
      '-preset',
      'ultrafast',
      '-tag:v',
      'hvc1',
      '-color_primaries',
      'bt2020',
      '-color_trc',
      'smpte2084',
      '-colorspace',
      'bt2020nc',
      '-color_range',
      'tv',
      '-x265-params',
      `log-level=error:hdr10=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:range=limited:master-display=${HDR10_MASTER_DISPLAY}:max-cll=${HDR10_MAX_CLL}:keyint=24`,
      ...BITEXACT,
      '-f',
      'mp4',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/** A screen recording: H.264 High 4:4:4 at an odd 1366×767, 30 fps, BT.709 limited range. */
export async function screenCapture444(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 1366, height = 767 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '30', durationSeconds),
      '-vf',
      'format=yuv444p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-profile:v',
      'high444',
      '-qp',
      '20',
      '-g',
      '30',
      '-color_primaries',
      'bt709',
      '-color_trc',
      'bt709',
      '-colorspace',
      'bt709',
      ...BITEXACT,
      '-f',
      'mp4',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/** A webcam or camera's Motion JPEG: full-range yuvj420p in AVI, with PCM sound. */
export async function fullRangeMjpegAvi(ffmpegPath: string, outPath: string, opts: SourceOptions = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 640, height = 360 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '30', durationSeconds),
      ...tone(durationSeconds),
      '-vf',
      'scale=out_range=pc,format=yuvj420p',
      '-c:v',
      'mjpeg',
      '-q:v',
      '3',
      '-c:a',
      'pcm_s16le',
      '-ac',
      '2',
      ...BITEXACT,
      '-f',
      'avi',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/**
 * BT.601 video (SMPTE 170M matrix and primaries) at 29.97 fps: 720×480 is NTSC SD; larger sizes are the HD
 * files some cameras and recorders tag as BT.601 all the same. `tagged: false` leaves the colour unstated.
 */
export async function bt601Clip(ffmpegPath: string, outPath: string, opts: SourceOptions & { tagged?: boolean } = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 720, height = 480, tagged = true } = opts;
  const tags = tagged ? ['-color_primaries', 'smpte170m', '-color_trc', 'smpte170m', '-colorspace', 'smpte170m', '-color_range', 'tv'] : [];
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, '30000/1001', durationSeconds),
      '-vf',
      'scale=out_color_matrix=bt601:out_range=tv,format=yuv420p',
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-crf',
      '18',
      '-g',
      '30',
      ...tags,
      ...BITEXACT,
      '-f',
      'mp4',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

/** Phone slow motion: `fps` (120 or 240) frames a second, stored to play back in real time. */
export async function highFrameRateClip(ffmpegPath: string, outPath: string, opts: SourceOptions & { fps?: number } = {}): Promise<string> {
  const { durationSeconds = DEFAULT_SECONDS, width = 320, height = 180, fps = 120 } = opts;
  await runFfmpeg(
    ffmpegPath,
    [
      ...testPicture(width, height, String(fps), durationSeconds),
      ...tone(durationSeconds),
      '-c:v',
      'libx264',
      '-preset',
      'ultrafast',
      '-pix_fmt',
      'yuv420p',
      '-g',
      String(fps),
      '-c:a',
      'aac',
      '-b:a',
      '128k',
      '-ac',
      '2',
      ...BITEXACT,
      '-f',
      'mp4',
      outPath,
    ],
    FFMPEG_TIMEOUT_MS,
  );
  return outPath;
}

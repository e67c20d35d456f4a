/**
 * The video files people upload, made the way phones, cameras, editing suites and broadcast chains make them: short
 * (a few seconds) and small where resolution does not matter, with the property each row is about made real
 * (interlaced fields, HDR transfer functions, a rotation matrix, B-frames, late audio, telecine, full range, 4:4:4).
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg } from '../../scripts/sample-media/sample-media.ts';

export interface EverydayVideo {
  readonly name: string;
  readonly what: string;
  /** What every rendition must show. */
  readonly expect: {
    /** Display size of the source (after SAR and rotation), which bounds the ladder. */
    readonly display: { readonly width: number; readonly height: number };
    /** Output frame rate as num/den. */
    readonly frameRate: string;
    readonly seconds: number;
    /** Audio renditions, by language where the source names them. */
    readonly audio: readonly string[];
    readonly subtitles?: readonly string[];
    /** The source is HDR (PQ or HLG): the SDR ladder must be tone-mapped. */
    readonly hdr?: 'pq' | 'hlg';
    readonly interlaced?: boolean;
  };
  readonly make: (dir: string) => Promise<string>;
}

const SECONDS = 3;
const tone = (seconds: number, rate = 48000): string[] => ['-f', 'lavfi', '-i', `sine=f=440:r=${rate}:d=${seconds}`];
const bars = (size: string, rate: string, seconds: number): string[] => ['-f', 'lavfi', '-i', `testsrc2=s=${size}:r=${rate}:d=${seconds}`];

async function make(dir: string, name: string, args: readonly string[]): Promise<string> {
  const file = path.join(dir, name);
  await runFfmpeg('ffmpeg', [...args, file]);
  return file;
}

/** BT.2020 primaries, HDR10 mastering display (P3 D65, 1000 nits) and content light level, as x265 writes them. */
const HDR10_X265 =
  'hdr10=1:repeat-headers=1:colorprim=bt2020:transfer=smpte2084:colormatrix=bt2020nc:master-display=G(13250,34500)B(7500,3000)R(34000,16000)WP(15635,16450)L(10000000,1):max-cll=1000,400';

export const everydayVideo: readonly EverydayVideo[] = [
  {
    name: 'iphone-hlg.mov',
    what: 'iPhone: HEVC Main10 HLG in MOV, BT.2020, portrait by a rotation matrix, AAC',
    expect: { display: { width: 360, height: 640 }, frameRate: '30/1', seconds: SECONDS, audio: ['und'], hdr: 'hlg' },
    make: async (dir) => {
      const encoded = await make(dir, 'iphone-hlg-encoded.mov', [
        ...bars('640x360', '30', SECONDS),
        ...tone(SECONDS),
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p10le',
        '-tag:v',
        'hvc1',
        '-x265-params',
        'log-level=error:colorprim=bt2020:transfer=arib-std-b67:colormatrix=bt2020nc',
        '-color_primaries',
        'bt2020',
        '-color_trc',
        'arib-std-b67',
        '-colorspace',
        'bt2020nc',
        '-c:a',
        'aac',
        '-shortest',
      ]);
      // ffmpeg 5.1 writes the display matrix from the `rotate` tag only on a remux, as a phone's file has it.
      return make(dir, 'iphone-hlg.mov', ['-i', encoded, '-c', 'copy', '-metadata:s:v:0', 'rotate=90']);
    },
  },
  {
    name: 'android-late-audio.mp4',
    what: 'Android: H.264 High with B-frames, audio starting 0.5 s after the video',
    expect: { display: { width: 640, height: 360 }, frameRate: '30/1', seconds: SECONDS, audio: ['und'] },
    make: (dir) =>
      make(dir, 'android-late-audio.mp4', [
        ...bars('640x360', '30', SECONDS),
        '-itsoffset',
        '0.5',
        ...tone(SECONDS - 0.5),
        '-c:v',
        'libx264',
        '-preset',
        'veryfast',
        '-bf',
        '3',
        '-c:a',
        'aac',
      ]),
  },
  {
    name: 'slowmo-120.mp4',
    what: 'a 120 fps phone clip (slow motion as recorded)',
    expect: { display: { width: 640, height: 360 }, frameRate: '60/1', seconds: SECONDS, audio: ['und'] },
    make: (dir) =>
      make(dir, 'slowmo-120.mp4', [...bars('640x360', '120', SECONDS), ...tone(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']),
  },
  {
    name: 'hdr10-pq.mp4',
    what: 'HDR10: HEVC Main10 PQ in MP4 with mastering metadata',
    expect: { display: { width: 1280, height: 720 }, frameRate: '24/1', seconds: SECONDS, audio: ['und'], hdr: 'pq' },
    make: (dir) =>
      make(dir, 'hdr10-pq.mp4', [
        ...bars('1280x720', '24', SECONDS),
        ...tone(SECONDS),
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-pix_fmt',
        'yuv420p10le',
        '-tag:v',
        'hvc1',
        '-x265-params',
        `log-level=error:${HDR10_X265}`,
        '-color_primaries',
        'bt2020',
        '-color_trc',
        'smpte2084',
        '-colorspace',
        'bt2020nc',
        '-c:a',
        'aac',
      ]),
  },
  {
    name: 'vp9-opus.webm',
    what: 'VP9 and Opus in WebM',
    expect: { display: { width: 640, height: 360 }, frameRate: '25/1', seconds: SECONDS, audio: ['und'] },
    make: (dir) =>
      make(dir, 'vp9-opus.webm', [
        ...bars('640x360', '25', SECONDS),
        ...tone(SECONDS),
        '-c:v',
        'libvpx-vp9',
        '-deadline',
        'realtime',
        '-cpu-used',
        '8',
        '-b:v',
        '500k',
        '-c:a',
        'libopus',
      ]),
  },
  {
    name: 'av1.mkv',
    what: 'AV1 (SVT-AV1) and Opus in Matroska',
    expect: { display: { width: 640, height: 360 }, frameRate: '25/1', seconds: SECONDS, audio: ['und'] },
    make: (dir) => make(dir, 'av1.mkv', [...bars('640x360', '25', SECONDS), ...tone(SECONDS), '-c:v', 'libsvtav1', '-preset', '12', '-c:a', 'libopus']),
  },
  {
    name: 'av1.mp4',
    what: 'AV1 (SVT-AV1) and AAC in MP4',
    expect: { display: { width: 640, height: 360 }, frameRate: '25/1', seconds: SECONDS, audio: ['und'] },
    make: (dir) => make(dir, 'av1.mp4', [...bars('640x360', '25', SECONDS), ...tone(SECONDS), '-c:v', 'libsvtav1', '-preset', '12', '-c:a', 'aac']),
  },
  {
    name: 'prores-hq.mov',
    what: 'ProRes 422 HQ with 24-bit PCM in MOV (an editing master)',
    expect: { display: { width: 1280, height: 720 }, frameRate: '24000/1001', seconds: SECONDS, audio: ['und'] },
    make: (dir) =>
      make(dir, 'prores-hq.mov', [...bars('1280x720', '24000/1001', SECONDS), ...tone(SECONDS), '-c:v', 'prores_ks', '-profile:v', '3', '-c:a', 'pcm_s24le']),
  },
  {
    name: 'broadcast-1080i25.ts',
    what: 'broadcast: MPEG-2 1080i25 in MPEG-TS, top field first, AC-3',
    expect: { display: { width: 1920, height: 1080 }, frameRate: '25/1', seconds: 2, audio: ['und'], interlaced: true },
    make: (dir) =>
      make(dir, 'broadcast-1080i25.ts', [
        ...bars('1920x1080', '50', 2),
        ...tone(2),
        '-vf',
        'tinterlace=interleave_top,fieldorder=tff',
        '-flags',
        '+ilme+ildct',
        '-top',
        '1',
        '-c:v',
        'mpeg2video',
        '-b:v',
        '8M',
        '-c:a',
        'ac3',
        '-f',
        'mpegts',
      ]),
  },
  {
    name: 'telecine-480i.mpg',
    what: 'MPEG-2 480i29.97 carrying 23.976 film (3:2 pulldown)',
    expect: { display: { width: 640, height: 480 }, frameRate: '30000/1001', seconds: SECONDS, audio: ['und'], interlaced: true },
    make: (dir) =>
      make(dir, 'telecine-480i.mpg', [
        ...bars('720x480', '24000/1001', SECONDS),
        ...tone(SECONDS),
        '-vf',
        'telecine=first_field=top:pattern=23,setsar=8/9',
        '-flags',
        '+ilme+ildct',
        '-top',
        '1',
        '-c:v',
        'mpeg2video',
        '-b:v',
        '4M',
        '-c:a',
        'mp2',
        '-f',
        'vob',
      ]),
  },
  {
    name: 'camcorder-xvid.avi',
    what: 'old camera: MPEG-4 ASP (Xvid) and MP3 in AVI',
    expect: { display: { width: 640, height: 480 }, frameRate: '25/1', seconds: SECONDS, audio: ['und'] },
    make: (dir) =>
      make(dir, 'camcorder-xvid.avi', [
        ...bars('640x480', '25', SECONDS),
        ...tone(SECONDS, 44100),
        '-c:v',
        'mpeg4',
        '-vtag',
        'XVID',
        '-q:v',
        '5',
        '-c:a',
        'libmp3lame',
      ]),
  },
  {
    name: 'camera-mjpeg.avi',
    what: 'old camera: full-range MJPEG and PCM in AVI',
    expect: { display: { width: 640, height: 480 }, frameRate: '30/1', seconds: SECONDS, audio: ['und'] },
    make: (dir) =>
      make(dir, 'camera-mjpeg.avi', [
        ...bars('640x480', '30', SECONDS),
        ...tone(SECONDS, 32000),
        '-c:v',
        'mjpeg',
        '-pix_fmt',
        'yuvj420p',
        '-q:v',
        '4',
        '-c:a',
        'pcm_s16le',
      ]),
  },
  {
    name: 'screen-444.mp4',
    what: 'screen recording: H.264 High 4:4:4 at 1366×767, no audio',
    expect: { display: { width: 1366, height: 767 }, frameRate: '30/1', seconds: SECONDS, audio: [] },
    // 4:4:4 before the crop: a 4:2:0 picture cannot have an odd height.
    make: (dir) =>
      make(dir, 'screen-444.mp4', [
        ...bars('1366x768', '30', SECONDS),
        '-vf',
        'format=yuv444p,crop=1366:767:0:0',
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-profile:v',
        'high444',
      ]),
  },
  {
    name: 'sports-1080p60.mp4',
    what: '1080p60',
    expect: { display: { width: 1920, height: 1080 }, frameRate: '60/1', seconds: 2, audio: ['und'] },
    make: (dir) => make(dir, 'sports-1080p60.mp4', [...bars('1920x1080', '60', 2), ...tone(2), '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']),
  },
  {
    name: 'film-2.39.mp4',
    what: '23.976 fps film at 2.39:1',
    expect: { display: { width: 1920, height: 804 }, frameRate: '24000/1001', seconds: SECONDS, audio: ['und'] },
    make: (dir) =>
      make(dir, 'film-2.39.mp4', [...bars('1920x804', '24000/1001', SECONDS), ...tone(SECONDS), '-c:v', 'libx264', '-preset', 'ultrafast', '-c:a', 'aac']),
  },
  {
    name: 'uhd-hevc.mp4',
    what: '4K HEVC (3840×2160)',
    expect: { display: { width: 3840, height: 2160 }, frameRate: '25/1', seconds: 2, audio: ['und'] },
    make: (dir) =>
      make(dir, 'uhd-hevc.mp4', [
        ...bars('3840x2160', '25', 2),
        ...tone(2),
        '-c:v',
        'libx265',
        '-preset',
        'ultrafast',
        '-x265-params',
        'log-level=error',
        '-tag:v',
        'hvc1',
        '-c:a',
        'aac',
      ]),
  },
  {
    name: 'two-languages.mkv',
    what: 'Matroska with two audio languages (English default, French) and an SRT track',
    expect: { display: { width: 640, height: 360 }, frameRate: '25/1', seconds: SECONDS, audio: ['en', 'fr'], subtitles: ['en'] },
    make: async (dir) => {
      const srt = path.join(dir, 'two-languages.srt');
      await writeFile(srt, '1\n00:00:00,500 --> 00:00:01,500\nHello.\n\n2\n00:00:01,800 --> 00:00:02,800\nGoodbye.\n');
      return make(dir, 'two-languages.mkv', [
        ...bars('640x360', '25', SECONDS),
        ...tone(SECONDS),
        '-f',
        'lavfi',
        '-i',
        `sine=f=660:r=48000:d=${SECONDS}`,
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
        '-c:v',
        'libx264',
        '-preset',
        'ultrafast',
        '-c:a',
        'aac',
        '-c:s',
        'srt',
        '-metadata:s:a:0',
        'language=eng',
        '-metadata:s:a:0',
        'title=English',
        '-metadata:s:a:1',
        'language=fra',
        '-metadata:s:a:1',
        'title=Français',
        '-disposition:a:0',
        'default',
        '-disposition:a:1',
        '0',
        '-metadata:s:s:0',
        'language=eng',
      ]);
    },
  },
];

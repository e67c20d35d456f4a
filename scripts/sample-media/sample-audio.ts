/**
 * Generated audio with known loudness, for the audio step's tests and bench. Every signal comes from lavfi sources,
 * so it is exact and needs no download; the expected measurements are stated next to each generator.
 * Each generator is `(ffmpegPath, outPath, opts?) => Promise<outPath>`, like scripts/sample-media/sample-media.ts.
 */
import { runFfmpeg as ffmpeg } from './sample-media.ts';
import { open, readFile, rm, stat, writeFile } from 'node:fs/promises';

/** Generous: three minutes of synthesized music take a few seconds on a busy core. */
const BITEXACT = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

export interface ToneOptions {
  durationSeconds?: number;
}

/**
 * EBU Tech 3341 test case 1: a 997 Hz sine at −23 dBFS peak in both channels of a stereo pair measures −23.0 LUFS.
 * 48 kHz, 24-bit WAV, so quantization stays far below the tolerance.
 */
export async function referenceTone(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 20 } = opts;
  const amplitude = 10 ** (-23 / 20);
  const sine = `${amplitude.toFixed(9)}*sin(2*PI*997*t)`;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='${sine}|${sine}':s=48000:d=${durationSeconds}`,
    '-c:a',
    'pcm_s24le',
    ...BITEXACT,
    '-f',
    'wav',
    outPath,
  ]);
  return outPath;
}

/**
 * A hot master: pink noise and a plucked bass, pushed into a limiter at −0.26 dBFS. About −9 LUFS integrated with
 * a true peak of about −0.2 dBTP, above its sample peak (a sample-peak limiter lets inter-sample peaks through).
 * 44.1 kHz stereo FLAC.
 */
export async function hotMaster(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 10 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `anoisesrc=color=pink:amplitude=0.35:sample_rate=44100:duration=${durationSeconds}:seed=7`,
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='0.5*sin(2*PI*110*t)*exp(-3*mod(t,0.5))':s=44100:d=${durationSeconds}`,
    '-filter_complex',
    '[0:a]pan=stereo|c0=c0|c1=c0[noise];[1:a]pan=stereo|c0=c0|c1=c0[bass];[noise][bass]amix=inputs=2:normalize=0,volume=3dB,alimiter=limit=0.97:level=false:attack=1:release=20',
    '-c:a',
    'flac',
    ...BITEXACT,
    '-f',
    'flac',
    outPath,
  ]);
  return outPath;
}

/**
 * Quiet material with sharp transients: a room-tone bed (pink noise below 6 kHz) with a 0.3 ms 2.5 kHz click
 * peaking near −6 dBFS every 1.25 s. The bed carries the loudness (about −28 LUFS), the clicks the peaks (about −5 dBTP): reaching −14 LUFS
 * would take ~14 dB, the peaks allow ~4.
 */
export async function quietWithTransients(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 10 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `anoisesrc=color=pink:amplitude=0.18:sample_rate=48000:duration=${durationSeconds}:seed=3`,
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='0.5*exp(-3000*mod(t,1.25))*sin(2*PI*2500*t+1)':s=48000:d=${durationSeconds}`,
    '-filter_complex',
    '[0:a]lowpass=f=6000[bed];[bed][1:a]amix=inputs=2:normalize=0,pan=stereo|c0=c0|c1=c0',
    '-c:a',
    'pcm_s24le',
    ...BITEXACT,
    '-f',
    'wav',
    outPath,
  ]);
  return outPath;
}

/**
 * 5.1 (FL FR FC LFE BL BR) that checks the downmix: 997 Hz at −20 dBFS in FC and in BL, 60 Hz at −6 dBFS in LFE,
 * the rest silent. With BS.775 coefficients (centre and surround −3 dB, LFE dropped) the stereo fold-down is
 * L = −17.0 dBFS, R = −23.0 dBFS peak, which measures −19.0 LUFS; any LFE in the mix would add several LU.
 */
export async function surround51(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 6 } = opts;
  const tone = '0.1*sin(2*PI*997*t)';
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='0|0|${tone}|0.5*sin(2*PI*60*t)|${tone}|0':s=48000:d=${durationSeconds}:c=5.1`,
    '-c:a',
    'pcm_s16le',
    ...BITEXACT,
    '-f',
    'wav',
    outPath,
  ]);
  return outPath;
}

/** Stereo 48 kHz WAV of zeros: digital silence. */
export async function digitalSilence(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 4 } = opts;
  await ffmpeg(ffmpegPath, ['-f', 'lavfi', '-i', `anullsrc=r=48000:cl=stereo:d=${durationSeconds}`, '-c:a', 'pcm_s16le', ...BITEXACT, '-f', 'wav', outPath]);
  return outPath;
}

/**
 * A music-like master for the bench: an 8 s C–G–Am–F progression of plucked triads (the pattern of
 * sample-media.ts's musicLikeAudio, rendered once and looped, since aevalsrc is slow), with quiet verses and loud
 * choruses so the preview has a loud section to find. 48 kHz stereo FLAC; about −18 LUFS, true peak about −2.8 dBTP.
 */
export async function musicMaster(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 180 } = opts;
  const bar = 'mod(floor(t/2),4)';
  const root = `if(eq(${bar},0),261.63,if(eq(${bar},1),196,if(eq(${bar},2),220,174.61)))`;
  const third = `if(eq(${bar},2),1.2,1.25)`;
  const channel = (detune: number, offset: number): string =>
    `st(0,2*PI*${detune}*${root});st(1,${third});0.25*exp(-4*mod(t+${offset},0.5))*(sin(ld(0)*t)+0.8*sin(ld(0)*ld(1)*t)+0.7*sin(ld(0)*1.5*t))+0.2*exp(-1.5*mod(t,2))*sin(ld(0)*t/(2*${detune}))`;
  // Verses 6 dB down, choruses at full level: 40 s verse, 20 s chorus, repeating.
  const sections = "volume='if(lt(mod(t,60),40),0.5,1)':eval=frame";
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='${channel(1, 0)}|${channel(1.003, 0.25)}':channel_layout=stereo:sample_rate=48000:duration=8,aloop=loop=-1:size=${8 * 48000}`,
    '-af',
    `atrim=duration=${durationSeconds},${sections}`,
    '-c:a',
    'flac',
    ...BITEXACT,
    '-f',
    'flac',
    outPath,
  ]);
  return outPath;
}

/**
 * An M4A whose AAC payload is garbage: the container is intact (ffprobe reads it, ingest classifies it as audio),
 * but no frame decodes. The mdat's bytes are overwritten with a fixed pseudo-random sequence, so it is reproducible.
 */
export async function undecodableM4a(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 3 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${durationSeconds}`,
    '-c:a',
    'aac',
    '-b:a',
    '128k',
    ...BITEXACT,
    '-movflags',
    '+faststart',
    '-f',
    'mp4',
    outPath,
  ]);
  const handle = await open(outPath, 'r+');
  try {
    const { size } = await stat(outPath);
    const header = Buffer.alloc(8);
    for (let offset = 0; offset + 8 <= size;) {
      await handle.read(header, 0, 8, offset);
      const boxSize = header.readUInt32BE(0);
      if (header.toString('latin1', 4, 8) === 'mdat') {
        const payload = Buffer.alloc(boxSize - 8);
        let state = 0x2545f491;
        for (let i = 0; i < payload.length; i++) {
          // xorshift32: deterministic noise with no structure an AAC decoder could sync to.
          state ^= state << 13;
          state ^= state >>> 17;
          state ^= state << 5;
          payload[i] = state & 0xff;
        }
        await handle.write(payload, 0, payload.length, offset + 8);
        break;
      }
      if (boxSize < 8) break;
      offset += boxSize;
    }
  } finally {
    await handle.close();
  }
  return outPath;
}

/**
 * An MPEG-TS whose audio switches from 44.1 kHz stereo to 48 kHz mono halfway, as joined captures do: two MP2
 * segments written back to back. Each half is valid; the stream as a whole changes format mid-way.
 */
export async function formatChangingTs(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 4 } = opts;
  const half = durationSeconds / 2;
  const first = `${outPath}.first.ts`;
  const second = `${outPath}.second.ts`;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=44100:duration=${half}`,
    '-ac',
    '2',
    '-c:a',
    'mp2',
    ...BITEXACT,
    '-f',
    'mpegts',
    first,
  ]);
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=48000:duration=${half}`,
    '-ac',
    '1',
    '-c:a',
    'mp2',
    ...BITEXACT,
    '-f',
    'mpegts',
    second,
  ]);
  await writeFile(outPath, Buffer.concat([await readFile(first), await readFile(second)]));
  await Promise.all([rm(first), rm(second)]);
  return outPath;
}

/** Cover art and tags for the tag-reading tests: every file is a 440 Hz tone plus the tags named in each generator. */
export interface TaggedAudioOptions {
  durationSeconds?: number;
  /** Size of the generated cover picture (testsrc2, JPEG). */
  coverWidth?: number;
  coverHeight?: number;
  /** Chapters of equal length over the file, titled "Chapter N". */
  chapters?: number;
}

/** The tags every tagged sample carries (ID3 frame in brackets where the key alone does not say it). */
export const SAMPLE_TAGS = {
  title: 'Night Drive',
  artist: 'The Testers',
  album: 'Synthetic Hours',
  album_artist: 'Various Testers',
  track: '3/12',
  disc: '1/2',
  date: '2021',
  genre: 'Electronic',
  language: 'eng',
  publisher: 'Mediaflow Records',
  TSRC: 'USRC17607839',
} as const;

function tagArgs(tags: Readonly<Record<string, string>>): string[] {
  return Object.entries(tags).flatMap(([key, value]) => ['-metadata', `${key}=${value}`]);
}

function toneInput(durationSeconds: number): string[] {
  return ['-f', 'lavfi', '-i', `sine=frequency=440:sample_rate=44100:duration=${durationSeconds}`];
}

/** A JPEG cover of the given size (testsrc2: colour bars and a counter, so crops and scales are visible). */
export async function coverJpeg(ffmpegPath: string, outPath: string, opts: { width?: number; height?: number } = {}): Promise<string> {
  const { width = 800, height = 800 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=${width}x${height}:rate=1:duration=1`,
    '-frames:v',
    '1',
    '-c:v',
    'mjpeg',
    '-pix_fmt',
    'yuvj420p',
    '-f',
    'image2',
    outPath,
  ]);
  return outPath;
}

/** An ffmetadata file with `count` equal chapters over `durationSeconds` (ffmpeg writes them as ID3 CHAP/CTOC or MP4 chapters). */
async function chapterFile(outPath: string, count: number, durationSeconds: number): Promise<string> {
  const length = Math.floor((durationSeconds * 1000) / count);
  const chapters = Array.from(
    { length: count },
    (_, index) => `[CHAPTER]\nTIMEBASE=1/1000\nSTART=${index * length}\nEND=${(index + 1) * length}\ntitle=Chapter ${index + 1}\n`,
  );
  await writeFile(outPath, `;FFMETADATA1\n${chapters.join('')}`);
  return outPath;
}

/** MP3 with ID3v2.3 tags (SAMPLE_TAGS) and an APIC front cover, as taggers write them. */
export async function taggedMp3WithCover(ffmpegPath: string, outPath: string, opts: TaggedAudioOptions = {}): Promise<string> {
  const { durationSeconds = 3, coverWidth = 800, coverHeight = 700 } = opts;
  const cover = await coverJpeg(ffmpegPath, `${outPath}.cover.jpg`, { width: coverWidth, height: coverHeight });
  await ffmpeg(ffmpegPath, [
    ...toneInput(durationSeconds),
    '-i',
    cover,
    '-map',
    '0',
    '-map',
    '1',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '64k',
    '-c:v',
    'mjpeg',
    '-id3v2_version',
    '3',
    '-metadata:s:v',
    'title=Album cover',
    '-metadata:s:v',
    'comment=Cover (front)',
    ...tagArgs(SAMPLE_TAGS),
    '-f',
    'mp3',
    outPath,
  ]);
  await rm(cover);
  return outPath;
}

/** MP3 (ID3v2.4) with CHAP frames and a CTOC, from ffmetadata chapters: a podcast episode. */
export async function mp3WithChapters(ffmpegPath: string, outPath: string, opts: TaggedAudioOptions = {}): Promise<string> {
  const { durationSeconds = 6, chapters = 3 } = opts;
  const meta = await chapterFile(`${outPath}.chapters.txt`, chapters, durationSeconds);
  await ffmpeg(ffmpegPath, [
    ...toneInput(durationSeconds),
    '-i',
    meta,
    '-map',
    '0:a',
    '-map_metadata',
    '1',
    '-map_chapters',
    '1',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '64k',
    '-metadata',
    'title=Episode 1',
    '-f',
    'mp3',
    outPath,
  ]);
  await rm(meta);
  return outPath;
}

/**
 * M4A with a covr picture, iTunes tags and chapters (ffmpeg's mp4 muxer writes a QuickTime text chapter track and
 * a Nero chpl box). Without faststart the moov comes after the mdat, as many encoders leave it. `lossless` makes
 * ALAC pink noise instead of an AAC tone: about 180 KB a second, for large files that are quick to make.
 */
export async function m4aWithCoverAndChapters(ffmpegPath: string, outPath: string, opts: TaggedAudioOptions & { lossless?: boolean } = {}): Promise<string> {
  const { durationSeconds = 6, chapters = 3, coverWidth = 600, coverHeight = 600, lossless = false } = opts;
  const cover = await coverJpeg(ffmpegPath, `${outPath}.cover.jpg`, { width: coverWidth, height: coverHeight });
  const meta = await chapterFile(`${outPath}.chapters.txt`, chapters, durationSeconds);
  const input = lossless ? ['-f', 'lavfi', '-i', `anoisesrc=color=pink:sample_rate=48000:duration=${durationSeconds}:seed=5`] : toneInput(durationSeconds);
  const codec = lossless ? ['-ac', '2', '-c:a', 'alac', '-sample_fmt', 's32p'] : ['-c:a', 'aac', '-b:a', '96k'];
  await ffmpeg(ffmpegPath, [
    ...input,
    '-i',
    cover,
    '-i',
    meta,
    '-map',
    '0:a',
    '-map',
    '1',
    '-map_metadata',
    '2',
    '-map_chapters',
    '2',
    ...codec,
    '-c:v',
    'copy',
    '-disposition:v',
    'attached_pic',
    ...tagArgs({ title: SAMPLE_TAGS.title, artist: SAMPLE_TAGS.artist, album: SAMPLE_TAGS.album, track: '3/12', date: '2021' }),
    '-f',
    'ipod',
    outPath,
  ]);
  await Promise.all([rm(cover), rm(meta)]);
  return outPath;
}

/** FLAC with Vorbis comments and a PICTURE metadata block (type 3, front cover). */
export async function flacWithPicture(ffmpegPath: string, outPath: string, opts: TaggedAudioOptions = {}): Promise<string> {
  const { durationSeconds = 3, coverWidth = 640, coverHeight = 640 } = opts;
  const cover = await coverJpeg(ffmpegPath, `${outPath}.cover.jpg`, { width: coverWidth, height: coverHeight });
  await ffmpeg(ffmpegPath, [
    ...toneInput(durationSeconds),
    '-i',
    cover,
    '-map',
    '0',
    '-map',
    '1',
    '-c:a',
    'flac',
    '-c:v',
    'copy',
    '-disposition:v',
    'attached_pic',
    '-metadata:s:v',
    'comment=Cover (front)',
    ...tagArgs({ title: SAMPLE_TAGS.title, artist: SAMPLE_TAGS.artist, ISRC: SAMPLE_TAGS.TSRC, tracknumber: '3', tracktotal: '12' }),
    '-f',
    'flac',
    outPath,
  ]);
  await rm(cover);
  return outPath;
}

/**
 * Opus in Ogg with the cover as a METADATA_BLOCK_PICTURE comment (base64 of a FLAC PICTURE block): ffmpeg 5's ogg
 * muxer refuses a picture stream, so the comment is built here, as opus-tools and taggers write it.
 */
export async function opusWithPicture(ffmpegPath: string, outPath: string, opts: TaggedAudioOptions = {}): Promise<string> {
  const { durationSeconds = 3, coverWidth = 500, coverHeight = 500 } = opts;
  const cover = await coverJpeg(ffmpegPath, `${outPath}.cover.jpg`, { width: coverWidth, height: coverHeight });
  const jpeg = await readFile(cover);
  const u32 = (value: number): Buffer => {
    const buffer = Buffer.alloc(4);
    buffer.writeUInt32BE(value);
    return buffer;
  };
  const mime = Buffer.from('image/jpeg');
  const description = Buffer.from('Front');
  // FLAC PICTURE block: type 3 (front cover), MIME, description, width, height, depth, palette size, data.
  const block = Buffer.concat([
    u32(3),
    u32(mime.length),
    mime,
    u32(description.length),
    description,
    u32(coverWidth),
    u32(coverHeight),
    u32(24),
    u32(0),
    u32(jpeg.length),
    jpeg,
  ]);
  await ffmpeg(ffmpegPath, [
    ...toneInput(durationSeconds),
    '-c:a',
    'libopus',
    '-b:a',
    '64k',
    ...tagArgs({ title: SAMPLE_TAGS.title, artist: SAMPLE_TAGS.artist }),
    '-metadata',
    `METADATA_BLOCK_PICTURE=${block.toString('base64')}`,
    '-f',
    'ogg',
    outPath,
  ]);
  await rm(cover);
  return outPath;
}

/**
 * MP3 whose tags were written by someone hostile: control characters and a bidi override in the artist, a 100 KB
 * title, and a TXXX frame named `__name__` (a key Firestore reserves).
 */
export async function hostileTagsMp3(ffmpegPath: string, outPath: string, opts: TaggedAudioOptions = {}): Promise<string> {
  const { durationSeconds = 2 } = opts;
  await ffmpeg(ffmpegPath, [
    ...toneInput(durationSeconds),
    '-c:a',
    'libmp3lame',
    '-b:a',
    '64k',
    '-id3v2_version',
    '3',
    '-metadata',
    `title=${'T'.repeat(100 * 1024)}`,
    '-metadata',
    'artist=Evil\u0001\u001b[31m\u202eArtist\u0007',
    '-metadata',
    '__name__=reserved',
    '-metadata',
    'album=\u0008Album\u007f',
    '-f',
    'mp3',
    outPath,
  ]);
  return outPath;
}

/**
 * Everyday lossy files whose containers misstate the programme's length (issue 13). Each holds a 440 Hz tone of
 * exactly `durationSeconds`; what the container says differs:
 *  - LAME MP3 at 128k CBR with its Xing/LAME header: ffprobe says 20.035918 s for 20 s (encoder delay and padding
 *    counted); ffmpeg's decoder trims both and gives exactly 882 000 samples at 44.1 kHz;
 *  - AAC-LC in ADTS (.aac): no index, so ffprobe estimates from the bitrate (19.65 s for 20 s), and no priming
 *    information, so the decode starts with ffmpeg's 1024-sample priming frame and ends with the last frame's padding;
 *  - a voice memo, AAC-LC mono 16 kHz in M4A: the edit list skips the priming and states 20 s exactly, which
 *    ffmpeg 5.1's decoder runs past by the last frame's padding (20.032 s).
 */
export async function lameCbrMp3(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 20 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:duration=${durationSeconds}`,
    '-ar',
    '44100',
    '-ac',
    '2',
    '-c:a',
    'libmp3lame',
    '-b:a',
    '128k',
    ...BITEXACT,
    '-f',
    'mp3',
    outPath,
  ]);
  return outPath;
}

export async function adtsAac(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 20 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=44100:duration=${durationSeconds}`,
    '-ac',
    '2',
    '-c:a',
    'aac',
    '-b:a',
    '160k',
    ...BITEXACT,
    '-f',
    'adts',
    outPath,
  ]);
  return outPath;
}

export async function voiceMemoM4a(ffmpegPath: string, outPath: string, opts: ToneOptions = {}): Promise<string> {
  const { durationSeconds = 20 } = opts;
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `sine=frequency=440:sample_rate=16000:duration=${durationSeconds}`,
    '-ac',
    '1',
    '-c:a',
    'aac',
    '-b:a',
    '32k',
    ...BITEXACT,
    '-movflags',
    '+faststart',
    '-f',
    'ipod',
    outPath,
  ]);
  return outPath;
}

/**
 * A small video (320×240, 15 fps) whose AAC track has the given channels: mono, stereo or 5.1 (the tone in every
 * channel but the LFE). For the HLS master playlist's CHANNELS: mono stays mono, 5.1 is delivered as a stereo downmix.
 */
export async function videoWithChannels(ffmpegPath: string, outPath: string, opts: ToneOptions & { channels?: 1 | 2 | 6 } = {}): Promise<string> {
  const { durationSeconds = 4, channels = 1 } = opts;
  const layout = channels === 1 ? 'mono' : channels === 2 ? 'stereo' : '5.1';
  const tone = '0.1*sin(2*PI*440*t)';
  const signal = channels === 6 ? [tone, tone, tone, '0', tone, tone] : Array.from({ length: channels }, () => tone);
  await ffmpeg(ffmpegPath, [
    '-f',
    'lavfi',
    '-i',
    `testsrc2=size=320x240:rate=15:duration=${durationSeconds}`,
    '-f',
    'lavfi',
    '-i',
    `aevalsrc='${signal.join('|')}':s=48000:d=${durationSeconds}:c=${layout}`,
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-pix_fmt',
    'yuv420p',
    '-c:a',
    'aac',
    '-b:a',
    `${64 * channels}k`,
    '-movflags',
    '+faststart',
    ...BITEXACT,
    '-f',
    'mp4',
    outPath,
  ]);
  return outPath;
}

/**
 * The audio files people upload, made the way their encoders make them: LAME's Xing/LAME header and encoder delay,
 * AAC's priming in MP4 edit lists and its absence in ADTS, ASF preroll, ID3 tags with covers and chapters. Every
 * file carries the same programme: a 997 Hz tone at −23 dBFS in both channels (EBU Tech 3341 case 1: −23.0 LUFS)
 * for exactly `seconds`, so duration and loudness can be checked against one known truth.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { runFfmpeg } from '../../scripts/sample-media/sample-media.ts';

export interface EverydayFile {
  readonly name: string;
  /** Where phones, DAWs and stores make such files: what the row is about. */
  readonly what: string;
  readonly channels: number;
  readonly make: (dir: string, seconds: number) => Promise<string>;
}

const TONE_AMPLITUDE = 10 ** (-23 / 20);

function tone(rate: number, channels: number, seconds: number): string[] {
  const sine = `${TONE_AMPLITUDE.toFixed(9)}*sin(2*PI*997*t)`;
  return ['-f', 'lavfi', '-i', `aevalsrc='${Array.from({ length: channels }, () => sine).join('|')}':s=${rate}:d=${seconds}`];
}

async function encode(dir: string, name: string, input: string[], output: string[]): Promise<string> {
  const file = path.join(dir, name);
  await runFfmpeg('ffmpeg', [...input, ...output, file]);
  return file;
}

/** A 600×600 JPEG cover, as stores embed them. */
async function cover(dir: string): Promise<string> {
  const file = path.join(dir, 'cover-source.jpg');
  await runFfmpeg('ffmpeg', ['-f', 'lavfi', '-i', 'testsrc2=s=600x600:d=1', '-frames:v', '1', file]);
  return file;
}

/** Three chapters over the programme, in ffmpeg's metadata format (written as ID3 CHAP or QuickTime chapters). */
async function chapters(dir: string, seconds: number): Promise<string> {
  const file = path.join(dir, 'chapters.ffmeta');
  const third = Math.floor((seconds * 1000) / 3);
  const block = (start: number, end: number, title: string): string => `[CHAPTER]\nTIMEBASE=1/1000\nSTART=${start}\nEND=${end}\ntitle=${title}\n`;
  await writeFile(
    file,
    `;FFMETADATA1\ntitle=Episode 12\nartist=The Hosts\n${block(0, third, 'Intro')}${block(third, 2 * third, 'Interview')}${block(2 * third, seconds * 1000, 'Outro')}`,
  );
  return file;
}

const tags = [
  '-metadata',
  'title=Test Tone',
  '-metadata',
  'artist=mediaflow',
  '-metadata',
  'album=Everyday Formats',
  '-metadata',
  'track=3/12',
  '-metadata',
  'date=2026',
  '-metadata',
  'genre=Test',
];

export const everydayAudio: readonly EverydayFile[] = [
  {
    name: 'lame-cbr-128k.mp3',
    what: 'LAME MP3, 128k CBR, Xing/LAME header',
    channels: 2,
    make: (dir, s) => encode(dir, 'lame-cbr-128k.mp3', tone(44100, 2, s), ['-c:a', 'libmp3lame', '-b:a', '128k']),
  },
  {
    name: 'lame-v2.mp3',
    what: 'LAME MP3, V2 VBR',
    channels: 2,
    make: (dir, s) => encode(dir, 'lame-v2.mp3', tone(44100, 2, s), ['-c:a', 'libmp3lame', '-q:a', '2']),
  },
  {
    name: 'voice-22k-mono.mp3',
    what: 'LAME MP3, mono 22.05 kHz voice',
    channels: 1,
    make: (dir, s) => encode(dir, 'voice-22k-mono.mp3', tone(22050, 1, s), ['-c:a', 'libmp3lame', '-b:a', '48k']),
  },
  {
    name: 'id3-cover.mp3',
    what: 'MP3 with ID3v2.3 tags and APIC cover art',
    channels: 2,
    make: async (dir, s) =>
      encode(
        dir,
        'id3-cover.mp3',
        [...tone(44100, 2, s), '-i', await cover(dir)],
        [
          '-map',
          '0',
          '-map',
          '1',
          '-c:a',
          'libmp3lame',
          '-b:a',
          '192k',
          '-c:v',
          'mjpeg',
          '-id3v2_version',
          '3',
          ...tags,
          '-metadata:s:v',
          'title=Album cover',
          '-metadata:s:v',
          'comment=Cover (front)',
          '-disposition:v',
          'attached_pic',
        ],
      ),
  },
  {
    name: 'podcast-chapters.mp3',
    what: 'MP3 podcast with ID3 CHAP/CTOC chapters',
    channels: 2,
    make: async (dir, s) =>
      encode(
        dir,
        'podcast-chapters.mp3',
        [...tone(44100, 2, s), '-i', await chapters(dir, s)],
        ['-map', '0', '-map_metadata', '1', '-map_chapters', '1', '-c:a', 'libmp3lame', '-b:a', '96k', '-id3v2_version', '3'],
      ),
  },
  {
    name: 'adts.aac',
    what: 'AAC-LC in ADTS, no index and no priming information',
    channels: 2,
    make: (dir, s) => encode(dir, 'adts.aac', tone(44100, 2, s), ['-c:a', 'aac', '-b:a', '160k', '-f', 'adts']),
  },
  {
    name: 'itunes.m4a',
    what: 'iTunes-style AAC in MP4, priming in the edit list',
    channels: 2,
    make: (dir, s) => encode(dir, 'itunes.m4a', tone(44100, 2, s), ['-c:a', 'aac', '-b:a', '256k', ...tags, '-movflags', '+faststart']),
  },
  {
    name: 'alac.m4a',
    what: 'Apple Lossless in MP4',
    channels: 2,
    make: (dir, s) => encode(dir, 'alac.m4a', tone(44100, 2, s), ['-c:a', 'alac', '-sample_fmt', 's16p']),
  },
  {
    name: 'voice-memo.m4a',
    what: 'voice memo: AAC mono 16 kHz in MP4',
    channels: 1,
    make: (dir, s) => encode(dir, 'voice-memo.m4a', tone(16000, 1, s), ['-c:a', 'aac', '-b:a', '32k']),
  },
  {
    name: 'voice-memo.3gp',
    what: 'voice memo: AAC mono 16 kHz in 3GP',
    channels: 1,
    make: (dir, s) => encode(dir, 'voice-memo.3gp', tone(16000, 1, s), ['-c:a', 'aac', '-b:a', '32k', '-f', '3gp']),
  },
  { name: 'pcm16.wav', what: 'WAV, 16-bit 44.1 kHz', channels: 2, make: (dir, s) => encode(dir, 'pcm16.wav', tone(44100, 2, s), ['-c:a', 'pcm_s16le']) },
  { name: 'pcm24.wav', what: 'WAV, 24-bit 48 kHz', channels: 2, make: (dir, s) => encode(dir, 'pcm24.wav', tone(48000, 2, s), ['-c:a', 'pcm_s24le']) },
  { name: 'pcm.aiff', what: 'AIFF, 16-bit big-endian', channels: 2, make: (dir, s) => encode(dir, 'pcm.aiff', tone(44100, 2, s), ['-c:a', 'pcm_s16be']) },
  {
    name: 'hires-24-96.flac',
    what: 'FLAC 24-bit 96 kHz',
    channels: 2,
    make: (dir, s) => encode(dir, 'hires-24-96.flac', tone(96000, 2, s), ['-c:a', 'flac', '-sample_fmt', 's32', '-bits_per_raw_sample', '24']),
  },
  { name: 'vorbis.ogg', what: 'Ogg Vorbis', channels: 2, make: (dir, s) => encode(dir, 'vorbis.ogg', tone(44100, 2, s), ['-c:a', 'libvorbis', '-q:a', '5']) },
  {
    name: 'opus.opus',
    what: 'Opus in Ogg, 48 kHz with pre-skip',
    channels: 2,
    make: (dir, s) => encode(dir, 'opus.opus', tone(48000, 2, s), ['-c:a', 'libopus', '-b:a', '128k']),
  },
  {
    name: 'wma2.wma',
    what: 'WMA v2 in ASF, with preroll',
    channels: 2,
    make: (dir, s) => encode(dir, 'wma2.wma', tone(44100, 2, s), ['-c:a', 'wmav2', '-b:a', '128k']),
  },
  {
    name: 'ac3-51.ac3',
    what: 'AC-3 5.1 (the tone in L and R)',
    channels: 6,
    make: (dir, s) => encode(dir, 'ac3-51.ac3', tone(48000, 2, s), ['-af', 'pan=5.1|FL=c0|FR=c1', '-c:a', 'ac3', '-b:a', '448k']),
  },
  {
    name: 'eac3.mp4',
    what: 'E-AC-3 stereo in MP4',
    channels: 2,
    make: (dir, s) => encode(dir, 'eac3.mp4', tone(48000, 2, s), ['-c:a', 'eac3', '-b:a', '192k']),
  },
];

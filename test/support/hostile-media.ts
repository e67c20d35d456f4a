/**
 * Files made to lie: real encodes from ffmpeg, then the one header field an attacker (or a broken muxer) would
 * change, patched in place. Each patch is checked, so a muxer that moves the field fails the fixture, not the test.
 */
import { readFile, writeFile } from 'node:fs/promises';
import { runFfmpeg } from '../../scripts/sample-media/sample-media.ts';

const ffmpeg = (args: readonly string[]): Promise<void> => runFfmpeg('ffmpeg', args);

function find(bytes: Buffer, needle: Buffer | string, from = 0): number {
  const at = bytes.indexOf(needle, from);
  if (at < 0) throw new Error(`fixture: ${String(needle)} not found; did the muxer change?`);
  return at;
}

/**
 * A 1 s MP4 whose header says it lasts `days` days: every duration field (mvhd, mdhd, the edit list, the sample
 * table) scaled, as a crafted or corrupted file would have them. The track timescale is 25 so the deltas fit 32 bits.
 */
export async function lyingDurationMp4(path: string, days: number): Promise<string> {
  await ffmpeg([
    '-f',
    'lavfi',
    '-i',
    'testsrc=s=160x120:r=25:d=1',
    '-c:v',
    'libx264',
    '-preset',
    'ultrafast',
    '-g',
    '25',
    '-video_track_timescale',
    '25',
    path,
  ]);
  const bytes = await readFile(path);
  const seconds = days * 86_400;
  const stts = find(bytes, 'stts');
  if (bytes.readUInt32BE(stts + 8) !== 1) throw new Error('fixture: expected one stts entry');
  bytes.writeUInt32BE(Math.round((seconds * 25) / bytes.readUInt32BE(stts + 12)), stts + 16);
  for (const box of ['mvhd', 'mdhd']) {
    const at = find(bytes, box);
    bytes.writeUInt32BE(Math.round(seconds * bytes.readUInt32BE(at + 16)), at + 20);
  }
  const mvhd = find(bytes, 'mvhd');
  const elst = find(bytes, 'elst');
  bytes.writeUInt32BE(Math.round(seconds * bytes.readUInt32BE(mvhd + 16)), elst + 12);
  await writeFile(path, bytes);
  return path;
}

/** A 1 s Matroska file whose Segment Duration says `seconds`. */
export async function lyingDurationMkv(path: string, seconds: number): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=25:d=1', '-c:v', 'libx264', '-preset', 'ultrafast', path]);
  const bytes = await readFile(path);
  // EBML element 0x4489 (Duration), in TimecodeScale units (ffmpeg writes 1 ms), as an 8- or 4-byte float.
  const at = find(bytes, Buffer.from([0x44, 0x89]));
  const size = bytes[at + 2]! & 0x7f;
  if (size === 8) bytes.writeDoubleBE(seconds * 1000, at + 3);
  else if (size === 4) bytes.writeFloatBE(seconds * 1000, at + 3);
  else throw new Error(`fixture: Duration of ${size} bytes`);
  await writeFile(path, bytes);
  return path;
}

/** A mono 8 kHz FLAC holding `actualSeconds` of a tone whose STREAMINFO says `statedSeconds`. */
export async function lyingFlac(path: string, actualSeconds: number, statedSeconds: number): Promise<string> {
  const rate = 8000;
  await ffmpeg(['-f', 'lavfi', '-i', `sine=f=440:r=${rate}:d=${actualSeconds}`, '-ac', '1', '-c:a', 'flac', path]);
  const bytes = await readFile(path);
  if (bytes.toString('latin1', 0, 4) !== 'fLaC') throw new Error('fixture: not a FLAC');
  // STREAMINFO starts at 8; bytes 18..25 hold rate (20 bits), channels (3), depth (5), total samples (36).
  const packed = bytes.readBigUInt64BE(18);
  const totalMask = (1n << 36n) - 1n;
  if (packed >> 44n !== BigInt(rate)) throw new Error('fixture: STREAMINFO not where expected');
  bytes.writeBigUInt64BE((packed & ~totalMask) | BigInt(statedSeconds * rate), 18);
  await writeFile(path, bytes);
  return path;
}

/** A 1 s Matroska video with a comment tag of `tagBytes` bytes (through a metadata file: argv caps one argument at 128 KiB). */
export async function bigTagMkv(path: string, tagBytes: number): Promise<string> {
  const metadata = `${path}.ffmeta`;
  await writeFile(metadata, `;FFMETADATA1\ncomment=${'x'.repeat(tagBytes)}\ntitle=big tag\n`);
  await ffmpeg(['-f', 'lavfi', '-i', 'testsrc=s=160x120:r=25:d=1', '-i', metadata, '-map_metadata', '1', '-c:v', 'libx264', '-preset', 'ultrafast', path]);
  return path;
}

/** A WAV of `channels` channels of silence (PCM s16le): ffmpeg's own filters cannot make 64-channel layouts. */
export async function wideWav(path: string, channels: number, seconds = 0.5, rate = 8000): Promise<string> {
  const dataBytes = Math.round(seconds * rate) * channels * 2;
  const header = Buffer.alloc(44);
  header.write('RIFF', 0, 'latin1');
  header.writeUInt32LE(36 + dataBytes, 4);
  header.write('WAVEfmt ', 8, 'latin1');
  header.writeUInt32LE(16, 16);
  header.writeUInt16LE(1, 20);
  header.writeUInt16LE(channels, 22);
  header.writeUInt32LE(rate, 24);
  header.writeUInt32LE(rate * channels * 2, 28);
  header.writeUInt16LE(channels * 2, 32);
  header.writeUInt16LE(16, 34);
  header.write('data', 36, 'latin1');
  header.writeUInt32LE(dataBytes, 40);
  await writeFile(path, Buffer.concat([header, Buffer.alloc(dataBytes)]));
  return path;
}

/** A short clip for limits that do not depend on the content (work-order counts). */
export async function plainClip(path: string, seconds: number): Promise<string> {
  await ffmpeg(['-f', 'lavfi', '-i', `testsrc=s=160x120:r=25:d=${seconds}`, '-c:v', 'libx264', '-preset', 'ultrafast', '-g', '25', path]);
  return path;
}

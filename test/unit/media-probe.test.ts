import { chmod, mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ConfigError, PermanentError, TransientError } from '../../shared/errors.ts';
import { probeFile } from '../../shared/media/probe.ts';
import { resolveMediaTools, URL_FOLLOWING_DEMUXERS } from '../../shared/media/tools.ts';
import type { MediaTools } from '../../shared/media/tools.ts';
import * as samples from '../../scripts/sample-media/sample-media.ts';

let dir: string;
let tools: MediaTools;
const files: Record<string, string> = {};

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), 'mediaflow-probe-'));
  tools = await resolveMediaTools(process.env);
  const at = (name: string) => join(dir, name);
  const { ffmpeg } = tools;
  const made = await Promise.all([
    samples.jpegImage(ffmpeg, at('photo.jpg')),
    samples.pngWithAlpha(ffmpeg, at('logo.png')),
    samples.musicLikeAudio(ffmpeg, at('music.m4a'), { durationSeconds: 3 }),
    samples.videoWithSound(ffmpeg, at('clip.mp4'), { durationSeconds: 1, width: 640, height: 360 }),
    samples.mp3WithCoverArt(ffmpeg, at('song.mp3'), { durationSeconds: 2 }),
    samples.animatedGif(ffmpeg, at('anim.gif'), { frames: 5 }),
    samples.textFile(ffmpeg, at('notes.mp3')),
    samples.zeroByteFile(ffmpeg, at('empty.mp4')),
    samples.truncatedMp4(ffmpeg, at('cut.mp4'), { durationSeconds: 1 }),
    samples.truncatedMp4(ffmpeg, at('cut-faststart.mp4'), { durationSeconds: 1, faststart: true }),
  ]);
  for (const path of made) files[path.slice(dir.length + 1)] = path;
});

afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

function file(name: string): string {
  const path = files[name];
  if (!path) throw new Error(`fixture ${name} was not generated`);
  return path;
}

async function probeError(nameOrPath: string): Promise<unknown> {
  return probeFile(files[nameOrPath] ?? nameOrPath, tools).then(
    () => undefined,
    (error: unknown) => error,
  );
}

describe('probeFile on real media', () => {
  it('reads a JPEG as a 1920x1080 still image', async () => {
    const summary = await probeFile(file('photo.jpg'), tools);
    expect(summary).toMatchObject({ kind: 'image', animated: false, durationSeconds: null, display: { width: 1920, height: 1080 } });
    expect(summary.streams[0]).toMatchObject({ codec: 'mjpeg', width: 1920, height: 1080 });
  });

  it('reads a PNG with alpha as an image', async () => {
    const summary = await probeFile(file('logo.png'), tools);
    expect(summary).toMatchObject({ kind: 'image', formatName: 'png_pipe' });
    expect(summary.streams[0]?.pixelFormat).toBe('rgba');
  });

  it('reads an M4A as stereo 48 kHz audio', async () => {
    const summary = await probeFile(file('music.m4a'), tools);
    expect(summary.kind).toBe('audio');
    expect(summary.durationSeconds).toBeCloseTo(3, 1);
    expect(summary.streams).toHaveLength(1);
    expect(summary.streams[0]).toMatchObject({ type: 'audio', codec: 'aac', channels: 2, sampleRate: 48_000 });
  });

  it('reads an MP4 with sound as video with its display size', async () => {
    const summary = await probeFile(file('clip.mp4'), tools);
    expect(summary).toMatchObject({ kind: 'video', display: { width: 640, height: 360 }, warnings: [] });
    expect(summary.streams.map((s) => s.type)).toEqual(['video', 'audio']);
    expect(summary.streams[0]).toMatchObject({ codec: 'h264', pixelFormat: 'yuv420p', frameRate: 30 });
  });

  it('reads an MP3 with cover art as audio', async () => {
    const summary = await probeFile(file('song.mp3'), tools);
    expect(summary).toMatchObject({ kind: 'audio', tags: { title: 'Sample Tone', artist: 'mediaflow' } });
    expect(summary.streams.find((s) => s.type === 'audio')).toMatchObject({ channels: 1, sampleRate: 22_050 });
    expect(summary.streams.find((s) => s.type === 'video')).toMatchObject({ attachedPicture: true });
  });

  it('reads an animated GIF as an animated image', async () => {
    const summary = await probeFile(file('anim.gif'), tools);
    expect(summary).toMatchObject({ kind: 'image', animated: true, formatName: 'gif' });
    expect(summary.streams[0]?.frameCount).toBe(5);
  });
});

describe('probeFile on bad input', () => {
  it('rejects a zero-byte file as EMPTY_OBJECT', async () => {
    const error = await probeError('empty.mp4');
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'EMPTY_OBJECT', message: 'the object is empty (0 bytes)' });
  });

  it('rejects a text file named .mp3 with a readable reason', async () => {
    const error = await probeError('notes.mp3');
    expect(error).toBeInstanceOf(PermanentError);
    expect((error as PermanentError).code).toMatch(/^(UNSUPPORTED_MEDIA|CORRUPT_MEDIA)$/);
    expect((error as Error).message).toMatch(/^the file is text, not media; ffprobe could not read the file: \w/);
    expect((error as Error).message).not.toContain(dir);
  });

  it('rejects an MP4 truncated before its moov as CORRUPT_MEDIA', async () => {
    const error = await probeError('cut.mp4');
    expect(error).toBeInstanceOf(PermanentError);
    expect(error).toMatchObject({ code: 'CORRUPT_MEDIA', message: expect.stringMatching(/^truncated or corrupt MP4: .*moov atom not found/) as unknown });
  });

  it('rejects a faststart MP4 with a short mdat, which ffprobe alone accepts', async () => {
    const error = await probeError('cut-faststart.mp4');
    expect(error).toMatchObject({
      code: 'CORRUPT_MEDIA',
      message: expect.stringMatching(/^truncated or corrupt MP4: box 'mdat' at offset \d+ declares/) as unknown,
    });
  });

  it('rejects random bytes as UNSUPPORTED_MEDIA quoting ffprobe', async () => {
    const path = join(dir, 'noise.bin');
    await writeFile(path, Buffer.from(Array.from({ length: 8192 }, (_, i) => Math.imul(i + 1, 2654435761) >>> 24)));
    const error = await probeError(path);
    expect(error).toMatchObject({ code: 'UNSUPPORTED_MEDIA', message: 'ffprobe could not read the file: Invalid data found when processing input' });
  });

  it('fails transiently when ffprobe outlives its timeout, and kills it', async () => {
    const slow = join(dir, 'slow-ffprobe');
    await writeFile(slow, '#!/bin/sh\nexec sleep 30\n');
    await chmod(slow, 0o755);
    const started = Date.now();
    const error = await probeFile(file('clip.mp4'), { ffprobe: slow }, { timeoutMs: 200 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TransientError);
    expect(error).toMatchObject({ code: 'PROBE_TIMEOUT' });
    expect(Date.now() - started).toBeLessThan(5_000);
  });

  it('reports a vanished ffprobe as a ConfigError', async () => {
    const error = await probeFile(file('clip.mp4'), { ffprobe: join(dir, 'no-such-ffprobe') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
  });
});

describe('resolveMediaTools', () => {
  it('finds ffmpeg and ffprobe on PATH with their versions', async () => {
    const found = await resolveMediaTools({ PATH: '/usr/local/bin:/usr/bin:/bin' });
    expect(found.ffmpeg).toMatch(/\/ffmpeg$/);
    expect(found.ffprobe).toMatch(/\/ffprobe$/);
    expect(found.versions.ffmpeg).toMatch(/^\S*\d/);
    expect(found.versions.ffprobe).toMatch(/^\S*\d/);
  });

  it('lists the demuxers a source may use: the file formats, without URL-following ones or capture devices', async () => {
    const { sourceDemuxers } = await resolveMediaTools({ PATH: '/usr/local/bin:/usr/bin:/bin' });
    const names = sourceDemuxers.split(',');
    expect(names).toEqual(expect.arrayContaining(['mov', 'matroska', 'mpegts', 'mp3', 'wav', 'flac', 'ogg', 'image2', 'jpeg_pipe', 'png_pipe']));
    for (const refused of [...URL_FOLLOWING_DEMUXERS, 'lavfi', 'fbdev']) expect(names).not.toContain(refused);
  });

  it('prefers /usr/bin/ffmpeg when PATH holds only /usr/bin', async () => {
    const found = await resolveMediaTools({ PATH: '/usr/bin' });
    expect(found).toMatchObject({ ffmpeg: '/usr/bin/ffmpeg', ffprobe: '/usr/bin/ffprobe' });
    expect(found.versions.ffmpeg).toMatch(/^\d+\.\d+/);
  });

  it('rejects an FFMPEG_PATH that does not exist, without falling back to PATH', async () => {
    const error = await resolveMediaTools({ FFMPEG_PATH: join(dir, 'missing-ffmpeg'), PATH: '/usr/bin' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toContain('FFMPEG_PATH');
  });

  it('rejects an FFPROBE_PATH that is not ffprobe', async () => {
    const error = await resolveMediaTools({ FFPROBE_PATH: tools.ffmpeg, PATH: '/usr/bin' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/is not ffprobe/);
  });

  it('finds ffprobe next to an ffmpeg given by FFMPEG_PATH', async () => {
    const local = join(dir, 'bin');
    await mkdir(local);
    await Promise.all([symlink(tools.ffmpeg, join(local, 'ffmpeg')), symlink(tools.ffprobe, join(local, 'ffprobe'))]);
    const found = await resolveMediaTools({ FFMPEG_PATH: join(local, 'ffmpeg'), PATH: '/usr/bin' });
    expect(found).toMatchObject({ ffmpeg: join(local, 'ffmpeg'), ffprobe: join(local, 'ffprobe') });
  });

  it('names what it tried and how to install when nothing is found', async () => {
    const error = await resolveMediaTools({ PATH: join(dir, 'empty-dir') }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as Error).message).toMatch(/not found; tried .*on PATH.*apt-get install -y ffmpeg/);
  });
});

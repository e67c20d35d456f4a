/**
 * Gets an audio file's cover picture into scratch space without copying the audio: from the tags, read with byte
 * ranges by music-metadata (a few hundred KB of a file of any size), or else the attached-picture stream, copied
 * out by ffmpeg from the served source as stored (no decode). A format libvips cannot read (BMP, TGA) is then
 * turned into a PNG by ffmpeg from that small file, after its size is checked against the budget.
 */
import { stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { readCoverPicture } from '../../shared/media/audio-metadata.ts';
import { fileInput, inputArgs } from '../../shared/media/input.ts';
import { probeFile } from '../../shared/media/probe.ts';
import type { ServedSource } from '../../shared/runtime/source-server.ts';
import type { CoverParams } from './cover-plan.ts';
import { assertWithinBudget, isUnsupportedFormat } from './errors.ts';
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import { settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { baseArgs, PICTURE_DECODE } from './ffmpeg.ts';
import { CONVERT_TIMEOUT_MS, type ImageContext } from './image.ts';
import { inspectImage, type SourceFacts } from './inspect.ts';

export type CoverOrigin = 'tags' | 'stream';

export interface CoverFile {
  readonly path: string;
  readonly from: CoverOrigin;
  /** Size of the picture as stored in the audio file. */
  readonly bytes: number;
  readonly facts: SourceFacts;
  /** ffmpeg copied or converted the picture. */
  readonly viaFfmpeg: boolean;
}

export async function fetchCover(served: ServedSource, params: CoverParams, maxInputPixels: number, context: ImageContext): Promise<CoverFile> {
  const stored = path.join(context.scratchDir, 'cover-stored');
  if (params.picture) {
    const picture = await served.settle(readCoverPicture(served.bytes));
    if (picture) {
      await writeFile(stored, picture);
      return { ...(await readable(stored, maxInputPixels, context)), from: 'tags', bytes: picture.length };
    }
  }
  if (params.streamIndex === undefined) throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the cover art found at ingest could not be read again');
  const { ffmpeg } = await context.mediaTools();
  // -c copy: the picture exactly as stored (JPEG, PNG, …); image2 writes the one packet as a file.
  await settleRun(
    runTool(
      ffmpeg,
      [
        ...baseArgs(),
        ...inputArgs(served.input),
        '-map',
        `0:${params.streamIndex}`,
        '-frames:v',
        '1',
        '-c:v',
        'copy',
        '-f',
        'image2',
        '-update',
        '1',
        '-y',
        `file:${stored}`,
      ],
      {
        tool: 'ffmpeg',
        label: 'cover copy',
        timeoutMs: CONVERT_TIMEOUT_MS,
        signal: context.signal,
      },
    ),
    PICTURE_DECODE,
    served,
  );
  const { size } = await stat(stored);
  return { ...(await readable(stored, maxInputPixels, context)), from: 'stream', bytes: size, viaFfmpeg: true };
}

/** The picture as libvips can read it, its header checked against the pixel budget before any decode. */
async function readable(stored: string, maxInputPixels: number, context: ImageContext): Promise<Omit<CoverFile, 'from' | 'bytes'>> {
  try {
    return { path: stored, facts: await inspectImage(stored, maxInputPixels), viaFfmpeg: false };
  } catch (error) {
    const unsupported = isUnsupportedFormat(error) || (error instanceof PermanentError && error.code === PermanentErrorCode.UNSUPPORTED_MEDIA);
    if (!unsupported) throw error;
  }
  const tools = await context.mediaTools();
  const probe = await probeFile(stored, tools);
  const picture = probe.streams.find((stream) => stream.type === 'video');
  if (!picture?.width || !picture.height) throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the cover art is not a picture any decoder reads');
  assertWithinBudget(picture.width, picture.height, 1, maxInputPixels);
  const png = path.join(context.scratchDir, 'cover.png');
  await settleRun(
    runTool(tools.ffmpeg, [...baseArgs(), ...inputArgs(fileInput(stored)), '-frames:v', '1', '-c:v', 'png', '-f', 'image2', '-y', `file:${png}`], {
      tool: 'ffmpeg',
      label: 'cover conversion',
      timeoutMs: CONVERT_TIMEOUT_MS,
      signal: context.signal,
    }),
    PICTURE_DECODE,
  );
  return { path: png, facts: { ...(await inspectImage(png, maxInputPixels)), format: picture.codec }, viaFfmpeg: true };
}

/**
 * An image's derivative set: inspect the header, decode once, render every size × format, and for an animation
 * add animated WebP renditions. Formats libvips cannot read (BMP, TGA, DPX, …) and audio cover art are first
 * turned into a PNG by ffmpeg, and HEIC into a JPEG by libheif (heif.ts), then take the same path.
 */
import path from 'node:path';
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { fileInput, inputArgs } from '../../shared/media/input.ts';
import { probeFile } from '../../shared/media/probe.ts';
import type { MediaTools } from '../../shared/media/tools.ts';
import { renderAnimations } from './animation.ts';
import type { EncodeOptions } from './encoders.ts';
import { assertWithinBudget, classifySharpError } from './errors.ts';
import { runTool } from '../../shared/media/ffmpeg/run.ts';
import { settleRun } from '../../shared/media/ffmpeg/classify.ts';
import { baseArgs, PICTURE_DECODE } from './ffmpeg.ts';
import { decodeHeic, isHeic } from './heif.ts';
import { inspectImage, type SourceFacts } from './inspect.ts';
import type { ThumbnailProfile } from './profiles.ts';
import { decodeMaster, renderFromMaster, type EncodedRendition, type StillSet } from './renditions.ts';
import { targetSizes } from './sizes.ts';
import { renderableSize } from './svg.ts';

/** Decoding one picture to PNG; only a pathological file takes more than seconds. */
export const CONVERT_TIMEOUT_MS = 60_000;

export interface ImageContext {
  readonly mediaTools: () => Promise<MediaTools>;
  readonly scratchDir: string;
  readonly signal: AbortSignal;
}

export interface ImageRender {
  readonly facts: SourceFacts;
  readonly stills: StillSet;
  readonly animated: EncodedRendition[];
  /** Why an animation got no animated renditions (over the pixel budget, or the profile wants none). */
  readonly animationSkipped: string | null;
  /** ffmpeg turned the source into a PNG first. */
  readonly viaFfmpeg: boolean;
}

export async function renderImage(source: string, profile: ThumbnailProfile, context: ImageContext): Promise<ImageRender> {
  let facts: SourceFacts;
  try {
    facts = await inspectImage(source, profile.maxInputPixels);
  } catch (error) {
    if (!(error instanceof PermanentError && error.code === PermanentErrorCode.UNSUPPORTED_MEDIA)) throw error;
    return renderConverted(source, 'v:0', profile, context);
  }
  context.signal.throwIfAborted();
  const heic = await isHeic(source, facts, profile.maxInputPixels);
  if (heic) {
    const decoded = await decodeHeic(source, heic, facts, context.scratchDir, context.signal);
    return { ...(await renderPicture(decoded.path, decoded.facts, profile, context)), facts, viaFfmpeg: false };
  }
  return { ...(await renderPicture(source, facts, profile, context)), facts, viaFfmpeg: false };
}

async function renderConverted(source: string, stream: string, profile: ThumbnailProfile, context: ImageContext): Promise<ImageRender> {
  const converted = await convertToPng(source, stream, profile.maxInputPixels, context);
  const facts = { ...(await inspectImage(converted.path, profile.maxInputPixels)), format: converted.codec };
  return { ...(await renderPicture(converted.path, facts, profile, context)), facts, viaFfmpeg: true };
}

async function renderPicture(
  input: string,
  facts: SourceFacts,
  profile: ThumbnailProfile,
  context: ImageContext,
): Promise<Omit<ImageRender, 'facts' | 'viaFfmpeg'>> {
  const sizes = targetSizes(profile.sizes, renderableSize(facts.format, facts.display));
  try {
    const master = await decodeMaster(input, facts, sizes[0]!, { maxInputPixels: profile.maxInputPixels });
    context.signal.throwIfAborted();
    const stills = await renderFromMaster(master, facts.display, sizes, profile.formats, encodeOptions(profile, facts));
    if (facts.frames <= 1) return { stills, animated: [], animationSkipped: null };
    if (!profile.animation) return { stills, animated: [], animationSkipped: 'the profile renders no animations' };
    context.signal.throwIfAborted();
    try {
      return { stills, animated: await renderAnimations(input, facts, profile.animation, profile.maxInputPixels), animationSkipped: null };
    } catch (error) {
      // The first frame fitted the budget, so the stills stand; only the animation is too big to decode.
      if (error instanceof PermanentError && error.code === PermanentErrorCode.IMAGE_TOO_LARGE)
        return { stills, animated: [], animationSkipped: error.message };
      throw error;
    }
  } catch (error) {
    throw classifySharpError(error);
  }
}

export function encodeOptions(profile: ThumbnailProfile, facts: Pick<SourceFacts, 'exif'>): EncodeOptions {
  const rights =
    profile.exif === 'rights' && facts.exif
      ? Object.fromEntries(
          Object.entries({ Artist: facts.exif.artist, Copyright: facts.exif.copyright }).filter((entry): entry is [string, string] => entry[1] !== null),
        )
      : {};
  return { background: parseHexColour(profile.background), ...(Object.keys(rights).length > 0 ? { exif: rights } : {}) };
}

export function parseHexColour(hex: string): { r: number; g: number; b: number } {
  const match = /^#([0-9a-f]{2})([0-9a-f]{2})([0-9a-f]{2})$/i.exec(hex);
  if (!match) throw new Error(`profile background '${hex}' is not #rrggbb`);
  return { r: Number.parseInt(match[1]!, 16), g: Number.parseInt(match[2]!, 16), b: Number.parseInt(match[3]!, 16) };
}

/** One picture of `stream` (an ffmpeg stream specifier) as PNG, after checking its size against the budget. */
async function convertToPng(source: string, stream: string, maxInputPixels: number, context: ImageContext): Promise<{ path: string; codec: string }> {
  const tools = await context.mediaTools();
  const probe = await probeFile(source, tools);
  const picture = stream === 'v:0' ? probe.streams.find((s) => s.type === 'video') : probe.streams.find((s) => String(s.index) === stream);
  if (!picture?.width || !picture.height)
    throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'no decoder reads this image and ffmpeg finds no picture in it');
  assertWithinBudget(picture.width, picture.height, 1, maxInputPixels);
  const out = path.join(context.scratchDir, 'picture.png');
  await settleRun(
    runTool(
      tools.ffmpeg,
      [...baseArgs(), ...inputArgs(fileInput(source)), '-map', `0:${stream}`, '-frames:v', '1', '-c:v', 'png', '-f', 'image2', '-y', `file:${out}`],
      {
        tool: 'ffmpeg',
        label: 'picture conversion',
        timeoutMs: CONVERT_TIMEOUT_MS,
        signal: context.signal,
      },
    ),
    PICTURE_DECODE,
  );
  return { path: out, codec: picture.codec };
}

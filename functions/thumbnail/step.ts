/**
 * thumbnail: the pictures of an asset. Images get a derivative set (every profile size in AVIF, WebP and JPEG, plus
 * animated WebP for GIF and WebP animations); videos get a poster frame and a storyboard; audio with cover art
 * gets the cover's derivative set. Every asset also gets a placeholder (BlurHash, tiny WebP, dominant colour), and
 * images get their dimensions, colour and EXIF basics recorded. No output carries EXIF GPS or any other metadata
 * unless the profile asks for the rights fields.
 */
import path from 'node:path';
import { stepSchemas } from '../../events/step-schemas.ts';
import { defineStep, orders, skip, type StepRunContext } from '../../shared/domain/step.ts';
import type { ThumbnailOutputs } from '../../events/generated/steps/thumbnail.ts';
import type { BlobRef } from '../../shared/ports/blob-store.ts';
import type { DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import { withServedSource } from '../../shared/runtime/source-server.ts';
import type { MediaInput } from '../../shared/media/input.ts';
import { runCover } from './cover.ts';
import { encode } from './encoders.ts';
import { isHdr } from './ffmpeg.ts';
import { encodeOptions, parseHexColour, renderImage } from './image.ts';
import { imageOutputs, uploadRenditions, uploadStoryboard, videoOutputs } from './outputs.ts';
import { makePlaceholder } from './placeholder.ts';
import { planThumbnail, type ThumbnailParams, type VideoParams } from './plan.ts';
import { resolveProfile, type ThumbnailProfile } from './profiles.ts';
import { sharpVersions } from './sharp.ts';
import { fetchSource } from './source.ts';
import { renderVideo } from './video.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';

/**
 * A 12 MP photo takes under two CPU-seconds; a long video's keyframe-only storyboard takes minutes. Nine minutes
 * stays under the 585 s ceiling that Pub/Sub's 600 s maximum ack deadline leaves.
 */
export const THUMBNAIL_TIMEOUT_MS = 9 * 60_000;
/** Bump whenever the same input would give different files or outputs; it is also the folder the files go in. */
export const THUMBNAIL_RECIPE_VERSION = '1';

interface StepResult {
  readonly outputs: ThumbnailOutputs;
  readonly usedFfmpeg: boolean;
}

export const thumbnailStep = defineStep<ThumbnailParams, ThumbnailOutputs>({
  name: 'thumbnail',
  needs: MEDIA_STEP_NEEDS,
  dependsOn: [],
  timeoutMs: THUMBNAIL_TIMEOUT_MS,
  recipeVersion: THUMBNAIL_RECIPE_VERSION,
  ...stepSchemas(import.meta.dirname),
  plan(context) {
    const params = planThumbnail(context);
    return params ? orders(params) : skip();
  },
  async run(order, context) {
    const { params } = order;
    const profile = resolveProfile(order.profile);
    const target: DerivativeTarget = { blobs: context.blobs, config: context.config, order, recipeVersion: THUMBNAIL_RECIPE_VERSION };
    // A video is served with byte ranges (the poster's seek and the storyboard's keyframes), never copied whole into
    // scratch; a picture is copied, since libvips wants a seekable file, and the size limits keep pictures small.
    const { inputMd5, result } =
      params.mode === 'video'
        ? await withServedSource(context.blobs, order.source, (await context.mediaTools()).sourceDemuxers, async (source) => ({
            inputMd5: source.meta.md5Hash,
            result: await source.settle(runVideo(source.input, params.video, profile, target, context)),
          }))
        : params.mode === 'cover'
          ? await runCover(params.cover, profile, target, context)
          : await runImageFromCopy(profile, target, context, order.source);
    const tools = result.usedFfmpeg ? { ...sharpVersions, ffmpeg: (await context.mediaTools()).versions.ffmpeg } : sharpVersions;
    return { outputs: result.outputs, inputMd5, tools };
  },
});

async function runImageFromCopy(
  profile: ThumbnailProfile,
  target: DerivativeTarget,
  context: StepRunContext,
  ref: BlobRef,
): Promise<{ inputMd5: string; result: StepResult }> {
  const file = path.join(context.scratchDir, 'source');
  const inputMd5 = await fetchSource(context.blobs, ref, file, context.signal);
  return { inputMd5, result: await runImage(file, profile, target, context) };
}

async function runImage(source: string, profile: ThumbnailProfile, target: DerivativeTarget, context: StepRunContext): Promise<StepResult> {
  const render = await renderImage(source, profile, context);
  const [placeholder, stills, animated] = await Promise.all([
    makePlaceholder(render.stills.tiny, parseHexColour(profile.background)),
    uploadRenditions(target, 'still', render.stills.renditions),
    uploadRenditions(target, 'animated', render.animated),
  ]);
  return { outputs: imageOutputs('image', render, placeholder, [...stills, ...animated]), usedFfmpeg: render.viaFfmpeg };
}

async function runVideo(
  source: MediaInput,
  video: VideoParams,
  profile: ThumbnailProfile,
  target: DerivativeTarget,
  context: StepRunContext,
): Promise<StepResult> {
  const { ffmpeg } = await context.mediaTools();
  const options = encodeOptions(profile, { exif: null });
  const render = await renderVideo(source, video, profile, options, { ffmpeg, scratchDir: context.scratchDir, signal: context.signal });
  const board = render.storyboard;
  const sheets = board
    ? await Promise.all(
        board.sheets.map(async (sheet) => ({
          data: await encode(sheet, { format: 'jpeg', quality: profile.storyboard.quality }, options),
          width: sheet.width,
          height: sheet.height,
        })),
      )
    : [];
  const [placeholder, posters, storyboard] = await Promise.all([
    makePlaceholder(render.poster.tiny, options.background),
    uploadRenditions(target, 'poster', render.poster.renditions),
    board ? uploadStoryboard(target, sheets, board.vtt) : Promise.resolve(null),
  ]);
  const display = { width: video.width, height: video.height };
  return { outputs: videoOutputs(render, display, isHdr(video), placeholder, posters, storyboard), usedFfmpeg: true };
}

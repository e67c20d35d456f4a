/**
 * What a tag work order carries, worked out when it is queued, from the probe and from what the thumbnail and
 * audio steps recorded: which derivatives to show the model, and the technical signals that are recorded either way.
 * The model sees the smallest file that still carries the signal: a 640 px still rather than the camera original
 * (a few hundred tokens whatever the source size), the poster and storyboard rather than the video, and the 30 s
 * preview rather than the whole track (with the 640 px cover art, when the file has one).
 */
import type { TagParams } from '../../events/generated/steps/tag.ts';
import type { ThumbnailOutputs } from '../../events/generated/steps/thumbnail.ts';
import { outputsOf, type PlanContext } from '../../shared/domain/step.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { audioStep } from '../audio/step.ts';
import { thumbnailStep } from '../thumbnail/step.ts';

/** Long edge of the still shown to the model: enough to recognise objects and read large text. */
export const TAG_IMAGE_EDGE = 640;
/** Storyboard sheets shown for a video: each is a grid of frames, so a few cover a long video at low cost. */
export const MAX_STORYBOARD_SHEETS = 4;

/** The tag work order's params, generated from params.v1.schema.json beside this file. */
export type { TagParams };
export type TagInput = TagParams['inputs'][number];
export type TagInputRole = TagInput['role'];

type Derivative = ThumbnailOutputs['derivatives'][number];

/**
 * The JPEG of the role closest to TAG_IMAGE_EDGE without going over it; a source smaller than that only has
 * smaller stills, so the largest of them. JPEG because every Gemini model reads it (AVIF is not accepted).
 */
function pickStill(derivatives: readonly Derivative[], role: Derivative['role']): string | undefined {
  const candidates = derivatives
    .filter((derivative) => derivative.role === role && derivative.format === 'jpeg')
    .map((derivative) => ({ uri: derivative.uri, edge: Math.max(derivative.width, derivative.height) }));
  const fitting = candidates.filter((candidate) => candidate.edge <= TAG_IMAGE_EDGE).sort((a, b) => b.edge - a.edge);
  const smallest = [...candidates].sort((a, b) => a.edge - b.edge);
  return (fitting[0] ?? smallest[0])?.uri;
}

export function planInputs(context: PlanContext): TagInput[] {
  const thumbnail = outputsOf(context, thumbnailStep);
  const derivatives = thumbnail?.derivatives ?? [];
  if (context.kind === 'image') {
    const uri = pickStill(derivatives, 'still');
    return uri ? [{ uri, mimeType: 'image/jpeg', role: 'thumbnail' }] : [];
  }
  if (context.kind === 'video') {
    const inputs: TagInput[] = [];
    const poster = pickStill(derivatives, 'poster');
    if (poster) inputs.push({ uri: poster, mimeType: 'image/jpeg', role: 'poster' });
    const sprites = thumbnail?.mode === 'video' ? (thumbnail.storyboard?.sprites ?? []) : [];
    for (const sprite of sprites.slice(0, MAX_STORYBOARD_SHEETS)) inputs.push({ uri: sprite.uri, mimeType: 'image/jpeg', role: 'storyboard' });
    return inputs;
  }
  // Only the preview: a whole track costs 32 tokens a second (an hour is ~115k tokens), the preview is ~1k.
  const preview = outputsOf(context, audioStep)?.renditions.preview?.uri;
  const inputs: TagInput[] = preview ? [{ uri: preview, mimeType: 'audio/mp4', role: 'audio-preview' }] : [];
  // The cover art, second: a few hundred tokens that often name the genre and mood better than a 30 s excerpt.
  const cover = pickStill(derivatives, 'cover');
  if (cover) inputs.push({ uri: cover, mimeType: 'image/jpeg', role: 'cover' });
  return inputs;
}

/**
 * Facts measured by ffprobe, the thumbnail step and the audio step: what can be said about the asset without a
 * model. They are copied, never interpreted into tags.
 */
export function planSignals(context: PlanContext): DocData {
  const { probe } = context;
  const thumbnail = outputsOf(context, thumbnailStep);
  const audio = outputsOf(context, audioStep);
  const picture = thumbnail && thumbnail.mode !== 'video' ? thumbnail : undefined;
  return {
    kind: context.kind,
    container: probe.formatName,
    durationSeconds: probe.durationSeconds,
    width: probe.display?.width ?? null,
    height: probe.display?.height ?? null,
    animated: probe.animated ?? false,
    hasAudio: probe.streams.some((stream) => stream.type === 'audio'),
    codecs: [...new Set(probe.streams.map((stream) => stream.codec))],
    dominantColour: thumbnail?.placeholder.dominantColour ?? null,
    transparent: picture?.transparent ?? null,
    colourSpace: picture?.colour.source ?? null,
    loudness: audio
      ? { integratedLufs: audio.measured.integratedLufs, loudnessRangeLu: audio.measured.loudnessRangeLu, truePeakDbtp: audio.measured.truePeakDbtp }
      : null,
    silence: audio ? { digital: audio.silence.digital, totalSeconds: audio.silence.totalSeconds, passageCount: audio.silence.passageCount } : null,
    audioChannels: audio ? audio.channels.source : null,
  };
}

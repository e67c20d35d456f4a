/**
 * What a tag work order carries, worked out when it is queued, from the probe and from what the thumbnail and
 * audio steps recorded: which derivatives to show the model, and the technical signals that are recorded either way.
 * The model sees the smallest file that still carries the signal: a 640 px still rather than the camera original
 * (a few hundred tokens whatever the source size), the poster and storyboard rather than the video, and the 30 s
 * preview rather than the whole track (with the 640 px cover art, when the file has one).
 */
import type { PlanContext } from '../../shared/domain/step.ts';
import type { DocData, DocValue } from '../../shared/ports/document-store.ts';

/** Long edge of the still shown to the model: enough to recognise objects and read large text. */
export const TAG_IMAGE_EDGE = 640;
/** Storyboard sheets shown for a video: each is a grid of frames, so a few cover a long video at low cost. */
export const MAX_STORYBOARD_SHEETS = 4;

export type TagInputRole = 'thumbnail' | 'poster' | 'storyboard' | 'audio-preview' | 'cover';
export type TagInput = { uri: string; mimeType: string; role: TagInputRole };
export type TagParams = { inputs: TagInput[]; signals: DocData };

type Doc = Readonly<Record<string, DocValue>>;

function isDoc(value: DocValue | undefined): value is Doc {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}

function docs(value: DocValue | undefined): Doc[] {
  return Array.isArray(value) ? (value as readonly DocValue[]).filter(isDoc) : [];
}

function num(value: DocValue | undefined): number | null {
  return typeof value === 'number' ? value : null;
}

/**
 * The JPEG of the role closest to TAG_IMAGE_EDGE without going over it; a source smaller than that only has
 * smaller stills, so the largest of them. JPEG because every Gemini model reads it (AVIF is not accepted).
 */
function pickStill(derivatives: readonly Doc[], role: string): string | undefined {
  const candidates = derivatives
    .filter((derivative) => derivative.role === role && derivative.format === 'jpeg' && typeof derivative.uri === 'string')
    .map((derivative) => ({ uri: derivative.uri as string, edge: Math.max(num(derivative.width) ?? 0, num(derivative.height) ?? 0) }));
  const fitting = candidates.filter((candidate) => candidate.edge <= TAG_IMAGE_EDGE).sort((a, b) => b.edge - a.edge);
  const smallest = [...candidates].sort((a, b) => a.edge - b.edge);
  return (fitting[0] ?? smallest[0])?.uri;
}

export function planInputs(context: PlanContext): TagInput[] {
  const thumbnail = context.outputs.thumbnail ?? {};
  const derivatives = docs(thumbnail.derivatives);
  if (context.kind === 'image') {
    const uri = pickStill(derivatives, 'still');
    return uri ? [{ uri, mimeType: 'image/jpeg', role: 'thumbnail' }] : [];
  }
  if (context.kind === 'video') {
    const inputs: TagInput[] = [];
    const poster = pickStill(derivatives, 'poster');
    if (poster) inputs.push({ uri: poster, mimeType: 'image/jpeg', role: 'poster' });
    const storyboard = isDoc(thumbnail.storyboard) ? docs(thumbnail.storyboard.sprites) : [];
    for (const sprite of storyboard.slice(0, MAX_STORYBOARD_SHEETS)) {
      if (typeof sprite.uri === 'string') inputs.push({ uri: sprite.uri, mimeType: 'image/jpeg', role: 'storyboard' });
    }
    return inputs;
  }
  // Only the preview: a whole track costs 32 tokens a second (an hour is ~115k tokens), the preview is ~1k.
  const renditions = context.outputs.audio?.renditions;
  const preview = isDoc(renditions) && isDoc(renditions.preview) ? renditions.preview.uri : undefined;
  const inputs: TagInput[] = typeof preview === 'string' ? [{ uri: preview, mimeType: 'audio/mp4', role: 'audio-preview' }] : [];
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
  const thumbnail = context.outputs.thumbnail ?? {};
  const audio = context.outputs.audio ?? {};
  const placeholder = isDoc(thumbnail.placeholder) ? thumbnail.placeholder : {};
  const colour = isDoc(thumbnail.colour) ? thumbnail.colour : {};
  const measured = isDoc(audio.measured) ? audio.measured : undefined;
  const silence = isDoc(audio.silence) ? audio.silence : undefined;
  const channels = isDoc(audio.channels) ? audio.channels : undefined;
  return {
    kind: context.kind,
    container: probe.formatName,
    durationSeconds: probe.durationSeconds,
    width: probe.display?.width ?? null,
    height: probe.display?.height ?? null,
    animated: probe.animated ?? false,
    hasAudio: probe.streams.some((stream) => stream.type === 'audio'),
    codecs: [...new Set(probe.streams.map((stream) => stream.codec))],
    dominantColour: typeof placeholder.dominantColour === 'string' ? placeholder.dominantColour : null,
    transparent: typeof thumbnail.transparent === 'boolean' ? thumbnail.transparent : null,
    colourSpace: typeof colour.source === 'string' ? colour.source : null,
    loudness: measured
      ? { integratedLufs: num(measured.integratedLufs), loudnessRangeLu: num(measured.loudnessRangeLu), truePeakDbtp: num(measured.truePeakDbtp) }
      : null,
    silence: silence ? { digital: silence.digital ?? null, totalSeconds: num(silence.totalSeconds), passageCount: num(silence.passageCount) } : null,
    audioChannels: channels ? num(channels.source) : null,
  };
}

/**
 * Fan-in of the audio orders, one per audio stream: the renditions in the source's stream order. audioTracks
 * reads the folded shape, and outputs recorded before several tracks were rendered (one rendition's outputs at
 * the top level, no `tracks`) as that one track.
 */
import { toDoc } from '../../shared/media/hls/doc.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import type { AudioOutputs } from './publish.ts';

/**
 * The primary track's outputs stay at the top level, where readers of the single-rendition outputs find them
 * (gain, samples, codec); `tracks` lists every rendition, the primary first.
 */
export function combineAudioTracks(shardOutputs: readonly DocData[]): DocData {
  return toDoc({ ...shardOutputs[0], tracks: shardOutputs });
}

export function audioTracks(outputs: DocData | undefined): readonly AudioOutputs[] {
  if (!outputs) return [];
  const tracks: unknown = outputs.tracks;
  if (Array.isArray(tracks)) return tracks.filter(isAudioOutputs);
  return isAudioOutputs(outputs) ? [outputs] : [];
}

/** Outputs publishAudio wrote: the fields the package step reads are there. */
function isAudioOutputs(value: unknown): value is AudioOutputs {
  if (typeof value !== 'object' || value === null) return false;
  const candidate = value as Partial<Record<keyof AudioOutputs, unknown>>;
  return typeof candidate.rendition === 'string' && typeof candidate.segmentCount === 'number' && typeof candidate.initSha256 === 'string';
}

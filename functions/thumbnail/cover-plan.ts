/**
 * Planning an audio file's cover art. The picture music-metadata found in the tags at ingest (ID3 APIC, MP4 covr,
 * FLAC PICTURE, Vorbis/Opus METADATA_BLOCK_PICTURE) comes first: the worker reads it with byte ranges. ffprobe's
 * attached-picture stream is the fallback for containers whose pictures the tag parser does not return.
 */
import type { ProbeSummary } from '../../shared/media/classify.ts';
import type { ThumbnailParams } from './plan.ts';

/** The cover's part of the params (params.v1.schema.json beside this file). */
export type CoverParams = Extract<ThumbnailParams, { mode: 'cover' }>['cover'];

export function planCover(probe: ProbeSummary): { mode: 'cover'; cover: CoverParams } | undefined {
  const stream = probe.streams.find((candidate) => candidate.type === 'video' && candidate.attachedPicture);
  const picture = probe.audioMetadata?.cover ?? null;
  if (!stream && !picture) return undefined;
  return { mode: 'cover', cover: { ...(stream ? { streamIndex: stream.index } : {}), ...(picture ? { picture: { ...picture } } : {}) } };
}

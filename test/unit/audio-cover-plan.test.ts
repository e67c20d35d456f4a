/**
 * Planning an audio file's cover: which picture the thumbnail step is sent to (the tags' first, ffprobe's
 * attached-picture stream as the fallback), the square sizes it may make without upscaling, and the tag step's
 * second input. Params are checked against their schemas.
 */
import { describe, expect, it } from 'vitest';
import { EventValidator, workOrderType } from '../../events/catalog.ts';
import { createTagStep } from '../../functions/tag/step.ts';
import { planInputs } from '../../functions/tag/plan.ts';
import { COVER_SIZES, coverSizes } from '../../functions/thumbnail/cover.ts';
import { planThumbnail } from '../../functions/thumbnail/plan.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import type { AssetSource } from '../../shared/domain/asset.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import type { AudioMetadata } from '../../shared/media/audio-metadata.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { audioOutputs, thumbnailOutputs } from '../support/step-outputs.ts';

const audio: StreamSummary = { index: 0, type: 'audio', codec: 'mp3', attachedPicture: false };
const attached: StreamSummary = { index: 1, type: 'video', codec: 'mjpeg', width: 800, height: 700, attachedPicture: true };
const tagged: AudioMetadata = { tags: { title: 'Night Drive' }, chapters: [], cover: { format: 'jpeg', width: 800, height: 700, bytes: 41_000 } };
const out = 'gs://mediaflow-derivatives/a';

function context(streams: StreamSummary[], audioMetadata?: AudioMetadata, outputs: Record<string, DocData> = {}): PlanContext {
  return {
    assetId: 'ingest/song.mp3#1',
    kind: 'audio',
    profile: 'default',
    source: {} as AssetSource,
    outputs,
    probe: {
      kind: 'audio',
      formatName: 'mp3',
      durationSeconds: 3,
      sizeBytes: 1,
      bitRate: null,
      streams,
      tags: {},
      warnings: [],
      ...(audioMetadata ? { audioMetadata } : {}),
    },
  };
}

function validator(step: 'thumbnail' | 'tag', schema: object): (params: unknown) => boolean {
  const events = new EventValidator(new Map([[step, schema]]));
  return (params) =>
    events.validate(workOrderType(step), {
      orderId: `o|${step}|0`,
      assetId: 'ingest/x#1',
      step,
      shard: { index: 0, count: 1 },
      source: { bucket: 'ingest', name: 'x', generation: '1' },
      kind: 'audio',
      profile: 'default',
      params,
      issuedAt: '2024-05-01T00:00:00Z',
    }).ok;
}

describe('cover planning', () => {
  const valid = validator('thumbnail', thumbnailStep.paramsSchema);

  it('sends the picture found in the tags, with the stream as the fallback', () => {
    const params = planThumbnail(context([audio, attached], tagged));
    expect(params).toEqual({ mode: 'cover', cover: { streamIndex: 1, picture: { format: 'jpeg', width: 800, height: 700, bytes: 41_000 } } });
    expect(valid(params)).toBe(true);
  });

  it('plans a cover the tags hold even when ffprobe shows no picture stream, and the stream alone without tags', () => {
    expect(planThumbnail(context([audio], tagged))).toEqual({ mode: 'cover', cover: { picture: { format: 'jpeg', width: 800, height: 700, bytes: 41_000 } } });
    expect(planThumbnail(context([audio, attached]))).toEqual({ mode: 'cover', cover: { streamIndex: 1 } });
    expect(planThumbnail(context([audio], { ...tagged, cover: null }))).toBeUndefined();
    expect(valid({ mode: 'cover', cover: {} })).toBe(false);
  });

  it('makes the square sizes a cover can give, never upscaling', () => {
    expect(COVER_SIZES).toEqual([640, 300, 64]);
    expect(coverSizes(700)).toEqual({ sizes: [640, 300, 64], skipped: [] });
    expect(coverSizes(640)).toEqual({ sizes: [640, 300, 64], skipped: [] });
    expect(coverSizes(500)).toEqual({ sizes: [300, 64], skipped: [640] });
    expect(coverSizes(48)).toEqual({ sizes: [48], skipped: [640, 300, 64] });
  });
});

describe('tag inputs for audio with a cover', () => {
  const valid = validator('tag', createTagStep({}).paramsSchema);
  const cover = (edge: number, format = 'jpeg'): DocData => ({
    uri: `${out}/thumbnail/v1/cover-${edge}.${format}`,
    role: 'cover',
    width: edge,
    height: edge,
    format,
    bytes: 1,
  });

  it('adds the 640 px JPEG cover after the preview clip', () => {
    const outputs = {
      audio: audioOutputs({ renditions: { preview: { uri: `${out}/audio/preview.m4a` } } }),
      thumbnail: thumbnailOutputs('cover', [cover(640, 'avif'), cover(640), cover(300), cover(64)]),
    };
    const inputs = planInputs(context([audio, attached], tagged, outputs));
    expect(inputs).toEqual([
      { uri: `${out}/audio/preview.m4a`, mimeType: 'audio/mp4', role: 'audio-preview' },
      { uri: `${out}/thumbnail/v1/cover-640.jpeg`, mimeType: 'image/jpeg', role: 'cover' },
    ]);
    expect(valid({ inputs, signals: {} })).toBe(true);
  });
});

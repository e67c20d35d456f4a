/**
 * Planning the audio step: which assets it applies to, the profile each resolves to, and params that satisfy
 * functions/audio/params.v1.schema.json (the contract the work order is validated against at the edge).
 */
import { Ajv2020 } from 'ajv/dist/2020.js';
import { describe, expect, it } from 'vitest';
import { planAudioParams } from '../../functions/audio/params.ts';
import { resolveAudioProfile } from '../../functions/audio/profiles.ts';
import { audioStep, MAX_AUDIO_SECONDS } from '../../functions/audio/step.ts';
import type { WorkOrder } from '../../events/catalog.ts';
import type { PlanContext, StepRunContext } from '../../shared/domain/step.ts';
import type { StreamSummary } from '../../shared/media/classify.ts';
import { uploadSource } from '../support/asset-source.ts';

const validate = new Ajv2020({ strict: true, allErrors: true }).compile(audioStep.paramsSchema);

function context(kind: PlanContext['kind'], streams: StreamSummary[], profile = 'default'): PlanContext {
  return {
    assetId: 'ingest/a.wav#1',
    kind,
    profile,
    probe: { kind, formatName: 'wav', durationSeconds: 12.5, sizeBytes: 1000, bitRate: null, streams, tags: {}, warnings: [] },
    source: uploadSource('a.wav', { size: 1000 }),
    outputs: {},
  };
}

const stereo: StreamSummary = { index: 0, type: 'audio', codec: 'pcm_s16le', channels: 2, channelLayout: 'stereo', sampleRate: 44100, attachedPicture: false };
const cover: StreamSummary = { index: 0, type: 'video', codec: 'mjpeg', attachedPicture: true };
const picture: StreamSummary = { index: 0, type: 'video', codec: 'h264', attachedPicture: false };

describe('audio step planning', () => {
  it('applies to audio, and to video that has an audio track', () => {
    const applies = (planned: PlanContext): boolean => audioStep.plan(planned).kind !== 'skip';
    expect(applies(context('audio', [stereo]))).toBe(true);
    expect(applies(context('video', [picture, { ...stereo, index: 1 }]))).toBe(true);
    expect(applies(context('video', [picture]))).toBe(false);
    expect(applies(context('image', [picture]))).toBe(false);
  });

  it('resolves the profile into params that satisfy the schema, for the first audio stream (not the cover art)', () => {
    const params = audioStep.params(context('audio', [cover, { ...stereo, index: 1 }], 'podcast'), 0);
    expect(validate(params), JSON.stringify(validate.errors)).toBe(true);
    expect(params).toMatchObject({
      profile: 'podcast',
      mode: 'normalized',
      targetLufs: -16,
      truePeakCeilingDbtp: -1,
      stream: { index: 1, codec: 'pcm_s16le', channels: 2, channelLayout: 'stereo', sampleRate: 44100 },
      durationSeconds: 12.5,
      renditions: { aacKbps: 256, opusKbps: 160 },
      preview: { seconds: 30, kbps: 96 },
    });
  });

  it('plans video without renditions (the HLS step encodes its audio) and unknown profiles as the default', () => {
    const params = planAudioParams(context('video', [picture, { ...stereo, index: 1 }], 'no-such-profile'));
    expect(validate(JSON.parse(JSON.stringify(params)))).toBe(true);
    expect(params).toMatchObject({ profile: 'default', mode: 'tagged', targetLufs: -14, renditions: null, preview: null });
  });

  it("has the issue's targets: music −14 (default, tagged), podcast −16, broadcast −23 in two channels", () => {
    expect(resolveAudioProfile('default').profile).toMatchObject({ targetLufs: -14, mode: 'tagged', mono: 'keep' });
    expect(resolveAudioProfile('music').profile.targetLufs).toBe(-14);
    expect(resolveAudioProfile('podcast').profile).toMatchObject({ targetLufs: -16, mode: 'normalized' });
    expect(resolveAudioProfile('broadcast').profile).toMatchObject({ targetLufs: -23, mode: 'normalized', mono: 'stereo' });
    expect(resolveAudioProfile('toString').name).toBe('default');
  });
});

describe('audio step run', () => {
  it('refuses audio too long to encode within the timeout before downloading anything', async () => {
    const params = { ...planAudioParams(context('audio', [stereo])), durationSeconds: MAX_AUDIO_SECONDS + 1 };
    const order = {
      orderId: 'o',
      assetId: 'a',
      step: 'audio',
      shard: { index: 0, count: 1 },
      source: { bucket: 'b', name: 'n', generation: '1' },
      kind: 'audio',
      profile: 'default',
      params,
      issuedAt: '2024-01-01T00:00:00Z',
    } as unknown as WorkOrder;
    const untouched = new Proxy(
      {},
      {
        get: () => {
          throw new Error('the step touched its context');
        },
      },
    ) as StepRunContext;
    await expect(audioStep.run(order, untouched)).rejects.toMatchObject({ code: 'AUDIO_TOO_LONG', retryable: false });
  });
});

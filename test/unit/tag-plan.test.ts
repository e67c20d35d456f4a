/**
 * What the tag step is given to show the model: the smallest derivatives that carry the signal, picked from what
 * the thumbnail and audio steps recorded, and the technical signals copied from the probe and those steps.
 */
import { describe, expect, it } from 'vitest';
import { MAX_STORYBOARD_SHEETS, planInputs, planSignals } from '../../functions/tag/plan.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import type { MediaKind } from '../../shared/domain/asset.ts';
import type { PlanContext } from '../../shared/domain/step.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { audioOutputs, thumbnailOutputs } from '../support/step-outputs.ts';

const out = 'gs://mediaflow-derivatives/a';

function still(role: string, edge: number, format = 'jpeg'): DocData {
  return { uri: `${out}/thumbnail/v1/${role}-${edge}.${format}`, role, width: edge, height: Math.round(edge * 0.75), format, bytes: edge * 10 };
}

function planContext(kind: MediaKind, outputs: Record<string, DocData>, probe: Partial<ProbeSummary> = {}): PlanContext {
  return {
    assetId: 'mediaflow-ingest/x#1',
    kind,
    profile: 'default',
    probe: { kind, formatName: 'x', durationSeconds: null, sizeBytes: 1, bitRate: null, streams: [], tags: {}, warnings: [], ...probe },
    source: {
      uri: 'gs://mediaflow-ingest/x',
      bucket: 'mediaflow-ingest',
      name: 'x',
      generation: '1',
      size: 1,
      contentType: null,
      md5Hash: null,
      via: 'eventarc',
      partner: null,
      idempotencyKey: null,
      correlationId: null,
      metadata: {},
    },
    outputs,
  };
}

describe('tag inputs', () => {
  it('shows an image as its 640 px JPEG, not a larger one nor another format', () => {
    const derivatives = [
      still('still', 320),
      still('still', 640, 'avif'),
      still('still', 640, 'webp'),
      still('still', 640),
      still('still', 1280),
      still('animated', 640),
    ];
    expect(planInputs(planContext('image', { thumbnail: thumbnailOutputs('image', derivatives) }))).toEqual([
      { uri: `${out}/thumbnail/v1/still-640.jpeg`, mimeType: 'image/jpeg', role: 'thumbnail' },
    ]);
  });

  it('falls back to the largest still of a source smaller than 640 px', () => {
    const derivatives = [still('still', 160), still('still', 500)];
    expect(planInputs(planContext('image', { thumbnail: thumbnailOutputs('image', derivatives) }))[0]!.uri).toBe(`${out}/thumbnail/v1/still-500.jpeg`);
  });

  it('shows a video as its poster and the first storyboard sheets', () => {
    const sprites = Array.from({ length: MAX_STORYBOARD_SHEETS + 2 }, (_, index) => ({
      uri: `${out}/thumbnail/v1/storyboard-${index}.jpg`,
      width: 1600,
      height: 900,
      bytes: 1,
    }));
    const inputs = planInputs(planContext('video', { thumbnail: thumbnailOutputs('video', [still('poster', 640), still('poster', 1280)], sprites) }));
    expect(inputs.map((input) => input.role)).toEqual(['poster', ...Array.from({ length: MAX_STORYBOARD_SHEETS }, () => 'storyboard')]);
    expect(inputs[0]!.uri).toBe(`${out}/thumbnail/v1/poster-640.jpeg`);
    expect(inputs[1]!.uri).toBe(`${out}/thumbnail/v1/storyboard-0.jpg`);
  });

  it('plays audio as its preview clip only', () => {
    const renditions = { preview: { uri: `${out}/audio/preview.m4a` }, aac: { uri: `${out}/audio/aac.m4a` } };
    expect(planInputs(planContext('audio', { audio: audioOutputs({ renditions }) }))).toEqual([
      { uri: `${out}/audio/preview.m4a`, mimeType: 'audio/mp4', role: 'audio-preview' },
    ]);
  });

  it('shows nothing when no dependency produced a derivative', () => {
    expect(planInputs(planContext('audio', {}))).toEqual([]);
    expect(planInputs(planContext('video', {}))).toEqual([]);
  });
});

describe('tag signals', () => {
  it('copies measurements from the probe and the audio step', () => {
    const signals = planSignals(
      planContext(
        'audio',
        {
          audio: audioOutputs({
            measured: { integratedLufs: -14.2, loudnessRangeLu: 6.1, truePeakDbtp: -1.2 },
            silence: { digital: false, totalSeconds: 2.5, passageCount: 1 },
            channels: { source: 2 },
          }),
        },
        { durationSeconds: 180, streams: [{ index: 0, type: 'audio', codec: 'mp3', attachedPicture: false }] },
      ),
    );
    expect(signals).toEqual({
      kind: 'audio',
      container: 'x',
      durationSeconds: 180,
      width: null,
      height: null,
      animated: false,
      hasAudio: true,
      codecs: ['mp3'],
      dominantColour: null,
      transparent: null,
      colourSpace: null,
      loudness: { integratedLufs: -14.2, loudnessRangeLu: 6.1, truePeakDbtp: -1.2 },
      silence: { digital: false, totalSeconds: 2.5, passageCount: 1 },
      audioChannels: 2,
    });
  });
});

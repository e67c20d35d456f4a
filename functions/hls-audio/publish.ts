/**
 * Publishing the audio rendition: the init segment and one media segment per fragment, under deterministic
 * names, with what the package step needs to list and check them.
 */
import { createHash } from 'node:crypto';
import type { HlsAudioOutputs } from '../../events/generated/steps/hls-audio.ts';
import type { DeepReadonly } from '../../shared/domain/step.ts';
import { readFile } from 'node:fs/promises';
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { parseInit, parseSegment, splitFragmented } from '../../shared/media/hls/fmp4.ts';
import { AUDIO_CONTENT_TYPE, AUDIO_RENDITION, initFile, segmentFile } from '../../shared/media/hls/layout.ts';
import { writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import { AAC_PRIMING_SAMPLES, type HlsAudioParams } from './params.ts';
import type { SourceStarts } from './source-start.ts';

/** What one hls-audio order reports (outputs.v1.schema.json beside this file). */
export type AudioOutputs = DeepReadonly<HlsAudioOutputs>;

export async function publishAudio(
  target: DerivativeTarget,
  params: HlsAudioParams,
  file: string,
  starts: SourceStarts,
  leadingSilenceSamples = 0,
): Promise<AudioOutputs> {
  const { init, fragments } = splitFragmented(await readFile(file));
  const rendition = params.track?.rendition ?? AUDIO_RENDITION;
  const [track] = parseInit(init);
  if (!track) throw new Error('the AAC encoder wrote an init segment without a track');
  if (fragments.length === 0) throw new PermanentError(PermanentErrorCode.CORRUPT_MEDIA, 'the audio stream decoded to no samples');
  await writeDerivative(target, initFile(rendition), init, { contentType: AUDIO_CONTENT_TYPE });
  let first: number | undefined;
  let total = 0;
  for (const [index, fragment] of fragments.entries()) {
    const timing = parseSegment(fragment, track);
    first ??= timing.presentationStart;
    total += timing.duration;
    await writeDerivative(target, segmentFile(rendition, index), fragment, {
      contentType: AUDIO_CONTENT_TYPE,
      metadata: { 'mediaflow-segment-index': String(index), 'mediaflow-rendition': rendition },
    });
  }
  const primingSeconds = AAC_PRIMING_SAMPLES / track.timescale;
  return {
    rendition,
    ...(params.track ? { track: params.track } : {}),
    segmentCount: fragments.length,
    codec: track.codec,
    channels: params.outputChannels,
    sampleRate: track.sampleRate ?? track.timescale,
    kbps: params.kbps,
    gainDb: params.gainDb,
    gainSource: params.gainSource,
    initSha256: createHash('sha256').update(init).digest('hex'),
    startSeconds: (first ?? 0) / track.timescale + primingSeconds,
    primingSeconds,
    leadingSilenceSamples,
    durationSeconds: total / track.timescale - primingSeconds,
    samples: total - AAC_PRIMING_SAMPLES,
    source: starts,
  };
}

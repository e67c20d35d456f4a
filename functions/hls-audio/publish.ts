/**
 * Publishing the audio rendition: the init segment and one media segment per fragment, under deterministic
 * names, with what the package step needs to list and check them.
 */
import { createHash } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { PermanentError, PermanentErrorCode } from '../../shared/errors.ts';
import { parseInit, parseSegment, splitFragmented } from '../../shared/media/hls/fmp4.ts';
import { AUDIO_CONTENT_TYPE, AUDIO_RENDITION, initFile, segmentFile } from '../../shared/media/hls/layout.ts';
import { writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import { AAC_PRIMING_SAMPLES, type AudioTrackFacts, type HlsAudioParams } from './params.ts';
import type { SourceStarts } from './source-start.ts';

export interface AudioOutputs {
  readonly rendition: string;
  /** Name, language and default of the rendition; absent from outputs made before several tracks were rendered. */
  readonly track?: AudioTrackFacts;
  readonly segmentCount: number;
  readonly codec: string;
  /** The channels planned (the audio step's channel plan); the package checks the init segment states them. */
  readonly channels: number;
  readonly sampleRate: number;
  readonly kbps: number;
  readonly gainDb: number;
  readonly gainSource: HlsAudioParams['gainSource'];
  readonly initSha256: string;
  /**
   * Presentation start of the rendition's first sample on the HLS timeline, after the encoder's priming frame. The
   * convention every HLS audio track here keeps (and hls-package checks): the priming frame's 1024 samples sit
   * before the source's first sample, so tfdt + 1024 samples is where the source's audio starts on the timeline.
   * A player that plays the priming (it decodes to near-silence) still has every real sample at its own time.
   */
  readonly startSeconds: number;
  /** The priming (encoder delay) before it: decoded, but not part of the source. */
  readonly primingSeconds: number;
  /**
   * Digital silence (samples at the track's rate) between the first sample and the programme audio, which starts
   * this much after the presentation's zero in the source (encode.ts leadingSilence): the programme starts at
   * startSeconds + leadingSilenceSamples / sampleRate. Absent from outputs made before the pad (none then).
   */
  readonly leadingSilenceSamples?: number;
  /** Duration of the track as encoded, priming excluded and leading silence included. */
  readonly durationSeconds: number;
  /** The same in samples at the track's rate (48 kHz): the fMP4's last sample duration is the encoder's exact remainder. */
  readonly samples: number;
  readonly source: SourceStarts;
}

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

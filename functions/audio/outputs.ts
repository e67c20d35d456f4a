/**
 * Publishing the step's work: every file goes to the derivatives bucket through uploadDerivative/writeDerivative
 * (deterministic names, loop-guard marker, provenance), and the asset records a small document of measurements,
 * gain, renditions with their QC, preview window and waveform. The gain fields are what the HLS step reuses.
 */
import type { AudioOutputs as GeneratedAudioOutputs } from '../../events/generated/steps/audio.ts';
import type { DeepReadonly } from '../../shared/domain/step.ts';
import { derivativeUri, uploadDerivative, writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import { contentType, fileExtension } from './encoders.ts';
import { round } from './loudness.ts';
import type { AudioParams } from './params.ts';
import { PCM_SAMPLE_RATE } from './pcm.ts';
import type { AudioOutcome, RenditionOutcome } from './process.ts';
import { summarizeSilence } from './silence.ts';
import { renderWaveformPng } from './waveform-png.ts';

/** What the step records (outputs.v1.schema.json beside this file). */
export type AudioOutputs = DeepReadonly<GeneratedAudioOutputs>;
type RenditionOutputs = NonNullable<AudioOutputs['renditions'][string]>;

export const WAVEFORM_JSON = 'waveform.json';
export const WAVEFORM_PNG = 'waveform.png';

export async function publishAudio(target: DerivativeTarget, params: AudioParams, outcome: AudioOutcome): Promise<AudioOutputs> {
  const { config, order } = target;
  const renditions: Record<string, RenditionOutputs> = {};
  // Sequential: uploads are I/O-bound and few; in parallel they would only contend for the same link.
  for (const rendition of outcome.renditions) renditions[rendition.name] = await publishRendition(target, outcome, rendition);

  const waveform = outcome.waveform;
  await writeDerivative(target, WAVEFORM_JSON, JSON.stringify(waveform), { contentType: 'application/json' });
  await writeDerivative(target, WAVEFORM_PNG, renderWaveformPng(waveform, params.waveform.pngWidth, params.waveform.pngHeight), { contentType: 'image/png' });

  const { measurement, gain } = outcome;
  const misses = outcome.renditions.flatMap(({ name, qc: { status, reason } }) =>
    status === 'headroom-limited' || status === 'fail' ? [{ rendition: name, status, reason: reason ?? '' }] : [],
  );
  return {
    profile: params.profile,
    mode: outcome.mode,
    target: { integratedLufs: params.targetLufs, truePeakCeilingDbtp: params.truePeakCeilingDbtp },
    channels: {
      streamIndex: params.stream.index,
      source: params.stream.channels,
      sourceLayout: params.stream.channelLayout ?? null,
      sourceSampleRate: params.stream.sampleRate ?? null,
      output: outcome.channels.outputChannels,
      sampleRate: PCM_SAMPLE_RATE,
      handling: outcome.channels.description,
    },
    measured: {
      integratedLufs: measurement.integratedLufs === null ? null : round(measurement.integratedLufs, 2),
      loudnessRangeLu: round(measurement.loudnessRangeLu, 2),
      truePeakDbtp: measurement.truePeakDbtp,
      samplePeakDbfs: measurement.samplePeakDbfs,
      durationSeconds: measurement.durationSeconds,
    },
    // The source's sample-accurate length as decoded (after the gapless trim), what every rendition, the waveform
    // and the HLS audio are checked against; the container's stated duration is kept for comparison only.
    decodedDurationSeconds: round(outcome.decodedSamples / PCM_SAMPLE_RATE, 6),
    decodedSamples: outcome.decodedSamples,
    decodedSampleRate: PCM_SAMPLE_RATE,
    containerDurationSeconds: params.durationSeconds,
    gaplessTrim: params.trim ?? null,
    silence: summarizeSilence(measurement),
    // What the HLS step reuses: trackGainDb as a playback tag (tagged), or bakedGainDb with the limiter (normalized).
    gain: {
      trackGainDb: gain.gainDb,
      idealGainDb: gain.idealGainDb,
      headroomLimited: gain.headroomLimited,
      bakedGainDb: outcome.baked?.gainDb ?? 0,
      limiter: outcome.baked?.limiter ?? false,
    },
    renditions,
    preview: outcome.preview
      ? {
          startSeconds: outcome.preview.startSeconds,
          durationSeconds: outcome.preview.durationSeconds,
          fadeInSeconds: outcome.preview.fadeInSeconds,
          fadeOutSeconds: outcome.preview.fadeOutSeconds,
          sourceLufs: outcome.preview.sourceLufs,
        }
      : null,
    waveform: {
      jsonUri: derivativeUri(config, order, WAVEFORM_JSON),
      pngUri: derivativeUri(config, order, WAVEFORM_PNG),
      format: 'audiowaveform-json-v2',
      pixelsPerSecond: round(waveform.sample_rate / waveform.samples_per_pixel, 3),
      samplesPerPixel: waveform.samples_per_pixel,
      bits: waveform.bits,
      length: waveform.length,
    },
    qc: { pass: misses.every((miss) => miss.status !== 'fail'), misses },
    warnings: [...outcome.warnings],
  };
}

async function publishRendition(target: DerivativeTarget, outcome: AudioOutcome, rendition: RenditionOutcome): Promise<RenditionOutputs> {
  const file = `${rendition.name}.${fileExtension(rendition.codec)}`;
  const { qc } = rendition;
  const metadata: Record<string, string> = { 'mediaflow-loudness-mode': outcome.mode, 'mediaflow-playback-gain-db': String(qc.playbackGainDb) };
  if (qc.integratedLufs !== null) metadata['mediaflow-integrated-lufs'] = String(qc.integratedLufs);
  if (qc.truePeakDbtp !== null) metadata['mediaflow-true-peak-dbtp'] = String(qc.truePeakDbtp);
  const stored = await uploadDerivative(target, file, rendition.path, { contentType: contentType(rendition.codec), metadata });
  return {
    uri: derivativeUri(target.config, target.order, file),
    codec: rendition.codec === 'aac' ? 'aac-lc' : 'opus',
    container: rendition.codec === 'aac' ? 'm4a' : 'ogg',
    bitrateKbps: rendition.kbps,
    channels: outcome.channels.outputChannels,
    sampleRate: PCM_SAMPLE_RATE,
    bytes: stored.size,
    samples: rendition.samples,
    durationSeconds: rendition.durationSeconds,
    primingSamples: rendition.primingSamples,
    paddingSamples: rendition.paddingSamples,
    tags: { ...rendition.tags },
    qc: { ...qc },
  };
}

/**
 * The renditions: which files the step makes, and how each is finished once its re-measurement is in: the loudness
 * tags of its format are written into it (the gain is only known now), and the QC verdict is recorded.
 */
import path from 'node:path';
import { fileExtension, renditionKbps, type RenditionSpec } from './encoders.ts';
import { mp4LoudnessTags, opusLoudnessTags, type PlaybackGain } from './gain.ts';
import { round } from './loudness.ts';
import { iTunSmpb, ITUNSMPB, readGapless } from './mp4-gapless.ts';
import { readMoov, writeMp4FreeformTags } from './mp4-tags.ts';
import { readOpusSamples } from './opus-length.ts';
import { writeOpusComments } from './opus-tags.ts';
import { PCM_SAMPLE_RATE } from './pcm.ts';
import type { AudioParams } from './params.ts';
import { judge, type QcExpectation, type QcVerdict } from './qc.ts';
import type { RenderedRendition } from './render.ts';

export const PREVIEW = 'preview';

export interface RenditionOutcome {
  readonly name: string;
  readonly codec: RenditionSpec['codec'];
  readonly path: string;
  readonly kbps: number;
  /** Samples (at 48 kHz) the file plays, as its container states them for gapless playback. */
  readonly samples: number;
  readonly durationSeconds: number;
  /** Encoder delay and last-frame padding the container tells players to skip. */
  readonly primingSamples: number;
  readonly paddingSamples: number;
  readonly tags: Readonly<Record<string, string>>;
  readonly qc: QcVerdict;
}

/** The full-length renditions: AAC-LC for reach (every player), Opus for quality per bit. */
export function fullSpecs(params: AudioParams, scratchDir: string): RenditionSpec[] {
  const renditions = params.renditions;
  if (!renditions) return [];
  return [
    { name: 'aac', codec: 'aac', stereoKbps: renditions.aacKbps, path: scratchFile(scratchDir, 'aac', 'aac'), branchFilter: '' },
    { name: 'opus', codec: 'opus', stereoKbps: renditions.opusKbps, path: scratchFile(scratchDir, 'opus', 'opus'), branchFilter: '' },
  ];
}

/** The preview is AAC-LC in M4A: the format every browser plays without a codec check. */
export function previewSpec(params: AudioParams, scratchDir: string, branchFilter: string): RenditionSpec {
  return { name: PREVIEW, codec: 'aac', stereoKbps: params.preview?.kbps ?? 0, path: scratchFile(scratchDir, PREVIEW, 'aac'), branchFilter };
}

function scratchFile(scratchDir: string, name: string, codec: RenditionSpec['codec']): string {
  return path.join(scratchDir, `${name}.${fileExtension(codec)}`);
}

/** A positive gain no larger than this rendition's own headroom allows (a lossy encode can overshoot); a negative one as it is. */
export function renditionGain(gain: PlaybackGain, renditionPeak: number | null, ceilingDbtp: number): number {
  if (gain.gainDb <= 0 || renditionPeak === null) return gain.gainDb;
  return round(Math.max(0, Math.min(gain.gainDb, ceilingDbtp - renditionPeak)), 2);
}

export async function finishRendition(
  params: AudioParams,
  channels: 1 | 2,
  rendition: RenderedRendition,
  expectation: QcExpectation,
): Promise<RenditionOutcome> {
  const { spec, qc: measured } = rendition;
  const tagInput = {
    integratedLufs: measured.integratedLufs,
    truePeakDbtp: measured.truePeakDbtp,
    playbackGainDb: expectation.playbackGainDb,
    targetLufs: params.targetLufs,
  };
  const tags = spec.codec === 'aac' ? mp4LoudnessTags(tagInput) : opusLoudnessTags(tagInput);
  const length = await gaplessLength(spec.path, spec.codec, tags);
  const verdict = judge(measured, expectation);
  return {
    name: spec.name,
    codec: spec.codec,
    path: spec.path,
    kbps: renditionKbps(spec, channels),
    samples: length.samples,
    durationSeconds: round(length.samples / PCM_SAMPLE_RATE, 6),
    primingSamples: length.primingSamples,
    paddingSamples: length.paddingSamples,
    tags,
    qc:
      length.samples === rendition.samples ? verdict : withProblem(verdict, `plays ${length.samples} samples where the encoder was given ${rendition.samples}`),
  };
}

/** Writes the tags with the gapless information, and reads back how many samples the file plays. */
async function gaplessLength(
  file: string,
  codec: RenditionSpec['codec'],
  tags: Readonly<Record<string, string>>,
): Promise<{ samples: number; primingSamples: number; paddingSamples: number }> {
  if (codec === 'aac') {
    const gapless = readGapless(await readMoov(file));
    await writeMp4FreeformTags(file, { ...tags, [ITUNSMPB]: iTunSmpb(gapless) });
    return gapless;
  }
  await writeOpusComments(file, tags);
  // Opus pads its last packet too, but the final granule position already excludes it (RFC 7845 §4.4).
  return { samples: await readOpusSamples(file), primingSamples: 0, paddingSamples: 0 };
}

/** A length that differs from the PCM the encoder received fails the rendition, whatever its loudness. */
function withProblem(verdict: QcVerdict, problem: string): QcVerdict {
  return { ...verdict, status: 'fail', reason: verdict.reason ? `${verdict.reason}; ${problem}` : problem };
}

/**
 * What mediaflow agrees to process, as one named policy. Every limit is checked as early as a cheap fact allows
 * (the probe's header facts at ingest, the plan in the coordinator) and again where a lie would show (the decode).
 * Breaking one is a permanent, named refusal on the first attempt: a retry cannot make a file shorter.
 *
 * The defaults are what one work order of each step can finish inside Pub/Sub's 600 s ack ceiling on its
 * deployed size (see each step's timeout comment); config may lower them, never raise them past that.
 */
import type { ProbeSummary } from '../media/classify.ts';
import { PermanentError } from '../errors.ts';

export interface Limits {
  /** Audio-only assets: the audio step encodes every rendition in one work order (~19× realtime on one core). */
  readonly maxAudioSeconds: number;
  /** Video assets: the HLS audio order and the package step's validation decode are sized for three hours. */
  readonly maxVideoSeconds: number;
  /** One video frame, in pixels: 8K UHD by default. */
  readonly maxVideoFramePixels: number;
  /** Frames the container says a video has (MP4 and AVI state it). */
  readonly maxVideoFrames: number;
  /** Channels of one audio stream; wider layouts exceed what the loudness and downmix graphs are built for. */
  readonly maxAudioChannels: number;
  /** Work orders one asset may fan out to, over all its steps. */
  readonly maxWorkOrdersPerAsset: number;
}

/** Names of the limits' environment variables, so config, docs and Terraform say the same thing. */
export const LIMIT_ENV: Readonly<Record<keyof Limits, string>> = {
  maxAudioSeconds: 'MEDIAFLOW_MAX_AUDIO_SECONDS',
  maxVideoSeconds: 'MEDIAFLOW_MAX_VIDEO_SECONDS',
  maxVideoFramePixels: 'MEDIAFLOW_MAX_VIDEO_FRAME_PIXELS',
  maxVideoFrames: 'MEDIAFLOW_MAX_VIDEO_FRAMES',
  maxAudioChannels: 'MEDIAFLOW_MAX_AUDIO_CHANNELS',
  maxWorkOrdersPerAsset: 'MEDIAFLOW_MAX_WORK_ORDERS_PER_ASSET',
};

const HOUR = 3600;
/** The most frames per second a video may keep on average over its length: phones record slow motion at 240. */
const MAX_AVERAGE_FRAME_RATE = 240;

export const DEFAULT_LIMITS: Limits = Object.freeze({
  maxAudioSeconds: 2 * HOUR,
  maxVideoSeconds: 3 * HOUR,
  maxVideoFramePixels: 7680 * 4320,
  maxVideoFrames: 3 * HOUR * MAX_AVERAGE_FRAME_RATE,
  maxAudioChannels: 16,
  // Three hours of 6 s segments is 1800 orders; the rest of the plan adds a handful.
  maxWorkOrdersPerAsset: 2000,
});

/** The ceilings config may not exceed: past them a work order would time out on every attempt. */
export const LIMIT_CEILINGS: Limits = Object.freeze({
  ...DEFAULT_LIMITS,
  maxVideoFramePixels: 16384 * 16384,
  maxVideoFrames: 3 * HOUR * 1000,
  maxAudioChannels: 64,
});

/** Codes of the refusals below; the probe-time ones make the asset REJECTED (see rejectionCodes). */
export const LimitCode = {
  AUDIO_TOO_LONG: 'AUDIO_TOO_LONG',
  VIDEO_TOO_LONG: 'VIDEO_TOO_LONG',
  VIDEO_TOO_LARGE: 'VIDEO_TOO_LARGE',
  TOO_MANY_FRAMES: 'TOO_MANY_FRAMES',
  TOO_MANY_CHANNELS: 'TOO_MANY_CHANNELS',
  TOO_MANY_WORK_ORDERS: 'TOO_MANY_WORK_ORDERS',
  DURATION_MISMATCH: 'DURATION_MISMATCH',
} as const;

/** Checks the probe's header facts; throws the first limit broken. Images are bounded by the probe's pixel budget. */
export function enforceProbeLimits(probe: ProbeSummary, limits: Limits): void {
  if (probe.kind === 'image') return;
  const seconds = probe.durationSeconds;
  const maxSeconds = probe.kind === 'video' ? limits.maxVideoSeconds : limits.maxAudioSeconds;
  if (seconds !== null && seconds > maxSeconds) {
    const code = probe.kind === 'video' ? LimitCode.VIDEO_TOO_LONG : LimitCode.AUDIO_TOO_LONG;
    const [lasts, limit] = describeBoth(seconds, maxSeconds);
    throw new PermanentError(code, `the ${probe.kind} lasts ${lasts}; the limit is ${limit}`);
  }
  for (const stream of probe.streams) {
    if (stream.type === 'audio' && (stream.channels ?? 0) > limits.maxAudioChannels) {
      throw new PermanentError(
        LimitCode.TOO_MANY_CHANNELS,
        `audio stream ${stream.index} has ${stream.channels} channels; the limit is ${limits.maxAudioChannels}`,
      );
    }
    if (stream.type !== 'video' || stream.attachedPicture) continue;
    const pixels = (stream.width ?? 0) * (stream.height ?? 0);
    if (pixels > limits.maxVideoFramePixels) {
      throw new PermanentError(
        LimitCode.VIDEO_TOO_LARGE,
        `video frames are ${stream.width}×${stream.height} (${megapixels(pixels)}); the limit is ${megapixels(limits.maxVideoFramePixels)}`,
      );
    }
    if ((stream.frameCount ?? 0) > limits.maxVideoFrames) {
      throw new PermanentError(
        LimitCode.TOO_MANY_FRAMES,
        `video stream ${stream.index} has ${stream.frameCount} frames; the limit is ${limits.maxVideoFrames}`,
      );
    }
  }
}

/** The plan's fan-out, checked before any work order exists. */
export function enforceWorkOrderLimit(shardsByStep: ReadonlyMap<string, number>, limits: Limits): void {
  const total = [...shardsByStep.values()].reduce((sum, count) => sum + count, 0);
  if (total <= limits.maxWorkOrdersPerAsset) return;
  const widest = [...shardsByStep.entries()].sort((a, b) => b[1] - a[1])[0]!;
  throw new PermanentError(
    LimitCode.TOO_MANY_WORK_ORDERS,
    `the plan needs ${total} work orders (${widest[1]} for ${widest[0]}); the limit is ${limits.maxWorkOrdersPerAsset} per asset`,
  );
}

/**
 * How much decoded audio a step may read before it stops and calls the header a liar. Container durations are
 * estimates (a VBR MP3 without a Xing header, ADTS with no index), so the allowance is generous: twice the stated
 * length plus a minute, and never past the kind's limit. A file with no stated length gets the limit itself.
 */
export function decodeAllowanceSeconds(statedSeconds: number | null, limitSeconds: number): number {
  if (statedSeconds === null || !(statedSeconds > 0)) return limitSeconds;
  return Math.min(limitSeconds, statedSeconds * 2 + 60);
}

/** The refusal for a decode that reached its allowance: the file holds more than its header says, or more than the limit. */
export function durationMismatch(statedSeconds: number | null, allowanceSeconds: number, limitSeconds: number): PermanentError {
  if (allowanceSeconds >= limitSeconds) {
    return new PermanentError(
      LimitCode.AUDIO_TOO_LONG,
      `the audio holds more than ${describeSeconds(limitSeconds)} of samples, the limit${statedSeconds === null ? '' : ` (its header says ${describeSeconds(statedSeconds)})`}`,
    );
  }
  return new PermanentError(
    LimitCode.DURATION_MISMATCH,
    `the header says ${describeSeconds(statedSeconds ?? 0)} but the audio holds more than ${describeSeconds(allowanceSeconds)}; decoding stopped there`,
  );
}

function describeSeconds(seconds: number): string {
  if (seconds < 120) return `${Number(seconds.toFixed(3))} s`;
  if (seconds < 2 * HOUR) return `${(seconds / 60).toFixed(1)} min`;
  if (seconds < 48 * HOUR) return `${(seconds / HOUR).toFixed(1)} h`;
  return `${(seconds / 86_400).toFixed(1)} days`;
}

/** Both in readable units, and to the second or millisecond where rounding would make them read the same. */
function describeBoth(value: number, limit: number): [string, string] {
  const rounded = [describeSeconds(value), describeSeconds(limit)] as [string, string];
  if (rounded[0] !== rounded[1]) return rounded;
  const exact = (seconds: number): string => `${Number(seconds.toFixed(3))} s`;
  return [`${rounded[0]} (${exact(value)})`, `${rounded[1]} (${exact(limit)})`];
}

function megapixels(pixels: number): string {
  return `${(pixels / 1e6).toFixed(1)} Mpx`;
}

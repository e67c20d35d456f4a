/**
 * The video timeline every segment work order shares: one constant frame rate, segments of a whole number of
 * frames, and a common offset. Pure functions of the probe, so the plan, every shard and the package step agree
 * to the frame without talking to each other.
 */
import { PermanentError, PermanentErrorCode } from '../../errors.ts';
import type { StreamSummary } from '../classify.ts';
import type { HlsSettings } from './settings.ts';

export interface Rational {
  readonly num: number;
  readonly den: number;
}

export interface VideoTimeline {
  readonly frameRate: Rational;
  /** floor(target × rate): a segment never lasts longer than the target, even at 29.97 fps (179 frames). */
  readonly framesPerSegment: number;
  readonly framesPerKeyframe: number;
  readonly totalFrames: number;
  readonly segmentCount: number;
  /**
   * Frames added to every timestamp (a little over one second). x264's B-frame reordering gives the first
   * frames a decode time before their presentation time, and AAC's priming frame starts before the first
   * sample; the tfdt box cannot hold a negative time and fragmented MP4 written ahead of its samples has no edit
   * list to shift it, so the whole presentation starts here instead, for every shard and for the audio alike.
   */
  readonly offsetFrames: number;
}

export interface SegmentWindow {
  readonly index: number;
  readonly startFrame: number;
  readonly frames: number;
}

/** Rates players and encoders know; a measured rate this close to one of them is that rate. */
const STANDARD_RATES: readonly Rational[] = [
  { num: 24000, den: 1001 }, { num: 24, den: 1 }, { num: 25, den: 1 }, { num: 30000, den: 1001 }, { num: 30, den: 1 },
  { num: 48, den: 1 }, { num: 50, den: 1 }, { num: 60000, den: 1001 }, { num: 60, den: 1 },
];
/** 2997/100 (an MKV's rounded 29.97) is 30000/1001 to 0.01 %; 0.1 % still tells 29.97 from 30. */
const CONSTANT_RATE_TOLERANCE = 0.001;
/** A phone's variable-rate clip averages 29.6 or 30.2 fps: it was shot at 30. */
const VARIABLE_RATE_TOLERANCE = 0.05;
/** One second of AAC-LC at 48 kHz: what an audio-only HLS starts at (the priming frame needs room before it). */
export const AUDIO_ONLY_OFFSET_SECONDS = 1;

export function rateValue(rate: Rational): number {
  return rate.num / rate.den;
}

export function frameSeconds(rate: Rational): number {
  return rate.den / rate.num;
}

/** "30000/1001" or "30/1", as ffmpeg's filters take it. */
export function rateText(rate: Rational): string {
  return `${rate.num}/${rate.den}`;
}

/**
 * Constant frame rate sources keep their rate exactly; a variable-rate source gets the whole-number standard rate
 * nearest its average (the fps filter then duplicates or drops frames by timestamp, so sync is kept). Rates above
 * the ceiling are halved until they fit: 120 → 60, 119.88 → 59.94.
 */
export function chooseFrameRate(stream: StreamSummary, maxFrameRate: number): Rational {
  const measured = stream.frameRate;
  if (!measured || !Number.isFinite(measured) || measured <= 0) {
    throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the video stream states no frame rate, so it cannot be cut into segments');
  }
  // A variable-rate clip keeps no NTSC timing: its nominal rate is a whole number (phones record "30", not 29.97).
  const variable = stream.variableFrameRate === true;
  const candidates = variable ? STANDARD_RATES.filter((rate) => rate.den === 1) : STANDARD_RATES;
  let rate = nearestStandard(measured, variable ? VARIABLE_RATE_TOLERANCE : CONSTANT_RATE_TOLERANCE, candidates) ?? (variable ? { num: Math.max(1, Math.round(measured)), den: 1 } : exactRate(stream));
  while (rateValue(rate) > maxFrameRate * (1 + CONSTANT_RATE_TOLERANCE)) {
    const halved = reduce({ num: rate.num, den: rate.den * 2 });
    rate = nearestStandard(rateValue(halved), CONSTANT_RATE_TOLERANCE, STANDARD_RATES) ?? halved;
  }
  return rate;
}

export function planTimeline(stream: StreamSummary, durationSeconds: number | null, settings: HlsSettings): VideoTimeline {
  if (durationSeconds === null || !(durationSeconds > 0)) {
    throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the video states no duration, so it cannot be cut into segments');
  }
  const frameRate = chooseFrameRate(stream, settings.maxFrameRate);
  const perSecond = rateValue(frameRate);
  // The epsilon keeps 6 × 30000/1001 × 1.001 from landing a hair under an integer through floating point.
  const framesPerSegment = Math.max(1, Math.floor(settings.segmentSeconds * perSecond + 1e-9));
  const framesPerKeyframe = Math.min(framesPerSegment, Math.max(1, Math.round(settings.keyframeSeconds * perSecond)));
  const totalFrames = Math.max(1, Math.round(durationSeconds * perSecond));
  return {
    frameRate,
    framesPerSegment,
    framesPerKeyframe,
    totalFrames,
    segmentCount: Math.ceil(totalFrames / framesPerSegment),
    offsetFrames: Math.ceil(perSecond),
  };
}

export function segmentWindow(timeline: VideoTimeline, index: number): SegmentWindow {
  const startFrame = index * timeline.framesPerSegment;
  return { index, startFrame, frames: Math.max(0, Math.min(timeline.framesPerSegment, timeline.totalFrames - startFrame)) };
}

/** The common offset in seconds, for the audio to start where the video does. */
export function offsetSeconds(timeline: VideoTimeline): number {
  return (timeline.offsetFrames * timeline.frameRate.den) / timeline.frameRate.num;
}

function nearestStandard(value: number, tolerance: number, candidates: readonly Rational[]): Rational | undefined {
  let best: Rational | undefined;
  let bestError = Number.POSITIVE_INFINITY;
  for (const rate of candidates) {
    const error = Math.abs(rateValue(rate) - value) / rateValue(rate);
    if (error <= tolerance && error < bestError) {
      best = rate;
      bestError = error;
    }
  }
  return best;
}

/** The rate ffprobe stated ("15/1", "25/2"), reduced; a rate it gave only as a decimal becomes a millihertz fraction. */
function exactRate(stream: StreamSummary): Rational {
  const [num, den] = (stream.frameRateExact ?? '').split('/').map(Number);
  if (num && den && Number.isInteger(num) && Number.isInteger(den) && num > 0 && den > 0) return reduce({ num, den });
  return reduce({ num: Math.round((stream.frameRate ?? 0) * 1000), den: 1000 });
}

function reduce(rate: Rational): Rational {
  const divisor = gcd(rate.num, rate.den);
  return { num: rate.num / divisor, den: rate.den / divisor };
}

function gcd(a: number, b: number): number {
  return b === 0 ? a : gcd(b, a % b);
}

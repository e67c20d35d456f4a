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
  /**
   * The grid frame of the video's first picture. Zero is the file's start (ffmpeg's -start_at_zero): the earliest
   * stream's start. A video that starts later (a transport stream's audio leads, a Matroska's AAC priming) keeps
   * its real start on the grid, so segment 0 is that much shorter and A/V sync is what the source says.
   */
  readonly firstFrame: number;
}

export interface SegmentWindow {
  readonly index: number;
  readonly startFrame: number;
  readonly frames: number;
}

/** Rates players and encoders know; a measured rate this close to one of them is that rate. */
const STANDARD_RATES: readonly Rational[] = [
  { num: 24000, den: 1001 },
  { num: 24, den: 1 },
  { num: 25, den: 1 },
  { num: 30000, den: 1001 },
  { num: 30, den: 1 },
  { num: 48, den: 1 },
  { num: 50, den: 1 },
  { num: 60000, den: 1001 },
  { num: 60, den: 1 },
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

export interface FrameRateDecision {
  readonly rate: Rational;
  /** Times the rate was halved to fit the ceiling: 120 → 60 once, 240 → 60 twice. */
  readonly halvings: number;
  /** A variable-rate source put on a whole-number standard rate. */
  readonly variable: boolean;
}

/**
 * Constant frame rate sources keep their rate exactly; a variable-rate source gets the whole-number standard rate
 * nearest its average (the fps filter then duplicates or drops frames by timestamp, so sync is kept). Rates above
 * the ceiling are halved until they fit: 120 → 60, 119.88 → 59.94, 240 → 60. `fieldRate` doubles the source's
 * rate first: an interlaced source deinterlaced to one picture per field (25i → 50p).
 */
export function decideFrameRate(stream: StreamSummary, maxFrameRate: number, fieldRate = false): FrameRateDecision {
  const measured = stream.frameRate;
  if (!measured || !Number.isFinite(measured) || measured <= 0) {
    throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the video stream states no frame rate, so it cannot be cut into segments');
  }
  const factor = fieldRate ? 2 : 1;
  // A variable-rate clip keeps no NTSC timing: its nominal rate is a whole number (phones record "30", not 29.97).
  const variable = stream.variableFrameRate === true;
  const candidates = variable ? STANDARD_RATES.filter((rate) => rate.den === 1) : STANDARD_RATES;
  const exact = exactRate(stream);
  let rate =
    nearestStandard(measured * factor, variable ? VARIABLE_RATE_TOLERANCE : CONSTANT_RATE_TOLERANCE, candidates) ??
    (variable ? { num: Math.max(1, Math.round(measured * factor)), den: 1 } : reduce({ num: exact.num * factor, den: exact.den }));
  let halvings = 0;
  while (rateValue(rate) > maxFrameRate * (1 + CONSTANT_RATE_TOLERANCE)) {
    const halved = reduce({ num: rate.num, den: rate.den * 2 });
    rate = nearestStandard(rateValue(halved), CONSTANT_RATE_TOLERANCE, STANDARD_RATES) ?? halved;
    halvings++;
  }
  return { rate, halvings, variable };
}

export function chooseFrameRate(stream: StreamSummary, maxFrameRate: number): Rational {
  return decideFrameRate(stream, maxFrameRate).rate;
}

export function planTimeline(stream: StreamSummary, durationSeconds: number | null, settings: HlsSettings, frameRate?: Rational): VideoTimeline {
  if (durationSeconds === null || !(durationSeconds > 0)) {
    throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the video states no duration, so it cannot be cut into segments');
  }
  frameRate ??= chooseFrameRate(stream, settings.maxFrameRate);
  const perSecond = rateValue(frameRate);
  // The epsilon keeps 6 × 30000/1001 × 1.001 from landing a hair under an integer through floating point.
  const framesPerSegment = Math.max(1, Math.floor(settings.segmentSeconds * perSecond + 1e-9));
  const framesPerKeyframe = Math.min(framesPerSegment, Math.max(1, Math.round(settings.keyframeSeconds * perSecond)));
  // The fps filter rounds each picture to the nearest grid slot, and so does this.
  const firstFrame = Math.max(0, Math.round((stream.startSeconds ?? 0) * perSecond));
  // A stream's own duration counts from its start; a file's (what a Matroska states) from zero, past the start.
  const fromZero = stream.durationSeconds === undefined;
  const totalFrames = Math.max(1, Math.round(durationSeconds * perSecond) - (fromZero ? firstFrame : 0));
  return {
    frameRate,
    framesPerSegment,
    framesPerKeyframe,
    totalFrames,
    segmentCount: Math.ceil((firstFrame + totalFrames) / framesPerSegment),
    offsetFrames: Math.ceil(perSecond),
    firstFrame,
  };
}

/**
 * Segment boundaries stay on multiples of framesPerSegment from zero (so they line up with the subtitles' and
 * the audio's timeline); a video starting late has its first segment shortened by firstFrame.
 */
export function segmentWindow(timeline: VideoTimeline, index: number): SegmentWindow {
  const first = timeline.firstFrame;
  const boundary = index * timeline.framesPerSegment;
  const startFrame = Math.max(first, boundary);
  const end = Math.min(boundary + timeline.framesPerSegment, first + timeline.totalFrames);
  return { index, startFrame, frames: Math.max(0, end - startFrame) };
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

/**
 * The video plan every HLS step derives from the probe alone: stream, timeline and ladder (at the display size,
 * rotation and sample aspect ratio applied). The segment shards, the audio rendition (which starts where the
 * video does) and the package step each compute it from the same probe and settings, so they agree without
 * passing it around.
 */
import type { PlanContext } from '../../domain/step.ts';
import { PermanentError } from '../../errors.ts';
import type { StreamSummary } from '../classify.ts';
import { fastVerdict, interlaceVerdict, mayBeInterlaced, type FieldParity, type InterlaceVerdict } from '../interlace.ts';
import type { HdrColour } from '../tonemap.ts';
import { planPictureColour, renditionSpace, type PictureColour, type SdrSpace } from '../video-colour.ts';
import { chooseLadder, primaryVideoStream, type Rendition } from './ladder.ts';
import type { HlsSettings } from './settings.ts';
import {
  AUDIO_ONLY_OFFSET_SECONDS,
  decideFrameRate,
  offsetSeconds,
  planTimeline,
  rateValue,
  type FrameRateDecision,
  type Rational,
  type VideoTimeline,
} from './timeline.ts';

/** 2997/100 and 30000/1001 are the same rate to 0.01 %. */
const SAME_RATE_TOLERANCE = 0.001;

export interface VideoPlan {
  readonly streamIndex: number;
  readonly timeline: VideoTimeline;
  readonly renditions: readonly Rendition[];
  /** Every source frame sits on the output grid: a constant-rate source kept at its own rate (or field rate). */
  readonly sourceOnGrid: boolean;
  /**
   * Seconds a shard seeks before its segment beyond the frame slack. Containers with a seek index (MP4, MOV,
   * Matroska, AVI, WebM) land on the keyframe at or before the target: none. MPEG transport and program streams and
   * raw elementary streams have none; ffmpeg's timestamp search there can land past the segment's first keyframe
   * (a 1080i TS lost its first frame), so a shard starts well before and trims down to its frames.
   */
  readonly seekMarginSeconds: number;
  readonly picture: PicturePlan;
  /** The HEVC Main10 ladder of a PQ or HLG source when the settings ask for one (settings.hdrLadder), else null. */
  readonly hdr: HdrLadderPlan | null;
}

/** HDR renditions: the SDR ladder's rungs, never upscaled, kept in the source's BT.2020 and transfer. */
export interface HdrLadderPlan {
  readonly renditions: readonly Rendition[];
  readonly colour: HdrColour;
}

/** Names an HDR rung after its SDR counterpart: '720p' and '720p-hdr' share a size, not a codec. */
export const HDR_RENDITION_SUFFIX = '-hdr';

/** Demuxers that seek by timestamp search, without an index (ffmpeg's names). */
const UNINDEXED_FORMATS: ReadonlySet<string> = new Set(['mpegts', 'mpeg', 'mpegvideo', 'h264', 'hevc', 'm4v', 'dvd', 'vob']);
/** More than a broadcast GOP (12–15 frames) and a typical H.264-in-TS GOP (1–2 s): the cost is a few seconds of decode per shard. */
export const UNINDEXED_SEEK_MARGIN_SECONDS = 3;

/** bwdif over the decoded frames: one picture per frame (send_frame) or per field (send_field), fields in `parity` order. */
export interface DeinterlacePlan {
  readonly filter: 'bwdif';
  readonly mode: 'send_frame' | 'send_field';
  readonly parity: FieldParity;
}

export interface FrameRateRecord {
  /** As the stream states it ("30000/1001"). */
  readonly source: string;
  readonly output: Rational;
  /** 'kept', 'halved', 'halved ×2', 'deinterlaced to frame rate', 'deinterlaced to field rate[, halved]', 'variable, nearest standard rate'. */
  readonly rule: string;
}

/** What happens to the pictures before they are scaled into the rungs, and how each rung is tagged. */
export interface PicturePlan {
  readonly scan: Pick<InterlaceVerdict, 'flagged' | 'detected' | 'method'>;
  readonly deinterlace: DeinterlacePlan | null;
  readonly colour: PictureColour;
  /** One per rendition, in the same order. */
  readonly renditionSpaces: readonly SdrSpace[];
  readonly frameRate: FrameRateRecord;
}

/** The video stream's own duration when the container states it (MP4 edit lists applied), else the file's. */
export function planVideo(context: Pick<PlanContext, 'probe'>, settings: HlsSettings): VideoPlan {
  const stream = primaryVideoStream(context.probe);
  if (!stream) throw new Error('the asset has no video stream; no HLS video step should have been planned');
  const scan = scanOf(stream);
  const deinterlace: DeinterlacePlan | null =
    scan.detected === 'progressive'
      ? null
      : { filter: 'bwdif', mode: settings.deinterlaceRate === 'field' ? 'send_field' : 'send_frame', parity: scan.detected };
  const fieldRate = deinterlace?.mode === 'send_field';
  const rate = decideFrameRate(stream, settings.maxFrameRate, fieldRate);
  const timeline = planTimeline(stream, stream.durationSeconds ?? context.probe.durationSeconds, settings, rate.rate);
  const pictureRate = (stream.frameRate ?? 0) * (fieldRate ? 2 : 1);
  const sourceOnGrid =
    !stream.variableFrameRate && stream.frameRate !== undefined && Math.abs(pictureRate / rateValue(timeline.frameRate) - 1) < SAME_RATE_TOLERANCE;
  const renditions = chooseLadder(context.probe, timeline.frameRate, settings);
  const colour = planPictureColour(stream);
  const picture: PicturePlan = {
    scan: { flagged: scan.flagged, detected: scan.detected, method: scan.method },
    deinterlace,
    colour,
    renditionSpaces: renditions.map((rendition) => renditionSpace(stream, colour, rendition)),
    frameRate: { source: stream.frameRateExact ?? String(stream.frameRate), output: timeline.frameRate, rule: frameRateRule(rate, deinterlace) },
  };
  const unindexed = context.probe.formatName.split(',').some((name) => UNINDEXED_FORMATS.has(name));
  const hdr: HdrLadderPlan | null =
    settings.hdrLadder && colour.toneMap
      ? { renditions: renditions.map((rendition) => ({ ...rendition, name: `${rendition.name}${HDR_RENDITION_SUFFIX}` })), colour: colour.toneMap }
      : null;
  return { streamIndex: stream.index, timeline, renditions, sourceOnGrid, seekMarginSeconds: unindexed ? UNINDEXED_SEEK_MARGIN_SECONDS : 0, picture, hdr };
}

/** The ingest verdict; a probe without one (made before it existed, or by a caller that skipped idet) goes by the flag. */
function scanOf(stream: StreamSummary): InterlaceVerdict {
  if (stream.interlace) return stream.interlace;
  return mayBeInterlaced(stream.frameRate) ? interlaceVerdict(stream.fieldOrder, undefined) : fastVerdict(stream.fieldOrder);
}

export function frameRateRule(rate: FrameRateDecision, deinterlace: DeinterlacePlan | null): string {
  const halved = rate.halvings === 0 ? undefined : rate.halvings === 1 ? 'halved' : `halved ×${rate.halvings}`;
  const base = deinterlace
    ? `deinterlaced to ${deinterlace.mode === 'send_field' ? 'field' : 'frame'} rate`
    : rate.variable
      ? 'variable, nearest standard rate'
      : undefined;
  return [base, halved].filter((part) => part !== undefined).join(', ') || 'kept';
}

/**
 * The plan, or why the video cannot have one (no frame rate, no duration, no picture size). Planning runs in the
 * coordinator, where a throw would only be retried; the reason travels in the work order instead, and the worker
 * fails the asset with it.
 */
export function tryPlanVideo(context: Pick<PlanContext, 'probe'>, settings: HlsSettings): { readonly plan: VideoPlan } | { readonly problem: string } {
  try {
    return { plan: planVideo(context, settings) };
  } catch (error) {
    if (error instanceof PermanentError) return { problem: error.message };
    throw error;
  }
}

/** Where the HLS presentation starts: the video's offset, or for audio-only assets a plain second. */
export function timelineOffsetSeconds(context: Pick<PlanContext, 'probe' | 'kind'>, settings: HlsSettings): number {
  const planned = context.kind === 'video' && primaryVideoStream(context.probe) ? tryPlanVideo(context, settings) : undefined;
  return planned && 'plan' in planned ? offsetSeconds(planned.plan.timeline) : AUDIO_ONLY_OFFSET_SECONDS;
}

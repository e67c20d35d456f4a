/**
 * The rendition ladder, chosen from the probe: the rungs the source can fill without upscaling, each at the
 * source's display aspect ratio (sample aspect ratio and rotation applied, as ProbeSummary.display has them),
 * with even dimensions for 4:2:0 chroma and square pixels, and a VBV cap per rung.
 */
import { PermanentError, PermanentErrorCode } from '../../errors.ts';
import type { ProbeSummary, StreamSummary } from '../classify.ts';
import { HIGH_FRAME_RATE_FACTOR, VBV_BUFFER_SECONDS, type HlsSettings } from './settings.ts';
import { rateValue, type Rational } from './timeline.ts';

export interface Rendition {
  readonly name: string;
  /** Display orientation: a portrait source gives portrait renditions. */
  readonly width: number;
  readonly height: number;
  readonly maxKbps: number;
  readonly bufferKbits: number;
}

/** The least cap a source smaller than every rung gets: below it x264 starves even a 240-line picture. */
const SMALLEST_RUNG_FALLBACK_KBPS_FLOOR = 200;

/** The first picture stream that is not cover art: what ffmpeg and players pick, and what the probe's display describes. */
export function primaryVideoStream(probe: ProbeSummary): StreamSummary | undefined {
  return probe.streams.find((stream) => stream.type === 'video' && !stream.attachedPicture);
}

export function chooseLadder(probe: ProbeSummary, frameRate: Rational, settings: HlsSettings): Rendition[] {
  const display = probe.display;
  if (!display || display.width < 2 || display.height < 2) {
    throw new PermanentError(PermanentErrorCode.UNSUPPORTED_MEDIA, 'the video has no usable picture size');
  }
  const portrait = display.height > display.width;
  const sourceShort = Math.min(display.width, display.height);
  const sourceLong = Math.max(display.width, display.height);
  const aspect = sourceLong / sourceShort;
  const rateFactor = rateValue(frameRate) > 30.5 ? HIGH_FRAME_RATE_FACTOR : 1;
  const orient = (short: number, long: number): { width: number; height: number } =>
    portrait ? { width: short, height: long } : { width: long, height: short };

  const fitting = settings.rungs.filter((rung) => rung.shortSide <= sourceShort);
  if (fitting.length > 0) {
    return fitting.map((rung) => {
      // The long side rounds to the nearest even number, which can pass the source's own (odd) long side by one pixel; never beyond it.
      const long = Math.min(evenFloor(sourceLong), evenRound(rung.shortSide * aspect));
      const maxKbps = Math.round(rung.maxKbps * rateFactor);
      return { name: rung.name, ...orient(rung.shortSide, long), maxKbps, bufferKbits: maxKbps * VBV_BUFFER_SECONDS };
    });
  }
  // Smaller than every rung: one rendition at the source's own display size, capped in proportion to its area.
  const smallest = settings.rungs.at(-1);
  const short = evenFloor(sourceShort);
  const long = evenFloor(sourceLong);
  const smallestArea = smallest ? smallest.shortSide * smallest.shortSide * aspect : short * long;
  const cap = smallest
    ? Math.max(SMALLEST_RUNG_FALLBACK_KBPS_FLOOR, Math.round((smallest.maxKbps * short * long) / smallestArea))
    : SMALLEST_RUNG_FALLBACK_KBPS_FLOOR;
  const maxKbps = Math.round(cap * rateFactor);
  return [{ name: `${short}p`, ...orient(short, long), maxKbps, bufferKbits: maxKbps * VBV_BUFFER_SECONDS }];
}

function evenRound(value: number): number {
  return Math.max(2, 2 * Math.round(value / 2));
}

function evenFloor(value: number): number {
  return Math.max(2, 2 * Math.floor(value / 2));
}

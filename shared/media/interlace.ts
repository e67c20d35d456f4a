/**
 * Is the video interlaced? The container's field order is a claim (MPEG-2 encoders flag progressive film as
 * interlaced, captures store woven fields as "progressive" H.264), so at ingest ffmpeg's idet filter looks at a
 * short sample of decoded frames and the verdict weighs both. The rules are pure (interlaceVerdict); the run is
 * bounded in frames and time, and its failure only leaves the flag to decide.
 */
import { inputArgs, type MediaInput } from './input.ts';
import { classifyExit } from './ffmpeg/classify.ts';
import { runTool, ToolFailure } from './ffmpeg/run.ts';

export type FieldParity = 'tff' | 'bff';
export type ScanType = FieldParity | 'progressive';

export interface IdetCounts {
  readonly tff: number;
  readonly bff: number;
  readonly progressive: number;
  readonly undetermined: number;
}

export interface InterlaceVerdict {
  /** What the stream says (ffprobe field_order, displayed field first), or 'unknown' when it says nothing. */
  readonly flagged: ScanType | 'unknown';
  readonly detected: ScanType;
  /**
   * 'idet': the sample decided (or confirmed the flag); 'flag': idet saw too little or could not run, so the flag
   * stands; 'frame-rate': faster than any interlaced format, never sampled.
   */
  readonly method: 'idet' | 'flag' | 'frame-rate';
  /** Frames idet classified. */
  readonly frames: number;
  readonly counts?: IdetCounts;
}

/** Frames sampled: four seconds of 25i, enough for idet's multi-frame detection to settle. */
export const IDET_FRAMES = 100;
/** Sources long enough start the sample here, past the black or the titles a video often opens with. */
export const IDET_SKIP_SECONDS = 2;
/** A video shorter than this is sampled from its start. */
const IDET_SKIP_MIN_DURATION_SECONDS = 10;
/** 100 frames of 1080i decode in about a second; this bounds a pathological stream at ingest. */
export const IDET_TIMEOUT_MS = 20_000;
/**
 * No interlaced format carries more than 30 frames (60 fields) a second: faster video is progressive, whatever
 * its pictures look like to idet (sharp synthetic motion at 120 fps reads as combing).
 */
const MAX_INTERLACED_FRAME_RATE = 30.5;
/** idet must have classified this share of the sample to overrule or establish anything; otherwise the flag stands. */
const MIN_DETERMINED_SHARE = 0.5;
/**
 * Share of the classified frames that must look combed. A flagged-interlaced stream keeps its flag unless the
 * sample is clearly progressive (an interlaced-coded MPEG-2 of progressive pictures measured 14 % combed, woven
 * fields 100 %); a stream flagged progressive or not at all needs a large majority, since compression artefacts
 * and sharp screen content read as combing on a fraction of frames (full-range MJPEG of progressive pictures:
 * 53 %). Telecined film shows combing on two frames in five, but idet's multi-frame detection counts nearly all
 * of them (56 of 60) as woven. A flagged source whose sample is static (no motion, so no combing) reads as
 * progressive too: the sample starts a few seconds in to avoid the titles.
 */
const INTERLACED_SHARE: Readonly<Record<InterlaceVerdict['flagged'], number>> = { tff: 0.25, bff: 0.25, unknown: 0.8, progressive: 0.9 };

/**
 * ffprobe's field_order names the coded and the displayed field ('tb': top coded first, bottom displayed
 * first); the parity a deinterlacer needs is the displayed one.
 */
export function flaggedScan(fieldOrder: string | undefined): InterlaceVerdict['flagged'] {
  switch (fieldOrder) {
    case 'progressive':
      return 'progressive';
    case 'tt':
    case 'bt':
      return 'tff';
    case 'bb':
    case 'tb':
      return 'bff';
    default:
      return 'unknown';
  }
}

/** The weighed verdict; `counts` undefined means idet did not run or failed. */
export function interlaceVerdict(fieldOrder: string | undefined, counts: IdetCounts | undefined): InterlaceVerdict {
  const flagged = flaggedScan(fieldOrder);
  const fromFlag: ScanType = flagged === 'unknown' ? 'progressive' : flagged;
  if (!counts) return { flagged, detected: fromFlag, method: 'flag', frames: 0 };
  const frames = counts.tff + counts.bff + counts.progressive + counts.undetermined;
  const determined = counts.tff + counts.bff + counts.progressive;
  if (frames === 0 || determined < frames * MIN_DETERMINED_SHARE) return { flagged, detected: fromFlag, method: 'flag', frames, counts };
  const interlaced = counts.tff + counts.bff;
  const parity: FieldParity = counts.tff > counts.bff || (counts.tff === counts.bff && flagged !== 'bff') ? 'tff' : 'bff';
  const detected: ScanType = interlaced >= determined * INTERLACED_SHARE[flagged] ? parity : 'progressive';
  return { flagged, detected, method: 'idet', frames, counts };
}

/** The verdict for a stream too fast to be interlaced: no sample taken. */
export function fastVerdict(fieldOrder: string | undefined): InterlaceVerdict {
  return { flagged: flaggedScan(fieldOrder), detected: 'progressive', method: 'frame-rate', frames: 0 };
}

export function mayBeInterlaced(frameRate: number | undefined): boolean {
  return frameRate === undefined || frameRate <= MAX_INTERLACED_FRAME_RATE;
}

/** idet's summary line ("Multi frame detection: TFF: 50 BFF: 0 Progressive: 0 Undetermined: 0"), printed at info level. */
export function parseIdet(stderr: string): IdetCounts | undefined {
  const match = /Multi frame detection:\s*TFF:\s*(\d+)\s*BFF:\s*(\d+)\s*Progressive:\s*(\d+)\s*Undetermined:\s*(\d+)/.exec(stderr);
  if (!match) return undefined;
  return { tff: Number(match[1]), bff: Number(match[2]), progressive: Number(match[3]), undetermined: Number(match[4]) };
}

export function idetArgs(input: MediaInput, streamIndex: number, startSeconds: number): string[] {
  return [
    // info level: idet reports its counts only there, when the graph closes.
    '-hide_banner',
    '-nostdin',
    '-nostats',
    '-v',
    'info',
    ...(startSeconds > 0 ? ['-ss', startSeconds.toFixed(3)] : []),
    '-threads',
    '1',
    ...inputArgs(input),
    '-map',
    `0:${streamIndex}`,
    '-vf',
    'idet',
    '-frames:v',
    String(IDET_FRAMES),
    '-an',
    '-sn',
    '-dn',
    '-f',
    'null',
    '-',
  ];
}

export function idetStartSeconds(durationSeconds: number | null | undefined): number {
  return durationSeconds !== null && durationSeconds !== undefined && durationSeconds >= IDET_SKIP_MIN_DURATION_SECONDS ? IDET_SKIP_SECONDS : 0;
}

export interface DetectOptions {
  readonly streamIndex: number;
  readonly fieldOrder: string | undefined;
  readonly frameRate: number | undefined;
  readonly durationSeconds: number | null | undefined;
}

/**
 * Runs idet over the sample. A decode failure, a crash or a timeout is no verdict on the scan (the segment step
 * reports an undecodable source with its own reason), so the flag then stands; an abort from outside is rethrown,
 * and so is an ffmpeg that could not be started (classified: a missing binary is a ConfigError).
 */
export async function detectInterlace(ffmpeg: string, input: MediaInput, options: DetectOptions, signal?: AbortSignal): Promise<InterlaceVerdict> {
  if (!mayBeInterlaced(options.frameRate)) return fastVerdict(options.fieldOrder);
  try {
    const args = idetArgs(input, options.streamIndex, idetStartSeconds(options.durationSeconds));
    const run = await runTool(ffmpeg, args, { tool: 'ffmpeg', label: 'idet', signal, timeoutMs: IDET_TIMEOUT_MS });
    return interlaceVerdict(options.fieldOrder, parseIdet(run.stderr));
  } catch (error) {
    if (!(error instanceof ToolFailure)) throw error;
    if (error.exit.spawnError) throw classifyExit(error.exit, { what: 'the interlace check could not run' });
    return interlaceVerdict(options.fieldOrder, parseIdet(error.stderr));
  }
}

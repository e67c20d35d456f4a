/**
 * The renditions' encoders. Each runs as its own ffmpeg fed raw PCM by the single-decode graph: ffmpeg 5.1 runs a
 * graph and its encoders on one thread, so separate encoder processes are how one decode keeps two cores busy.
 * Each encoder's tee muxer writes the file and, at the same time, a streamable copy (ADTS, Ogg) for the QC
 * process, so re-measuring a rendition overlaps its encode instead of following it.
 */
import { PCM_SAMPLE_RATE } from './pcm.ts';

export type RenditionCodec = 'aac' | 'opus';

export interface RenditionSpec {
  /** 'aac', 'opus', 'preview': also the derivative's file stem. */
  readonly name: string;
  readonly codec: RenditionCodec;
  /** Bitrate for stereo; a mono rendition gets half, the same bits per channel. */
  readonly stereoKbps: number;
  /** Scratch path the encoder writes. */
  readonly path: string;
  /** Graph filters of this rendition's branch only (the preview's trim and fades), or ''. */
  readonly branchFilter: string;
}

interface CodecRecipe {
  readonly encoder: readonly string[];
  /** Muxer of the file, and of the copy the QC process reads from a pipe. */
  readonly fileFormat: string;
  readonly streamFormat: string;
  readonly extension: string;
  readonly contentType: string;
}

const RECIPES: Readonly<Record<RenditionCodec, CodecRecipe>> = {
  // AAC-LC with ffmpeg's native encoder; ipod is the M4A flavour of the MP4 muxer, faststart for progressive play.
  // The edit list carries the gapless information (priming skipped, padding cut); a movie timescale of the sample
  // rate makes its duration sample-accurate instead of rounded to the default's milliseconds (mp4-gapless.ts).
  aac: {
    encoder: ['-c:a', 'aac', '-profile:a', 'aac_low'],
    fileFormat: `ipod:movflags=+faststart:use_editlist=1:movie_timescale=${PCM_SAMPLE_RATE}`,
    streamFormat: 'adts',
    extension: 'm4a',
    contentType: 'audio/mp4',
  },
  // VBR (libopus's default) at compression 10, the highest quality per bit; 'audio' tunes for music over speech.
  opus: {
    encoder: ['-c:a', 'libopus', '-vbr', 'on', '-compression_level', '10', '-application', 'audio'],
    fileFormat: 'ogg',
    streamFormat: 'ogg',
    extension: 'opus',
    contentType: 'audio/ogg; codecs=opus',
  },
};

/** Keeps encoder version strings and random stream serials out, so the same input gives the same bytes. */
const BITEXACT = ['-fflags', '+bitexact', '-flags:a', '+bitexact', '-map_metadata', '-1'];

export function renditionKbps(spec: Pick<RenditionSpec, 'stereoKbps'>, channels: 1 | 2): number {
  return channels === 2 ? spec.stereoKbps : Math.round(spec.stereoKbps / 2);
}

export function fileExtension(codec: RenditionCodec): string {
  return RECIPES[codec].extension;
}

export function contentType(codec: RenditionCodec): string {
  return RECIPES[codec].contentType;
}

/** Raw float PCM on stdin → the file, plus a streamable copy on stdout for QC (dropped, not fatal, if QC goes away). */
export function encoderArgs(spec: RenditionSpec, channels: 1 | 2): string[] {
  const recipe = RECIPES[spec.codec];
  const tee = `[f=${recipe.fileFormat}]file\\:${escapeTee(spec.path)}|[f=${recipe.streamFormat}:onfail=ignore]pipe\\:1`;
  return [
    '-f',
    'f32le',
    '-ar',
    String(PCM_SAMPLE_RATE),
    '-ac',
    String(channels),
    '-i',
    'pipe:0',
    '-map',
    '0:a',
    ...recipe.encoder,
    '-b:a',
    `${renditionKbps(spec, channels)}k`,
    ...BITEXACT,
    '-f',
    'tee',
    tee,
  ];
}

/** The demuxer the QC process reads the streamable copy with. */
export function qcInputFormat(codec: RenditionCodec): string {
  return codec === 'aac' ? 'aac' : 'ogg';
}

/** tee splits its argument on '|' and parses [options]; a path must not be able to inject either. */
function escapeTee(path: string): string {
  return path.replace(/[\\|[\]:']/g, (character) => `\\${character}`);
}

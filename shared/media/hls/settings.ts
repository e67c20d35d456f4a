/**
 * The HLS recipe: segment and keyframe cadence, the ladder's rungs and the encoder settings. The plan resolves
 * these into each work order's params, so a work order records exactly what it ran with and a later change of
 * this table never alters a re-run. Tests and the bench pass their own settings (a faster preset, say).
 */

export interface Rung {
  /** Names the rendition in paths and playlists: '1080p' means a short side of 1080 pixels, portrait or not. */
  readonly name: string;
  readonly shortSide: number;
  /** VBV cap at 30 fps and below (x264 -maxrate); frame rates above 30 get HIGH_FRAME_RATE_FACTOR more. */
  readonly maxKbps: number;
}

export interface HlsSettings {
  /**
   * EXT-X-TARGETDURATION, an integer (RFC 8216 §4.3.3.1). Every video segment lasts a whole number of frames at
   * or below it, and every audio segment a whole number of AAC frames at or below it.
   */
  readonly segmentSeconds: number;
  /** Apple's HLS authoring spec asks for a keyframe every 2 s; segments start with one whatever this says. */
  readonly keyframeSeconds: number;
  /** Largest first. A rung is used when the source's display short side is at least as large: never upscale. */
  readonly rungs: readonly Rung[];
  readonly x264Preset: string;
  /** Capped CRF: constant quality under each rung's VBV cap, so a segment's encode does not depend on its neighbours. */
  readonly crf: number;
  /**
   * Threads per work order (decoder, filters, x264). One: the segment step scales out over instances, one vCPU
   * each, and single-threaded x264 spends the least CPU per frame.
   */
  readonly threads: number;
  /** Apple's HLS authoring spec tops out at 60 fps; faster sources are halved until they fit. */
  readonly maxFrameRate: number;
  /** AAC-LC for two channels; mono gets half. */
  readonly audioKbps: number;
  /**
   * What an interlaced source becomes: 'frame' keeps its frame rate (25i → 25p, one picture per field pair,
   * bwdif send_frame), 'field' makes a picture of every field (25i → 50p, bwdif send_field: smoother motion for
   * sport, twice the frames to encode). Default 'frame': the ladder's bitrates are sized for it.
   */
  readonly deinterlaceRate: 'frame' | 'field';
  /**
   * PQ and HLG sources also get an HDR ladder: HEVC Main10 ('hvc1'), BT.2020 with the source's transfer, the same
   * rungs, listed in the master with VIDEO-RANGE beside the SDR H.264 ladder (Apple's HLS authoring spec). Off by
   * default: every HDR source would cost a second ladder of the slower encoder. The `hdr` profile turns it on.
   */
  readonly hdrLadder: boolean;
  /** libx265's CRF for the HDR ladder: x265's 28 is its counterpart of x264's 23 (x265's own default). */
  readonly x265Crf: number;
}

/** Apple's HLS authoring spec ladder gives 60 fps rungs about half as much again as their 30 fps counterparts. */
export const HIGH_FRAME_RATE_FACTOR = 1.5;
/** x264's VBV buffer in seconds of the cap: 2 s lets a keyframe borrow from the frames around it. */
export const VBV_BUFFER_SECONDS = 2;

export const DEFAULT_HLS_SETTINGS: HlsSettings = {
  segmentSeconds: 6,
  keyframeSeconds: 2,
  rungs: [
    { name: '1080p', shortSide: 1080, maxKbps: 6000 },
    { name: '720p', shortSide: 720, maxKbps: 3000 },
    { name: '480p', shortSide: 480, maxKbps: 1500 },
    { name: '360p', shortSide: 360, maxKbps: 800 },
  ],
  x264Preset: 'veryfast',
  crf: 23,
  threads: 1,
  maxFrameRate: 60,
  audioKbps: 128,
  deinterlaceRate: 'frame',
  hdrLadder: false,
  x265Crf: 28,
};

/** Asset profiles that change the HLS recipe; any other name (a typo too) gets the settings as they are. */
export const HLS_PROFILES: Readonly<Record<string, Partial<HlsSettings>>> = {
  hdr: { hdrLadder: true },
};

/** The settings an asset of this profile is packaged with, resolved by name as the audio and thumbnail steps do. */
export function hlsSettingsFor(settings: HlsSettings, profile: string | undefined): HlsSettings {
  const overrides = profile !== undefined && Object.hasOwn(HLS_PROFILES, profile) ? HLS_PROFILES[profile] : undefined;
  return overrides ? { ...settings, ...overrides } : settings;
}

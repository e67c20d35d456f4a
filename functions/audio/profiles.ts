/**
 * Loudness profiles, keyed by the asset's profile name. The plan resolves one into the work order's params, so a
 * work order records exactly the settings it ran with and a later change of this table never alters a re-run.
 */

/**
 * tagged: renditions keep the master's level and carry the playback gain as metadata (what Spotify does: the
 * master is never touched). normalized: the gain is baked into the renditions, for players that apply no gain.
 */
export type LoudnessMode = 'tagged' | 'normalized';

/** keep: a mono source stays one channel. stereo: it is delivered as dual mono, for chains that expect two channels. */
export type MonoPolicy = 'keep' | 'stereo';

export interface PreviewSettings {
  readonly seconds: number;
  readonly kbps: number;
  readonly fadeInSeconds: number;
  readonly fadeOutSeconds: number;
}

export interface WaveformSettings {
  readonly pixelsPerSecond: number;
  /** audiowaveform's data resolution: 8 (what peaks.js fetches by default) or 16. */
  readonly bits: 8 | 16;
  readonly pngWidth: number;
  readonly pngHeight: number;
}

export interface AudioProfile {
  /** Integrated loudness (ITU-R BS.1770-4) playback is normalized to. */
  readonly targetLufs: number;
  /** No rendition may play above this true peak (EBU R128 and Spotify both use −1 dBTP). */
  readonly truePeakCeilingDbtp: number;
  readonly mode: LoudnessMode;
  readonly mono: MonoPolicy;
  /** Bitrates for two channels; a mono rendition gets half, which keeps the same quality per channel. */
  readonly aacKbps: number;
  readonly opusKbps: number;
  readonly preview: PreviewSettings | null;
  readonly waveform: WaveformSettings;
}

const PREVIEW: PreviewSettings = { seconds: 30, kbps: 96, fadeInSeconds: 1, fadeOutSeconds: 2 };
/** 100 px/s is 480 samples per pixel at 48 kHz: between peaks.js's default zoom levels (256–4096 at 44.1 kHz). */
const WAVEFORM: WaveformSettings = { pixelsPerSecond: 100, bits: 8, pngWidth: 1800, pngHeight: 280 };

/** Spotify's reference: −14 LUFS integrated, −1 dBTP, gain as metadata. */
const MUSIC: AudioProfile = {
  targetLufs: -14,
  truePeakCeilingDbtp: -1,
  mode: 'tagged',
  mono: 'keep',
  aacKbps: 256,
  opusKbps: 160,
  preview: PREVIEW,
  waveform: WAVEFORM,
};

export const AUDIO_PROFILES: Readonly<Record<string, AudioProfile>> = {
  default: MUSIC,
  music: MUSIC,
  // Apple Podcasts asks for −16 LUFS; podcast apps rarely apply gain metadata, so the gain is baked in.
  podcast: { ...MUSIC, targetLufs: -16, mode: 'normalized' },
  // EBU R128: −23 LUFS, −1 dBTP, delivered normalized, and always two channels for broadcast chains.
  broadcast: { ...MUSIC, targetLufs: -23, mode: 'normalized', mono: 'stereo' },
};

export const DEFAULT_AUDIO_PROFILE = 'default';

/** An unknown profile name falls back to the default, as the lead's design asks: a profile is a preference, not a contract. */
export function resolveAudioProfile(name: string): { name: string; profile: AudioProfile } {
  const profile = Object.hasOwn(AUDIO_PROFILES, name) ? AUDIO_PROFILES[name] : undefined;
  return profile ? { name, profile } : { name: DEFAULT_AUDIO_PROFILE, profile: MUSIC };
}

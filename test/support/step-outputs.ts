/**
 * Whole outputs documents of the steps other steps read (tag reads thumbnail and audio), for plans under test:
 * a step reads another's outputs through their schema, so a fixture must be what the step really records.
 */
import type { DocData } from '../../shared/ports/document-store.ts';

const out = 'gs://mediaflow-derivatives/a';

/** What the thumbnail step records, whole (the plan reads it through its schema), around the derivatives a test cares about. */
const placeholder = { blurhash: 'LEHV6nWB2yk8pyo0adR*.7kCMdnj', lqip: 'data:image/webp;base64,UklGRg==', dominantColour: null };
export function thumbnailOutputs(mode: 'image' | 'cover' | 'video', derivatives: DocData[], sprites: DocData[] = []): DocData {
  if (mode === 'video') {
    const storyboard = { vttUri: `${out}/thumbnail/v1/storyboard.vtt`, sprites, tileWidth: 160, tileHeight: 90, columns: 10, intervalSeconds: 2, tiles: 10 };
    return {
      mode,
      display: { width: 1280, height: 720 },
      hdrToneMapped: false,
      poster: { timeSeconds: 1, width: 1280, height: 720 },
      placeholder,
      storyboard,
      derivatives,
    };
  }
  const colour = { source: 'srgb', iccProfile: null, output: 'srgb' };
  if (mode === 'cover') {
    const source = { from: 'tags', format: 'jpeg', width: 640, height: 640, bytes: 1 };
    return { mode, source, crop: null, sizes: [640], upscaled: false, skippedSizes: [], note: null, colour, transparent: false, placeholder, derivatives };
  }
  return {
    mode,
    source: { format: 'jpeg', width: 1280, height: 960, bitDepth: 8, channels: 3, hasAlpha: false, orientation: 1 },
    display: { width: 1280, height: 960 },
    orientationApplied: false,
    colour: { ...colour, wideGamut: false, gamutClipped: false },
    transparent: false,
    exif: null,
    placeholder,
    animation: null,
    derivatives,
  };
}

/** What the audio step records, whole, with the parts a test cares about replaced. */
export function audioOutputs(parts: { renditions?: Record<string, { uri: string }>; measured?: DocData; silence?: DocData; channels?: DocData } = {}): DocData {
  const qc = {
    status: 'pass',
    integratedLufs: -14,
    truePeakDbtp: -1,
    playbackGainDb: 0,
    playbackLufs: -14,
    playbackTruePeakDbtp: -1,
    targetLufs: -14,
    toleranceLu: 1,
    reason: null,
  };
  const rendition = ({ uri }: { uri: string }): DocData => ({
    uri,
    codec: 'aac-lc',
    container: 'm4a',
    bitrateKbps: 128,
    channels: 2,
    sampleRate: 48_000,
    bytes: 1,
    samples: 48_000,
    durationSeconds: 1,
    primingSamples: 1024,
    paddingSamples: 0,
    tags: {},
    qc,
  });
  return {
    profile: 'default',
    mode: 'tagged',
    target: { integratedLufs: -14, truePeakCeilingDbtp: -1 },
    channels: {
      streamIndex: 0,
      source: 2,
      sourceLayout: 'stereo',
      sourceSampleRate: 44_100,
      output: 2,
      sampleRate: 48_000,
      handling: 'stereo kept',
      ...parts.channels,
    },
    measured: { integratedLufs: -14, loudnessRangeLu: 5, truePeakDbtp: -1, samplePeakDbfs: -1, durationSeconds: 180, ...parts.measured },
    decodedDurationSeconds: 180,
    decodedSamples: 8_640_000,
    decodedSampleRate: 48_000,
    containerDurationSeconds: 180,
    gaplessTrim: null,
    silence: {
      digital: false,
      unmeasurable: false,
      totalSeconds: 0,
      leadingSeconds: 0,
      trailingSeconds: 0,
      passageCount: 0,
      passages: [],
      thresholdDbfs: -60,
      minimumSeconds: 2,
      ...parts.silence,
    },
    gain: { trackGainDb: 0, idealGainDb: 0, headroomLimited: false, bakedGainDb: 0, limiter: false },
    renditions: Object.fromEntries(Object.entries(parts.renditions ?? {}).map(([name, file]) => [name, rendition(file)])),
    preview: null,
    waveform: {
      jsonUri: `${out}/audio/waveform.json`,
      pngUri: `${out}/audio/waveform.png`,
      format: 'audiowaveform-json-v2',
      pixelsPerSecond: 10,
      samplesPerPixel: 4800,
      bits: 8,
      length: 1800,
    },
    qc: { pass: true, misses: [] },
    warnings: [],
  };
}

/** Every gs:// URI in a step's recorded outputs, wherever it sits. */
export function urisIn(value: unknown): string[] {
  if (typeof value === 'string') return value.startsWith('gs://') ? [value] : [];
  if (Array.isArray(value)) return value.flatMap(urisIn);
  if (value && typeof value === 'object') return Object.values(value).flatMap(urisIn);
  return [];
}

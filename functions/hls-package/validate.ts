/**
 * The checks an HLS presentation passes before the asset is READY, as pure functions of what was measured from
 * the segments themselves, so each rule is covered by table tests. Any failure is permanent: re-running the
 * packaging of the same segments cannot change the outcome.
 */
import { frameSeconds, type Rational } from '../../shared/media/hls/timeline.ts';
import type { MeasuredSegment, MeasuredTrack } from './measure.ts';
import type { PackageParams } from './params.ts';

export const HLS_VALIDATION_FAILED = 'HLS_VALIDATION_FAILED';

export interface Check {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface Measured {
  readonly video: readonly MeasuredTrack[];
  readonly audio: MeasuredTrack | undefined;
}

/** Comparisons of times converted from different timescales agree to well under a microsecond. */
const SECONDS_EPSILON = 1e-6;
/** An AAC-LC frame at 48 kHz: the encoder pads the last one, so audio may run up to this much past the source. */
const AAC_FRAME_SECONDS = 1024 / 48_000;
/**
 * Against the decoded length: the audio step and hls-audio each resample the source to 48 kHz on their own, and
 * each resampler rounds its output's length to a whole sample, so the two may differ by one. Nothing else may:
 * the HLS track's last sample lasts exactly the encoder's remainder, so its padding is not counted.
 */
export const RESAMPLED_LENGTH_TOLERANCE_SAMPLES = 1;

export function validate(params: PackageParams, measured: Measured): Check[] {
  const tracks = [...measured.video, ...(measured.audio ? [measured.audio] : [])];
  const checks = [initSegments(params, measured), emptySegments(params), segmentDurations(params.targetDuration, tracks), independentSegments(tracks), continuity(tracks)];
  if (measured.video.length > 1) checks.push(renditionsAligned(measured.video));
  if (measured.audio && params.audio) checks.push(audioChannels(params.audio.channels, measured.audio));
  checks.push(...durations(params, measured));
  const sync = avSync(params, measured);
  if (sync) checks.push(sync);
  checks.push(decodes(tracks));
  return checks;
}

function initSegments(params: PackageParams, measured: Measured): Check {
  const problems: string[] = [];
  for (const track of measured.video) {
    const reported = params.video?.renditions.find((rendition) => rendition.name === track.spec.name)?.initSha256 ?? [];
    if (reported.length !== 1) problems.push(`${track.spec.name}: the shards wrote ${reported.length} different init segments`);
    else if (reported[0] !== track.initSha256) problems.push(`${track.spec.name}: the stored init segment is not the one the shards wrote`);
  }
  if (measured.audio && params.audio && measured.audio.initSha256 !== params.audio.initSha256) problems.push(`${measured.audio.spec.name}: the stored init segment is not the one encoded`);
  return verdict('init-segments', problems, `one init segment per rendition, identical in every shard (${tracksText(measured)})`);
}

/** A shard past the end of the video (the probe overstated the duration) may be empty; one in the middle is a hole. */
function emptySegments(params: PackageParams): Check {
  const video = params.video;
  const holes = video ? video.emptySegments.filter((index) => video.emptySegments.filter((other) => other > index).length !== video.segmentCount - 1 - index) : [];
  return verdict('no-empty-segments', holes.map((index) => `segment ${index} has no frame`), video ? `${trailingEmpty(params)} empty segments past the end of the video` : 'no video segments');
}

/** How many shards at the end produced nothing: they are left out of the playlists. */
export function trailingEmpty(params: PackageParams): number {
  const video = params.video;
  if (!video) return 0;
  let count = 0;
  while (count < video.segmentCount && video.emptySegments.includes(video.segmentCount - 1 - count)) count++;
  return count;
}

function segmentDurations(targetDuration: number, tracks: readonly MeasuredTrack[]): Check {
  const problems: string[] = [];
  const longest: string[] = [];
  for (const track of tracks) {
    const limit = targetDuration * track.info.timescale;
    let max = 0;
    for (const segment of track.segments) {
      max = Math.max(max, segment.duration);
      if (segment.duration > limit) problems.push(`${track.spec.name} segment ${segment.index} lasts ${seconds(segment.duration, track)} s, over the ${targetDuration} s target`);
    }
    longest.push(`${track.spec.name} ${seconds(max, track)} s`);
  }
  return verdict('segment-durations', problems, `every segment at or below ${targetDuration} s (longest: ${longest.join(', ')})`);
}

function independentSegments(tracks: readonly MeasuredTrack[]): Check {
  const problems = tracks.flatMap((track) => track.segments.filter((segment) => !segment.startsWithSync).map((segment) => `${track.spec.name} segment ${segment.index} does not start with a sync sample`));
  return verdict('independent-segments', problems, 'every segment starts with a sync sample (IDR frame), as EXT-X-INDEPENDENT-SEGMENTS states');
}

/** Decode and presentation times each continue exactly where the previous segment ended, to the tick. */
function continuity(tracks: readonly MeasuredTrack[]): Check {
  const problems: string[] = [];
  for (const track of tracks) {
    track.segments.forEach((segment, i) => {
      if (segment.internalGaps > 0) problems.push(`${track.spec.name} segment ${segment.index} has ${segment.internalGaps} discontinuous fragments`);
      const previous = track.segments[i - 1];
      if (!previous) return;
      const decodeGap = segment.decodeTime - (previous.decodeTime + previous.duration);
      const presentationGap = segment.presentationStart - (previous.presentationStart + previous.duration);
      if (decodeGap !== 0 || presentationGap !== 0) {
        const gap = presentationGap !== 0 ? presentationGap : decodeGap;
        problems.push(`${track.spec.name} segment ${segment.index}: ${gap > 0 ? 'gap' : 'overlap'} of ${((Math.abs(gap) / track.info.timescale) * 1000).toFixed(3)} ms after segment ${previous.index}`);
      }
    });
  }
  return verdict('timestamps-continuous', problems, `no gap or overlap between consecutive segments (${tracksText({ video: tracks, audio: undefined })})`);
}

/** Players switch renditions at segment boundaries, so every rendition must cut at the same instants. */
function renditionsAligned(video: readonly MeasuredTrack[]): Check {
  const [reference, ...others] = video;
  const problems: string[] = [];
  for (const track of others) {
    if (track.segments.length !== reference!.segments.length) {
      problems.push(`${track.spec.name} has ${track.segments.length} segments, ${reference!.spec.name} ${reference!.segments.length}`);
      continue;
    }
    track.segments.forEach((segment, i) => {
      const other = reference!.segments[i]!;
      const startDiff = Math.abs(start(segment, track) - start(other, reference!));
      const durationDiff = Math.abs(segment.duration / track.info.timescale - other.duration / reference!.info.timescale);
      if (startDiff > SECONDS_EPSILON || durationDiff > SECONDS_EPSILON) problems.push(`${track.spec.name} segment ${segment.index} is not aligned with ${reference!.spec.name}`);
    });
  }
  return verdict('renditions-aligned', problems, `all ${video.length} renditions cut at the same instants`);
}

/**
 * The audio against the length the audio step decoded, sample by sample (decodedCheck). A container's stated
 * duration is an estimate for audio (it counts LAME's delay and padding, AAC priming, ASF preroll; ADTS states
 * none at all), so it is used only when no decoded length was recorded (durationSource 'container').
 * The video against its stream's stated duration, and the whole presentation (first sample of any stream to the
 * last) against the file's duration, which is all a Matroska file states; an audio-only presentation against the
 * decoded length. One frame of tolerance on container durations: a video frame, or an AAC frame where the
 * audio's padded last frame may decide the end.
 */
function durations(params: PackageParams, measured: Measured): Check[] {
  const checks: Check[] = [];
  const frame = params.video ? frameSeconds(params.video.frameRate) : 0;
  const audioTolerance = Math.max(frame, AAC_FRAME_SECONDS);
  const [video] = measured.video;
  const spans: { start: number; end: number }[] = [];
  if (video) {
    const begin = start(video.segments[0]!, video);
    spans.push({ start: begin, end: begin + totalSeconds(video) });
    if (params.video?.sourceSeconds != null) checks.push(durationCheck('video-duration', 'video', totalSeconds(video), params.video.sourceSeconds, frame));
  }
  let decodedSeconds: number | undefined;
  if (measured.audio && params.audio) {
    const content = totalSeconds(measured.audio) - params.audio.primingSeconds;
    const begin = start(measured.audio.segments[0]!, measured.audio) + params.audio.primingSeconds;
    spans.push({ start: begin, end: begin + content });
    const { decodedSamples, decodedSampleRate } = params.audio;
    if (params.audio.durationSource === 'decoded' && decodedSamples !== null && decodedSampleRate !== null) {
      decodedSeconds = decodedSamples / decodedSampleRate;
      checks.push(decodedCheck('audio-duration', measured.audio, params.audio.primingSeconds, decodedSamples, decodedSampleRate));
    } else if (params.audio.sourceSeconds != null) {
      checks.push(durationCheck('audio-duration', 'audio', content, params.audio.sourceSeconds, audioTolerance));
    }
  }
  // An audio-only presentation is its audio: its length is the decoded one. A video's is still the container's.
  if (!video && decodedSeconds !== undefined && spans.length > 0) {
    const span = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
    const tolerance = RESAMPLED_LENGTH_TOLERANCE_SAMPLES / (params.audio?.decodedSampleRate ?? 1);
    checks.push(durationCheck('total-duration', 'presentation', span, decodedSeconds, tolerance, 'decoded from the source', `${RESAMPLED_LENGTH_TOLERANCE_SAMPLES} sample`));
  } else if (params.sourceSeconds != null && spans.length > 0) {
    const span = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
    checks.push(durationCheck('total-duration', 'presentation', span, params.sourceSeconds, measured.audio ? audioTolerance : frame));
  }
  return checks;
}

/** The HLS audio's samples (priming excluded) against the audio step's count of the decoded source. */
function decodedCheck(name: string, track: MeasuredTrack, primingSeconds: number, decodedSamples: number, decodedRate: number): Check {
  const scale = track.info.timescale;
  const ticks = track.segments.reduce((sum, segment) => sum + segment.duration, 0) - Math.round(primingSeconds * scale);
  const expected = (decodedSamples * scale) / decodedRate;
  const tolerance = (RESAMPLED_LENGTH_TOLERANCE_SAMPLES * scale) / decodedRate;
  const diff = ticks - expected;
  return {
    name,
    passed: Math.abs(diff) <= tolerance + SECONDS_EPSILON,
    detail: `${ticks} samples (${(ticks / scale).toFixed(6)} s) of audio for the ${decodedSamples} (${(decodedSamples / decodedRate).toFixed(6)} s) the audio step decoded from the source (${diff >= 0 ? '+' : '−'}${Math.abs(diff)} at ${scale} Hz; tolerance ${RESAMPLED_LENGTH_TOLERANCE_SAMPLES} sample: each step resamples on its own)`,
  };
}

/**
 * The master playlist's CHANNELS comes from the init segment's AudioSpecificConfig, which must state what the
 * rendition was planned with. channelConfiguration 0 (channels in a program_config_element) is reported, not guessed.
 */
function audioChannels(planned: number, track: MeasuredTrack): Check {
  const { channels, channelConfiguration } = track.info;
  if (channels === undefined) {
    return { name: 'audio-channels', passed: false, detail: `${track.spec.name}: the AudioSpecificConfig states channelConfiguration ${channelConfiguration ?? 'none'}, which names no channel count (a program_config_element would); ${planned} were planned` };
  }
  return {
    name: 'audio-channels',
    passed: channels === planned,
    detail: `${track.spec.name}: the AudioSpecificConfig states ${channels} channels (channelConfiguration ${channelConfiguration ?? 'none'}); ${planned} were planned`,
  };
}

function durationCheck(name: string, what: string, actual: number, source: number, tolerance: number, reference = 'in the source', toleranceName = 'one frame'): Check {
  const diff = actual - source;
  return {
    name,
    passed: Math.abs(diff) <= tolerance + SECONDS_EPSILON,
    detail: `${actual.toFixed(6)} s of ${what} for ${source.toFixed(6)} s ${reference} (${signedMs(diff)}; tolerance ${toleranceName}, ${(tolerance * 1000).toFixed(3)} ms)`,
  };
}

/**
 * The first real audio sample (after the encoder's priming) must sit where the source put it relative to the
 * first video frame, to within one frame. The video's first frame is the source's, rounded to the frame grid.
 */
function avSync(params: PackageParams, measured: Measured): Check | undefined {
  const [video] = measured.video;
  const audio = measured.audio;
  if (!video || !audio || !params.video || !params.audio || params.audio.sourceVideoStart === null) return undefined;
  const rate: Rational = params.video.frameRate;
  const frame = frameSeconds(rate);
  const videoStart = start(video.segments[0]!, video);
  const audioStart = start(audio.segments[0]!, audio) + params.audio.primingSeconds;
  const gridVideoStart = Math.round(params.audio.sourceVideoStart / frame) * frame;
  const expected = params.audio.sourceAudioStart - gridVideoStart;
  const error = audioStart - videoStart - expected;
  return {
    name: 'av-sync',
    passed: Math.abs(error) <= frame + SECONDS_EPSILON,
    detail: `audio starts ${signedMs(audioStart - videoStart)} from the video, the source ${signedMs(expected)}: off by ${signedMs(error)} (one frame is ${(frame * 1000).toFixed(3)} ms)`,
  };
}

function decodes(tracks: readonly MeasuredTrack[]): Check {
  const problems = tracks.flatMap((track) => track.decodeErrors);
  const segments = tracks.reduce((sum, track) => sum + track.segments.length, 0);
  return verdict('decodes', problems, `ffmpeg decoded all ${segments} segments of ${tracks.length} playlists without an error`);
}

export function failureMessage(checks: readonly Check[]): string {
  return checks
    .filter((check) => !check.passed)
    .map((check) => `${check.name}: ${check.detail}`)
    .join('; ')
    .slice(0, 1500);
}

function verdict(name: string, problems: readonly string[], success: string): Check {
  if (problems.length === 0) return { name, passed: true, detail: success };
  const more = problems.length > 3 ? ` (and ${problems.length - 3} more)` : '';
  return { name, passed: false, detail: `${problems.slice(0, 3).join('; ')}${more}` };
}

function start(segment: MeasuredSegment, track: MeasuredTrack): number {
  return segment.presentationStart / track.info.timescale;
}

export function totalSeconds(track: MeasuredTrack): number {
  return track.segments.reduce((sum, segment) => sum + segment.duration, 0) / track.info.timescale;
}

function seconds(ticks: number, track: MeasuredTrack): string {
  return (ticks / track.info.timescale).toFixed(6);
}

function signedMs(secondsValue: number): string {
  return `${secondsValue >= 0 ? '+' : '−'}${Math.abs(secondsValue * 1000).toFixed(3)} ms`;
}

function tracksText(measured: Measured): string {
  return [...measured.video, ...(measured.audio ? [measured.audio] : [])].map((track) => track.spec.name).join(', ');
}

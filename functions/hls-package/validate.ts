/**
 * The checks an HLS presentation passes before the asset is READY, as pure functions of what was measured from
 * the segments themselves, so each rule is covered by table tests. Any failure is permanent: re-running the
 * packaging of the same segments cannot change the outcome.
 */
import { frameSeconds, type Rational } from '../../shared/media/hls/timeline.ts';
import type { MeasuredSegment, MeasuredTrack } from './measure.ts';
import type { PackageAudio, PackageParams } from './params.ts';

export const HLS_VALIDATION_FAILED = 'HLS_VALIDATION_FAILED';

export interface Check {
  readonly name: string;
  readonly passed: boolean;
  readonly detail: string;
}

export interface Measured {
  readonly video: readonly MeasuredTrack[];
  /** The audio renditions, primary first, in the order of allAudio(params). */
  readonly audio: readonly MeasuredTrack[];
}

/** The primary rendition and the others, in stream order: the order the tracks are measured in. */
export function allAudio(params: PackageParams): PackageAudio[] {
  return [...(params.audio ? [params.audio] : []), ...(params.moreAudio ?? [])];
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
  const tracks = [...measured.video, ...measured.audio];
  const audioParams = allAudio(params);
  const checks = [
    initSegments(params, measured),
    emptySegments(params),
    segmentDurations(params.targetDuration, tracks),
    independentSegments(tracks),
    continuity(tracks),
  ];
  if (measured.video.length > 0) checks.push(videoStartsAtDecodeTime(measured.video));
  if (tracks.length > 0) checks.push(noStartHole(measured));
  if (measured.video.length > 1) checks.push(renditionsAligned(measured.video));
  measured.audio.forEach((track, i) => {
    const planned = audioParams[i];
    if (planned) checks.push(audioChannels(planned.channels, track));
  });
  checks.push(...durations(params, measured));
  measured.audio.forEach((track, i) => {
    const sync = avSync(params, audioParams[i], measured.video[0], track);
    if (sync) checks.push(sync);
  });
  checks.push(decodes(tracks));
  return checks;
}

/**
 * Players start a fragment's buffer at its tfdt (hls.js) or line streams up by it (Shaka): the first frame a
 * video segment presents must sit exactly there, or every start is a hole of the encoder's reorder delay.
 * Negative composition offsets (trun v1) make it so; this checks every segment of every rendition.
 */
function videoStartsAtDecodeTime(video: readonly MeasuredTrack[]): Check {
  const problems: string[] = [];
  for (const track of video) {
    for (const segment of track.segments) {
      if (segment.presentationStart !== segment.decodeTime) {
        problems.push(
          `${track.spec.name} segment ${segment.index} presents its first frame ${signedMs((segment.presentationStart - segment.decodeTime) / track.info.timescale)} from its tfdt`,
        );
      }
    }
  }
  return verdict(
    'video-starts-at-tfdt',
    problems,
    `every video segment presents its first frame at its tfdt (${video.map((track) => track.spec.name).join(', ')})`,
  );
}

/**
 * The presentation's zero: where players anchor it. hls.js and AVPlayer take it from the main playlist's first
 * fragment, the video's first frame (its tfdt, checked above); an audio-only presentation starts at its earliest
 * rendition's first sample.
 */
export function presentationZero(measured: Measured): number {
  const starts = measured.video.length > 0 ? measured.video.map(firstDecodeSeconds) : measured.audio.map(firstDecodeSeconds);
  return Math.min(...starts);
}

/**
 * No track starts after the presentation's zero. Chromium's MSE starts playback where the latest SourceBuffer
 * starts, so audio starting after the first frame (an Android clip's, 0.478 s late) would cost the viewer that
 * much picture: hls-audio pads it with silence back to the zero. A track's start is its first tfdt, where players
 * buffer from (the audio's priming frame included, which is why it may start before the zero). A track starting
 * before the zero (a transport stream whose audio leads the picture) is no hole: players cut what precedes it.
 */
function noStartHole(measured: Measured): Check {
  const zero = presentationZero(measured);
  const tracks = [...measured.video, ...measured.audio];
  const late = tracks.filter((track) => firstDecodeSeconds(track) - zero > SECONDS_EPSILON);
  const problems = late.map(
    (track) =>
      `${track.spec.name} starts ${signedMs(firstDecodeSeconds(track) - zero)} after the presentation's zero (its first ${track.spec.kind === 'video' ? 'frame' : 'sample'}), a hole players start behind`,
  );
  const starts = tracks.map((track) => `${track.spec.name} ${signedMs(firstDecodeSeconds(track) - zero)}`).join(', ');
  return verdict('no-start-hole', problems, `no track starts after the presentation's zero, the first video frame or audio sample (${starts})`);
}

function firstDecodeSeconds(track: MeasuredTrack): number {
  const first = track.segments[0];
  return first ? first.decodeTime / track.info.timescale : Number.POSITIVE_INFINITY;
}

function initSegments(params: PackageParams, measured: Measured): Check {
  const problems: string[] = [];
  for (const track of measured.video) {
    const reported = params.video?.renditions.find((rendition) => rendition.name === track.spec.name)?.initSha256 ?? [];
    if (reported.length !== 1) problems.push(`${track.spec.name}: the shards wrote ${reported.length} different init segments`);
    else if (reported[0] !== track.initSha256) problems.push(`${track.spec.name}: the stored init segment is not the one the shards wrote`);
  }
  const audioParams = allAudio(params);
  measured.audio.forEach((track, i) => {
    if (track.initSha256 !== audioParams[i]?.initSha256) problems.push(`${track.spec.name}: the stored init segment is not the one encoded`);
  });
  return verdict('init-segments', problems, `one init segment per rendition, identical in every shard (${tracksText(measured)})`);
}

/** A shard past the end of the video (the probe overstated the duration) may be empty; one in the middle is a hole. */
function emptySegments(params: PackageParams): Check {
  const video = params.video;
  const holes = video
    ? video.emptySegments.filter((index) => video.emptySegments.filter((other) => other > index).length !== video.segmentCount - 1 - index)
    : [];
  return verdict(
    'no-empty-segments',
    holes.map((index) => `segment ${index} has no frame`),
    video ? `${trailingEmpty(params)} empty segments past the end of the video` : 'no video segments',
  );
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
      if (segment.duration > limit)
        problems.push(`${track.spec.name} segment ${segment.index} lasts ${seconds(segment.duration, track)} s, over the ${targetDuration} s target`);
    }
    longest.push(`${track.spec.name} ${seconds(max, track)} s`);
  }
  return verdict('segment-durations', problems, `every segment at or below ${targetDuration} s (longest: ${longest.join(', ')})`);
}

function independentSegments(tracks: readonly MeasuredTrack[]): Check {
  const problems = tracks.flatMap((track) =>
    track.segments
      .filter((segment) => !segment.startsWithSync)
      .map((segment) => `${track.spec.name} segment ${segment.index} does not start with a sync sample`),
  );
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
        problems.push(
          `${track.spec.name} segment ${segment.index}: ${gap > 0 ? 'gap' : 'overlap'} of ${((Math.abs(gap) / track.info.timescale) * 1000).toFixed(3)} ms after segment ${previous.index}`,
        );
      }
    });
  }
  return verdict('timestamps-continuous', problems, `no gap or overlap between consecutive segments (${tracksText({ video: tracks, audio: [] })})`);
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
      if (startDiff > SECONDS_EPSILON || durationDiff > SECONDS_EPSILON)
        problems.push(`${track.spec.name} segment ${segment.index} is not aligned with ${reference!.spec.name}`);
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
    const frames = video.segments.reduce((sum, segment) => sum + segment.samples, 0);
    // Like with like: the frames the shards produced against the grid the timeline planned (both counted, not
    // estimated). Orders planned before the count was recorded compare against the stream's stated duration.
    if (params.video?.plannedFrames !== undefined) checks.push(frameCountCheck(video, frames, params.video.plannedFrames));
    else if (params.video?.sourceSeconds != null) checks.push(durationCheck('video-duration', 'video', totalSeconds(video), params.video.sourceSeconds, frame));
  }
  let decodedSeconds: number | undefined;
  const audioParams = allAudio(params);
  measured.audio.forEach((track, i) => {
    const planned = audioParams[i];
    if (!planned) return;
    const name = i === 0 ? 'audio-duration' : `audio-duration ${track.spec.name}`;
    const content = totalSeconds(track) - planned.primingSeconds;
    const begin = start(track.segments[0]!, track) + planned.primingSeconds;
    const pad = planned.leadingSilenceSamples ?? 0;
    // The presentation's span is the source's content: the programme audio starts after the leading silence.
    spans.push({ start: begin + pad / track.info.timescale, end: begin + content });
    const { decodedSamples, decodedSampleRate } = planned;
    if (planned.durationSource === 'decoded' && decodedSamples !== null && decodedSampleRate !== null) {
      if (i === 0) decodedSeconds = decodedSamples / decodedSampleRate;
      checks.push(decodedCheck(name, track, planned.primingSeconds, pad, decodedSamples, decodedSampleRate));
    } else if (planned.sourceSeconds != null) {
      // The source's audio against the stream's stated duration: the leading silence is not the source's.
      checks.push(durationCheck(name, 'audio', content - pad / track.info.timescale, planned.sourceSeconds, audioTolerance));
    }
  });
  // An audio-only presentation is its audio: its length is the decoded one. A video's is still the container's.
  if (!video && decodedSeconds !== undefined && spans.length > 0) {
    const span = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
    const tolerance = RESAMPLED_LENGTH_TOLERANCE_SAMPLES / (params.audio?.decodedSampleRate ?? 1);
    checks.push(
      durationCheck(
        'total-duration',
        'presentation',
        span,
        decodedSeconds,
        tolerance,
        'decoded from the source',
        `${RESAMPLED_LENGTH_TOLERANCE_SAMPLES} sample`,
      ),
    );
  } else if (params.sourceSeconds != null && spans.length > 0) {
    const span = Math.max(...spans.map((s) => s.end)) - Math.min(...spans.map((s) => s.start));
    checks.push(durationCheck('total-duration', 'presentation', span, params.sourceSeconds, measured.audio.length > 0 ? audioTolerance : frame));
  }
  return checks;
}

/** Every planned grid frame was produced, no more: the fps filter fills the grid, so nothing short of a lost shard differs. */
function frameCountCheck(video: MeasuredTrack, frames: number, planned: number): Check {
  return {
    name: 'video-duration',
    passed: frames === planned,
    detail: `${video.spec.name}: ${frames} frames produced for the ${planned} the timeline planned (${totalSeconds(video).toFixed(6)} s)`,
  };
}

/**
 * The HLS audio's samples (priming excluded) against the audio step's count of the decoded source plus the
 * leading silence hls-audio put before it (`padSamples`, at the track's rate): the pad and nothing else was added.
 */
function decodedCheck(name: string, track: MeasuredTrack, primingSeconds: number, padSamples: number, decodedSamples: number, decodedRate: number): Check {
  const scale = track.info.timescale;
  const ticks = track.segments.reduce((sum, segment) => sum + segment.duration, 0) - Math.round(primingSeconds * scale);
  const expected = (decodedSamples * scale) / decodedRate + padSamples;
  const tolerance = (RESAMPLED_LENGTH_TOLERANCE_SAMPLES * scale) / decodedRate;
  const diff = ticks - expected;
  return {
    name,
    passed: Math.abs(diff) <= tolerance + SECONDS_EPSILON,
    detail: `${ticks} samples (${(ticks / scale).toFixed(6)} s) of audio for the ${decodedSamples} (${(decodedSamples / decodedRate).toFixed(6)} s) the audio step decoded from the source${padSamples > 0 ? ` and ${padSamples} of leading silence` : ''} (${diff >= 0 ? '+' : '−'}${Math.abs(diff)} at ${scale} Hz; tolerance ${RESAMPLED_LENGTH_TOLERANCE_SAMPLES} sample: each step resamples on its own)`,
  };
}

/**
 * The master playlist's CHANNELS comes from the init segment's AudioSpecificConfig, which must state what the
 * rendition was planned with. channelConfiguration 0 (channels in a program_config_element) is reported, not guessed.
 */
function audioChannels(planned: number, track: MeasuredTrack): Check {
  const { channels, channelConfiguration } = track.info;
  if (channels === undefined) {
    return {
      name: 'audio-channels',
      passed: false,
      detail: `${track.spec.name}: the AudioSpecificConfig states channelConfiguration ${channelConfiguration ?? 'none'}, which names no channel count (a program_config_element would); ${planned} were planned`,
    };
  }
  return {
    name: 'audio-channels',
    passed: channels === planned,
    detail: `${track.spec.name}: the AudioSpecificConfig states ${channels} channels (channelConfiguration ${channelConfiguration ?? 'none'}); ${planned} were planned`,
  };
}

function durationCheck(
  name: string,
  what: string,
  actual: number,
  source: number,
  tolerance: number,
  reference = 'in the source',
  toleranceName = 'one frame',
): Check {
  const diff = actual - source;
  return {
    name,
    passed: Math.abs(diff) <= tolerance + SECONDS_EPSILON,
    detail: `${actual.toFixed(6)} s of ${what} for ${source.toFixed(6)} s ${reference} (${signedMs(diff)}; tolerance ${toleranceName}, ${(tolerance * 1000).toFixed(3)} ms)`,
  };
}

/**
 * What a player does: it presents the video's first frame at the first segment's tfdt (checked above to be the
 * first presented frame) and the audio's first sample at its tfdt plus the priming; the programme audio starts
 * after the leading silence hls-audio recorded. Their distance must be the source's (its audio start less its
 * video start, the video's rounded to the frame grid), within one frame.
 */
function avSync(params: PackageParams, planned: PackageAudio | undefined, video: MeasuredTrack | undefined, audio: MeasuredTrack): Check | undefined {
  if (!video || !params.video || !planned || planned.sourceVideoStart === null) return undefined;
  const rate: Rational = params.video.frameRate;
  const frame = frameSeconds(rate);
  const videoStart = video.segments[0]!.decodeTime / video.info.timescale;
  const pad = planned.leadingSilenceSamples ?? 0;
  const audioStart = (audio.segments[0]!.decodeTime + pad) / audio.info.timescale + planned.primingSeconds;
  const gridVideoStart = Math.round(planned.sourceVideoStart / frame) * frame;
  const expected = planned.sourceAudioStart - gridVideoStart;
  const error = audioStart - videoStart - expected;
  return {
    name: params.audio && planned.rendition !== params.audio.rendition ? `av-sync ${planned.rendition}` : 'av-sync',
    passed: Math.abs(error) <= frame + SECONDS_EPSILON,
    detail: `${audio.spec.name}: the first audio sample plays ${signedMs(audioStart - videoStart)} from the first video frame${pad > 0 ? ` (after ${pad} samples of leading silence)` : ''}, the source ${signedMs(expected)}: off by ${signedMs(error)} (one frame is ${(frame * 1000).toFixed(3)} ms)`,
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
  return [...measured.video, ...measured.audio].map((track) => track.spec.name).join(', ');
}

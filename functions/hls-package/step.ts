/**
 * hls-package: the fan-in of adaptive HLS. Once every segment and the audio rendition exist, it reads each track
 * back as a player would (measuring every segment and decoding them all with ffmpeg), checks the presentation,
 * and only then writes the media playlists and the master playlist. A failed check fails the asset permanently,
 * naming the check.
 */
import { availableParallelism } from 'node:os';
import { stepSchemas } from '../../events/step-schemas.ts';
import { defineStep, shardedOrders, skip } from '../../shared/domain/step.ts';
import { PermanentError } from '../../shared/errors.ts';
import {
  AUDIO_GROUP_ID,
  HLS_AUDIO_STEP,
  HLS_PACKAGE_STEP,
  HLS_SEGMENT_STEP,
  HLS_SUBTITLES_STEP,
  MASTER_PLAYLIST,
  mediaPlaylistFile,
  SUBTITLES_GROUP_ID,
} from '../../shared/media/hls/layout.ts';
import { primaryVideoStream } from '../../shared/media/hls/ladder.ts';
import { PLAYLIST_CONTENT_TYPE } from '../../shared/media/hls/playlist.ts';
import { DEFAULT_HLS_SETTINGS, type HlsSettings } from '../../shared/media/hls/settings.ts';
import { rateValue } from '../../shared/media/hls/timeline.ts';
import type { HlsPackageOutputs } from '../../events/generated/steps/hls-package.ts';
import { derivativeUri, writeDerivative, type DerivativeTarget } from '../../shared/runtime/derivatives.ts';
import type { SubtitleTrackOutputs } from '../hls-subtitles/publish.ts';
import { measureTracks, type MeasureJob, type TrackSpec } from './measure.ts';
import { planPackageParams, type PackageParams } from './params.ts';
import { buildPresentation, type Presentation } from './playlists.ts';
import { allAudio, failureMessage, HLS_VALIDATION_FAILED, totalSeconds, trailingEmpty, validate, type Check } from './validate.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';

/**
 * Pub/Sub's 600 s ack ceiling less the pipeline's margin. Reading back and decoding every rendition is the bulk
 * of the work: ~17 CPU-s per minute of a 1080p ladder on the bench machine, so a two-hour film needs an instance
 * of four or more vCPUs to finish inside it.
 */
export const PACKAGE_TIMEOUT_MS = 585_000;
export const PACKAGE_RECIPE_VERSION = '3';
/** Playlists of a VOD presentation never change once written, but a re-run may rewrite them: caches revalidate. */
const PLAYLIST_CACHE_CONTROL = 'public, max-age=60';

export function createPackageStep(settings: HlsSettings = DEFAULT_HLS_SETTINGS) {
  return defineStep<PackageParams, HlsPackageOutputs>({
    name: HLS_PACKAGE_STEP,
    needs: { ...MEDIA_STEP_NEEDS, sources: 'none', derivatives: 'read-write' },
    dependsOn: [HLS_SEGMENT_STEP, HLS_AUDIO_STEP, HLS_SUBTITLES_STEP],
    timeoutMs: PACKAGE_TIMEOUT_MS,
    recipeVersion: PACKAGE_RECIPE_VERSION,
    ...stepSchemas(import.meta.dirname),
    plan: (context) =>
      (context.kind === 'video' && primaryVideoStream(context.probe) !== undefined) ||
      ((context.kind === 'audio' || context.kind === 'video') && context.probe.streams.some((stream) => stream.type === 'audio'))
        ? // Built when the step is queued, not at planning: they carry what hls-segment, hls-audio and hls-subtitles recorded.
          shardedOrders(1, () => planPackageParams(context, settings))
        : skip(),
    async run(order, context) {
      const { params } = order;
      const tools = await context.mediaTools();
      const job: MeasureJob = {
        blobs: context.blobs,
        config: context.config,
        order,
        ffmpeg: tools.ffmpeg,
        scratchDir: context.scratchDir,
        signal: context.signal,
        targetDuration: params.targetDuration,
      };
      const specs = trackSpecs(params);
      // One single-threaded decoder per core, over slices of every track.
      const tracks = await measureTracks(job, specs, availableParallelism());
      const video = tracks.filter((track) => track.spec.kind === 'video');
      const audio = tracks.filter((track) => track.spec.kind === 'audio');
      const checks = validate(params, { video, audio });
      if (checks.some((check) => !check.passed)) throw new PermanentError(HLS_VALIDATION_FAILED, failureMessage(checks));
      const presentation = buildPresentation(video, audio, params.video?.frameRate, params.targetDuration, {
        audio: allAudio(params),
        subtitles: subtitleTracks(params, video.length),
        order,
      });
      const target: DerivativeTarget = { blobs: context.blobs, config: context.config, order, recipeVersion: PACKAGE_RECIPE_VERSION };
      // Media playlists first, the master last: a master that exists always points at playlists that exist.
      for (const [file, text] of presentation.media)
        await writeDerivative(target, file, text, { contentType: PLAYLIST_CONTENT_TYPE, cacheControl: PLAYLIST_CACHE_CONTROL });
      await writeDerivative(target, MASTER_PLAYLIST, presentation.master, { contentType: PLAYLIST_CONTENT_TYPE, cacheControl: PLAYLIST_CACHE_CONTROL });
      return { outputs: packageOutputs(target, params, presentation, checks), tools: { ffmpeg: tools.versions.ffmpeg } };
    },
  });
}

function trackSpecs(params: PackageParams): TrackSpec[] {
  const specs: TrackSpec[] = [];
  if (params.video) {
    const count = params.video.segmentCount - trailingEmpty(params);
    for (const rendition of params.video.renditions) {
      specs.push({
        name: rendition.name,
        kind: 'video',
        step: HLS_SEGMENT_STEP,
        segmentCount: count,
        ...(rendition.videoRange ? { videoRange: rendition.videoRange } : {}),
      });
    }
  }
  for (const audio of allAudio(params)) specs.push({ name: audio.rendition, kind: 'audio', step: HLS_AUDIO_STEP, segmentCount: audio.segmentCount });
  return specs;
}

/**
 * The WebVTT renditions, when they cover the video's segments: hls-subtitles cut them on the same grid, so their
 * count is the video's before trailing empty shards are dropped. A mismatch fails the presentation.
 */
function subtitleTracks(params: PackageParams, videoTracks: number): readonly SubtitleTrackOutputs[] {
  const subtitles = params.subtitles;
  if (!subtitles || !params.video || videoTracks === 0) return [];
  if (subtitles.segmentCount !== params.video.segmentCount) {
    throw new PermanentError(HLS_VALIDATION_FAILED, `subtitles: ${subtitles.segmentCount} WebVTT segments for ${params.video.segmentCount} video segments`);
  }
  return subtitles.tracks;
}

function packageOutputs(target: DerivativeTarget, params: PackageParams, presentation: Presentation, checks: readonly Check[]): HlsPackageOutputs {
  const uri = (file: string): string => derivativeUri(target.config, target.order, file);
  const [first] = presentation.variants;
  const [primary] = presentation.audio;
  return {
    masterUri: uri(MASTER_PLAYLIST),
    targetDurationSeconds: params.targetDuration,
    durationSeconds: first ? totalSeconds(first.track) : primary ? totalSeconds(primary.track) - (params.audio?.primingSeconds ?? 0) : 0,
    segmentCount: first ? first.track.segments.length : (primary?.track.segments.length ?? 0),
    renditions: presentation.variants.map((variant) => ({
      name: variant.track.spec.name,
      width: variant.resolution?.width,
      height: variant.resolution?.height,
      bandwidth: variant.bandwidth,
      averageBandwidth: variant.averageBandwidth,
      codecs: variant.codecs.join(','),
      ...(variant.videoRange ? { videoRange: variant.videoRange } : {}),
      frameRate: params.video ? Number(rateValue(params.video.frameRate).toFixed(3)) : null,
      playlistUri: uri(variant.uri),
    })),
    audio: primary
      ? {
          name: primary.name,
          groupId: presentation.variants.length > 0 ? AUDIO_GROUP_ID : null,
          codecs: primary.track.info.codec,
          // From the init segment's AudioSpecificConfig (shared/media/hls/asc.ts), as CHANNELS states it.
          channels: primary.track.info.channels ?? null,
          // What the audio-duration check compared against: the audio step's decoded count, or the container.
          durationSource: params.audio?.durationSource ?? 'container',
          decodedSamples: params.audio?.decodedSamples ?? null,
          bandwidth: primary.peak,
          averageBandwidth: primary.average,
          gainDb: params.audio?.gainDb ?? 0,
          gainSource: params.audio?.gainSource ?? 'none',
          playlistUri: uri(mediaPlaylistFile(primary.track.spec.name)),
        }
      : null,
    audioRenditions: presentation.audio.map((rendition, i) => ({
      rendition: rendition.track.spec.name,
      name: rendition.name,
      language: allAudio(params)[i]?.language ?? null,
      default: allAudio(params)[i]?.default ?? i === 0,
      channels: rendition.track.info.channels ?? null,
      playlistUri: uri(mediaPlaylistFile(rendition.track.spec.name)),
    })),
    subtitles: subtitleTracks(params, presentation.variants.length).map((track) => ({
      ...track,
      groupId: SUBTITLES_GROUP_ID,
      playlistUri: uri(mediaPlaylistFile(track.rendition)),
    })),
    validation: { passed: true, checks: checks.map((check) => ({ name: check.name, detail: check.detail })) },
  };
}

/**
 * The probe is the first step and ingest runs it itself: ingest already holds the event, and nothing can be
 * planned before the probe. Like every worker it reports a step result; it never writes asset status.
 */
import type { StepCompleted } from '../../events/catalog.ts';
import { workOrderId } from '../../shared/domain/asset-id.ts';
import type { AssetSource } from '../../shared/domain/asset.ts';
import { boundTags, cleanText } from '../../shared/domain/bounded.ts';
import { enforceProbeLimits } from '../../shared/domain/limits.ts';
import { PROBE_STEP } from '../../shared/domain/step.ts';
import { PermanentError, PermanentErrorCode, isPermanent } from '../../shared/errors.ts';
import { MUSIC_METADATA_VERSION, readAudioMetadata } from '../../shared/media/audio-metadata.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import type { ByteSource, MediaInput } from '../../shared/media/input.ts';
import { detectInterlace } from '../../shared/media/interlace.ts';
import { primaryVideoStream } from '../../shared/media/hls/ladder.ts';
import { BlobNotFoundError } from '../../shared/ports/blob-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { withServedSource } from '../../shared/runtime/source-server.ts';
import { startMeter } from '../../shared/media/ffmpeg/usage.ts';
import { countingBlobStore, publishPermanentFailure, publishStepResult, usageOf } from '../../shared/runtime/worker.ts';

/** Bumped when what the probe records changes. */
export const PROBE_RECIPE_VERSION = '3';
const ONE_SHARD = { index: 0, count: 1 } as const;

export async function probeSource(assetId: string, source: AssetSource, deps: Deps): Promise<ProbeSummary> {
  if (source.size === 0) throw new PermanentError(PermanentErrorCode.EMPTY_OBJECT, 'the object is empty (0 bytes)');
  const tools = await deps.mediaTools();
  let probe: ProbeSummary;
  try {
    // Served with byte ranges: ffprobe reads the header and index, the structure check the box headers. An upload
    // larger than the instance's memory-backed scratch is probed like any other.
    probe = await withServedSource(
      deps.blobs,
      { bucket: source.bucket, name: source.name, generation: source.generation },
      tools.sourceDemuxers,
      async (served) => {
        const summary = await served.settle(deps.probe(served.input, served.bytes, tools));
        // Tags, chapters and cover art are read here, over the same byte ranges, so the asset document has them from
        // the start and planning knows whether there is a cover. settle() surfaces a failed read of the source.
        if (summary.kind === 'audio') return served.settle(withAudioMetadata(summary, served.bytes));
        // Field order flags lie both ways: idet looks at a bounded sample of decoded frames, over the same ranges.
        return summary.kind === 'video' ? served.settle(withInterlaceVerdict(summary, served.input, tools.ffmpeg)) : summary;
      },
    );
  } catch (error) {
    if (error instanceof BlobNotFoundError) throw await sourceGone(source, deps);
    throw error;
  }
  // Header facts are cheap and refuse the obvious at once; the steps check again where a lie would show.
  enforceProbeLimits(probe, deps.config.limits);
  return boundProbe(probe);
}

/** The pinned generation is gone: either replaced (a newer asset version will handle it) or deleted. */
async function sourceGone(source: AssetSource, deps: Deps): Promise<PermanentError> {
  const live = await deps.blobs.stat({ bucket: source.bucket, name: source.name });
  return live
    ? new PermanentError(PermanentErrorCode.SOURCE_CHANGED, `${source.uri} was replaced by generation ${live.generation} before it could be read`)
    : new PermanentError(PermanentErrorCode.SOURCE_NOT_FOUND, `${source.uri} (generation ${source.generation}) does not exist`);
}

/**
 * Reports the probe as a step result. `refusal` is a verdict reached before any byte was read (a partner naming
 * an object it may not read): it is reported as the probe's failure, so the asset settles like any refused input.
 */
export async function reportProbe(assetId: string, source: AssetSource, attempt: number, deps: Deps, refusal?: PermanentError): Promise<'done' | 'failed'> {
  const orderId = workOrderId(assetId, PROBE_STEP, 0);
  const startedAt = deps.clock.now();
  const common = { orderId, assetId, step: PROBE_STEP, shard: ONE_SHARD, attempt };
  // Measured like a worker's run (shared/runtime/worker.ts): CPU, wall time and the bytes the probe read.
  const blobs = countingBlobStore(deps.blobs);
  const meter = startMeter();
  try {
    if (refusal) throw refusal;
    const probe = await meter.run(() => probeSource(assetId, source, { ...deps, blobs: blobs.store })).finally(() => meter.stop());
    const tools = await deps.mediaTools();
    const completed: StepCompleted = {
      ...common,
      startedAt: startedAt.toISOString(),
      finishedAt: deps.clock.now().toISOString(),
      outputs: { ...probe },
      provenance: {
        ...(source.md5Hash ? { inputMd5: source.md5Hash } : {}),
        recipeVersion: PROBE_RECIPE_VERSION,
        tools: { ffprobe: tools.versions.ffprobe, ...(probe.audioMetadata ? { 'music-metadata': MUSIC_METADATA_VERSION } : {}) },
      },
      usage: usageOf(meter.stop(), blobs.counts),
    };
    await publishStepResult(deps, 'ingest', completed);
    return 'done';
  } catch (error) {
    if (!isPermanent(error)) throw error;
    return publishPermanentFailure(deps, 'ingest', common, error, usageOf(meter.stop(), blobs.counts));
  }
}

/** The audio file's own tags, chapters and cover facts (shared/media/audio-metadata.ts, bounded there). */
async function withAudioMetadata(probe: ProbeSummary, bytes: ByteSource): Promise<ProbeSummary> {
  const { metadata, warnings } = await readAudioMetadata(bytes, { durationSeconds: probe.durationSeconds });
  return { ...probe, ...(metadata ? { audioMetadata: metadata } : {}), warnings: [...probe.warnings, ...warnings] };
}

/** The primary video stream's scan type (shared/media/interlace.ts), recorded on that stream. */
async function withInterlaceVerdict(probe: ProbeSummary, input: MediaInput, ffmpeg: string): Promise<ProbeSummary> {
  const primary = primaryVideoStream(probe);
  if (!primary) return probe;
  const interlace = await detectInterlace(ffmpeg, input, {
    streamIndex: primary.index,
    fieldOrder: primary.fieldOrder,
    frameRate: primary.frameRate,
    durationSeconds: probe.durationSeconds,
  });
  return { ...probe, streams: probe.streams.map((stream) => (stream === primary ? { ...stream, interlace } : stream)) };
}

/** Container tags are a stranger's text: a 1 MB comment tag must not become a 1 MB asset document. */
function boundProbe(probe: ProbeSummary): ProbeSummary {
  const tags = boundTags(probe.tags);
  return {
    ...probe,
    tags: tags.entries,
    warnings: [...probe.warnings, ...tags.notes.map((note) => `tags: ${note}`)].map((warning) => cleanText(warning, 300)),
  };
}

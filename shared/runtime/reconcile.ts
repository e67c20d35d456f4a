/**
 * Reconciling the ingest bucket: objects that have no asset (a notification lost or never sent, uploads from before
 * the deployment) are ingested through the same path as an upload, by publishing the GCS notification the bucket
 * would have sent. Ingest is idempotent on the object's generation, so a notification sent twice, or for an object
 * whose asset appeared in the meantime, changes nothing. This is also how an existing bucket is backfilled.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import { finalizeNotification } from './storage-notification.ts';
import { uploadAssetId } from '../domain/asset-id.ts';
import { collections } from '../domain/collections.ts';
import { DERIVATIVE_MARKER } from '../domain/ingest-request.ts';
import type { Deps } from './deps.ts';

/** Notifications per second unless told otherwise: a backfill must not flood ingest (each one probes a file). */
export const DEFAULT_RECONCILE_RATE_PER_SECOND = 10;
/** The most names a report lists; the counts are always whole. */
const REPORTED_NAMES = 100;

export interface ReconcileOptions {
  readonly prefix?: string;
  /** Only objects updated at or after this time. */
  readonly since?: Date;
  readonly dryRun: boolean;
  readonly ratePerSecond: number;
  /** Notifications sent at most; the rest wait for the next run (the scheduled run keeps within its timeout). */
  readonly maxPublishes?: number;
}

export interface ReconcileReport {
  /** Objects listed under the prefix. */
  readonly listed: number;
  /** Listed but left alone: older than `since`, or a derivative (the loop guard's marker). */
  readonly skipped: number;
  /** Objects that already have their asset. */
  readonly withAsset: number;
  /** Objects that had none: the first names, and how many. */
  readonly missing: readonly string[];
  readonly missingCount: number;
  /** Notifications sent (0 on a dry run). */
  readonly published: number;
  /** The asset ids the notifications will create. */
  readonly assetIds: readonly string[];
}

export async function reconcileIngestBucket(deps: Pick<Deps, 'blobs' | 'store' | 'bus' | 'config'>, options: ReconcileOptions): Promise<ReconcileReport> {
  if (!(options.ratePerSecond > 0)) throw new RangeError(`the reconcile rate must be above 0 per second, got ${options.ratePerSecond}`);
  const bucket = deps.config.buckets.ingest;
  const objects = await deps.blobs.list(bucket, options.prefix);
  const candidates = objects.filter((meta) => (options.since === undefined || meta.updated >= options.since) && meta.metadata[DERIVATIVE_MARKER] === undefined);
  const missing = [];
  for (const meta of candidates) {
    const assetId = uploadAssetId(meta.bucket, meta.name, meta.generation);
    if ((await deps.store.get(collections.assets.doc(assetId))) === undefined) missing.push({ meta, assetId });
  }
  let published = 0;
  const gapMs = 1000 / options.ratePerSecond;
  const limit = options.maxPublishes ?? Number.POSITIVE_INFINITY;
  for (const { meta } of options.dryRun ? [] : missing) {
    if (published >= limit) break;
    if (published > 0) await sleep(gapMs);
    await deps.bus.publish(deps.config.topics.uploads, finalizeNotification(meta));
    published += 1;
  }
  return {
    listed: objects.length,
    skipped: objects.length - candidates.length,
    withAsset: candidates.length - missing.length,
    missing: missing.slice(0, REPORTED_NAMES).map(({ meta }) => meta.name),
    missingCount: missing.length,
    published,
    assetIds: missing.map(({ assetId }) => assetId),
  };
}

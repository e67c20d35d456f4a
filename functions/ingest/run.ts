/**
 * ingest: an upload notification or a partner's ingest event → one asset document → probe → a step result for
 * the coordinator. Safe to run any number of times for the same event.
 */
import { EventType } from '../../events/catalog.ts';
import { defaultTypeOfTopic } from '../../shared/domain/ingest-request.ts';
import { logs } from '../../shared/observability/messages.ts';
import { eventFunction, recordRejection } from '../../shared/runtime/handler.ts';
import { reportProbe } from './probe.ts';
import { registerAsset } from './register.ts';
import { resolveIngest } from './request.ts';
import { collections } from '../../shared/domain/collections.ts';
import { appendHistory, type AssetDoc, type AssetSource } from '../../shared/domain/asset.ts';
import type { IngestRequest } from '../../shared/domain/ingest-request.ts';
import type { Deps } from '../../shared/runtime/deps.ts';

/** Rejection reason of a partner event whose idempotency key already names an asset made from another object. */
export const IDEMPOTENCY_KEY_REUSED = 'IDEMPOTENCY_KEY_REUSED';

export const ingestFunction = eventFunction({
  name: 'ingest',
  needs: { documents: true, sources: 'read', derivatives: 'none', publishes: ['stepResults'], vertexAi: false, config: [] },
  accepts: (type) => type === EventType.objectFinalized || type === EventType.ingestRequested,
  // Partners may publish bare JSON to the ingest-requests topic; on the uploads topic it means nothing.
  defaultType: (delivery, deps) => defaultTypeOfTopic(delivery.topic, deps.config.topics.ingestRequests),
  async run(event, { delivery, log }, deps) {
    const resolution = await resolveIngest(event, deps);
    if (!resolution.process) {
      logs.loopGuard(log, event.subject ?? event.id, resolution.reason);
      return 'ignored';
    }
    const { request } = resolution;
    const registration = await registerAsset(deps.store, request, deps.clock.now());
    if (registration.status === 'stale') {
      logs.staleGeneration(log, request.assetId, registration.latestGeneration);
      return 'ignored';
    }
    if (registration.status === 'existing') {
      if (registration.asset.source.uri !== request.source.uri) {
        // The partner reused a key for another object: the first one stands, and the refusal is on record.
        logs.idempotencyKeyReused(log, request.assetId, request.source.uri);
        await recordRejection('ingest', delivery, deps, {
          reason: IDEMPOTENCY_KEY_REUSED,
          eventId: event.id,
          type: event.type,
          issues: [
            {
              path: '/idempotencyKey',
              message: `already names asset ${request.assetId} with source ${registration.asset.source.uri}; this event names ${request.source.uri}`,
            },
          ],
        });
        return 'rejected';
      }
      // Still RECEIVED means an earlier delivery stopped before its probe result was published: finish its work.
      if (registration.asset.status !== 'RECEIVED') {
        logs.assetDuplicate(log, request.assetId, registration.asset.status);
        return 'duplicate';
      }
    } else {
      logs.assetReceived(log, request.assetId, request.source.via);
    }
    const unpinned = registration.status === 'existing' && registration.asset.source.generation === UNPINNED_GENERATION;
    const source = unpinned ? await pinSource(request, deps) : registration.asset.source;
    // A partner's missing object is found out by the probe's download and recorded like any unreadable input.
    return reportProbe(request.assetId, source, delivery.deliveryAttempt, deps, request.refusal);
  },
});

/** The generation of a source nobody has read yet: a partner asset the dead-letter handler created, when ingest never could. */
const UNPINNED_GENERATION = '0';

/**
 * The source the probe and every step read. A partner's asset made by the dead-letter handler (which reads no bucket)
 * names no generation; when its event is replayed, ingest pins the generation it has just read, on the asset still
 * RECEIVED, so the probe and the steps read those bytes and not a generation that never existed.
 */
async function pinSource(request: IngestRequest, deps: Deps): Promise<AssetSource> {
  const path = collections.assets.doc(request.assetId);
  return deps.store.runTransaction(async (tx) => {
    const asset = await tx.get<AssetDoc>(path);
    if (!asset) throw new Error(`asset ${request.assetId} vanished after its registration`);
    const pinned = request.source.generation;
    if (asset.status !== 'RECEIVED' || asset.source.generation !== UNPINNED_GENERATION || pinned === UNPINNED_GENERATION) return asset.source;
    const now = deps.clock.now();
    const { generation, size, contentType, md5Hash } = request.source;
    const source: AssetSource = { ...asset.source, generation, size, contentType, md5Hash };
    const history = appendHistory(asset.history, { at: now, event: 'NOTE', step: null, detail: `source pinned at generation ${generation}` });
    tx.set(path, { ...asset, source, history, updatedAt: now });
    return source;
  });
}

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
    // A partner's missing object is found out by the probe's download and recorded like any unreadable input.
    return reportProbe(request.assetId, registration.asset.source, delivery.deliveryAttempt, deps, request.refusal);
  },
});

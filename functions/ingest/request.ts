/**
 * Resolves an ingest event into what ingest acts on, or a reason not to act (the shouldProcess guard):
 * objects outside the ingest bucket and mediaflow's own derivatives are never processed. A partner's event is
 * checked against the partner grants before anything is read; a refused one still becomes an asset, REJECTED
 * with the reason, so the partner hears about it on the asset-events topic.
 */
import { EventType, type CloudEvent, type IngestRequested, type ObjectFinalized } from '../../events/catalog.ts';
import { partnerMayRead } from '../../shared/config/partner-access.ts';
import { DERIVATIVE_MARKER, parseGsUri, partnerRequest, SOURCE_NOT_ALLOWED, uploadRequest, type IngestRequest } from '../../shared/domain/ingest-request.ts';
import { PermanentError } from '../../shared/errors.ts';
import type { Deps } from '../../shared/runtime/deps.ts';

export type Resolution = { readonly process: true; readonly request: IngestRequest } | { readonly process: false; readonly reason: string };

export async function resolveIngest(event: CloudEvent<unknown>, deps: Deps): Promise<Resolution> {
  if (event.type === EventType.objectFinalized) return resolveUpload(event.data as ObjectFinalized, deps);
  return resolvePartnerRequest(event.data as IngestRequested, deps);
}

function resolveUpload(object: ObjectFinalized, deps: Deps): Resolution {
  const { ingest, derivatives } = deps.config.buckets;
  if (object.bucket === derivatives || object.metadata?.[DERIVATIVE_MARKER] !== undefined) {
    return { process: false, reason: 'a mediaflow derivative (loop guard)' };
  }
  if (object.bucket !== ingest) return { process: false, reason: `bucket '${object.bucket}' is not the ingest bucket` };
  return { process: true, request: uploadRequest(object, deps.config.defaultProfile) };
}

async function resolvePartnerRequest(request: IngestRequested, deps: Deps): Promise<Resolution> {
  const { bucket, name } = parseGsUri(request.source.uri);
  const access = partnerMayRead(deps.config.partnerGrants, request.partner, bucket, name);
  if (!access.allowed)
    return { process: true, request: partnerRequest(request, undefined, deps.config.defaultProfile, new PermanentError(SOURCE_NOT_ALLOWED, access.reason)) };
  // Pin the generation now, so every step reads the same bytes even if the partner overwrites the object.
  const live = await deps.blobs.stat({ bucket, name, ...(request.source.generation ? { generation: request.source.generation } : {}) });
  return { process: true, request: partnerRequest(request, live, deps.config.defaultProfile) };
}

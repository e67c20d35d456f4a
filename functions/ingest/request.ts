/**
 * Resolves an ingest event into what ingest acts on, or a reason not to act (the shouldProcess guard):
 * objects outside the ingest bucket and mediaflow's own derivatives are never processed.
 */
import { EventType, type CloudEvent, type IngestRequested, type ObjectFinalized } from '../../events/catalog.ts';
import { partnerAssetId, uploadAssetId } from '../../shared/domain/asset-id.ts';
import type { AssetSource } from '../../shared/domain/asset.ts';
import { DERIVATIVE_MARKER, gsUri, parseGsUri, PROFILE_METADATA, uploadSource } from '../../shared/domain/ingest-request.ts';
import type { Deps } from '../../shared/runtime/deps.ts';

export interface IngestRequest {
  readonly assetId: string;
  readonly source: AssetSource;
  readonly profile: string;
  /** Uploads are ordered by generation; a partner's idempotency key names one asset regardless of generation. */
  readonly ordered: boolean;
}

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
  return {
    process: true,
    request: {
      assetId: uploadAssetId(object.bucket, object.name, object.generation),
      source: uploadSource(object),
      profile: object.metadata?.[PROFILE_METADATA] ?? deps.config.defaultProfile,
      ordered: true,
    },
  };
}

async function resolvePartnerRequest(request: IngestRequested, deps: Deps): Promise<Resolution> {
  const { bucket, name } = parseGsUri(request.source.uri);
  // Pin the generation now, so every step reads the same bytes even if the partner overwrites the object.
  const live = await deps.blobs.stat({ bucket, name, ...(request.source.generation ? { generation: request.source.generation } : {}) });
  const source: AssetSource = {
    uri: gsUri(bucket, name),
    bucket,
    name,
    generation: live?.generation ?? request.source.generation ?? '0',
    size: live?.size ?? null,
    contentType: live?.contentType ?? null,
    md5Hash: live?.md5Hash ?? null,
    via: 'partner-ingest',
    partner: request.partner,
    idempotencyKey: request.idempotencyKey,
    correlationId: request.correlationId ?? null,
    metadata: { ...(request.metadata ?? {}) },
  };
  return {
    process: true,
    request: {
      assetId: partnerAssetId(request.partner, request.idempotencyKey),
      source,
      profile: request.profile ?? deps.config.defaultProfile,
      ordered: false,
    },
  };
}

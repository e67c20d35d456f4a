/**
 * Both ways in (an upload notification and a partner's ingest event) become one IngestRequest, so everything
 * after the edge — ids, generation ordering, probing — is written once.
 */
import { EventType, type IngestRequested, type ObjectFinalized } from '../../events/catalog.ts';
import { partnerAssetId, uploadAssetId } from './asset-id.ts';
import type { AssetSource } from './asset.ts';

/** Custom metadata a derivative carries, so an upload notification for it is never processed (loop guard). */
export const DERIVATIVE_MARKER = 'mediaflow-derivative';
/** Custom metadata an uploader may set to choose a processing profile. */
export const PROFILE_METADATA = 'mediaflow-profile';

export interface ObjectLocation {
  readonly bucket: string;
  readonly name: string;
}

export function parseGsUri(uri: string): ObjectLocation {
  const match = /^gs:\/\/([^/]+)\/(.+)$/.exec(uri);
  if (!match) throw new Error(`not a gs:// object URI: ${uri}`);
  return { bucket: match[1]!, name: match[2]! };
}

export function gsUri(bucket: string, name: string): string {
  return `gs://${bucket}/${name}`;
}

/** The asset id an ingest event leads to; the dead-letter handler uses it too. */
export function assetIdOfIngestEvent(type: string, data: unknown): string | undefined {
  if (type === EventType.objectFinalized) {
    const object = data as ObjectFinalized;
    return uploadAssetId(object.bucket, object.name, object.generation);
  }
  if (type === EventType.ingestRequested) {
    const request = data as IngestRequested;
    return partnerAssetId(request.partner, request.idempotencyKey);
  }
  return undefined;
}

export function uploadSource(object: ObjectFinalized): AssetSource {
  return {
    uri: gsUri(object.bucket, object.name),
    bucket: object.bucket,
    name: object.name,
    generation: object.generation,
    size: object.size,
    contentType: object.contentType ?? null,
    md5Hash: object.md5Hash ?? null,
    via: object.origin,
    partner: null,
    idempotencyKey: null,
    correlationId: null,
    metadata: { ...(object.metadata ?? {}) },
  };
}

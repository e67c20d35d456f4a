/**
 * Both ways in (an upload notification and a partner's ingest event) become one IngestRequest, so everything
 * after the edge — ids, generation ordering, probing — is written once.
 */
import { EventType, type IngestRequested, type ObjectFinalized } from '../../events/catalog.ts';
import type { PermanentError } from '../errors.ts';
import type { BlobMetadata } from '../ports/blob-store.ts';
import { partnerAssetId, uploadAssetId } from './asset-id.ts';
import type { AssetSource } from './asset.ts';
import { boundMetadata, cleanText } from './bounded.ts';

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

/**
 * The type of a bare JSON payload (no CloudEvents attributes) by the topic it was published to: partners may
 * publish bare ingest requests; on any other topic bare JSON means nothing. Ingest and the dead-letter handler,
 * which must read a dead message the way ingest did, both ask here.
 */
export function defaultTypeOfTopic(topic: string, ingestRequestsTopic: string): string | undefined {
  return topic === ingestRequestsTopic ? EventType.ingestRequested : undefined;
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

/** A MIME type with its parameters; a longer one is a stranger's text, not a content type. */
const MAX_CONTENT_TYPE_BYTES = 256;

/** A source and what had to be cut from it to fit a document (see bounded.ts). */
export interface BoundedSource {
  readonly source: AssetSource;
  readonly notes: string[];
}

export function uploadSource(object: ObjectFinalized): BoundedSource {
  const metadata = boundMetadata(object.metadata);
  return {
    source: {
      uri: gsUri(object.bucket, object.name),
      bucket: object.bucket,
      name: object.name,
      generation: object.generation,
      size: object.size,
      contentType: object.contentType ? cleanText(object.contentType, MAX_CONTENT_TYPE_BYTES) : null,
      md5Hash: object.md5Hash ?? null,
      via: object.origin,
      partner: null,
      idempotencyKey: null,
      correlationId: null,
      metadata: metadata.entries,
    },
    notes: metadata.notes.map((note) => `metadata: ${note}`),
  };
}

/** A partner's source, pinned to the live generation when `live` is known (an unread, refused one is not). */
export function partnerSource(request: IngestRequested, live: BlobMetadata | undefined): BoundedSource {
  const { bucket, name } = parseGsUri(request.source.uri);
  const metadata = boundMetadata(request.metadata);
  return {
    source: {
      uri: gsUri(bucket, name),
      bucket,
      name,
      generation: live?.generation ?? request.source.generation ?? '0',
      size: live?.size ?? null,
      contentType: live?.contentType ? cleanText(live.contentType, MAX_CONTENT_TYPE_BYTES) : null,
      md5Hash: live?.md5Hash ?? null,
      via: 'partner-ingest',
      partner: request.partner,
      idempotencyKey: request.idempotencyKey,
      correlationId: request.correlationId ?? null,
      metadata: metadata.entries,
    },
    notes: metadata.notes.map((note) => `metadata: ${note}`),
  };
}

/** The profile name pattern of events/schemas/common.v1.json: every outbound event carries the profile. */
export const PROFILE_PATTERN = /^[a-z][a-z0-9-]{0,39}$/;

/**
 * An uploader's profile choice, made safe to carry: `Portfolio` is the honest spelling of `portfolio`, and a name
 * no event could carry ('Evil Profile!') falls back to the default, as an unknown well-formed name already does
 * in each step, with a note on the asset instead of a message that can never be published.
 */
export function resolveProfile(requested: string | undefined, fallback: string): { readonly name: string; readonly notes: string[] } {
  if (requested === undefined) return { name: fallback, notes: [] };
  const normalized = requested.trim().toLowerCase();
  if (PROFILE_PATTERN.test(normalized)) return { name: normalized, notes: [] };
  return { name: fallback, notes: [`profile '${cleanText(requested, 80)}' is not a valid profile name (${PROFILE_PATTERN.source}); used '${fallback}'`] };
}

export interface IngestRequest {
  readonly assetId: string;
  readonly source: AssetSource;
  readonly profile: string;
  /** Uploads are ordered by generation; a partner's idempotency key names one asset regardless of generation. */
  readonly ordered: boolean;
  /** Notes for the asset's history: a profile that was not usable, metadata that was cut. */
  readonly notes: readonly string[];
  /** Set when the event may not be processed at all: the asset is recorded, then settles with this. */
  readonly refusal?: PermanentError;
}

/** Code of a partner event that names an object its partner may not read. */
export const SOURCE_NOT_ALLOWED = 'SOURCE_NOT_ALLOWED';

/** What an upload asks for. Pure: the dead-letter handler rebuilds the same request from a dead event. */
export function uploadRequest(object: ObjectFinalized, defaultProfile: string): IngestRequest {
  const { source, notes } = uploadSource(object);
  const profile = resolveProfile(object.metadata?.[PROFILE_METADATA], defaultProfile);
  return {
    assetId: uploadAssetId(object.bucket, object.name, object.generation),
    source,
    profile: profile.name,
    ordered: true,
    notes: [...profile.notes, ...notes],
  };
}

/** What a partner asks for, pinned to `live` when the object was read; `refusal` when it may not be. */
export function partnerRequest(request: IngestRequested, live: BlobMetadata | undefined, defaultProfile: string, refusal?: PermanentError): IngestRequest {
  const { source, notes } = partnerSource(request, live);
  const profile = resolveProfile(request.profile, defaultProfile);
  return {
    assetId: partnerAssetId(request.partner, request.idempotencyKey),
    source,
    profile: profile.name,
    ordered: false,
    notes: [...profile.notes, ...notes],
    ...(refusal ? { refusal } : {}),
  };
}

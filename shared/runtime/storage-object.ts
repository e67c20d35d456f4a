/**
 * GCS object resources (the JSON API's `storage#object`) arrive in two wrappers: the Eventarc
 * `google.cloud.storage.object.v1.finalized` CloudEvent and the Pub/Sub notification with payloadFormat
 * JSON_API_V1. Both carry the same resource, so one normalizer serves both. size and generation are strings
 * in the JSON API (int64); size becomes a number here (objects are < 5 TiB, well inside 2^53).
 */
import type { ObjectFinalized } from '../../events/catalog.ts';
import { boundMetadata } from '../domain/bounded.ts';

export type StorageOrigin = ObjectFinalized['origin'];

const optionalStringFields = ['metageneration', 'contentType', 'md5Hash', 'crc32c', 'timeCreated', 'updated'] as const;

/** Builds the candidate value; the schema validator decides whether it is acceptable. */
export function normalizeStorageObject(resource: unknown, origin: StorageOrigin): Record<string, unknown> {
  const object = (resource && typeof resource === 'object' ? resource : {}) as Record<string, unknown>;
  const normalized: Record<string, unknown> = {
    bucket: object.bucket,
    name: object.name,
    generation: typeof object.generation === 'number' ? String(object.generation) : object.generation,
    size: typeof object.size === 'string' && /^[0-9]+$/.test(object.size) ? Number(object.size) : object.size,
    origin,
  };
  for (const field of optionalStringFields) {
    const value = object[field];
    if (value !== undefined && value !== null) normalized[field] = typeof value === 'number' ? String(value) : value;
  }
  // GCS allows 8 KiB of custom metadata, which can be more entries than an asset keeps: an upload is never refused
  // for its metadata, which is cut to the asset's budget here (the first 64 entries, values to 1 KiB).
  if (object.metadata && typeof object.metadata === 'object' && !Array.isArray(object.metadata)) {
    normalized.metadata = boundMetadata(object.metadata as Record<string, unknown>).entries;
  }
  return normalized;
}

/**
 * GCS object resources (the JSON API's `storage#object`) arrive in two wrappers: the Eventarc
 * `google.cloud.storage.object.v1.finalized` CloudEvent and the Pub/Sub notification with payloadFormat
 * JSON_API_V1. Both carry the same resource, so one normalizer serves both. size and generation are strings
 * in the JSON API (int64); size becomes a number here (objects are < 5 TiB, well inside 2^53).
 */
import type { ObjectFinalized } from '../../events/catalog.ts';

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
  if (object.metadata && typeof object.metadata === 'object') normalized.metadata = object.metadata;
  return normalized;
}

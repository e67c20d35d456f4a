/**
 * The Pub/Sub message GCS sends for an object change when a bucket notification uses payloadFormat
 * JSON_API_V1: the attributes name the event and the data is the object's JSON API resource, with int64
 * fields (generation, size) as strings. The embedded runtime emits exactly this, so ingest's upload path is the
 * one it takes on GCP and on fake-gcs-server; reconcile sends it on both runtimes for an object that has no asset.
 */
import { createHash } from 'node:crypto';
import type { BlobMetadata } from '../ports/blob-store.ts';
import type { OutgoingMessage } from '../ports/bus.ts';

export function finalizeNotification(meta: BlobMetadata, notificationId = '1'): OutgoingMessage {
  const objectId = `${meta.bucket}/${meta.name}/${meta.generation}`;
  const resource = {
    kind: 'storage#object',
    id: objectId,
    selfLink: `https://www.googleapis.com/storage/v1/b/${meta.bucket}/o/${encodeURIComponent(meta.name)}`,
    mediaLink: `https://storage.googleapis.com/download/storage/v1/b/${meta.bucket}/o/${encodeURIComponent(meta.name)}?generation=${meta.generation}&alt=media`,
    name: meta.name,
    bucket: meta.bucket,
    generation: meta.generation,
    metageneration: meta.metageneration,
    ...(meta.contentType ? { contentType: meta.contentType } : {}),
    ...(meta.cacheControl ? { cacheControl: meta.cacheControl } : {}),
    storageClass: 'STANDARD',
    size: String(meta.size),
    md5Hash: meta.md5Hash,
    etag: createHash('md5').update(objectId).digest('base64').slice(0, 12),
    timeCreated: meta.timeCreated.toISOString(),
    updated: meta.updated.toISOString(),
    timeStorageClassUpdated: meta.timeCreated.toISOString(),
    ...(Object.keys(meta.metadata).length > 0 ? { metadata: { ...meta.metadata } } : {}),
  };
  return {
    data: Buffer.from(JSON.stringify(resource)),
    attributes: {
      notificationConfig: `projects/_/buckets/${meta.bucket}/notificationConfigs/${notificationId}`,
      eventType: 'OBJECT_FINALIZE',
      payloadFormat: 'JSON_API_V1',
      bucketId: meta.bucket,
      objectId: meta.name,
      objectGeneration: meta.generation,
      eventTime: meta.updated.toISOString(),
    },
  };
}

/**
 * How `mediaflow process` picks up where a killed run stopped. A file already in the embedded ingest bucket under
 * the same name, with the same content and the same profile, is the same upload: it keeps its generation (so its
 * asset id and outputs) and its finalize notification is sent again, which ingest absorbs as a duplicate when the
 * asset exists and acts on when the killed run never got that far. A changed file is a new generation, a new
 * asset version, as on GCS.
 */
import { md5OfFile, type LocalBlobStore } from '../shared/adapters/local/blob-store.ts';
import { finalizeNotification } from '../shared/runtime/storage-notification.ts';
import type { BlobMetadata } from '../shared/ports/blob-store.ts';
import type { MessageBus } from '../shared/ports/bus.ts';

export interface ResumeTarget {
  readonly blobs: LocalBlobStore;
  readonly bus: MessageBus;
  readonly uploadsTopic: string;
  readonly bucket: string;
}

export async function uploadOrResume(
  target: ResumeTarget,
  file: string,
  objectName: string,
  metadata: Readonly<Record<string, string>>,
): Promise<BlobMetadata> {
  const existing = await target.blobs.stat({ bucket: target.bucket, name: objectName });
  if (existing && sameMetadata(existing.metadata, metadata) && existing.md5Hash === (await md5OfFile(file))) {
    await target.bus.publish(target.uploadsTopic, finalizeNotification(existing));
    return existing;
  }
  return target.blobs.upload(file, { bucket: target.bucket, name: objectName }, { metadata });
}

function sameMetadata(stored: Readonly<Record<string, string>> | undefined, wanted: Readonly<Record<string, string>>): boolean {
  const have = stored ?? {};
  const keys = new Set([...Object.keys(have), ...Object.keys(wanted)]);
  return [...keys].every((key) => have[key] === wanted[key]);
}

/**
 * Where step outputs go and what they carry. Paths are deterministic (a re-run overwrites the same objects),
 * they live in the derivatives bucket, and every object carries the loop-guard marker plus its provenance, so
 * the pipeline never processes its own outputs and anyone can tell what made a file.
 */
import { createHash } from 'node:crypto';
import type { WorkOrder } from '../../events/catalog.ts';
import type { Config } from '../config/config.ts';
import { documentId } from '../domain/asset-id.ts';
import { truncateUtf8 } from '../domain/bounded.ts';
import { DERIVATIVE_MARKER } from '../domain/ingest-request.ts';
import type { BlobMetadata, BlobRef, BlobStore, WriteOptions } from '../ports/blob-store.ts';

/** Derivatives never change for a given asset version and recipe, so caches may keep them for a year. */
export const IMMUTABLE_CACHE_CONTROL = 'public, max-age=31536000, immutable';

export interface DerivativeTarget {
  readonly blobs: BlobStore;
  readonly config: Config;
  readonly order: WorkOrder;
  readonly recipeVersion: string;
}

export interface DerivativeOptions {
  readonly contentType: string;
  readonly cacheControl?: string;
  /** Extra custom metadata (dimensions, loudness...); string values only, as GCS stores them. */
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * The asset's folder name, at most this many bytes: one path segment of the local store holds 250, and a GCS name
 * 1024 for folder, step and file together. An upload's name alone may take 1024, so a long id is shortened.
 */
export const MAX_ASSET_FOLDER_BYTES = 200;
const DIGEST_CHARS = 16;

/** `<asset document id>/<step>/<file>`: one folder per asset version and step. */
export function derivativeName(assetId: string, step: string, file: string): string {
  return `${assetFolder(assetId)}/${step}/${file}`;
}

/** The document id, readable as it is; past the limit its head plus a digest of the whole id, still one per asset. */
function assetFolder(assetId: string): string {
  const id = documentId(assetId);
  if (Buffer.byteLength(id, 'utf8') <= MAX_ASSET_FOLDER_BYTES) return id;
  const digest = createHash('sha256').update(assetId).digest('hex').slice(0, DIGEST_CHARS);
  return `${truncateUtf8(id, MAX_ASSET_FOLDER_BYTES - DIGEST_CHARS - 1)}~${digest}`;
}

export function derivativeUri(config: Config, assetId: string, step: string, file: string): string {
  return `gs://${config.buckets.derivatives}/${derivativeName(assetId, step, file)}`;
}

/** The object and write options of one derivative: the marker and provenance go on every output. */
function placement(target: DerivativeTarget, file: string, options: DerivativeOptions): [BlobRef, WriteOptions] {
  const { order } = target;
  return [
    { bucket: target.config.buckets.derivatives, name: derivativeName(order.assetId, order.step, file) },
    {
      contentType: options.contentType,
      cacheControl: options.cacheControl ?? IMMUTABLE_CACHE_CONTROL,
      metadata: {
        ...options.metadata,
        [DERIVATIVE_MARKER]: order.step,
        'mediaflow-asset-id': order.assetId,
        'mediaflow-source-generation': order.source.generation,
        'mediaflow-recipe-version': target.recipeVersion,
      },
    },
  ];
}

/** Writes an in-memory derivative. */
export async function writeDerivative(target: DerivativeTarget, file: string, data: Buffer | string, options: DerivativeOptions): Promise<BlobMetadata> {
  const [ref, writeOptions] = placement(target, file, options);
  return target.blobs.write(ref, data, writeOptions);
}

/** Uploads a derivative from a scratch file (large outputs never pass through memory). */
export async function uploadDerivative(target: DerivativeTarget, file: string, localPath: string, options: DerivativeOptions): Promise<BlobMetadata> {
  const [ref, writeOptions] = placement(target, file, options);
  return target.blobs.upload(localPath, ref, writeOptions);
}

/**
 * Where step outputs go and what they carry. Paths are deterministic per output version: a first run writes into
 * `<asset>/<step>/` (a re-run overwrites the same objects), a reprocess into `<asset>/<step>/<outputVersion>/`, so
 * the live outputs stay untouched until it is switched over. Every name of an order's own outputs comes from the
 * order itself (derivativeUri, writeDerivative, uploadDerivative), and every name of a dependency's outputs read by
 * path from the order's inputVersions (dependencyName, dependencyRelativePath), so no call site can forget a
 * version. They live in the derivatives bucket, and every object carries the loop-guard marker plus its provenance,
 * so the pipeline never processes its own outputs and anyone can tell what made a file.
 */
import { createHash } from 'node:crypto';
import path from 'node:path';
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

/** What places an order's own outputs: its asset, its step and, on a reprocess, its output version. */
export type OutputOwner = Pick<WorkOrder, 'assetId' | 'step' | 'outputVersion'>;
/** What places the outputs of the dependencies an order reads by path. */
export type InputReader = Pick<WorkOrder, 'assetId' | 'inputVersions'>;
/** What places a dependency's outputs relative to the order's own (both in the same asset's folder). */
export type RelativeReader = Pick<WorkOrder, 'step' | 'outputVersion' | 'inputVersions'>;

/** The work order schema's outputVersion (common.v1.json): one path segment, never `.` or `..`. */
const OUTPUT_VERSION = /^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/;

/**
 * `<asset document id>/<step>/<file>`: one folder per asset version and step; with a version (a reprocess),
 * `<asset document id>/<step>/<version>/<file>`.
 */
export function derivativeName(assetId: string, step: string, file: string, version?: string): string {
  return `${assetFolder(assetId)}/${stepFolder(step, version)}/${file}`;
}

/** The folder of a step's outputs inside the asset's folder: `<step>` or `<step>/<version>`. */
function stepFolder(step: string, version: string | undefined): string {
  if (version === undefined) return step;
  if (!OUTPUT_VERSION.test(version)) throw new Error(`'${version}' is not an output version (one path segment of at most 64 characters)`);
  return `${step}/${version}`;
}

/** The document id, readable as it is; past the limit its head plus a digest of the whole id, still one per asset. */
function assetFolder(assetId: string): string {
  const id = documentId(assetId);
  if (Buffer.byteLength(id, 'utf8') <= MAX_ASSET_FOLDER_BYTES) return id;
  const digest = createHash('sha256').update(assetId).digest('hex').slice(0, DIGEST_CHARS);
  return `${truncateUtf8(id, MAX_ASSET_FOLDER_BYTES - DIGEST_CHARS - 1)}~${digest}`;
}

/** The object name of one of the order's own outputs, in its output version's folder. */
function outputName(order: OutputOwner, file: string): string {
  return derivativeName(order.assetId, order.step, file, order.outputVersion);
}

/** The gs:// URI of one of the order's own outputs, in its output version's folder. */
export function derivativeUri(config: Config, order: OutputOwner, file: string): string {
  return `gs://${config.buckets.derivatives}/${outputName(order, file)}`;
}

/**
 * The object name of a dependency's output that the order reads by path: in the version folder its inputVersions
 * name for that step, or the step's own folder when they name none (the dependency's first run).
 */
export function dependencyName(order: InputReader, dependencyStep: string, file: string): string {
  return derivativeName(order.assetId, dependencyStep, file, order.inputVersions?.[dependencyStep]);
}

/**
 * A dependency's output as a relative URI (RFC 3986 §5.2) from the folder of the order's own outputs, for a
 * playlist that names segments another step wrote: `../hls-segment/a.m4s` from `hls-package/`,
 * `../../hls-segment/r2.J/a.m4s` from `hls-package/r3.K/` when hls-segment was reprocessed as well.
 */
export function dependencyRelativePath(order: RelativeReader, dependencyStep: string, file: string): string {
  const from = stepFolder(order.step, order.outputVersion);
  const to = stepFolder(dependencyStep, order.inputVersions?.[dependencyStep]);
  const relative = path.posix.relative(from, to);
  return relative === '' ? file : `${relative}/${file}`;
}

/**
 * The object and write options of one derivative: in the order's output version's folder, and the marker and
 * provenance (with the output version, on a reprocess) go on every output.
 */
function placement(target: DerivativeTarget, file: string, options: DerivativeOptions): [BlobRef, WriteOptions] {
  const { order } = target;
  return [
    { bucket: target.config.buckets.derivatives, name: outputName(order, file) },
    {
      contentType: options.contentType,
      cacheControl: options.cacheControl ?? IMMUTABLE_CACHE_CONTROL,
      metadata: {
        ...options.metadata,
        [DERIVATIVE_MARKER]: order.step,
        'mediaflow-asset-id': order.assetId,
        'mediaflow-source-generation': order.source.generation,
        'mediaflow-recipe-version': target.recipeVersion,
        ...(order.outputVersion === undefined ? {} : { 'mediaflow-output-version': order.outputVersion }),
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

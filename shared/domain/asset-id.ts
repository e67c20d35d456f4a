/**
 * Deterministic asset ids. The same source always maps to the same id, so a redelivered event finds the
 * asset it already created instead of making a second one.
 */

/** `bucket/name#generation`: a new generation of the same object is a new asset version. */
export function uploadAssetId(bucket: string, name: string, generation: string): string {
  return `${bucket}/${name}#${generation}`;
}

/** `partner:idempotencyKey`: namespaced so two partners can use the same key. */
export function partnerAssetId(partner: string, idempotencyKey: string): string {
  return `${partner}:${idempotencyKey}`;
}

export { documentId } from './document-id.ts';
/** The asset and object documents' paths, named with every other collection in shared/domain/collections.ts. */
export { assetPath, objectPath } from './collections.ts';

/** Compares int64 generation strings without losing precision. */
export function compareGenerations(a: string, b: string): number {
  const left = BigInt(a);
  const right = BigInt(b);
  return left < right ? -1 : left > right ? 1 : 0;
}

/** Work order ids are deterministic too: one order per asset, step and shard. */
export function workOrderId(assetId: string, step: string, shardIndex: number): string {
  return `${assetId}|${step}|${shardIndex}`;
}

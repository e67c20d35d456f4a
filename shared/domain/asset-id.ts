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

/**
 * Firestore document ids may not contain '/', so ids are stored percent-encoded for exactly the two
 * characters that matter ('%' first, so decoding is unambiguous). The rest stays readable in the console.
 */
export function documentId(id: string): string {
  const encoded = id.replaceAll('%', '%25').replaceAll('/', '%2F');
  // Firestore reserves '.', '..' and ids shaped like __name__.
  if (encoded === '.' || encoded === '..' || /^__.*__$/.test(encoded)) return `%${encoded}`;
  return encoded;
}

export function assetPath(assetId: string): string {
  return `assets/${documentId(assetId)}`;
}

/** Tracks the newest generation seen per object, so an older generation's late event is ignored. */
export function objectPath(bucket: string, name: string): string {
  return `objects/${documentId(`${bucket}/${name}`)}`;
}

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

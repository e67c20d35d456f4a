/**
 * Creates the asset document, in one transaction with the per-object generation record, so the duplicate
 * check and the create can never interleave with another delivery of the same (or a newer) event.
 */
import { compareGenerations } from '../../shared/domain/asset-id.ts';
import { collections } from '../../shared/domain/collections.ts';
import { newAssetDoc, type AssetDoc } from '../../shared/domain/asset.ts';
import type { DocumentStore } from '../../shared/ports/document-store.ts';
import type { IngestRequest } from '../../shared/domain/ingest-request.ts';

type ObjectRecord = { bucket: string; name: string; latestGeneration: string; latestAssetId: string; updatedAt: Date };

export type Registration =
  | { readonly status: 'created'; readonly asset: AssetDoc }
  | { readonly status: 'existing'; readonly asset: AssetDoc }
  | { readonly status: 'stale'; readonly latestGeneration: string };

export async function registerAsset(store: DocumentStore, request: IngestRequest, now: Date): Promise<Registration> {
  const { bucket, name, generation } = request.source;
  return store.runTransaction(async (tx): Promise<Registration> => {
    const object = request.ordered ? await tx.get<ObjectRecord>(collections.objects.doc(bucket, name)) : undefined;
    const existing = await tx.get<AssetDoc>(collections.assets.doc(request.assetId));
    if (object && compareGenerations(object.latestGeneration, generation) > 0) return { status: 'stale', latestGeneration: object.latestGeneration };
    if (existing) return { status: 'existing', asset: existing };
    const asset = newAssetDoc({
      id: request.assetId,
      source: request.source,
      profile: request.profile,
      previousVersion: object && object.latestAssetId !== request.assetId ? object.latestAssetId : null,
      now,
      notes: request.notes,
    });
    if (request.ordered)
      tx.set(collections.objects.doc(bucket, name), { bucket, name, latestGeneration: generation, latestAssetId: request.assetId, updatedAt: now });
    tx.set(collections.assets.doc(request.assetId), asset);
    return { status: 'created', asset };
  });
}

/** The source of an asset made from a plain upload, for tests that build asset documents by hand. */
import type { AssetSource } from '../../shared/domain/asset.ts';

/** `gs://<bucket>/<name>`, generation 1, from a GCS notification, with no partner or metadata; any field overridable. */
export function uploadSource(name: string, overrides: Partial<AssetSource> = {}): AssetSource {
  const bucket = overrides.bucket ?? 'ingest';
  return {
    uri: `gs://${bucket}/${name}`,
    bucket,
    name,
    generation: '1',
    size: 10,
    contentType: null,
    md5Hash: null,
    via: 'pubsub-notification',
    partner: null,
    idempotencyKey: null,
    correlationId: null,
    metadata: {},
    ...overrides,
  };
}

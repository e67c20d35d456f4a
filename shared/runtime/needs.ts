/**
 * What a function needs from the platform, declared beside its code rather than read out of it. Terraform's IAM
 * grants and environment variables are generated from these declarations (scripts/deploy/terraform-pipeline.ts
 * writes them into terraform/modules/mediaflow/generated/pipeline.json), and the integration tests record what
 * each function really touches and fail when it uses more than it declares (test/integration/declared-needs.test.ts).
 */
import type { Config } from '../config/config.ts';

/** The topics a function may publish to, by role; `work` is every step's work topic, `uploads` the notification topic (reconcile). */
export type PublishTarget = 'stepResults' | 'assetEvents' | 'work' | 'uploads';

/** Optional configuration groups a function reads on top of the common set every function gets. */
export type ConfigGroup = 'vertex';

/**
 * Each configuration group: the part of Config it fills, and the environment variables loadConfig reads for it,
 * which Terraform sets on the functions that declare the group (and on no other).
 */
export const CONFIG_GROUPS: Readonly<Record<ConfigGroup, { readonly config: keyof Config; readonly env: readonly string[] }>> = {
  vertex: { config: 'vertex', env: ['MEDIAFLOW_VERTEX_PROJECT', 'MEDIAFLOW_VERTEX_LOCATION', 'MEDIAFLOW_VERTEX_MODEL'] },
};

export interface FunctionNeeds {
  /** Reads and writes documents (every function's edge records failures and rejections). */
  readonly documents: boolean;
  /** Reads uploaded sources: the ingest bucket and the partner buckets granted to partners. */
  readonly sources: 'none' | 'read';
  /** The derivatives bucket: `write` creates and overwrites (a re-run overwrites), `read-write` also reads back. */
  readonly derivatives: 'none' | 'read' | 'write' | 'read-write';
  readonly publishes: readonly PublishTarget[];
  /**
   * Calls Gemini on Vertex AI. The model reads the derivatives it is given: on GCP by gs:// URI, as the Vertex AI
   * service agent (which Terraform lets read the derivatives bucket); on the embedded runtime the function inlines them.
   */
  readonly vertexAi: boolean;
  readonly config: readonly ConfigGroup[];
}

/** What most steps need: read the source, write derivatives, report a result. */
export const MEDIA_STEP_NEEDS: FunctionNeeds = {
  documents: true,
  sources: 'read',
  derivatives: 'write',
  publishes: ['stepResults'],
  vertexAi: false,
  config: [],
};

/** The topics a function publishes to: its declared roles resolved against the configuration and the pipeline's work topics. */
export function publishTopics(needs: FunctionNeeds, topics: Config['topics'], workTopics: readonly string[]): string[] {
  return [...new Set(needs.publishes.flatMap((target) => (target === 'work' ? workTopics : [topics[target]])))].sort();
}

/**
 * What a function needs from the platform, declared beside its code rather than read out of it. Terraform's IAM
 * grants and environment variables are generated from these declarations (scripts/deploy), and the integration
 * tests record what each function really touches and fail when it uses more than it declares.
 */

/** The topics a function may publish to, by role; `work` is every step's work topic. */
export type PublishTarget = 'stepResults' | 'assetEvents' | 'work';

/** Optional configuration groups a function reads on top of the common set every function gets. */
export type ConfigGroup = 'vertex';

export interface FunctionNeeds {
  /** Reads and writes documents (every function's edge records failures and rejections). */
  readonly documents: boolean;
  /** Reads uploaded sources: the ingest bucket and the partner buckets granted to partners. */
  readonly sources: 'none' | 'read';
  /** The derivatives bucket: `write` creates and overwrites (a re-run overwrites), `read-write` also reads back. */
  readonly derivatives: 'none' | 'read' | 'write' | 'read-write';
  readonly publishes: readonly PublishTarget[];
  /** Calls Gemini on Vertex AI, which also reads the derivatives it is given through its service agent. */
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

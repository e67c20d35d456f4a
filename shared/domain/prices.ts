/**
 * Every price the cost estimate uses, in one place: public list prices in USD as of June 2025, written down from the
 * pages named below without re-reading them live: verify before relying on them. No free tiers, committed-use or
 * sustained-use discounts.
 * Billing is the source of truth; these make the per-asset estimate in shared/domain/cost.ts and nothing else.
 * Region: a tier 1 region (us-central1, europe-west1), where Cloud Run, the buckets and Vertex AI are colocated.
 */

/** The date of the prices below, carried on every asset's cost so an old figure says how old it is. */
export const PRICES_AS_OF = '2025-06';

// Cloud Run, request-based billing ("CPU is only allocated during request processing", our cpu_idle = true), tier 1.
// Source: https://cloud.google.com/run/pricing (as of June 2025). Billed on the instance's allocated vCPU and memory
// for the time it serves requests (rounded up to 100 ms), not on the CPU the process actually used.
export const CLOUD_RUN_USD_PER_VCPU_SECOND = 0.000024;
export const CLOUD_RUN_USD_PER_GIB_SECOND = 0.0000025;
export const CLOUD_RUN_USD_PER_MILLION_REQUESTS = 0.4;

// Cloud Storage, Standard class, regional bucket. Source: https://cloud.google.com/storage/pricing (as of June 2025).
/** Class A: writes, uploads (insert), listings. */
export const GCS_CLASS_A_USD_PER_THOUSAND_OPS = 0.005;
/** Class B: reads (get), metadata lookups. */
export const GCS_CLASS_B_USD_PER_THOUSAND_OPS = 0.0004;
/** Keeping the derivatives, per GiB-month: shown apart, it is not a cost of processing. */
export const GCS_STANDARD_USD_PER_GIB_MONTH = 0.02;
// Egress between a bucket and Cloud Run in the same region is free, and the pipeline never reads across regions:
// no egress price is applied. Serving derivatives to viewers is egress, but it is delivery, not processing.

// Pub/Sub. Source: https://cloud.google.com/pubsub/pricing (as of June 2025). Throughput is billed on publish and on
// delivery, each request counted at 1,000 bytes at least; our messages (work orders, results) are smaller.
export const PUBSUB_USD_PER_TIB = 40;
export const PUBSUB_MIN_BILLED_BYTES = 1000;
/** Per step run: its work order published and pushed, its result published and pushed. */
export const PUBSUB_MESSAGES_PER_RUN = 4;
/** Per step run: the worker's push request and the coordinator's. */
export const CLOUD_RUN_REQUESTS_PER_RUN = 2;

// Gemini on Vertex AI, standard (online) tier, prompts up to 200k tokens, USD per million tokens; thinking tokens are
// billed as output. Source: https://cloud.google.com/vertex-ai/generative-ai/pricing (as of June 2025).
export interface ModelPrices {
  readonly inputUsdPerMillion: number;
  readonly audioInputUsdPerMillion: number;
  readonly outputUsdPerMillion: number;
}

export const GEMINI_PRICES: Readonly<Record<string, ModelPrices>> = {
  'gemini-2.5-flash': { inputUsdPerMillion: 0.3, audioInputUsdPerMillion: 1.0, outputUsdPerMillion: 2.5 },
  'gemini-2.5-flash-lite': { inputUsdPerMillion: 0.1, audioInputUsdPerMillion: 0.3, outputUsdPerMillion: 0.4 },
  'gemini-2.5-pro': { inputUsdPerMillion: 1.25, audioInputUsdPerMillion: 1.25, outputUsdPerMillion: 10 },
  'gemini-2.0-flash': { inputUsdPerMillion: 0.15, audioInputUsdPerMillion: 1.0, outputUsdPerMillion: 0.6 },
};

/** The tag step's default model (functions/tag/vertex.ts DEFAULT_TAG_MODEL): the prices of a model not listed above. */
export const DEFAULT_MODEL_PRICES_OF = 'gemini-2.5-flash';

/** Prices of `model` (a version suffix such as `-001` or `-preview-…` is ignored), or the default model's. */
export function modelPrices(model: string | undefined): ModelPrices {
  if (model) {
    for (const [name, prices] of Object.entries(GEMINI_PRICES).sort((a, b) => b[0].length - a[0].length)) {
      if (model === name || model.startsWith(`${name}-`) || model.endsWith(`/${name}`)) return prices;
    }
  }
  return GEMINI_PRICES[DEFAULT_MODEL_PRICES_OF]!;
}

/**
 * What Cloud Run gives each function, mirrored from Terraform's defaults (terraform/modules/mediaflow/locals.tf,
 * `sizing_defaults`; a step not named there gets `worker`). The code declares no per-function sizing of its own, and
 * a deployment may override these (`functions = { audio = { memory = "8Gi" } }`): the estimate then uses the default.
 * test/unit/cost.test.ts fails when this drifts from locals.tf.
 */
export interface FunctionSizing {
  readonly vcpu: number;
  readonly memoryGiB: number;
}

export const FUNCTION_SIZING: Readonly<Record<string, FunctionSizing>> = {
  worker: { vcpu: 2, memoryGiB: 4 },
  'hls-segment': { vcpu: 1, memoryGiB: 2 },
  'hls-package': { vcpu: 8, memoryGiB: 8 },
  ingest: { vcpu: 1, memoryGiB: 2 },
  coordinator: { vcpu: 1, memoryGiB: 0.5 },
  deadletter: { vcpu: 1, memoryGiB: 0.5 },
};

export function functionSizing(functionName: string): FunctionSizing {
  return FUNCTION_SIZING[functionName] ?? FUNCTION_SIZING.worker!;
}

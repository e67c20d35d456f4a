/**
 * One structured generateContent call to Gemini on Vertex AI, with the failure policy of the step:
 * - 408/429/5xx, network faults and per-attempt timeouts are retried here a bounded number of times with
 *   exponential backoff, then thrown as TransientError so Pub/Sub redelivers later (its backoff is minutes, ours
 *   seconds: a quota burst often clears in seconds, an outage does not);
 * - 400 and other 4xx, safety blocks and missing credentials are PermanentError: the same request gives the same
 *   answer, so redelivering would only pay for it again;
 * - an answer that is not JSON matching the schema is asked for once more (generation is sampled, a second try
 *   usually parses), then is permanent: a model that keeps producing it for this input will not change on
 *   redelivery, and every attempt is billed.
 */
import { ApiError, FinishReason, GoogleGenAI, MediaModality, type GenerateContentResponse, type GoogleGenAIOptions, type Part } from '@google/genai';
import { Ajv2020, type ValidateFunction } from 'ajv/dist/2020.js';
import type { MediaKind } from '../../shared/domain/asset.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { errorMessage, PermanentError, PermanentErrorCode, TransientError } from '../../shared/errors.ts';
import { promptFor } from './prompt.ts';
import { RESPONSE_SCHEMAS, toJsonSchema } from './schemas.ts';
import { tokenUsd } from '../../shared/domain/cost.ts';

export type VertexAuthClient = NonNullable<NonNullable<GoogleGenAIOptions['googleAuthOptions']>['authClient']>;

export interface VertexSettings {
  readonly project: string;
  readonly location: string;
  /** Defaults to DEFAULT_TAG_MODEL. */
  readonly model?: string;
  /** Another endpoint than https://{location}-aiplatform.googleapis.com (a proxy, or a local fake in tests). */
  readonly baseUrl?: string;
  /** Credentials; without one the SDK uses Application Default Credentials. */
  readonly authClient?: VertexAuthClient;
  /** Per-attempt timeout; defaults to VERTEX_CALL_TIMEOUT_MS. */
  readonly timeoutMs?: number;
  /** First backoff between attempts; defaults to VERTEX_RETRY_BASE_DELAY_MS. */
  readonly retryBaseDelayMs?: number;
}

/** Flash: multimodal, cheap, and fast enough for one call per asset. */
export const DEFAULT_TAG_MODEL = 'gemini-2.5-flash';
/** A 640 px still or a 30 s clip is answered in a few seconds; a minute allows for a loaded endpoint. */
export const VERTEX_CALL_TIMEOUT_MS = 60_000;
/** Attempts per call for 408/429/5xx/timeouts before handing the retry to Pub/Sub. */
export const VERTEX_MAX_ATTEMPTS = 3;
export const VERTEX_RETRY_BASE_DELAY_MS = 1_000;
/** Calls per work order for answers that fail validation (each one is billed). */
export const VERTEX_INVALID_ANSWER_ATTEMPTS = 2;
/** Low but not zero: tags should be stable across runs, and a retry after an invalid answer should differ. */
export const TAG_TEMPERATURE = 0.2;
const RETRYABLE_STATUS = new Set([408, 429, 500, 502, 503, 504]);
const BLOCKING_FINISH_REASONS = new Set<string>([
  FinishReason.SAFETY,
  FinishReason.BLOCKLIST,
  FinishReason.PROHIBITED_CONTENT,
  FinishReason.SPII,
  FinishReason.IMAGE_SAFETY,
  FinishReason.RECITATION,
]);

export const TagErrorCode = {
  CONTENT_BLOCKED: 'CONTENT_BLOCKED',
  INVALID_MODEL_ANSWER: 'INVALID_MODEL_ANSWER',
  VERTEX_NO_CREDENTIALS: 'VERTEX_NO_CREDENTIALS',
  VERTEX_REJECTED: 'VERTEX_REJECTED',
  VERTEX_UNAVAILABLE: 'VERTEX_UNAVAILABLE',
  VERTEX_TIMEOUT: 'VERTEX_TIMEOUT',
} as const;

export interface TagAnswer {
  readonly tags: DocData;
  readonly model: string;
  readonly modelVersion: string | null;
  readonly usage: DocData;
  readonly estimatedCostUsd: number;
  /** Calls made, including retried ones. */
  readonly calls: number;
}

export interface VertexTagger {
  readonly model: string;
  tag(kind: MediaKind, media: readonly Part[], signal: AbortSignal): Promise<TagAnswer>;
}

const ajv = new Ajv2020({ allErrors: true, strict: false });
const validators = new Map<MediaKind, ValidateFunction>();

function validatorFor(kind: MediaKind): ValidateFunction {
  let validate = validators.get(kind);
  if (!validate) {
    validate = ajv.compile(toJsonSchema(RESPONSE_SCHEMAS[kind]));
    validators.set(kind, validate);
  }
  return validate;
}

export function createVertexTagger(settings: VertexSettings): VertexTagger {
  const model = settings.model ?? DEFAULT_TAG_MODEL;
  const client = new GoogleGenAI({
    vertexai: true,
    project: settings.project,
    location: settings.location,
    ...(settings.authClient ? { googleAuthOptions: { authClient: settings.authClient } } : {}),
    // No retryOptions: the SDK then makes exactly one attempt, and the policy above stays in one place.
    httpOptions: { timeout: settings.timeoutMs ?? VERTEX_CALL_TIMEOUT_MS, ...(settings.baseUrl ? { baseUrl: settings.baseUrl } : {}) },
  });
  const baseDelayMs = settings.retryBaseDelayMs ?? VERTEX_RETRY_BASE_DELAY_MS;
  const where = `Vertex AI (project ${settings.project}, location ${settings.location}, model ${model})`;

  async function call(kind: MediaKind, media: readonly Part[], signal: AbortSignal): Promise<{ response: GenerateContentResponse; calls: number }> {
    for (let attempt = 1; ; attempt += 1) {
      signal.throwIfAborted();
      try {
        const response = await client.models.generateContent({
          model,
          contents: [{ role: 'user', parts: [{ text: promptFor(kind) }, ...media] }],
          config: { responseMimeType: 'application/json', responseSchema: RESPONSE_SCHEMAS[kind], temperature: TAG_TEMPERATURE, abortSignal: signal },
        });
        return { response, calls: attempt };
      } catch (error) {
        // The step's own deadline passed: the worker reports that, not us.
        if (signal.aborted) throw error;
        const failure = classify(error, where);
        if (failure instanceof PermanentError || attempt >= VERTEX_MAX_ATTEMPTS) throw failure;
        await sleep(baseDelayMs * 2 ** (attempt - 1), signal);
      }
    }
  }

  return {
    model,
    async tag(kind, media, signal) {
      let calls = 0;
      for (let answer = 1; ; answer += 1) {
        const result = await call(kind, media, signal);
        calls += result.calls;
        const { response } = result;
        assertNotBlocked(response);
        const parsed = parseAnswer(kind, response);
        if (parsed.ok) {
          const { usage, estimatedCostUsd } = usageOf(response, model);
          return { tags: parsed.tags, model, modelVersion: response.modelVersion ?? null, usage, estimatedCostUsd, calls };
        }
        if (answer >= VERTEX_INVALID_ANSWER_ATTEMPTS) {
          throw new PermanentError(
            TagErrorCode.INVALID_MODEL_ANSWER,
            `${where} answered ${VERTEX_INVALID_ANSWER_ATTEMPTS} times with JSON that does not match the ${kind} schema: ${parsed.problem}`,
          );
        }
      }
    },
  };
}

function classify(error: unknown, where: string): Error {
  if (error instanceof ApiError) {
    if (RETRYABLE_STATUS.has(error.status))
      return new TransientError(TagErrorCode.VERTEX_UNAVAILABLE, `${where} answered HTTP ${error.status}: ${error.message}`, { cause: error });
    if (error.status === 400)
      return new PermanentError(PermanentErrorCode.INVALID_ARGUMENT, `${where} rejected the request: ${error.message}`, { cause: error });
    return new PermanentError(TagErrorCode.VERTEX_REJECTED, `${where} answered HTTP ${error.status}: ${error.message}`, { cause: error });
  }
  const name = error instanceof Error ? error.name : '';
  if (name === 'AbortError' || name === 'TimeoutError')
    return new TransientError(TagErrorCode.VERTEX_TIMEOUT, `${where} did not answer in time`, { cause: error });
  const message = errorMessage(error);
  // google-auth-library fails before any request is sent when Application Default Credentials are missing.
  if (/default credentials|GOOGLE_APPLICATION_CREDENTIALS|invalid_grant|Could not refresh access token/i.test(message)) {
    return new PermanentError(
      TagErrorCode.VERTEX_NO_CREDENTIALS,
      `${where} is configured but no usable Google credentials were found (${message}); give the service a service account with roles/aiplatform.user, or unset the Vertex settings to record technical signals only`,
      { cause: error },
    );
  }
  // fetch() throws TypeError for refused connections and DNS failures: the network, not the request.
  return new TransientError(TagErrorCode.VERTEX_UNAVAILABLE, `${where} could not be reached: ${message}`, { cause: error });
}

function assertNotBlocked(response: GenerateContentResponse): void {
  const blockReason = response.promptFeedback?.blockReason;
  if (blockReason) {
    throw new PermanentError(
      TagErrorCode.CONTENT_BLOCKED,
      `the model refused the input (blockReason ${blockReason}${response.promptFeedback?.blockReasonMessage ? `: ${response.promptFeedback.blockReasonMessage}` : ''})`,
    );
  }
  const finishReason = response.candidates?.[0]?.finishReason;
  if (finishReason && BLOCKING_FINISH_REASONS.has(finishReason)) {
    throw new PermanentError(TagErrorCode.CONTENT_BLOCKED, `the model stopped its answer (finishReason ${finishReason})`);
  }
}

function parseAnswer(kind: MediaKind, response: GenerateContentResponse): { ok: true; tags: DocData } | { ok: false; problem: string } {
  const text = response.text;
  const finishReason = response.candidates?.[0]?.finishReason;
  if (!text) return { ok: false, problem: `no text in the answer (finishReason ${finishReason ?? 'none'})` };
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (error) {
    return { ok: false, problem: `not JSON (${errorMessage(error)}; finishReason ${finishReason ?? 'none'}): ${text.slice(0, 200)}` };
  }
  const validate = validatorFor(kind);
  if (!validate(value)) return { ok: false, problem: ajv.errorsText(validate.errors) };
  return { ok: true, tags: value as DocData };
}

function usageOf(response: GenerateContentResponse, model: string): { usage: DocData; estimatedCostUsd: number } {
  const metadata = response.usageMetadata ?? {};
  const inputTokens = metadata.promptTokenCount ?? 0;
  const outputTokens = metadata.candidatesTokenCount ?? 0;
  const thoughtTokens = metadata.thoughtsTokenCount ?? 0;
  const audioTokens = (metadata.promptTokensDetails ?? [])
    .filter((detail) => detail.modality === MediaModality.AUDIO)
    .reduce((sum, detail) => sum + (detail.tokenCount ?? 0), 0);
  // The prices of the model that answered, from the one price table the asset's cost uses; thinking is billed as output.
  const usd = tokenUsd({ model, input: inputTokens, audioInput: audioTokens, output: outputTokens + thoughtTokens });
  return {
    usage: {
      inputTokens,
      audioInputTokens: audioTokens,
      outputTokens,
      thoughtTokens,
      totalTokens: metadata.totalTokenCount ?? inputTokens + outputTokens + thoughtTokens,
    },
    // Micro-dollar precision: the estimate is for dashboards, not invoices.
    estimatedCostUsd: Math.round(usd * 1e6) / 1e6,
  };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    const onAbort = (): void => {
      clearTimeout(timer);
      reject(signal.reason as Error);
    };
    const timer = setTimeout(() => {
      signal.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal.addEventListener('abort', onAbort, { once: true });
  });
}

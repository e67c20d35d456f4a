/**
 * tag: describes every asset with Gemini on Vertex AI (labels, description, safety for pictures; genre, mood,
 * language for sound), from the smallest derivatives that carry the signal. Without Vertex settings it still
 * runs and records only the technical signals measured by the other steps, marked aiGenerated: false: a tag
 * that no model produced is never written.
 *
 * On GCP the model reads the derivatives from the bucket by gs:// URI (Vertex's service agent needs read access
 * to it); the embedded runtime's buckets are local folders, so the bytes are sent inline.
 */
import type { Part } from '@google/genai';
import { stepSchemas } from '../../events/step-schemas.ts';
import { parseGsUri } from '../../shared/domain/ingest-request.ts';
import type { TagOutputs } from '../../events/generated/steps/tag.ts';
import { defineStep, shardedOrders, type StepRunContext } from '../../shared/domain/step.ts';
import { PermanentError } from '../../shared/errors.ts';
import { planInputs, planSignals, type TagInput, type TagParams } from './plan.ts';
import { PROMPT_VERSION } from './prompt.ts';
import {
  createVertexTagger,
  type VertexTagger,
  VERTEX_CALL_TIMEOUT_MS,
  VERTEX_MAX_ATTEMPTS,
  VERTEX_INVALID_ANSWER_ATTEMPTS,
  type VertexSettings,
} from './vertex.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';

/** Bump with PROMPT_VERSION, a schema change, or a change of what the outputs record. */
export const TAG_RECIPE_VERSION = '2';
/**
 * Room for every attempt of every call plus backoff (2 answers × 3 attempts × 60 s would be the theoretical worst;
 * in practice a call takes seconds) within the 585 s that Pub/Sub's 600 s ack ceiling leaves.
 */
export const TAG_TIMEOUT_MS = Math.min(585_000, VERTEX_CALL_TIMEOUT_MS * VERTEX_MAX_ATTEMPTS * VERTEX_INVALID_ANSWER_ATTEMPTS + 30_000);
/** Vertex refuses requests over 20 MB; base64 grows bytes by a third. Our derivatives are far below this. */
export const MAX_INLINE_BYTES = 14 * 1024 * 1024;

export interface TagStepOptions {
  /** Overrides the deployment's config (tests inject a fake endpoint and auth client here). */
  readonly vertex?: VertexSettings;
}

export function createTagStep(options: TagStepOptions) {
  const injected = options.vertex ? createVertexTagger(options.vertex) : undefined;
  // One client per instance for the configured settings: made on first use, so the technical-signals mode never builds one.
  let configured: { readonly settings: VertexSettings; readonly tagger: VertexTagger } | undefined;
  const taggerFor = (settings: VertexSettings | undefined): VertexTagger | undefined => {
    if (injected) return injected;
    if (!settings) return undefined;
    if (configured?.settings !== settings) configured = { settings, tagger: createVertexTagger(settings) };
    return configured.tagger;
  };
  return defineStep<TagParams, TagOutputs>({
    name: 'tag',
    needs: { ...MEDIA_STEP_NEEDS, derivatives: 'none', vertexAi: true, config: ['vertex'] },
    dependsOn: ['thumbnail', 'audio'],
    timeoutMs: TAG_TIMEOUT_MS,
    recipeVersion: TAG_RECIPE_VERSION,
    ...stepSchemas(import.meta.dirname),
    // Built when the step is queued, not at planning: the params carry what thumbnail and audio recorded.
    plan: (context) => shardedOrders(1, (): TagParams => ({ inputs: planInputs(context), signals: planSignals(context) })),
    async run(order, context) {
      const { params } = order;
      const technical = (reason: 'vertex-not-configured' | 'no-derivative-to-show'): TagOutputs => ({
        aiGenerated: false,
        reason,
        kind: order.kind,
        signals: params.signals,
      });
      const tagger = taggerFor(context.config.vertex);
      if (!tagger) return { outputs: technical('vertex-not-configured') };
      if (params.inputs.length === 0) return { outputs: technical('no-derivative-to-show') };
      const media = await mediaParts(params.inputs, context);
      const answer = await tagger.tag(order.kind, media, context.signal);
      return {
        outputs: {
          aiGenerated: true,
          kind: order.kind,
          tags: answer.tags,
          model: answer.model,
          modelVersion: answer.modelVersion,
          promptVersion: PROMPT_VERSION,
          inputs: params.inputs.map((input) => ({ ...input })),
          usage: answer.usage,
          calls: answer.calls,
          estimatedCostUsd: answer.estimatedCostUsd,
          signals: params.signals,
        },
        tools: { model: answer.modelVersion ?? answer.model, prompt: PROMPT_VERSION },
      };
    },
  });
}

/** Tags with Gemini when the config has Vertex settings (MEDIAFLOW_VERTEX_*); technical signals only otherwise. */
export const tagStep = createTagStep({});

async function mediaParts(inputs: readonly TagInput[], context: StepRunContext): Promise<Part[]> {
  if (context.config.runtime === 'gcp') return inputs.map((input) => ({ fileData: { fileUri: input.uri, mimeType: input.mimeType } }));
  let total = 0;
  const parts: Part[] = [];
  for (const input of inputs) {
    const data = await context.blobs.read(parseGsUri(input.uri));
    total += data.length;
    if (total > MAX_INLINE_BYTES)
      throw new PermanentError('TAG_INPUT_TOO_LARGE', `the derivatives to tag add up to more than ${MAX_INLINE_BYTES} bytes, over what Vertex accepts inline`);
    parts.push({ inlineData: { data: data.toString('base64'), mimeType: input.mimeType } });
  }
  return parts;
}

/**
 * Issue 15, item 7: adding a step is one folder plus one registry line. A throwaway step, written with defineStep and
 * registered beside the production steps in a temporary registry, is picked up with nothing else edited by
 *   - the AsyncAPI generation (scripts/gen-asyncapi.ts): its work channel, operations, message and schemas appear,
 *   - the event catalog (events/catalog.ts): its work orders are validated against its own params schema,
 *   - the Terraform generation (scripts/deploy/terraform-pipeline.ts): its function, work topic and subscription appear.
 */
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { EventValidator, workOrderType } from '../../events/catalog.ts';
import { ackDeadlineSeconds } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import { createStepRegistry, defineStep, orders, type StepRegistry } from '../../shared/domain/step.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';
import { generateAsyncApi, STEP_OUTPUTS_SCHEMA, stepKeys } from '../../scripts/gen-asyncapi.ts';
import { terraformPipeline } from '../../scripts/deploy/terraform-pipeline.ts';

type Json = Record<string, unknown>;

interface ThrowawayParams {
  readonly level: number;
  readonly note?: string;
}

interface ThrowawayOutputs {
  readonly echoed: number;
}

const THROWAWAY = 'throwaway';
const THROWAWAY_TIMEOUT_MS = 90_000;

/** What the step's folder would hold: its definition and its two schemas. */
const throwaway = defineStep<ThrowawayParams, ThrowawayOutputs>({
  name: THROWAWAY,
  dependsOn: ['checksum'],
  timeoutMs: THROWAWAY_TIMEOUT_MS,
  recipeVersion: '1',
  needs: { ...MEDIA_STEP_NEEDS, derivatives: 'none' },
  paramsSchema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://schemas.mediaflow.dev/events/work/throwaway.params.v1.json',
    title: 'ThrowawayParams',
    type: 'object',
    additionalProperties: false,
    required: ['level'],
    properties: { level: { $ref: '#/$defs/level' }, note: { type: 'string' } },
    $defs: { level: { type: 'integer', minimum: 1, maximum: 9 } },
  },
  outputsSchema: {
    $schema: 'https://json-schema.org/draft/2020-12/schema',
    $id: 'https://schemas.mediaflow.dev/events/work/throwaway.outputs.v1.json',
    title: 'ThrowawayOutputs',
    type: 'object',
    additionalProperties: false,
    required: ['echoed'],
    properties: { echoed: { type: 'integer' } },
  },
  plan: () => orders({ level: 3 }),
  run: async (order) => ({ outputs: { echoed: order.params.level } }),
});

/** The one registry line. */
const steps: StepRegistry = createStepRegistry([...productionSteps.values(), throwaway]);

describe('adding a step: the registry', () => {
  it('takes the throwaway beside the production steps, which stay as they are', () => {
    expect([...steps.keys()]).toEqual([...productionSteps.keys(), THROWAWAY]);
    expect(productionSteps.has(THROWAWAY)).toBe(false);
  });
});

describe('adding a step: the AsyncAPI document picks it up', () => {
  const doc = parse(generateAsyncApi(steps)) as {
    channels: Record<string, Json>;
    operations: Record<string, Json>;
    components: { schemas: Record<string, Json>; messages: Record<string, Json> };
  };
  const keys = stepKeys(THROWAWAY);

  it('has its work channel on its own topic', () => {
    expect(doc.channels[keys.channel]).toMatchObject({
      address: 'mediaflow-work-throwaway',
      messages: { [keys.message]: { $ref: `#/components/messages/${keys.message}` } },
    });
  });

  it('has the coordinator send and its worker receive there', () => {
    const channel = { $ref: `#/channels/${keys.channel}` };
    const messages = [{ $ref: `#/channels/${keys.channel}/messages/${keys.message}` }];
    expect(doc.operations[keys.sendOperation]).toMatchObject({ action: 'send', channel, messages });
    expect(doc.operations[keys.receiveOperation]).toMatchObject({ action: 'receive', channel, messages });
    expect(doc.operations[keys.sendOperation]!.summary).toContain('once checksum has succeeded');
  });

  it('has its work order message, typed com.mediaflow.work.throwaway.requested.v1 with its own params', () => {
    const message = doc.components.messages[keys.message]!;
    expect(message.name).toBe('ThrowawayWorkOrder');
    expect(message.headers).toMatchObject({ properties: { 'ce-type': { const: workOrderType(THROWAWAY) } } });
    expect(message.payload).toMatchObject({
      schema: { properties: { step: { const: THROWAWAY }, params: { $ref: `#/components/schemas/${keys.paramsSchema}` } } },
    });
  });

  it('inlines its params and outputs schemas, refs rebased onto the component', () => {
    expect(doc.components.schemas[keys.paramsSchema]).toEqual({
      title: 'ThrowawayParams',
      type: 'object',
      additionalProperties: false,
      required: ['level'],
      properties: { level: { $ref: `#/components/schemas/${keys.paramsSchema}/$defs/level` }, note: { type: 'string' } },
      $defs: { level: { type: 'integer', minimum: 1, maximum: 9 } },
    });
    expect(doc.components.schemas[keys.outputsSchema]).toMatchObject({ title: 'ThrowawayOutputs', required: ['echoed'] });
  });

  it('documents its outputs as what its step.completed carries', () => {
    const branches = (doc.components.schemas[STEP_OUTPUTS_SCHEMA] as { allOf: Json[] }).allOf;
    expect(branches).toContainEqual({
      if: { properties: { step: { const: THROWAWAY } }, required: ['step'] },
      then: { properties: { outputs: { $ref: `#/components/schemas/${keys.outputsSchema}` } } },
    });
  });

  it('changes nothing else in the document', () => {
    const production = parse(generateAsyncApi()) as typeof doc;
    const withoutThrowaway = structuredClone(doc);
    delete withoutThrowaway.channels[keys.channel];
    delete withoutThrowaway.operations[keys.sendOperation];
    delete withoutThrowaway.operations[keys.receiveOperation];
    delete withoutThrowaway.components.messages[keys.message];
    delete withoutThrowaway.components.schemas[keys.paramsSchema];
    delete withoutThrowaway.components.schemas[keys.outputsSchema];
    const stepOutputs = withoutThrowaway.components.schemas[STEP_OUTPUTS_SCHEMA] as { allOf: { if: { properties: { step: { const: string } } } }[] };
    stepOutputs.allOf = stepOutputs.allOf.filter((branch) => branch.if.properties.step.const !== THROWAWAY);
    expect(withoutThrowaway).toEqual(production);
  });
});

describe('adding a step: the event catalog validates its work orders', () => {
  const validator = new EventValidator(new Map([...steps.values()].map((step) => [step.name, step.paramsSchema])));
  const assetId = 'mediaflow-ingest/photos/cat.jpg#1732312345678901';
  const order = (params: unknown): Json => ({
    orderId: `${assetId}|${THROWAWAY}|0`,
    assetId,
    step: THROWAWAY,
    shard: { index: 0, count: 1 },
    source: { bucket: 'mediaflow-ingest', name: 'photos/cat.jpg', generation: '1732312345678901' },
    kind: 'image',
    profile: 'default',
    params,
    issuedAt: '2024-11-22T21:52:27.409Z',
  });

  it('knows its work order type', () => {
    expect(validator.knownTypes()).toContain(workOrderType(THROWAWAY));
  });

  it('accepts a work order whose params satisfy its params schema', () => {
    const result = validator.validate(workOrderType(THROWAWAY), order({ level: 3, note: 'hello' }));
    expect(result.ok ? [] : result.issues).toEqual([]);
  });

  it.each([
    ['a level out of range', { level: 0 }, { path: '/params/level', message: 'must be >= 1' }],
    ['a missing level', {}, { path: '/params/level', message: "must have required property 'level'" }],
    ['a param it does not take', { level: 3, colour: 'red' }, { path: '/params/colour', message: "unexpected property 'colour'" }],
  ])('refuses a work order with %s', (_what, params, issue) => {
    const result = validator.validate(workOrderType(THROWAWAY), order(params));
    expect(result.ok ? [] : result.issues).toContainEqual(issue);
  });

  it('refuses it as another step, and a validator without the step does not know its type', () => {
    const asChecksum = validator.validate(workOrderType('checksum'), order({ level: 3 }));
    expect(asChecksum.ok).toBe(false);
    const production = new EventValidator(new Map([...productionSteps.values()].map((step) => [step.name, step.paramsSchema])));
    const result = production.validate(workOrderType(THROWAWAY), order({ level: 3 }));
    expect(result.ok ? [] : result.issues).toEqual([{ path: '', message: `unknown event type '${workOrderType(THROWAWAY)}'` }]);
  });
});

describe('adding a step: the Terraform pipeline picks it up', () => {
  // Called through its exported entry point only: the generator's internals are another part of issue 15.
  const pipeline = terraformPipeline(steps);
  const production = terraformPipeline(productionSteps);

  it('has its work topic', () => {
    expect(pipeline.topics).toContain('work-throwaway');
    expect(production.topics).not.toContain('work-throwaway');
  });

  it('has its function, with its timeout, its topic and its declared needs', () => {
    expect(pipeline.functions[THROWAWAY]).toMatchObject({
      timeout_seconds: THROWAWAY_TIMEOUT_MS / 1000,
      topics: ['work-throwaway'],
      needs: { documents: true, sources: 'read', derivatives: 'none', publishes: ['step-results'], vertex_ai: false, config: [] },
    });
  });

  it('has its subscription, with the ack deadline its timeout implies, dead-lettering like every other', () => {
    expect(pipeline.subscriptions[`${THROWAWAY}--work-throwaway`]).toEqual({
      function: THROWAWAY,
      topic: 'work-throwaway',
      ack_deadline_seconds: ackDeadlineSeconds(THROWAWAY_TIMEOUT_MS),
      dead_letter: true,
    });
  });

  it('lets the coordinator, and the watchdog that re-drives its orders, publish to its work topic', () => {
    expect(pipeline.functions.coordinator?.needs.publishes).toContain('work-throwaway');
    expect(pipeline.functions.watchdog?.needs.publishes).toContain('work-throwaway');
  });

  it('leaves every other function and subscription as it is', () => {
    const without = <T>(record: Readonly<Record<string, T>>, ...keys: string[]): Record<string, T> =>
      Object.fromEntries(Object.entries(record).filter(([key]) => !keys.includes(key)));
    expect(without(pipeline.functions, THROWAWAY, 'coordinator', 'watchdog')).toEqual(without(production.functions, 'coordinator', 'watchdog'));
    expect(without(pipeline.subscriptions, `${THROWAWAY}--work-throwaway`)).toEqual(production.subscriptions);
  });
});

/** defineStep: one plan per asset (skip, reject or the orders' params), typed run and combine, and typed reading of recorded outputs. */
import { describe, expect, it } from 'vitest';
import type { WorkOrder } from '../../events/catalog.ts';
import { newAssetDoc } from '../../shared/domain/asset.ts';
import { applyProbeCompleted, planContextOf, type StepOutcome } from '../../shared/domain/coordination.ts';
import { isProbeSummary, probeSummaryOf } from '../../shared/domain/probe-doc.ts';
import { SchemaMismatchError } from '../../shared/domain/schema-guard.ts';
import {
  createStepRegistry,
  defineStep,
  orders,
  outputsOf,
  reject,
  shardedOrders,
  skip,
  type PlanContext,
  type StepRunContext,
} from '../../shared/domain/step.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import { MEDIA_STEP_NEEDS } from '../../shared/runtime/needs.ts';
import { uploadSource } from '../support/asset-source.ts';

const now = new Date('2026-12-06T12:00:00Z');
const source = uploadSource('a.mp4');
const probe: ProbeSummary = {
  kind: 'video',
  formatName: 'mov,mp4',
  durationSeconds: 12,
  sizeBytes: 10,
  bitRate: null,
  streams: [{ index: 0, type: 'video', codec: 'h264', width: 640, height: 360, attachedPicture: false }],
  tags: {},
  warnings: [],
};
const context = (outputs: PlanContext['outputs'] = {}): PlanContext => ({ assetId: 'a', kind: 'video', profile: 'default', probe, source, outputs });
const probed: StepOutcome = { step: 'probe', attempt: 1, startedAt: now, finishedAt: now, outputs: {}, provenance: {} };
const runContext = {} as StepRunContext;

interface SliceParams {
  readonly slice: number;
  readonly of: number;
}
interface SliceOutputs {
  readonly slice: number;
  readonly frames: number;
}
interface Sliced {
  readonly frames: number;
  readonly slices: number;
}

const paramsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['slice', 'of'],
  properties: { slice: { type: 'integer', minimum: 0 }, of: { type: 'integer', minimum: 1 } },
};
const outputsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['slice', 'frames'],
  properties: { slice: { type: 'integer' }, frames: { type: 'integer', minimum: 0 } },
};
const combinedOutputsSchema = {
  type: 'object',
  additionalProperties: false,
  required: ['frames', 'slices'],
  properties: { frames: { type: 'integer' }, slices: { type: 'integer' } },
};

function slicingStep(plan: (context: PlanContext) => ReturnType<typeof shardedOrders<SliceParams>>) {
  return defineStep<SliceParams, SliceOutputs, Sliced>({
    name: 'slices',
    dependsOn: [],
    timeoutMs: 1000,
    recipeVersion: '1',
    needs: MEDIA_STEP_NEEDS,
    paramsSchema,
    outputsSchema,
    combinedOutputsSchema,
    plan,
    run: (order) => Promise.resolve({ outputs: { slice: order.params.slice, frames: order.params.slice * 10 } }),
    combine: (shards) => ({ frames: shards.reduce((sum, shard) => sum + shard.frames, 0), slices: shards.length }),
  });
}

const order = (params: object): WorkOrder => ({
  orderId: 'a|slices|0',
  assetId: 'a',
  step: 'slices',
  shard: { index: 0, count: 1 },
  source: { bucket: 'ingest', name: 'a.mp4', generation: '1' },
  kind: 'video',
  profile: 'default',
  params,
  issuedAt: now.toISOString(),
});

describe('a step plan', () => {
  it('skip: the step is left out of the asset plan, and has no work orders', () => {
    const step = slicingStep(() => skip());
    const decision = applyProbeCompleted(
      newAssetDoc({ id: 'a', source, profile: 'default', previousVersion: null, now }),
      probed,
      probe,
      createStepRegistry([step]),
      now,
    );
    expect(decision.asset.plan).toEqual([]);
    expect(decision.asset.status).toBe('READY');
    expect(() => step.params(context(), 0)).toThrow('does not apply');
  });

  it('reject: the asset fails at planning with the step, its code and its message as given', () => {
    const step = slicingStep(() => reject('UNSUPPORTED_MEDIA', 'the video stream states no frame rate'));
    const decision = applyProbeCompleted(
      newAssetDoc({ id: 'a', source, profile: 'default', previousVersion: null, now }),
      probed,
      probe,
      createStepRegistry([step]),
      now,
    );
    expect(decision.asset).toMatchObject({
      status: 'FAILED',
      error: { step: 'slices', code: 'UNSUPPORTED_MEDIA', message: 'the video stream states no frame rate' },
    });
    expect(decision.emissions.map((emission) => emission.kind)).toEqual(['asset-failed']);
    expect(() => step.params(context(), 0)).toThrow(expect.objectContaining({ code: 'UNSUPPORTED_MEDIA' }));
  });

  it('orders: one work order per shard, counted at planning, each params made only when its order is built', () => {
    const made: number[] = [];
    let plans = 0;
    const step = slicingStep(() => {
      plans += 1;
      return shardedOrders(3, (slice) => {
        made.push(slice);
        return { slice, of: 3 };
      });
    });
    const decision = applyProbeCompleted(
      newAssetDoc({ id: 'a', source, profile: 'default', previousVersion: null, now }),
      probed,
      probe,
      createStepRegistry([step]),
      now,
    );
    expect(decision.asset.steps.slices).toMatchObject({ status: 'QUEUED', shards: 3 });
    expect(made).toEqual([]);
    // The outbox builds every order from one context: the step plans once for all of them.
    const queued = planContextOf(decision.asset);
    plans = 0;
    expect([0, 1, 2].map((shard) => step.params(queued, shard))).toEqual([
      { slice: 0, of: 3 },
      { slice: 1, of: 3 },
      { slice: 2, of: 3 },
    ]);
    expect(plans).toBe(1);
    expect(() => step.params(queued, 3)).toThrow(RangeError);
  });

  it('orders(...) lists the params of each order; a plan that throws names the step', () => {
    const listed = orders({ slice: 0, of: 2 }, { slice: 1, of: 2 });
    expect(listed.kind === 'orders' && [listed.count, listed.params(1)]).toEqual([2, { slice: 1, of: 2 }]);
    const broken = slicingStep(() => shardedOrders(Number.NaN, () => ({ slice: 0, of: 1 })));
    const decision = applyProbeCompleted(
      newAssetDoc({ id: 'a', source, profile: 'default', previousVersion: null, now }),
      probed,
      probe,
      createStepRegistry([broken]),
      now,
    );
    expect(decision.asset.error).toMatchObject({ step: 'slices', code: 'PLAN_FAILED' });
    expect(decision.asset.error?.message).toContain('NaN');
  });
});

describe('a defined step at run time', () => {
  const step = slicingStep(() => shardedOrders(2, (slice) => ({ slice, of: 2 })));

  it('runs on typed params and reports its outputs as a plain document', async () => {
    await expect(step.run(order({ slice: 1, of: 2 }), runContext)).resolves.toEqual({ outputs: { slice: 1, frames: 10 } });
  });

  it('refuses params that do not match its schema, permanently', async () => {
    await expect(step.run(order({ slice: 'one' }), runContext)).rejects.toMatchObject({ code: 'INVALID_ARGUMENT', retryable: false });
  });

  it('folds shard outputs checked against the outputs schema', () => {
    expect(
      step.combine?.([
        { slice: 0, frames: 0 },
        { slice: 1, frames: 10 },
      ]),
    ).toEqual({ frames: 10, slices: 2 });
    expect(() => step.combine?.([{ slice: 0 }])).toThrow(SchemaMismatchError);
  });
});

describe('outputsOf', () => {
  const step = slicingStep(() => skip());

  it('gives the outputs a step recorded, typed, or undefined when it recorded none', () => {
    const sliced: Sliced | undefined = outputsOf(context({ slices: { frames: 30, slices: 3 } }), step);
    expect(sliced).toEqual({ frames: 30, slices: 3 });
    expect(outputsOf(context(), step)).toBeUndefined();
  });

  it('says which step and which field when a recorded document does not match its schema, rather than crashing later', () => {
    expect(() => outputsOf(context({ slices: { frames: 'many', slices: 3 } }), step)).toThrow(SchemaMismatchError);
    expect(() => outputsOf(context({ slices: { frames: 'many', slices: 3 } }), step)).toThrow(
      /the combined slices outputs do not match their schema: \/frames must be integer/,
    );
  });
});

describe('the recorded probe', () => {
  it('is read back as a probe summary only when it has the shape of one', () => {
    expect(isProbeSummary(probe)).toBe(true);
    expect(probeSummaryOf(JSON.parse(JSON.stringify(probe)))).toEqual(probe);
    expect(isProbeSummary({ ...probe, streams: [{ index: 0 }] })).toBe(false);
    expect(() => probeSummaryOf({ kind: 'video' })).toThrow('does not have the shape of a probe summary');
  });
});

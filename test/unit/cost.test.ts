/**
 * Cost per asset: the arithmetic of prices.ts and cost.ts, the coordinator adding each result's usage once (a
 * duplicate or late result adds nothing), the sizing mirrored from Terraform, and the CLI's grouping.
 */
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { text } from 'node:stream/consumers';
import { describe, expect, it } from 'vitest';
import type { StepCompleted, StepFailed } from '../../events/catalog.ts';
import { sumCosts } from '../../cli/commands/cost.ts';
import { parseSince } from '../../cli/options.ts';
import { formatBytes, formatCost, formatUsd } from '../../cli/view.ts';
import { newAssetDoc, type AssetDoc } from '../../shared/domain/asset.ts';
import { applyProbeCompleted, applyStepCompleted, applyStepFailed, outcomeOf, type StepOutcome } from '../../shared/domain/coordination.ts';
import { addStepCost, costOf, modelTokensIn, sumFigures, tokenUsd, ZERO_FIGURES, type StepUsage } from '../../shared/domain/cost.ts';
import { FUNCTION_SIZING, modelPrices, PRICES_AS_OF } from '../../shared/domain/prices.ts';
import { createStepRegistry } from '../../shared/domain/step.ts';
import type { ProbeSummary } from '../../shared/media/classify.ts';
import type { BlobMetadata, BlobStore } from '../../shared/ports/blob-store.ts';
import { countingBlobStore } from '../../shared/runtime/worker.ts';
import { testStep } from '../support/embedded.ts';
import { uploadSource } from '../support/asset-source.ts';

const now = new Date('2026-12-06T12:00:00Z');
const usage: StepUsage = { cpuSeconds: 3, wallSeconds: 10, bytesRead: 2 * 1024 ** 3, bytesWritten: 1024 ** 3, blobReads: 1000, blobWrites: 100 };

describe('the price of one run', () => {
  it('bills Cloud Run for the allocated vCPU and memory over the wall time, plus requests, storage operations and Pub/Sub', () => {
    // audio runs in a default worker: 2 vCPU, 4 GiB.
    const figures = costOf('audio', usage);
    expect(figures).toMatchObject({ runs: 1, cpuSeconds: 3, wallSeconds: 10, vcpuSeconds: 20, gbSeconds: 40, blobReads: 1000, blobWrites: 100 });
    const cloudRun = 20 * 0.000024 + 40 * 0.0000025 + (2 * 0.4) / 1e6;
    const storageOps = (100 * 0.005 + 1000 * 0.0004) / 1000;
    const pubsub = (4 * 1000 * 40) / 1024 ** 4;
    expect(figures.usd).toBeCloseTo(cloudRun + storageOps + pubsub, 12);
    expect(figures.storageUsdPerMonth).toBeCloseTo(0.02, 12);
  });

  it('sizes each function as Terraform does: the probe in ingest, hls-segment and hls-package apart', () => {
    expect(costOf('probe', usage)).toMatchObject({ vcpuSeconds: 10, gbSeconds: 20 });
    expect(costOf('hls-segment', usage)).toMatchObject({ vcpuSeconds: 10, gbSeconds: 20 });
    expect(costOf('hls-package', usage)).toMatchObject({ vcpuSeconds: 80, gbSeconds: 80 });
    expect(costOf('some-new-step', usage)).toMatchObject({ vcpuSeconds: 20, gbSeconds: 40 });
  });

  it('prices tokens by modality for the model that answered', () => {
    // gemini-2.5-flash: $0.30 text/image/video in, $1.00 audio in, $2.50 out, per million.
    expect(tokenUsd({ input: 1_000_000, audioInput: 200_000, output: 100_000, model: 'gemini-2.5-flash' })).toBeCloseTo(0.8 * 0.3 + 0.2 * 1 + 0.1 * 2.5, 12);
    expect(tokenUsd({ input: 1_000_000, output: 0, model: 'gemini-2.5-flash-lite-001' })).toBeCloseTo(0.1, 12);
    expect(modelPrices('publishers/google/models/gemini-2.5-pro')).toEqual(modelPrices('gemini-2.5-pro'));
    expect(modelPrices('a-model-nobody-priced')).toEqual(modelPrices('gemini-2.5-flash'));
    const figures = costOf('tag', { ...usage, tokens: { input: 1200, output: 300, model: 'gemini-2.5-flash' } });
    expect(figures).toMatchObject({ inputTokens: 1200, outputTokens: 300 });
    expect(figures.usd - costOf('tag', usage).usd).toBeCloseTo((1200 * 0.3 + 300 * 2.5) / 1e6, 12);
  });

  it("reads the tag step's token counts from its outputs, thinking billed as output", () => {
    const outputs = { model: 'gemini-2.5-flash', usage: { inputTokens: 900, audioInputTokens: 100, outputTokens: 80, thoughtTokens: 20, totalTokens: 1000 } };
    expect(modelTokensIn(outputs)).toEqual({ input: 900, output: 100, audioInput: 100, model: 'gemini-2.5-flash' });
    expect(modelTokensIn({ aiGenerated: false, reason: 'vertex-not-configured' })).toBeUndefined();
    expect(modelTokensIn({ usage: { inputTokens: 'many' } })).toBeUndefined();
  });

  it('sums a step over runs, and an asset over steps', () => {
    const one = costOf('hls-segment', usage);
    const three = sumFigures([one, undefined, one, one])!;
    expect(three.runs).toBe(3);
    expect(three.cpuSeconds).toBeCloseTo(9, 12);
    expect(three.usd).toBeCloseTo(3 * one.usd, 12);
    expect(sumFigures([undefined])).toBeUndefined();
    const cost = addStepCost(addStepCost(undefined, 'probe', costOf('probe', usage)), 'hls-segment', three);
    expect(cost.pricesAsOf).toBe(PRICES_AS_OF);
    expect(Object.keys(cost.steps)).toEqual(['probe', 'hls-segment']);
    expect(cost.total.runs).toBe(4);
    expect(cost.total.usd).toBeCloseTo(costOf('probe', usage).usd + 3 * one.usd, 12);
  });
});

it('mirrors the function sizing of terraform/modules/mediaflow/locals.tf', () => {
  const locals = readFileSync(path.join(import.meta.dirname, '..', '..', 'terraform', 'modules', 'mediaflow', 'locals.tf'), 'utf8');
  const block = /sizing_defaults = \{([\s\S]*?)\n {2}\}/.exec(locals)![1]!;
  const declared: Record<string, { vcpu: number; memoryGiB: number }> = {};
  for (const [, name, cpu, memory, unit] of block.matchAll(/"?([\w-]+)"?\s*=\s*\{\s*cpu\s*=\s*"(\d+)",\s*memory\s*=\s*"(\d+)(Mi|Gi)"/g)) {
    declared[name!] = { vcpu: Number(cpu), memoryGiB: unit === 'Gi' ? Number(memory) : Number(memory) / 1024 };
  }
  expect(Object.keys(declared).length).toBeGreaterThan(3);
  expect(FUNCTION_SIZING).toEqual(declared);
});

describe('the coordinator adds each result once', () => {
  const source = uploadSource('a.mp4');
  const probe: ProbeSummary = { kind: 'video', formatName: 'mov,mp4', durationSeconds: 1, sizeBytes: 10, bitRate: null, streams: [], tags: {}, warnings: [] };
  const noop = async () => ({ outputs: {} });
  const registry = createStepRegistry([testStep('audio', noop), testStep('video', noop)]);
  const result = (step: string, cpuSeconds: number): StepCompleted => ({
    orderId: `a|${step}|0`,
    assetId: 'a',
    step,
    shard: { index: 0, count: 1 },
    attempt: 1,
    startedAt: now.toISOString(),
    finishedAt: now.toISOString(),
    outputs: {},
    provenance: { recipeVersion: '1', tools: {} },
    usage: { ...usage, cpuSeconds },
  });
  const planned = (): AssetDoc =>
    applyProbeCompleted(newAssetDoc({ id: 'a', source, profile: 'default', previousVersion: null, now }), outcomeOf(result('probe', 0.5)), probe, registry, now)
      .asset;

  it('records the probe and each step, per step and in total', () => {
    const afterAudio = applyStepCompleted(planned(), outcomeOf(result('audio', 2)), now).asset;
    expect(afterAudio.cost?.steps).toMatchObject({ probe: { cpuSeconds: 0.5, runs: 1 }, audio: { cpuSeconds: 2, runs: 1 } });
    expect(afterAudio.cost?.total).toMatchObject({ cpuSeconds: 2.5, runs: 2 });
  });

  it('a duplicate result, a duplicate probe and a late result add nothing', () => {
    const once = applyStepCompleted(planned(), outcomeOf(result('audio', 2)), now).asset;
    const again = applyStepCompleted(once, outcomeOf(result('audio', 2)), now);
    expect(again.note).toBe('duplicate');
    expect(again.asset.cost).toEqual(once.cost);
    expect(applyProbeCompleted(once, outcomeOf(result('probe', 0.5)), probe, registry, now).asset.cost).toEqual(once.cost);
    const failure: StepFailed = {
      orderId: 'a|video|0',
      assetId: 'a',
      step: 'video',
      shard: { index: 0, count: 1 },
      attempt: 1,
      failedAt: now.toISOString(),
      error: { code: 'UNSUPPORTED_CODEC', message: 'nope' },
      deadLettered: false,
      usage: { ...usage, cpuSeconds: 1 },
    };
    const failed = applyStepFailed(once, failure, now).asset;
    // A permanent failure reports what its run used, and that counts.
    expect(failed.cost?.steps.video).toMatchObject({ cpuSeconds: 1, runs: 1 });
    expect(failed.cost?.total.cpuSeconds).toBeCloseTo(3.5, 12);
    expect(applyStepFailed(failed, failure, now).asset.cost).toEqual(failed.cost);
    expect(applyStepCompleted(failed, outcomeOf(result('audio', 2)), now).asset.cost).toEqual(failed.cost);
  });

  it('a result without usage (an older worker) leaves the cost as it was', () => {
    const bare: StepCompleted = { ...result('audio', 2) };
    delete bare.usage;
    const outcome: StepOutcome = outcomeOf(bare);
    expect(outcome.cost).toBeUndefined();
    expect(applyStepCompleted(planned(), outcome, now).asset.cost?.steps.audio).toBeUndefined();
  });
});

describe('counting at the blob store boundary', () => {
  const meta = (size: number): BlobMetadata => ({
    bucket: 'b',
    name: 'n',
    generation: '1',
    metageneration: '1',
    size,
    md5Hash: '',
    timeCreated: now,
    updated: now,
    metadata: {},
  });
  const inner: BlobStore = {
    stat: async () => meta(5),
    read: async () => Buffer.alloc(7),
    createReadStream: async () => Readable.from([Buffer.from('abc'), Buffer.from('de')]),
    download: async () => meta(11),
    write: async (_target, data) => meta(typeof data === 'string' ? data.length : data.length),
    upload: async () => meta(13),
    list: async () => [],
    delete: async () => undefined,
  };

  it('counts bytes read and written and the operations of each GCS class', async () => {
    const { store, counts } = countingBlobStore(inner);
    const ref = { bucket: 'b', name: 'n' };
    await store.stat(ref);
    await store.read(ref);
    expect(await text(await store.createReadStream(ref))).toBe('abcde');
    await store.download(ref, '/dev/null');
    await store.write(ref, 'héllo');
    await store.upload('/x', ref);
    await store.list('b');
    await store.delete(ref);
    expect(counts).toEqual({ bytesRead: 7 + 5 + 11, bytesWritten: 6 + 13, reads: 4, writes: 3 });
  });
});

describe('the CLI', () => {
  const asset = (kind: AssetDoc['kind'], partner: string | null, cpuSeconds: number | null): AssetDoc => {
    const doc = newAssetDoc({
      id: `${kind}-${partner}-${cpuSeconds}`,
      source: {
        uri: 'gs://i/n',
        bucket: 'i',
        name: 'n',
        generation: '1',
        size: 1,
        contentType: null,
        md5Hash: null,
        via: 'partner-ingest',
        partner,
        idempotencyKey: null,
        correlationId: null,
        metadata: {},
      },
      profile: 'default',
      previousVersion: null,
      now,
    });
    return { ...doc, kind, ...(cpuSeconds === null ? {} : { cost: addStepCost(undefined, 'audio', costOf('audio', { ...usage, cpuSeconds })) }) };
  };

  it('sums per kind or partner, most expensive first, and counts assets with no recorded usage', () => {
    const assets = [asset('video', 'acme', 2), asset('video', null, 3), asset('audio', 'acme', 1), asset('audio', null, null)];
    const byKind = sumCosts(assets, 'kind');
    expect(byKind.map((group) => [group.group, group.assets, group.withoutCost, group.figures.cpuSeconds])).toEqual([
      ['video', 2, 0, 5],
      ['audio', 2, 1, 1],
    ]);
    expect(sumCosts(assets, 'partner').map((group) => group.group)).toEqual(['acme', '(uploads)']);
    expect(sumCosts(assets, undefined)).toMatchObject([{ group: 'all', assets: 4, withoutCost: 1, figures: { cpuSeconds: 6 } }]);
  });

  it('reads --since as a time or a span back from now', () => {
    expect(parseSince('2026-12-01T00:00:00Z', now)?.toISOString()).toBe('2026-12-01T00:00:00.000Z');
    expect(parseSince('24h', now)?.toISOString()).toBe('2026-12-05T12:00:00.000Z');
    expect(parseSince('7d', now)?.toISOString()).toBe('2026-11-29T12:00:00.000Z');
    expect(() => parseSince('last tuesday', now)).toThrow(/--since/);
  });

  it('formats figures for people', () => {
    expect(formatUsd(0)).toBe('$0');
    expect(formatUsd(0.00001)).toBe('<$0.0001');
    expect(formatUsd(0.012345)).toBe('$0.0123');
    expect(formatUsd(12.345)).toBe('$12.35');
    expect(formatBytes(482_113)).toBe('482 KB');
    expect(formatBytes(1_234_567_890)).toBe('1.2 GB');
    expect(formatCost({ ...ZERO_FIGURES, cpuSeconds: 4.2, gbSeconds: 19.6, inputTokens: 10, outputTokens: 5, usd: 0.0021 })).toBe(
      '4.2 s CPU, 19.6 GiB-s, 0 B read, 0 B written, 15 tokens (10 in, 5 out), ~$0.0021',
    );
  });
});

/**
 * Cost per asset, measured honestly: a real ffmpeg-heavy step runs alone in this process, the process tree's CPU
 * (own user + system, plus reaped children's, from /proc/self/stat) is read around its delivery, and the CPU-seconds
 * the worker recorded for it must be within 20% of that. Two steps, for the two ways a child is measured: audio
 * spawns its own ffmpeg graph (charged when the run ends), thumbnail runs ffmpeg through the shared runner (charged
 * per child as it is reaped) and libvips in-process. A sharded step delivered twice over is counted once per shard,
 * and the tag step's tokens reach the asset's cost.
 */
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { audioStep } from '../../functions/audio/step.ts';
import { createTagStep } from '../../functions/tag/step.ts';
import { thumbnailStep } from '../../functions/thumbnail/step.ts';
import { referenceTone } from '../../scripts/sample-media/sample-audio.ts';
import { videoWithSound } from '../../scripts/sample-media/sample-media.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { tokenUsd } from '../../shared/domain/cost.ts';
import { createStepRegistry, type StepDefinition } from '../../shared/domain/step.ts';
import type { DeliveryHandler } from '../../shared/ports/bus.ts';
import { startTestRuntime, testStep, uploadAndSettle, withSteps } from '../support/embedded.ts';
import { useImageFixture } from '../support/fixtures.ts';
import { answer, fixedTokenAuthClient, startVertexFake } from '../support/vertex-fake.ts';

/** utime + stime + cutime + cstime of this process, in seconds (USER_HZ is 100 on Linux). */
function processTreeCpuSeconds(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12]) + Number(fields[13]) + Number(fields[14])) / 100;
}

let fixtures: string;

beforeAll(async () => {
  fixtures = await mkdtemp(path.join(os.tmpdir(), 'mediaflow-cost-'));
});
afterAll(async () => {
  await rm(fixtures, { recursive: true, force: true });
});

/** Runs one upload through the probe and `step` only, measuring the process tree around the step's one delivery. */
async function measure(step: StepDefinition, file: string, name: string): Promise<{ asset: AssetDoc; measured: number[] }> {
  const measured: number[] = [];
  const runtime = await startTestRuntime({
    steps: createStepRegistry([step]),
    wrapHandler: (subscription, handler): DeliveryHandler =>
      subscription.function !== step.name
        ? handler
        : async (delivery) => {
            const before = processTreeCpuSeconds();
            try {
              await handler(delivery);
            } finally {
              measured.push(processTreeCpuSeconds() - before);
            }
          },
  });
  try {
    const { asset } = await uploadAndSettle(runtime, file, name);
    return { asset: asset!, measured };
  } finally {
    await runtime.dispose();
  }
}

describe.skipIf(process.platform !== 'linux')('the CPU-seconds a step records', () => {
  it.each([
    { stepName: 'audio', step: audioStep, make: (out: string) => referenceTone('ffmpeg', out, { durationSeconds: 30 }), name: 'tone.wav' },
    {
      stepName: 'thumbnail',
      step: thumbnailStep,
      make: (out: string) => videoWithSound('ffmpeg', out, { durationSeconds: 8, width: 1280, height: 720 }),
      name: 'clip.mp4',
    },
  ])(
    '$stepName: within 20% of the process tree CPU measured around it, alone in the process',
    async ({ stepName, step, make, name }) => {
      const file = await make(path.join(fixtures, name));
      const { asset, measured } = await measure(step, file, name);
      expect(asset.status, JSON.stringify(asset.error)).toBe('READY');
      expect(measured).toHaveLength(1);
      const recorded = asset.cost!.steps[stepName]!;
      const reference = measured[0]!;
      if (process.env.MEDIAFLOW_COST_REPORT) process.stderr.write(`${stepName}: recorded ${recorded.cpuSeconds} s, measured ${reference.toFixed(2)} s\n`);
      // Enough work that 20% is not a few clock ticks (10 ms each).
      expect(reference).toBeGreaterThan(0.3);
      expect(recorded.cpuSeconds / reference, `recorded ${recorded.cpuSeconds} s, measured ${reference} s`).toBeGreaterThan(0.8);
      expect(recorded.cpuSeconds / reference, `recorded ${recorded.cpuSeconds} s, measured ${reference} s`).toBeLessThan(1.2);
      // The rest of the usage is there too: the source read, derivatives written, priced, and the probe beside it.
      expect(recorded).toMatchObject({ runs: 1, inputTokens: 0, outputTokens: 0 });
      expect(recorded.bytesRead).toBeGreaterThanOrEqual(asset.source.size!);
      expect(recorded.bytesWritten).toBeGreaterThan(0);
      expect(recorded.blobWrites).toBeGreaterThan(0);
      expect(recorded.wallSeconds).toBeGreaterThan(0);
      expect(recorded.usd).toBeGreaterThan(0);
      expect(asset.cost!.steps.probe).toMatchObject({ runs: 1 });
      expect(asset.cost!.total.cpuSeconds).toBeCloseTo(recorded.cpuSeconds + asset.cost!.steps.probe!.cpuSeconds, 6);
    },
    120_000,
  );
});

describe('a sharded step with every message delivered twice, concurrently', () => {
  const SHARDS = 12;
  const SHARD_BYTES = 1000;
  const image = useImageFixture();
  const segments = testStep(
    'segments',
    async (order, context) => {
      const target = { bucket: context.config.buckets.derivatives, name: `cost-test/${order.shard.index}.bin` };
      await context.blobs.write(target, Buffer.alloc(SHARD_BYTES));
      return { outputs: { index: order.shard.index } };
    },
    { shardCount: () => SHARDS },
  );

  it('counts each shard once in the step and the total', async () => {
    const runtime = await startTestRuntime({
      steps: withSteps(segments),
      env: { MEDIAFLOW_EMBEDDED_CONCURRENCY: '4' },
      wrapHandler: (_subscription, handler) => async (delivery) => void (await Promise.all([handler(delivery), handler(delivery)])),
    });
    try {
      const { asset } = await uploadAndSettle(runtime, image.path, 'photo.jpg');
      expect(asset?.status).toBe('READY');
      expect(runtime.deliveries.get('segments')).toBe(2 * SHARDS);
      const cost = asset!.cost!;
      // Each shard ran twice (and wrote twice); one result per shard is recorded, and only it is counted.
      expect(cost.steps.segments).toMatchObject({ runs: SHARDS, bytesWritten: SHARDS * SHARD_BYTES, blobWrites: SHARDS });
      expect(cost.steps.checksum).toMatchObject({ runs: 1 });
      expect(cost.steps.probe).toMatchObject({ runs: 1 });
      expect(cost.total.runs).toBe(SHARDS + 2);
      expect(cost.total.bytesWritten).toBe(SHARDS * SHARD_BYTES);
    } finally {
      await runtime.dispose();
    }
  });
});

describe('the tag step', () => {
  const image = useImageFixture();

  it("records the model's tokens, thinking as output, priced for the model that answered", async () => {
    const tags = {
      labels: [{ name: 'test pattern', confidence: 0.9 }],
      description: 'A synthetic test picture.',
      hasText: false,
      safety: { adult: 'very_unlikely', violence: 'very_unlikely', racy: 'very_unlikely', medical: 'very_unlikely' },
    };
    const fake = await startVertexFake();
    fake.reply(answer(JSON.stringify(tags), { usage: { promptTokenCount: 300, candidatesTokenCount: 120, thoughtsTokenCount: 30, totalTokenCount: 450 } }));
    const tag = createTagStep({ vertex: { project: 'p', location: 'l', model: 'gemini-2.5-flash', baseUrl: fake.baseUrl, authClient: fixedTokenAuthClient } });
    let runtime: Awaited<ReturnType<typeof startTestRuntime>> | undefined;
    try {
      // tag depends on audio too (which does not apply to a still image).
      runtime = await startTestRuntime({ steps: createStepRegistry([thumbnailStep, audioStep, tag]) });
      const { asset } = await uploadAndSettle(runtime, image.path, 'photo.jpg');
      expect(asset?.status, JSON.stringify(asset?.error)).toBe('READY');
      const figures = asset!.cost!.steps.tag!;
      expect(figures).toMatchObject({ inputTokens: 300, outputTokens: 150 });
      expect(asset!.cost!.total).toMatchObject({ inputTokens: 300, outputTokens: 150 });
      expect(figures.usd).toBeGreaterThan(tokenUsd({ input: 300, output: 150, model: 'gemini-2.5-flash' }));
    } finally {
      await runtime?.dispose();
      await fake.close();
    }
  });
});

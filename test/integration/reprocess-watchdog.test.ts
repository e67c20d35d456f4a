/**
 * The watchdog looks after reprocess runs too: a READY asset whose re-run work order was lost (a worker that took
 * the delivery and died) has its order re-driven and the run ends with the outputs switched; past the budget the
 * run ends FAILED `STUCK` and the asset keeps the outputs it had. The watchdog's clock is moved past the lease.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { checksumStep } from '../../functions/checksum/step.ts';
import { jobProgress, newJob, runJob, startRuns } from '../../functions/coordinator/reprocess-job.ts';
import { watchdogPolicy, WATCHDOG_MAX_REDRIVES } from '../../functions/watchdog/sweep.ts';
import { STUCK } from '../../shared/domain/watchdog.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import { shiftedClock } from '../support/clock.ts';
import { startTestRuntime, uploadAndSettle, type TestRuntime } from '../support/embedded.ts';

let runtime: TestRuntime | undefined;
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

/** A runtime whose checksum worker drops (takes and does nothing with) the next `losing.count` deliveries. */
async function start(clock: Clock, losing: { count: number }): Promise<TestRuntime> {
  runtime = await startTestRuntime({
    env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' },
    wrapHandler: (sub, handler) =>
      sub.function !== 'checksum'
        ? handler
        : async (delivery) => {
            if (losing.count > 0) {
              losing.count -= 1;
              return;
            }
            await handler(delivery);
          },
    wrapDeps: (fn, deps) => (fn === 'watchdog' ? { ...deps, clock } : deps),
  });
  return runtime;
}

async function tick(rt: TestRuntime): Promise<void> {
  await rt.bus.publish(rt.deps.config.topics.watchdogTicks, { data: Buffer.from('{}'), attributes: {} });
  await rt.idle();
}

/** A READY asset (a 1×1 PNG: the smallest file the probe takes as media) with a reprocess of checksum in flight whose order was lost. */
async function readyWithLostRun(rt: TestRuntime, losing: { count: number }, lose: number): Promise<{ id: string; job: string }> {
  const file = path.join(rt.dataDir, 'dot.png');
  await writeFile(
    file,
    Buffer.from(
      '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201ffa3e8b10000000049454e44ae426082',
      'hex',
    ),
  );
  const { id, asset } = await uploadAndSettle(rt, file, 'dot.png');
  expect(asset?.status).toBe('READY');
  losing.count = lose;
  const job = newJob(rt.deps, { step: 'checksum', kind: null, where: null, ratePerSecond: 10, by: 'test' });
  await runJob(rt.deps, job, { start: startRuns(rt.deps, job) });
  await rt.idle();
  expect((await rt.asset(id))?.reprocess?.steps.checksum?.status).toBe('QUEUED');
  return { id, job: job.id };
}

describe('the watchdog and reprocess runs', () => {
  it('re-drives a lost re-run order, and the run switches the outputs', async () => {
    const clock = shiftedClock();
    const losing = { count: 0 };
    const rt = await start(clock, losing);
    const { id, job } = await readyWithLostRun(rt, losing, 1);
    await tick(rt);
    // Within the lease: left alone.
    expect((await rt.asset(id))?.reprocess?.redrives).toBeUndefined();
    clock.advance(watchdogPolicy(rt.deps).leaseMs(checksumStep.name) + 1000);
    await tick(rt);
    const asset = await rt.asset(id);
    expect(asset).toMatchObject({ status: 'READY', lastReprocess: { job, status: 'SUCCEEDED' }, steps: { checksum: { outputVersion: `r1.${job}` } } });
    expect(asset?.history.filter((entry) => entry.event === 'REDRIVEN')).toHaveLength(1);
    expect(await jobProgress(rt.deps, job)).toEqual({ inFlight: 0, updated: 1, failed: 0 });
  });

  it('ends the run STUCK past the budget, and the asset keeps its outputs', async () => {
    const clock = shiftedClock();
    const losing = { count: 0 };
    const rt = await start(clock, losing);
    const { id, job } = await readyWithLostRun(rt, losing, 1000);
    const before = await rt.asset(id);
    for (let i = 0; i <= WATCHDOG_MAX_REDRIVES; i += 1) {
      clock.advance(watchdogPolicy(rt.deps).leaseMs(checksumStep.name) + 1000);
      await tick(rt);
    }
    const asset = await rt.asset(id);
    expect(asset).toMatchObject({ status: 'READY', lastReprocess: { job, status: 'FAILED', error: { step: 'checksum', code: STUCK } } });
    expect(asset?.reprocess).toBeUndefined();
    expect(asset?.steps).toEqual(before?.steps);
    expect(asset?.history.filter((entry) => entry.event === 'REDRIVEN')).toHaveLength(WATCHDOG_MAX_REDRIVES);
    expect(await jobProgress(rt.deps, job)).toEqual({ inFlight: 0, updated: 0, failed: 1 });
  });
});

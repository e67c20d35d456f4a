/**
 * The watchdog on the embedded runtime, through its real function: a tick on its topic runs a sweep. A lost work
 * order (a worker that took the delivery and died, never restarted) is re-driven and the asset ends READY; past the
 * budget the asset ends FAILED `STUCK` with the step named; an outbox entry a dead coordinator left claimed is
 * published; two sweeps at once repair an asset once. The watchdog's clock is moved past the step's lease instead
 * of waiting for it.
 */
import { writeFile } from 'node:fs/promises';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { STUCK } from '../../shared/domain/watchdog.ts';
import { collections } from '../../shared/domain/collections.ts';
import type { Delivery, DeliveryHandler } from '../../shared/ports/bus.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { DocumentStore } from '../../shared/ports/document-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { watchdogPolicy, WATCHDOG_MAX_REDRIVES } from '../../functions/watchdog/sweep.ts';
import { checksumStep } from '../../functions/checksum/step.ts';
import type { OutboxEntry } from '../../functions/coordinator/outbox-entries.ts';
import { shiftedClock } from '../support/clock.ts';
import { startTestRuntime, uploadAndSettle, type TestRuntime } from '../support/embedded.ts';

let runtime: TestRuntime | undefined;
afterEach(async () => {
  await runtime?.dispose();
  runtime = undefined;
});

/** A checksum worker that takes `lose` deliveries and does nothing with them, as a worker killed mid-run would. */
function losingChecksum(lose: number): { wrapHandler: (sub: { function: string }, handler: DeliveryHandler) => DeliveryHandler; lost: () => number } {
  let lost = 0;
  return {
    lost: () => lost,
    wrapHandler: (sub, handler) =>
      sub.function !== 'checksum'
        ? handler
        : async (delivery) => {
            if (lost < lose) {
              lost += 1;
              return;
            }
            await handler(delivery);
          },
  };
}

async function start(lose: number, clock: Clock): Promise<{ rt: TestRuntime; lost: () => number }> {
  const worker = losingChecksum(lose);
  const rt = await startTestRuntime({
    env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' },
    wrapHandler: worker.wrapHandler,
    wrapDeps: (fn, deps) => (fn === 'watchdog' ? { ...deps, clock } : deps),
  });
  runtime = rt;
  return { rt, lost: worker.lost };
}

async function tick(rt: TestRuntime): Promise<void> {
  await rt.bus.publish(rt.deps.config.topics.watchdogTicks, { data: Buffer.from('{}'), attributes: {} });
  await rt.idle();
}

async function upload(rt: TestRuntime, name: string): Promise<string> {
  const file = path.join(rt.dataDir, name);
  // A 1×1 PNG: the smallest file the probe takes as media, so the checksum step is planned for it.
  const png = Buffer.from(
    '89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201ffa3e8b10000000049454e44ae426082',
    'hex',
  );
  await writeFile(file, png);
  const { id } = await uploadAndSettle(rt, file, name);
  return id;
}

function leaseMs(rt: TestRuntime): number {
  return watchdogPolicy(rt.deps).leaseMs(checksumStep.name);
}

describe('the watchdog', () => {
  it('leaves an asset alone while its step is within its lease', async () => {
    const clock = shiftedClock();
    const { rt } = await start(1, clock);
    const id = await upload(rt, 'within-lease.png');
    expect((await rt.asset(id))?.steps.checksum?.status).toBe('QUEUED');
    clock.advance(leaseMs(rt) - 60_000);
    await tick(rt);
    const asset = await rt.asset(id);
    expect(asset?.status).toBe('PROCESSING');
    expect(asset?.watchdog).toBeUndefined();
  });

  it('re-drives a work order a worker took and never finished, and the asset ends READY', async () => {
    const clock = shiftedClock();
    const { rt, lost } = await start(1, clock);
    const id = await upload(rt, 'lost-once.png');
    expect(lost()).toBe(1);
    expect((await rt.asset(id))?.status).toBe('PROCESSING');
    clock.advance(leaseMs(rt) + 1000);
    await tick(rt);
    const asset = await rt.asset(id);
    expect(asset?.status).toBe('READY');
    expect(asset?.watchdog?.redrives).toBe(1);
    expect(asset?.history.some((entry) => entry.event === 'REDRIVEN' && entry.step === 'checksum')).toBe(true);
    const ready = rt.assetEvents.filter((event) => event.attributes['ce-type'] === 'com.mediaflow.asset.ready.v1');
    expect(ready).toHaveLength(1);
  });

  it('fails the asset STUCK, naming the step, once its re-drive budget is spent', async () => {
    const clock = shiftedClock();
    const { rt, lost } = await start(Number.POSITIVE_INFINITY, clock);
    const id = await upload(rt, 'lost-forever.png');
    for (let redrive = 1; redrive <= WATCHDOG_MAX_REDRIVES; redrive++) {
      clock.advance(leaseMs(rt) + 1000);
      await tick(rt);
      const asset = await rt.asset(id);
      expect(asset?.status).toBe('PROCESSING');
      expect(asset?.watchdog?.redrives).toBe(redrive);
    }
    expect(lost()).toBe(1 + WATCHDOG_MAX_REDRIVES);
    clock.advance(leaseMs(rt) + 1000);
    await tick(rt);
    const asset = await rt.asset(id);
    expect(asset?.status).toBe('FAILED');
    expect(asset?.error?.code).toBe(STUCK);
    expect(asset?.error?.step).toBe('checksum');
    expect(asset?.error?.message).toMatch(/checksum.*no result within \d+ s after 3 re-drives/);
    const failed = rt.assetEvents.filter((event) => event.attributes['ce-type'] === 'com.mediaflow.asset.failed.v1');
    expect(failed).toHaveLength(1);
  });

  it('repairs an asset once when two sweeps run at the same time', async () => {
    const clock = shiftedClock();
    const { rt } = await start(1, clock);
    const id = await upload(rt, 'two-sweeps.png');
    clock.advance(leaseMs(rt) + 1000);
    await Promise.all([
      rt.bus.publish(rt.deps.config.topics.watchdogTicks, { data: Buffer.from('{}'), attributes: {} }),
      rt.bus.publish(rt.deps.config.topics.watchdogTicks, { data: Buffer.from('{}'), attributes: {} }),
    ]);
    await rt.idle();
    const asset = await rt.asset(id);
    expect(asset?.status).toBe('READY');
    expect(asset?.watchdog?.redrives).toBe(1);
    expect(asset?.history.filter((entry) => entry.event === 'REDRIVEN')).toHaveLength(1);
  });

  it('publishes an outbox entry a coordinator claimed and died holding (issue 16, defect 1)', async () => {
    const clock = shiftedClock();
    const { rt } = await start(0, clock);
    const id = await upload(rt, 'dead-claim.png');
    const ready = await rt.asset(id);
    expect(ready?.status).toBe('READY');
    const sent = rt.assetEvents.length;
    // What a coordinator killed between claim and publish leaves behind: the READY decision committed, its
    // asset.ready staged, claimed for 30 s, never published, and no delivery left to come back for it.
    const event = JSON.parse(rt.assetEvents.at(-1)!.data.toString('utf8')) as object;
    const staged = new Date(Date.now() - 60_000);
    const entry: OutboxEntry = {
      emissionId: `${id}/ready`,
      assetId: id,
      kind: 'asset-ready',
      step: null,
      payload: JSON.stringify(event),
      createdAt: staged,
      claimedUntil: new Date(staged.getTime() + 30_000),
    };
    await rt.store.set(collections.outbox.doc(entry.emissionId), entry);
    clock.advance(5 * 60_000);
    await tick(rt);
    expect(rt.assetEvents.length).toBe(sent + 1);
    expect(rt.assetEvents.at(-1)!.attributes['ce-id']).toBe(`${id}/ready`);
    expect(await rt.store.count(collections.outbox.path(), collections.outbox.queries.ofAssetOldestFirst.query({ assetId: id }))).toBe(0);
  });

  it('does not let a claim left by a killed embedded process hold back the next run (it would dead-letter its results)', async () => {
    const results: Delivery[] = [];
    const rt = await startTestRuntime({
      env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' },
      wrapHandler: (sub, handler) =>
        sub.function !== 'coordinator'
          ? handler
          : async (delivery) => {
              results.push(delivery);
              await handler(delivery);
            },
    });
    runtime = rt;
    const id = await upload(rt, 'killed-claim.png');
    expect((await rt.asset(id))?.status).toBe('READY');
    const sent = rt.assetEvents.length;
    // What `kill -9` of `mediaflow process` leaves between claim and publish: asset.ready staged and claimed, the
    // claim 30 s long and made by a process that is gone.
    const event = JSON.parse(rt.assetEvents.at(-1)!.data.toString('utf8')) as object;
    const now = new Date();
    const entry: OutboxEntry = {
      emissionId: `${id}/ready`,
      assetId: id,
      kind: 'asset-ready',
      step: null,
      payload: JSON.stringify(event),
      createdAt: now,
      claimedUntil: new Date(now.getTime() + 30_000),
      claimedBy: 'a-process-killed-with-sigkill',
    };
    await rt.store.set(collections.outbox.doc(entry.emissionId), entry);
    // The next run redelivers the result the killed process had not acked; its coordinator flushes the asset's outbox.
    const last = results.at(-1)!;
    await rt.bus.publish(rt.deps.config.topics.stepResults, { data: last.data, attributes: { ...last.attributes } });
    await rt.idle();
    expect(await rt.store.count(collections.deadLetters.path())).toBe(0);
    expect(rt.assetEvents.length).toBe(sent + 1);
    expect(rt.assetEvents.at(-1)!.attributes['ce-id']).toBe(`${id}/ready`);
    expect(await rt.store.count(collections.outbox.path(), collections.outbox.queries.ofAssetOldestFirst.query({ assetId: id }))).toBe(0);
    expect((await rt.asset(id))?.status).toBe('READY');
  });

  describe('a flush that hits a Firestore transaction timeout (issue 16, defect 3)', () => {
    /** The coordinator's store, whose claim of the asset.ready entry fails once as Firestore's lock timeout does. */
    function lockTimeoutOnReadyClaim(): { wrapDeps: (fn: string, deps: Deps) => Deps; hits: () => number } {
      let hits = 0;
      return {
        hits: () => hits,
        wrapDeps: (fn, deps) => {
          if (fn !== 'coordinator') return deps;
          const store: DocumentStore = {
            ...deps.store,
            get: (path) => deps.store.get(path),
            create: (path, data) => deps.store.create(path, data),
            set: (path, data) => deps.store.set(path, data),
            delete: (path) => deps.store.delete(path),
            list: (collection, query) => deps.store.list(collection, query),
            count: (collection, query) => deps.store.count(collection, query),
            close: () => deps.store.close(),
            runTransaction: (body) =>
              deps.store.runTransaction((tx) =>
                body({
                  ...tx,
                  get: async (path) => {
                    if (hits === 0 && path.startsWith('outbox/') && decodeURIComponent(path).endsWith('/ready')) {
                      hits += 1;
                      throw new Error('10 ABORTED: Transaction lock timeout');
                    }
                    return tx.get(path);
                  },
                  set: (path, data) => tx.set(path, data),
                  delete: (path) => tx.delete(path),
                }),
              ),
          };
          return { ...deps, store };
        },
      };
    }

    it('is retried, and the redelivery publishes asset.ready once', async () => {
      const fault = lockTimeoutOnReadyClaim();
      const rt = await startTestRuntime({ env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' }, wrapDeps: fault.wrapDeps });
      runtime = rt;
      const id = await upload(rt, 'lock-timeout.png');
      expect(fault.hits()).toBe(1);
      expect((await rt.asset(id))?.status).toBe('READY');
      expect(rt.assetEvents.filter((event) => event.attributes['ce-id'] === `${id}/ready`)).toHaveLength(1);
    });

    it('when the redelivery never comes either, the watchdog publishes the entry', async () => {
      const fault = lockTimeoutOnReadyClaim();
      const clock = shiftedClock();
      let dropped = 0;
      const rt = await startTestRuntime({
        env: { MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS: '0' },
        wrapDeps: (fn, deps) => (fn === 'watchdog' ? { ...deps, clock } : fault.wrapDeps(fn, deps)),
        // The retried step result is lost, as the emulator strands a push after failed attempts.
        wrapHandler: (sub, handler) =>
          sub.function !== 'coordinator'
            ? handler
            : async (delivery) => {
                if (delivery.deliveryAttempt > 1 && dropped === 0) {
                  dropped += 1;
                  return;
                }
                await handler(delivery);
              },
      });
      runtime = rt;
      const id = await upload(rt, 'lock-timeout-lost.png');
      expect(fault.hits()).toBe(1);
      expect(dropped).toBe(1);
      expect((await rt.asset(id))?.status).toBe('READY');
      expect(rt.assetEvents.filter((event) => event.attributes['ce-id'] === `${id}/ready`)).toHaveLength(0);
      clock.advance(5 * 60_000);
      await tick(rt);
      expect(rt.assetEvents.filter((event) => event.attributes['ce-id'] === `${id}/ready`)).toHaveLength(1);
    });
  });
});

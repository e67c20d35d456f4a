import { describe, expect, it } from 'vitest';
import { newAssetDoc, type AssetDoc, type StepState } from '../../shared/domain/asset.ts';
import { applyWatchdog, inspect, STUCK, stepLeaseMs, type WatchdogPolicy } from '../../shared/domain/watchdog.ts';
import { uploadSource } from '../support/asset-source.ts';

const queuedAt = new Date('2026-12-01T12:00:00Z');
const LEASE_MS = 10 * 60_000;
const policy: WatchdogPolicy = { leaseMs: () => LEASE_MS, maxRedrives: 2 };
const after = (ms: number): Date => new Date(queuedAt.getTime() + ms);

const source = uploadSource('a.png', { bucket: 'in', contentType: 'image/png' });

function step(status: StepState['status'], dependsOn: string[] = []): StepState {
  return {
    status,
    dependsOn,
    shards: 1,
    attempts: status === 'SUCCEEDED' ? 1 : 0,
    queuedAt: status === 'PENDING' ? null : queuedAt,
    startedAt: null,
    finishedAt: status === 'SUCCEEDED' ? queuedAt : null,
    durationMs: null,
    outputs: status === 'SUCCEEDED' ? {} : null,
    provenance: null,
    error: null,
  };
}

function processing(steps: Record<string, StepState>, extra: Partial<AssetDoc> = {}): AssetDoc {
  return {
    ...newAssetDoc({ id: 'in/a.png#1', source, profile: 'default', previousVersion: null, now: queuedAt }),
    status: 'PROCESSING',
    kind: 'image',
    plan: Object.keys(steps),
    steps,
    ...extra,
  };
}

describe('the watchdog lease', () => {
  it('covers every attempt Pub/Sub would make at the full deadline and longest backoff, plus the margin', () => {
    expect(stepLeaseMs(75, { maxDeliveryAttempts: 5, maximumBackoffSeconds: 600 }, 300_000)).toBe(5 * (75 + 600) * 1000 + 300_000);
  });
});

describe('inspect', () => {
  it.each([
    ['a QUEUED step within its lease', processing({ checksum: step('QUEUED') }), after(LEASE_MS), { kind: 'healthy' }],
    ['a QUEUED step past its lease', processing({ checksum: step('QUEUED') }), after(LEASE_MS + 1), { kind: 'stuck', steps: ['checksum'] }],
    ['nothing queued while PROCESSING', processing({ checksum: step('SUCCEEDED'), tag: step('PENDING', ['checksum']) }), after(1), { kind: 'idle' }],
    ['a READY asset', { ...processing({ checksum: step('SUCCEEDED') }), status: 'READY' as const }, after(LEASE_MS * 10), { kind: 'healthy' }],
  ])('%s', (_case, asset, now, finding) => {
    expect(inspect(asset, now, policy)).toEqual(finding);
  });
});

describe('applyWatchdog', () => {
  it('does nothing to a healthy asset', () => {
    expect(applyWatchdog(processing({ checksum: step('QUEUED') }), after(1000), policy)).toBeUndefined();
  });

  it('re-drives a stuck step through the outbox, counts it and says so in the history', () => {
    const now = after(LEASE_MS + 1);
    const decision = applyWatchdog(processing({ checksum: step('QUEUED'), thumbnail: step('QUEUED') }, { revision: 7 }), now, {
      ...policy,
      leaseMs: (name) => (name === 'checksum' ? LEASE_MS : LEASE_MS * 2),
    })!;
    expect(decision.note).toBe('applied');
    expect(decision.emissions).toEqual([{ kind: 'queue-step', step: 'checksum' }]);
    expect(decision.asset.steps.checksum?.queuedAt).toEqual(now);
    expect(decision.asset.steps.thumbnail?.queuedAt).toEqual(queuedAt);
    expect(decision.asset.watchdog).toEqual({ redrives: 1, lastAt: now });
    expect(decision.asset.history.at(-1)).toMatchObject({ event: 'REDRIVEN', step: 'checksum' });
    expect(decision.asset.revision).toBe(8);
    expect(decision.asset.status).toBe('PROCESSING');
  });

  it('is a no-op on its own result: the re-driven step is within its new lease', () => {
    const now = after(LEASE_MS + 1);
    const first = applyWatchdog(processing({ checksum: step('QUEUED') }), now, policy)!;
    expect(applyWatchdog(first.asset, now, policy)).toBeUndefined();
  });

  it('fails the asset STUCK with the step named once the budget is spent', () => {
    const now = after(LEASE_MS + 1);
    const decision = applyWatchdog(processing({ checksum: step('QUEUED') }, { watchdog: { redrives: 2, lastAt: queuedAt } }), now, policy)!;
    expect(decision.asset.status).toBe('FAILED');
    expect(decision.asset.error).toMatchObject({ step: 'checksum', code: STUCK });
    expect(decision.asset.error?.message).toBe("step 'checksum' had no result within 600 s after 2 re-drives by the watchdog");
    expect(decision.emissions.map((emission) => emission.kind)).toEqual(['asset-failed']);
  });

  it('makes the lost decision again for an asset with nothing queued: the ready step is queued', () => {
    const decision = applyWatchdog(processing({ checksum: step('SUCCEEDED'), tag: step('PENDING', ['checksum']) }), after(1), policy)!;
    expect(decision.emissions).toEqual([{ kind: 'queue-step', step: 'tag' }]);
    expect(decision.asset.steps.tag?.status).toBe('QUEUED');
    expect(decision.asset.watchdog?.redrives).toBe(1);
  });

  it('makes the lost decision again for an asset whose steps all succeeded: READY, with asset.ready', () => {
    const decision = applyWatchdog(processing({ checksum: step('SUCCEEDED') }), after(1), policy)!;
    expect(decision.asset.status).toBe('READY');
    expect(decision.emissions.map((emission) => emission.kind)).toEqual(['asset-ready']);
  });

  it('fails STUCK an asset that nothing can move: PROCESSING, nothing queued, a step waiting on a step that is not coming', () => {
    const decision = applyWatchdog(processing({ tag: step('PENDING', ['checksum']), checksum: step('PENDING', ['tag']) }), after(1), policy)!;
    expect(decision.asset.status).toBe('FAILED');
    expect(decision.asset.error).toMatchObject({ code: STUCK, step: 'tag' });
  });
});

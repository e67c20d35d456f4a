import { describe, expect, it } from 'vitest';
import {
  allAssetStatuses,
  allStepStatuses,
  assertReopen,
  assertTransition,
  canReopen,
  canReopenStep,
  canStepTransition,
  canTransition,
  IllegalTransitionError,
  isTerminal,
  type AssetStatus,
  type StepStatus,
} from '../../shared/domain/state-machine.ts';

// The whole table, written out: every pair not listed here must be refused.
const legalAsset: ReadonlyArray<[AssetStatus, AssetStatus]> = [
  ['RECEIVED', 'PROCESSING'],
  ['RECEIVED', 'REJECTED'],
  ['RECEIVED', 'FAILED'],
  ['PROCESSING', 'READY'],
  ['PROCESSING', 'FAILED'],
];
const legalStep: ReadonlyArray<[StepStatus, StepStatus]> = [
  ['PENDING', 'QUEUED'],
  ['PENDING', 'CANCELLED'],
  ['QUEUED', 'SUCCEEDED'],
  ['QUEUED', 'FAILED'],
  ['QUEUED', 'CANCELLED'],
];

const pairs = <T extends string>(values: readonly T[]): [T, T][] => values.flatMap((from) => values.map((to): [T, T] => [from, to]));

describe('asset state machine', () => {
  it.each(pairs(allAssetStatuses))('%s → %s', (from, to) => {
    const legal = legalAsset.some(([a, b]) => a === from && b === to);
    expect(canTransition(from, to)).toBe(legal);
    if (legal) expect(() => assertTransition(from, to)).not.toThrow();
    else expect(() => assertTransition(from, to)).toThrow(IllegalTransitionError);
  });

  it('READY, FAILED and REJECTED are terminal; RECEIVED and PROCESSING are not', () => {
    expect(allAssetStatuses.filter(isTerminal).sort()).toEqual(['FAILED', 'READY', 'REJECTED']);
  });
});

describe('step state machine', () => {
  it.each(pairs(allStepStatuses))('%s → %s', (from, to) => {
    expect(canStepTransition(from, to)).toBe(legalStep.some(([a, b]) => a === from && b === to));
  });
});

describe('re-opening by a replay', () => {
  it.each(pairs(allAssetStatuses))('%s → %s only from FAILED with RETRIES_EXHAUSTED, to RECEIVED or PROCESSING', (from, to) => {
    const legal = from === 'FAILED' && (to === 'RECEIVED' || to === 'PROCESSING');
    expect(canReopen(from, to, 'RETRIES_EXHAUSTED')).toBe(legal);
    for (const code of ['UNSUPPORTED_CODEC', 'STUCK', 'CORRUPT_MEDIA', null, undefined]) expect(canReopen(from, to, code)).toBe(false);
    if (legal) expect(() => assertReopen(from, to, 'RETRIES_EXHAUSTED')).not.toThrow();
    expect(() => assertReopen(from, to, 'PLAN_FAILED')).toThrow(IllegalTransitionError);
  });

  it('leaves FAILED terminal for everything but a replay', () => {
    expect(isTerminal('FAILED')).toBe(true);
    expect(canTransition('FAILED', 'PROCESSING')).toBe(false);
  });

  it.each(pairs(allStepStatuses))('step %s → %s: only the failed step back to QUEUED and cancelled ones back to PENDING', (from, to) => {
    expect(canReopenStep(from, to)).toBe((from === 'FAILED' && to === 'QUEUED') || (from === 'CANCELLED' && to === 'PENDING'));
  });
});

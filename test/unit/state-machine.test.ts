import { describe, expect, it } from 'vitest';
import {
  allAssetStatuses,
  allStepStatuses,
  assertTransition,
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

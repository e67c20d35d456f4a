/** Which assets a reprocess job takes (`--kind`, `--where recipe<N`), and the `--rate` the CLI accepts. */
import { describe, expect, it } from 'vitest';
import { parseRate } from '../../cli/commands/reprocess.ts';
import { UsageError } from '../../cli/options.ts';
import {
  formatRecipeCondition,
  notSelectedBecause,
  parseRecipeCondition,
  recipeMatches,
  type RecipeCondition,
  type ReprocessSelection,
} from '../../functions/coordinator/reprocess-selection.ts';
import { DEFAULT_REPROCESS_RATE_PER_SECOND } from '../../functions/coordinator/reprocess-job.ts';
import { newAssetDoc, type AssetDoc } from '../../shared/domain/asset.ts';
import { emptyStep } from '../../shared/domain/coordination.ts';
import type { DocData } from '../../shared/ports/document-store.ts';
import { uploadSource } from '../support/asset-source.ts';

const now = new Date('2026-11-22T12:00:00Z');
const source = uploadSource('a.mp4');

/** A READY video whose thumbnail step recorded `provenance` (null: a result older than provenance). */
function readyVideo(provenance: DocData | null): AssetDoc {
  return {
    ...newAssetDoc({ id: 'ingest/a.mp4#1', source, profile: 'default', previousVersion: null, now }),
    status: 'READY',
    kind: 'video',
    plan: ['thumbnail'],
    steps: { thumbnail: { ...emptyStep([], 1), status: 'SUCCEEDED', outputs: {}, provenance } },
  };
}

const where = (text: string): RecipeCondition => parseRecipeCondition(text);

describe('parseRecipeCondition', () => {
  it.each([
    { text: 'recipe<3', operator: '<', version: '3' },
    { text: 'recipe<=3', operator: '<=', version: '3' },
    { text: 'recipe=3', operator: '=', version: '3' },
    { text: 'recipe!=3', operator: '!=', version: '3' },
    { text: 'recipe>=3', operator: '>=', version: '3' },
    { text: 'recipe>3', operator: '>', version: '3' },
    { text: '  recipe <= 10  ', operator: '<=', version: '10' },
    { text: 'recipe != v2.1-beta_3', operator: '!=', version: 'v2.1-beta_3' },
    { text: `recipe<${'9'.repeat(32)}`, operator: '<', version: '9'.repeat(32) },
  ])('$text → $operator $version', ({ text, operator, version }) => {
    const condition = parseRecipeCondition(text);
    expect(condition).toEqual({ operator, version });
    expect(formatRecipeCondition(condition)).toBe(`recipe${operator}${version}`);
  });

  it.each([
    '',
    'recipe',
    'recipe<',
    '<3',
    'version<3',
    'recipe==3',
    'recipe=<3',
    'recipe<>3',
    'recipe=>3',
    'recipe<3 4',
    'recipe<3;rm',
    `recipe<${'9'.repeat(33)}`,
    'RECIPE<3',
  ])('refuses %j, naming the accepted form', (text) => {
    expect(() => parseRecipeCondition(text)).toThrow(`--where takes 'recipe<N' (or <=, =, !=, >=, >), got '${text}'`);
  });
});

describe('recipeMatches', () => {
  it.each([
    // Whole numbers compare as numbers: 9 is older than 10, though '9' > '10' as text.
    { recorded: '9', condition: 'recipe<10', expected: true },
    { recorded: '10', condition: 'recipe<9', expected: false },
    { recorded: '10', condition: 'recipe>9', expected: true },
    { recorded: '9', condition: 'recipe>=10', expected: false },
    // Each operator around 3.
    { recorded: '2', condition: 'recipe<3', expected: true },
    { recorded: '3', condition: 'recipe<3', expected: false },
    { recorded: '3', condition: 'recipe<=3', expected: true },
    { recorded: '4', condition: 'recipe<=3', expected: false },
    { recorded: '3', condition: 'recipe=3', expected: true },
    { recorded: '4', condition: 'recipe=3', expected: false },
    { recorded: '4', condition: 'recipe!=3', expected: true },
    { recorded: '3', condition: 'recipe!=3', expected: false },
    { recorded: '3', condition: 'recipe>=3', expected: true },
    { recorded: '2', condition: 'recipe>=3', expected: false },
    { recorded: '4', condition: 'recipe>3', expected: true },
    { recorded: '3', condition: 'recipe>3', expected: false },
    // Anything not a whole number on either side compares as text.
    { recorded: 'a', condition: 'recipe<b', expected: true },
    { recorded: 'v2', condition: 'recipe>v10', expected: true },
    { recorded: '1.9', condition: 'recipe<1.10', expected: false },
    { recorded: '2', condition: 'recipe<v1', expected: true },
    { recorded: 'v1', condition: 'recipe=v1', expected: true },
    // No recorded recipe counts as older than any version.
    { recorded: null, condition: 'recipe<1', expected: true },
    { recorded: null, condition: 'recipe<=1', expected: true },
    { recorded: null, condition: 'recipe!=1', expected: true },
    { recorded: null, condition: 'recipe=1', expected: false },
    { recorded: null, condition: 'recipe>=1', expected: false },
    { recorded: null, condition: 'recipe>1', expected: false },
  ])('$recorded $condition → $expected', ({ recorded, condition, expected }) => {
    expect(recipeMatches(recorded, where(condition))).toBe(expected);
  });
});

describe('notSelectedBecause', () => {
  const selection = (overrides: Partial<ReprocessSelection>): ReprocessSelection => ({ step: 'thumbnail', kind: null, where: null, ...overrides });

  it.each<{ name: string; provenance: DocData | null; selection: ReprocessSelection; expected: string | undefined }>([
    { name: 'any kind, no condition', provenance: { recipeVersion: '3' }, selection: selection({}), expected: undefined },
    { name: 'the same kind', provenance: { recipeVersion: '3' }, selection: selection({ kind: 'video' }), expected: undefined },
    { name: 'another kind', provenance: { recipeVersion: '3' }, selection: selection({ kind: 'audio' }), expected: 'kind' },
    { name: 'a step not in the plan', provenance: { recipeVersion: '3' }, selection: selection({ step: 'tag' }), expected: 'step not in plan' },
    { name: 'kind is checked first', provenance: { recipeVersion: '3' }, selection: selection({ kind: 'image', step: 'tag' }), expected: 'kind' },
    { name: 'recipe already current', provenance: { recipeVersion: '3' }, selection: selection({ where: where('recipe<3') }), expected: 'recipe' },
    { name: 'recipe older', provenance: { recipeVersion: '2' }, selection: selection({ where: where('recipe<3') }), expected: undefined },
    { name: 'recipe 9 under 10', provenance: { recipeVersion: '9' }, selection: selection({ where: where('recipe<10') }), expected: undefined },
    { name: 'no provenance, recipe<1', provenance: null, selection: selection({ where: where('recipe<1') }), expected: undefined },
    { name: 'no provenance, recipe=1', provenance: null, selection: selection({ where: where('recipe=1') }), expected: 'recipe' },
    { name: 'provenance without a recipe, recipe!=1', provenance: { tools: {} }, selection: selection({ where: where('recipe!=1') }), expected: undefined },
    {
      name: 'step not in plan before recipe',
      provenance: { recipeVersion: '3' },
      selection: selection({ step: 'tag', where: where('recipe<3') }),
      expected: 'step not in plan',
    },
  ])('$name → $expected', ({ provenance, selection: chosen, expected }) => {
    expect(notSelectedBecause(readyVideo(provenance), chosen)).toBe(expected);
  });
});

describe('parseRate', () => {
  it.each([
    { text: undefined, expected: DEFAULT_REPROCESS_RATE_PER_SECOND },
    { text: '20', expected: 20 },
    { text: '20/s', expected: 20 },
    { text: ' 20 / sec ', expected: 20 },
    { text: '600/min', expected: 10 },
    { text: '30/m', expected: 0.5 },
    { text: '0.5', expected: 0.5 },
  ])('$text → $expected per second', ({ text, expected }) => {
    expect(parseRate(text)).toBe(expected);
  });

  it.each(['0', '0/min', '-1', 'abc', '20/h', '', '20/', '1e3'])('refuses %j', (text) => {
    expect(() => parseRate(text)).toThrow(UsageError);
    expect(() => parseRate(text)).toThrow(`--rate takes runs per second (20, 20/s) or per minute (600/min) above 0, got '${text}'`);
  });
});

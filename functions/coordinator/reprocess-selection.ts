/**
 * Which assets a reprocess job takes: READY assets that ran the step, of one kind if asked, and whose outputs of
 * the step were made by a recipe matching `--where recipe<N` (the recipe each result recorded in its provenance).
 * Pure, so the CLI's parsing and the job's filtering are the same code and tested apart.
 */
import type { AssetDoc, MediaKind } from '../../shared/domain/asset.ts';
import { recordedRecipe } from '../../shared/domain/reprocess.ts';

export const recipeOperators = ['<', '<=', '=', '!=', '>=', '>'] as const;
export type RecipeOperator = (typeof recipeOperators)[number];

/** `recipe<3`: compares the recipe version of the step's live outputs with a version. */
export interface RecipeCondition {
  readonly operator: RecipeOperator;
  readonly version: string;
}

export interface ReprocessSelection {
  readonly step: string;
  readonly kind: MediaKind | null;
  readonly where: RecipeCondition | null;
}

const CONDITION = /^\s*recipe\s*(<=|>=|!=|=|<|>)\s*([A-Za-z0-9._-]{1,32})\s*$/;

/** Parses `recipe<3` (also `<=`, `=`, `!=`, `>=`, `>`); throws with the accepted form otherwise. */
export function parseRecipeCondition(text: string): RecipeCondition {
  const match = CONDITION.exec(text);
  if (!match) throw new Error(`--where takes 'recipe<N' (or <=, =, !=, >=, >), got '${text}'`);
  return { operator: match[1] as RecipeOperator, version: match[2]! };
}

export function formatRecipeCondition(condition: RecipeCondition): string {
  return `recipe${condition.operator}${condition.version}`;
}

/**
 * Whether a recorded recipe version satisfies the condition. Versions that are both whole numbers compare as
 * numbers (so 10 > 9); others compare as text. Outputs with no recorded recipe (older than provenance) count as
 * older than any version: they match `<`, `<=` and `!=`.
 */
export function recipeMatches(recorded: string | null, condition: RecipeCondition): boolean {
  if (recorded === null) return condition.operator === '<' || condition.operator === '<=' || condition.operator === '!=';
  const order = compareVersions(recorded, condition.version);
  switch (condition.operator) {
    case '<':
      return order < 0;
    case '<=':
      return order <= 0;
    case '=':
      return order === 0;
    case '!=':
      return order !== 0;
    case '>=':
      return order >= 0;
    case '>':
      return order > 0;
  }
}

function compareVersions(a: string, b: string): number {
  const whole = /^\d+$/;
  if (whole.test(a) && whole.test(b)) return Number(a) - Number(b);
  return a < b ? -1 : a > b ? 1 : 0;
}

/** Why an asset is not taken, or undefined when it is. Status is the query's: every asset seen here is READY. */
export function notSelectedBecause(asset: AssetDoc, selection: ReprocessSelection): string | undefined {
  if (selection.kind !== null && asset.kind !== selection.kind) return 'kind';
  if (!asset.plan.includes(selection.step)) return 'step not in plan';
  if (selection.where !== null && !recipeMatches(recordedRecipe(asset, selection.step), selection.where)) return 'recipe';
  return undefined;
}

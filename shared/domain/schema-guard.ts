/**
 * The honest way from a plain document to a typed value: check it against the JSON Schema the type was generated
 * from. Compiled on first use, so a process that never reads a step's outputs never compiles their schema.
 */
import { Ajv2020, type ErrorObject, type ValidateFunction } from 'ajv/dist/2020.js';

export class SchemaMismatchError extends Error {
  override readonly name = 'SchemaMismatchError';
}

export interface SchemaGuard<T> {
  /** True when value matches the schema, which makes it a T. */
  is(value: unknown): value is T;
  /** value as a T, or a SchemaMismatchError naming what and where it does not match. */
  check(value: unknown): T;
}

export function schemaGuard<T>(schema: object, what: string): SchemaGuard<T> {
  let validate: ValidateFunction<T> | undefined;
  const compiled = (): ValidateFunction<T> => (validate ??= new Ajv2020({ allErrors: true, strict: true }).compile<T>(schema));
  const is = (value: unknown): value is T => compiled()(value);
  return {
    is,
    check(value) {
      if (is(value)) return value;
      throw new SchemaMismatchError(`${what} do not match their schema: ${describeErrors(compiled().errors ?? [])}`);
    },
  };
}

function describeErrors(errors: readonly ErrorObject[]): string {
  return errors
    .slice(0, 5)
    .map((error) => `${error.instancePath || '/'} ${error.message ?? error.keyword}`)
    .join('; ');
}

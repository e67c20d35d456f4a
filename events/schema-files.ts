import { readdirSync } from 'node:fs';
import path from 'node:path';

export const schemasDir = path.join(import.meta.dirname, 'schemas');

/** Event schema files, one per CloudEvents type; common.v1.json only holds shared $defs. */
export function eventSchemaFiles(): string[] {
  return readdirSync(schemasDir)
    .filter((file) => file.startsWith('com.mediaflow.') && file.endsWith('.json'))
    .sort();
}

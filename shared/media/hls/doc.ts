import type { DocData } from '../../ports/document-store.ts';

/** Params and outputs travel as plain JSON documents; this drops undefined fields and readonly-ness alike. */
export function toDoc(value: object): DocData {
  return JSON.parse(JSON.stringify(value)) as DocData;
}

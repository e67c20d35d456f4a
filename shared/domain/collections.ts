/**
 * Every collection of the document store, named once: where its documents live, and the queries the code runs on
 * it. Code reaches a document through these path helpers and queries a collection only through a query declared
 * here, so the deployment knows every query without reading the code: Firestore serves a query on one field from
 * its automatic indexes, and each declared query on more than one field becomes a composite index in Terraform
 * (scripts/deploy/terraform-pipeline.ts writes them into terraform/modules/mediaflow/generated/firestore.json). The
 * embedded store refuses a query Firestore would need an index for when none is declared
 * (shared/adapters/local/document-store.ts), so a missing declaration fails in the tests, not in production.
 */
import type { Query } from '../ports/document-store.ts';
import { documentId } from './document-id.ts';

export type QueryValue = string | number | boolean | null;

export interface QueryOrder {
  readonly field: string;
  readonly direction: 'asc' | 'desc';
}

/** What a query asks of the indexes: equality filters on some fields, then at most one order. */
export interface QueryShape {
  /** The collection group: the last segment of the collection path (`results` for `assets/a1/results`). */
  readonly collection: string;
  readonly equal: readonly string[];
  readonly orderBy?: QueryOrder;
}

export interface QueryOptions {
  readonly limit?: number;
  /** The page after this (ordered value, document id): a query with an order only. */
  readonly startAfter?: { readonly value: string | number | Date; readonly id: string };
}

/** A query the code runs: its shape, and the Query to hand to DocumentStore.list or count. */
export interface DeclaredQuery<F extends string = string> extends QueryShape {
  /** `<collection>.<query>`: the index name Terraform gives it. */
  readonly name: string;
  /** Who runs it, for the reader of the generated index list. */
  readonly usedBy: string;
  /** The name of its composite index in Terraform (a resource key: renaming it replaces the index). */
  readonly index?: string;
  readonly equal: readonly F[];
  /** The declared filters with these values, the declared order, and an optional limit. */
  query(...args: QueryArgs<F>): Query;
}

type QueryArgs<F extends string> = [F] extends [never]
  ? [values?: Readonly<Record<string, never>>, options?: QueryOptions]
  : [values: Readonly<Record<F, QueryValue>>, options?: QueryOptions];

interface QuerySpec {
  readonly equal?: readonly string[];
  readonly orderBy?: QueryOrder;
  readonly usedBy: string;
  readonly index?: string;
}

type FieldsOf<S> = S extends { readonly equal: readonly (infer F extends string)[] } ? F : never;
type Declared<Q> = { readonly [K in keyof Q]: DeclaredQuery<FieldsOf<Q[K]>> };

export interface CollectionInfo {
  readonly name: string;
  /** A timestamp field Firestore's TTL policy deletes the document after; the writer sets it in the future. */
  readonly ttlField?: string;
  /** The collection's path (under its parent document, for a subcollection). */
  readonly path: (...parent: never[]) => string;
  readonly doc: (...id: never[]) => string;
  readonly queries: Readonly<Record<string, DeclaredQuery>>;
}

function declareQueries<const Q extends Readonly<Record<string, QuerySpec>>>(collection: string, specs: Q): Declared<Q> {
  const declared: Record<string, DeclaredQuery> = {};
  for (const [key, spec] of Object.entries(specs)) {
    const equal = [...(spec.equal ?? [])];
    const shape = {
      name: `${collection}.${key}`,
      collection,
      usedBy: spec.usedBy,
      ...(spec.index ? { index: spec.index } : {}),
      equal,
      ...(spec.orderBy ? { orderBy: spec.orderBy } : {}),
    };
    declared[key] = {
      ...shape,
      query(values?: Readonly<Record<string, QueryValue>>, options: QueryOptions = {}): Query {
        const where = equal.map((field) => {
          const value = values?.[field];
          if (value === undefined) throw new Error(`query ${shape.name} needs a value for '${field}'`);
          return [field, '==', value] as const;
        });
        return {
          ...(where.length > 0 ? { where } : {}),
          ...(spec.orderBy ? { orderBy: spec.orderBy } : {}),
          ...(options.limit === undefined ? {} : { limit: options.limit }),
          ...(options.startAfter === undefined ? {} : { startAfter: options.startAfter }),
        };
      },
    };
  }
  return declared as Declared<Q>;
}

const ASSETS = 'assets';

export const collections = {
  /** One document per asset version: its state, steps and history. */
  assets: {
    name: ASSETS,
    path: (): string => ASSETS,
    doc: (assetId: string): string => `${ASSETS}/${documentId(assetId)}`,
    queries: declareQueries(ASSETS, {
      newestFirst: { orderBy: { field: 'updatedAt', direction: 'desc' }, usedBy: 'mediaflow status (cli/commands/status.ts)' },
      withStatusNewestFirst: {
        equal: ['status'],
        orderBy: { field: 'updatedAt', direction: 'desc' },
        index: 'assets_by_status',
        usedBy: 'mediaflow status --status X (cli/commands/status.ts)',
      },
      withStatus: { equal: ['status'], usedBy: "mediaflow status's summary counts (cli/commands/status.ts)" },
      withStatusOldestFirst: {
        equal: ['status'],
        orderBy: { field: 'updatedAt', direction: 'asc' },
        index: 'assets_by_status_oldest',
        usedBy: 'the watchdog: PROCESSING assets, longest untouched first (functions/watchdog/sweep.ts)',
      },
      withStatusInCreationOrder: {
        equal: ['status'],
        orderBy: { field: 'createdAt', direction: 'asc' },
        index: 'assets_by_status_created',
        usedBy: "mediaflow reprocess: READY assets page by page from the job's cursor (functions/coordinator/reprocess-job.ts)",
      },
      inReprocess: { equal: ['reprocess.job'], usedBy: "mediaflow reprocess: a job's runs still in flight (functions/coordinator/reprocess-job.ts)" },
      reprocessedBy: {
        equal: ['lastReprocess.job', 'lastReprocess.status'],
        index: 'assets_by_last_reprocess',
        usedBy: "mediaflow reprocess: a job's runs that ended, by outcome (functions/coordinator/reprocess-job.ts)",
      },
    }),
  },
  /** One per `mediaflow reprocess` job: its selection, rate, cursor and counts, so an interrupted job resumes. */
  reprocessJobs: {
    name: 'reprocessJobs',
    path: (): string => 'reprocessJobs',
    doc: (jobId: string): string => `reprocessJobs/${documentId(jobId)}`,
    queries: declareQueries('reprocessJobs', {
      newestFirst: {
        orderBy: { field: 'createdAt', direction: 'desc' },
        usedBy: "mediaflow reprocess --list (cli/commands/reprocess.ts), and the watchdog's look at recent jobs' runs (functions/watchdog/sweep.ts)",
      },
    }),
  },
  /** An asset's step results, one per shard, created once: the coordinator's fan-in counts them. */
  results: {
    name: 'results',
    path: (assetId: string): string => `${collections.assets.doc(assetId)}/results`,
    doc: (assetId: string, step: string, shard: number): string => `${collections.results.path(assetId)}/${step}~${String(shard).padStart(6, '0')}`,
    queries: declareQueries('results', {
      ofStep: { equal: ['step'], usedBy: 'fan-in: how many shards are done (functions/coordinator/fan-in.ts)' },
      ofStepByShard: {
        equal: ['step'],
        orderBy: { field: 'shard', direction: 'asc' },
        index: 'results_by_step',
        usedBy: 'fan-in: the shards of a step, in order (functions/coordinator/fan-in.ts)',
      },
    }),
  },
  /**
   * The transactional outbox: events a decision staged, published after the commit. Top-level rather than under
   * each asset, so the watchdog can find entries whose flush failed or whose claim ran out without knowing the asset.
   */
  outbox: {
    name: 'outbox',
    path: (): string => 'outbox',
    /** Emission ids start with the asset id, so they are unique across assets. */
    doc: (emissionId: string): string => `outbox/${documentId(emissionId)}`,
    queries: declareQueries('outbox', {
      ofAssetOldestFirst: {
        equal: ['assetId'],
        orderBy: { field: 'createdAt', direction: 'asc' },
        index: 'outbox_by_asset',
        usedBy: 'the outbox flush (functions/coordinator/outbox.ts)',
      },
      oldestFirst: {
        orderBy: { field: 'createdAt', direction: 'asc' },
        usedBy: 'the watchdog: entries whose flush failed or whose claim ran out (functions/watchdog/sweep.ts)',
      },
    }),
  },

  /** The newest generation seen per object, so an older generation's late event is ignored. */
  objects: {
    name: 'objects',
    path: (): string => 'objects',
    doc: (bucket: string, name: string): string => `objects/${documentId(`${bucket}/${name}`)}`,
    queries: declareQueries('objects', {}),
  },
  /** The edge's note of a transient fault (attempt, last error), read until the message is acked or dead-lettered. */
  failures: {
    name: 'failures',
    ttlField: 'expireAt',
    path: (): string => 'failures',
    doc: (functionName: string, eventId: string): string => `failures/${documentId(`${functionName}:${eventId}`)}`,
    queries: declareQueries('failures', {
      ofPayload: {
        equal: ['function', 'payloadSha256'],
        index: 'failures_by_payload',
        usedBy: "the dead-letter handler's lookup of a bare partner payload's last error (functions/deadletter/run.ts)",
      },
    }),
  },
  /** One per refused message, deduplicating redeliveries. */
  rejections: {
    name: 'rejections',
    ttlField: 'expireAt',
    path: (): string => 'rejections',
    doc: (functionName: string, messageId: string): string => `rejections/${documentId(`${functionName}:${messageId}`)}`,
    queries: declareQueries('rejections', {
      newestFirst: { orderBy: { field: 'receivedAt', direction: 'desc' }, usedBy: 'mediaflow rejections (cli/commands/incidents.ts)' },
    }),
  },
  /** Every dead-lettered message, where ops can list and replay it. */
  deadLetters: {
    name: 'deadLetters',
    path: (): string => 'deadLetters',
    doc: (sourceSubscription: string, eventId: string): string => `deadLetters/${documentId(`${sourceSubscription}:${eventId}`)}`,
    queries: declareQueries('deadLetters', {
      newestFirst: { orderBy: { field: 'deadLetteredAt', direction: 'desc' }, usedBy: 'mediaflow dead-letters (cli/commands/incidents.ts)' },
    }),
  },
} as const satisfies Readonly<Record<string, CollectionInfo>>;

export type CollectionName = keyof typeof collections;

export function assetPath(assetId: string): string {
  return collections.assets.doc(assetId);
}

export function objectPath(bucket: string, name: string): string {
  return collections.objects.doc(bucket, name);
}

/** Every declared query, across the collections. */
export function declaredQueries(): DeclaredQuery[] {
  return Object.values(collections).flatMap((collection: CollectionInfo) => Object.values(collection.queries));
}

/** The shape of a query as run on a collection path: what an index must serve. */
export function shapeOf(collectionPath: string, query: Query = {}): QueryShape {
  const collection = collectionPath.split('/').at(-1) ?? collectionPath;
  return {
    collection,
    equal: [...new Set((query.where ?? []).map(([field]) => field))].sort(),
    ...(query.orderBy ? { orderBy: { field: query.orderBy.field, direction: query.orderBy.direction ?? 'asc' } } : {}),
  };
}

export interface IndexField {
  readonly field_path: string;
  readonly order: 'ASCENDING' | 'DESCENDING';
}

export interface CompositeIndex {
  readonly collection: string;
  readonly fields: readonly IndexField[];
}

/**
 * The composite index a query needs, or undefined when Firestore's automatic single-field indexes serve it: a
 * query on more than one field gets one, the equality fields first, then the ordered field in its direction
 * (Firestore appends `__name__` in that direction, the id tie-break the adapters add). Firestore itself can merge
 * single-field indexes for equality-only queries, but only refuses a filter plus an order on another field
 * (see needsIndexToRun); declaring the index for both keeps every declared query on an index of its own.
 */
export function compositeIndexOf(shape: QueryShape): CompositeIndex | undefined {
  const equal = [...new Set(shape.equal)];
  const ordered = shape.orderBy && !equal.includes(shape.orderBy.field) ? [shape.orderBy] : [];
  if (equal.length + ordered.length <= 1) return undefined;
  return {
    collection: shape.collection,
    fields: [
      ...equal.map((field) => ({ field_path: field, order: 'ASCENDING' as const })),
      ...ordered.map((order) => ({ field_path: order.field, order: order.direction === 'desc' ? ('DESCENDING' as const) : ('ASCENDING' as const) })),
    ],
  };
}

/** Whether Firestore refuses to run the query without a composite index: an equality filter plus an order on another field. */
export function needsIndexToRun(shape: QueryShape): boolean {
  return shape.orderBy !== undefined && shape.equal.some((field) => field !== shape.orderBy!.field);
}

/**
 * Whether a composite index serves a query: the query's equality fields first (in any order), then its ordered
 * field in its direction, and nothing else but Firestore's own `__name__` at the end.
 */
export function indexServes(index: CompositeIndex, need: CompositeIndex): boolean {
  if (index.collection !== need.collection) return false;
  const fields = index.fields.filter((field) => field.field_path !== '__name__');
  if (fields.length !== need.fields.length) return false;
  const needEqualities = need.fields.slice(0, -1);
  const needOrder = need.fields.at(-1)!;
  const haveEqualities = fields.slice(0, -1);
  const haveOrder = fields.at(-1)!;
  const sameSet = new Set(needEqualities.map((f) => f.field_path));
  return haveEqualities.every((f) => sameSet.has(f.field_path)) && haveOrder.field_path === needOrder.field_path && haveOrder.order === needOrder.order;
}

/** Whether two shapes are the same query (equality fields in any order). */
export function sameShape(a: QueryShape, b: QueryShape): boolean {
  const equal = (x: readonly string[], y: readonly string[]): boolean => x.length === y.length && [...x].sort().every((field, i) => field === [...y].sort()[i]);
  return (
    a.collection === b.collection &&
    equal([...new Set(a.equal)], [...new Set(b.equal)]) &&
    a.orderBy?.field === b.orderBy?.field &&
    (a.orderBy?.direction ?? 'asc') === (b.orderBy?.direction ?? 'asc')
  );
}

/** The declared query of this shape, if any. */
export function declaredQueryOf(shape: QueryShape, declared: readonly QueryShape[] = declaredQueries()): QueryShape | undefined {
  return declared.find((candidate) => sameShape(candidate, shape));
}

export interface NamedIndex {
  readonly name: string;
  readonly index: CompositeIndex;
  readonly usedBy: readonly string[];
}

/** The composite indexes the declared queries need, one per distinct index, under the name its query declares. */
export function declaredIndexes(declared: readonly DeclaredQuery[] = declaredQueries()): NamedIndex[] {
  const indexes: { name: string; index: CompositeIndex; usedBy: string[] }[] = [];
  for (const query of declared) {
    const index = compositeIndexOf(query);
    if (!index) continue;
    const same = indexes.find((known) => indexServes(known.index, index) && indexServes(index, known.index));
    if (same) {
      same.usedBy.push(query.usedBy);
      continue;
    }
    if (!query.index) throw new Error(`query ${query.name} needs a composite index: name it (\`index\`) in shared/domain/collections.ts`);
    if (indexes.some((known) => known.name === query.index)) throw new Error(`two different indexes are named '${query.index}'`);
    indexes.push({ name: query.index, index, usedBy: [query.usedBy] });
  }
  return indexes.sort((a, b) => a.name.localeCompare(b.name));
}

/**
 * A recording adapter for the declared-needs check: wraps the dependencies one function receives (the embedded
 * runtime's wrapDeps hook) and notes what it really touches, in the terms of its declaration (shared/runtime/needs.ts):
 * documents, source and derivative reads and writes by bucket role, publishes by topic role, configuration groups
 * read, and Vertex AI calls (seen through the auth client the tag step's Vertex client asks for headers, attributed
 * to the function whose delivery is being handled). It also notes every store query whose shape is not declared in
 * shared/domain/collections.ts, and every record written to a TTL collection without a future expiry.
 */
import { AsyncLocalStorage } from 'node:async_hooks';
import type { VertexAuthClient } from '../../functions/tag/vertex.ts';
import type { Config } from '../../shared/config/config.ts';
import { collections, declaredQueries, declaredQueryOf, shapeOf, type CollectionInfo, type QueryShape } from '../../shared/domain/collections.ts';
import type { BlobStore } from '../../shared/ports/blob-store.ts';
import type { Publisher } from '../../shared/ports/bus.ts';
import type { DocData, DocumentStore, Query, Transaction } from '../../shared/ports/document-store.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { CONFIG_GROUPS, type ConfigGroup, type FunctionNeeds, type PublishTarget } from '../../shared/runtime/needs.ts';
import { fixedTokenAuthClient } from './vertex-fake.ts';

export interface Usage {
  documents: boolean;
  sourceReads: number;
  derivativeReads: number;
  derivativeWrites: number;
  publishes: Set<PublishTarget>;
  vertexAi: boolean;
  config: Set<ConfigGroup>;
  /** Buckets or topics the declaration has no word for: always more than declared. */
  unknown: string[];
  /** Queries whose shape no declared query has. */
  undeclaredQueries: string[];
  /** Writes to a TTL collection whose TTL field is not a future Date. */
  missingExpiry: string[];
}

export function emptyUsage(): Usage {
  return {
    documents: false,
    sourceReads: 0,
    derivativeReads: 0,
    derivativeWrites: 0,
    publishes: new Set(),
    vertexAi: false,
    config: new Set(),
    unknown: [],
    undeclaredQueries: [],
    missingExpiry: [],
  };
}

/** What the function used beyond its declaration, one line per excess; empty when the use fits. */
export function excessUse(usage: Usage, needs: FunctionNeeds): string[] {
  const excess: string[] = [...usage.unknown];
  if (usage.documents && !needs.documents) excess.push('documents');
  if (usage.sourceReads > 0 && needs.sources !== 'read') excess.push(`reads sources (${usage.sourceReads}×)`);
  // The model's inputs: on GCP the Vertex AI service agent reads them by URI; on the embedded runtime the function inlines them.
  const readsDerivatives = needs.derivatives === 'read' || needs.derivatives === 'read-write' || needs.vertexAi;
  if (usage.derivativeReads > 0 && !readsDerivatives) excess.push(`reads derivatives (${usage.derivativeReads}×)`);
  if (usage.derivativeWrites > 0 && needs.derivatives !== 'write' && needs.derivatives !== 'read-write')
    excess.push(`writes derivatives (${usage.derivativeWrites}×)`);
  for (const target of usage.publishes) if (!needs.publishes.includes(target)) excess.push(`publishes to ${target}`);
  if (usage.vertexAi && !needs.vertexAi) excess.push('calls Vertex AI');
  for (const group of usage.config) if (!needs.config.includes(group)) excess.push(`reads the ${group} configuration`);
  return excess;
}

export interface Recorder {
  readonly usage: Map<string, Usage>;
  /** For the embedded runtime's wrapDeps. */
  wrapDeps(functionName: string, deps: Deps): Deps;
  /** Runs a delivery's handling as the given function, so calls seen from outside the deps (Vertex) are attributed to it. */
  runAs<T>(functionName: string, fn: () => Promise<T>): Promise<T>;
  /** An auth client for the tag step's Vertex client that notes a call for the function being run. */
  readonly vertexAuthClient: VertexAuthClient;
}

export interface RecorderOptions {
  /** Throws this instead of the blob operation once, to make a function's edge record a transient failure. */
  readonly faultOnce?: { readonly functionName: string; readonly error: Error };
}

export function createRecorder(options: RecorderOptions = {}): Recorder {
  const usage = new Map<string, Usage>();
  const current = new AsyncLocalStorage<string>();
  const declared: readonly QueryShape[] = declaredQueries();
  let fault = options.faultOnce;
  const of = (name: string): Usage => {
    let found = usage.get(name);
    if (!found) usage.set(name, (found = emptyUsage()));
    return found;
  };

  const vertexAuthClient = {
    getRequestHeaders: async () => {
      const name = current.getStore();
      if (name) of(name).vertexAi = true;
      return fixedTokenAuthClient.getRequestHeaders();
    },
    getAccessToken: async () => fixedTokenAuthClient.getAccessToken(),
  } as unknown as VertexAuthClient;

  function wrapDeps(functionName: string, deps: Deps): Deps {
    const used = of(functionName);
    const config = deps.config;
    const bucketRole = (bucket: string): 'sources' | 'derivatives' | undefined =>
      bucket === config.buckets.derivatives
        ? 'derivatives'
        : bucket === config.buckets.ingest || config.buckets.partner.includes(bucket)
          ? 'sources'
          : undefined;
    const noteBlob = (bucket: string, write: boolean): void => {
      if (fault?.functionName === functionName) {
        const { error } = fault;
        fault = undefined;
        throw error;
      }
      const role = bucketRole(bucket);
      if (!role) used.unknown.push(`${write ? 'writes' : 'reads'} bucket ${bucket}`);
      else if (role === 'sources' && !write) used.sourceReads += 1;
      else if (role === 'sources') used.unknown.push(`writes the source bucket ${bucket}`);
      else if (write) used.derivativeWrites += 1;
      else used.derivativeReads += 1;
    };
    const b = deps.blobs;
    const blobs: BlobStore = {
      stat: async (ref) => (noteBlob(ref.bucket, false), b.stat(ref)),
      read: async (ref) => (noteBlob(ref.bucket, false), b.read(ref)),
      createReadStream: async (ref, range) => (noteBlob(ref.bucket, false), b.createReadStream(ref, range)),
      download: async (ref, destination) => (noteBlob(ref.bucket, false), b.download(ref, destination)),
      list: async (bucket, prefix) => (noteBlob(bucket, false), b.list(bucket, prefix)),
      write: async (target, data, writeOptions) => (noteBlob(target.bucket, true), b.write(target, data, writeOptions)),
      upload: async (source, target, writeOptions) => (noteBlob(target.bucket, true), b.upload(source, target, writeOptions)),
      delete: async (ref) => (noteBlob(ref.bucket, true), b.delete(ref)),
    };

    const bus: Publisher = {
      publish: async (topic, message) => {
        const { topics } = config;
        if (topic === topics.stepResults) used.publishes.add('stepResults');
        else if (topic === topics.assetEvents) used.publishes.add('assetEvents');
        else if (topic.startsWith(topics.workPrefix)) used.publishes.add('work');
        else if (topic === topics.uploads) used.publishes.add('uploads');
        else used.unknown.push(`publishes to ${topic}`);
        return deps.bus.publish(topic, message);
      },
    };

    const checkExpiry = (path: string, data: DocData): void => {
      const segments = path.split('/');
      const collection = Object.values(collections).find((info: CollectionInfo) => info.name === segments.at(-2)) as CollectionInfo | undefined;
      if (!collection?.ttlField) return;
      const expiry = data[collection.ttlField];
      if (!(expiry instanceof Date) || expiry.getTime() <= deps.clock.now().getTime()) used.missingExpiry.push(path);
    };
    const checkQuery = (collectionPath: string, query: Query | undefined): void => {
      const shape = shapeOf(collectionPath, query);
      if (!declaredQueryOf(shape, declared)) used.undeclaredQueries.push(JSON.stringify(shape));
    };
    const s = deps.store;
    const recordingTx = (tx: Transaction): Transaction => ({
      get: (path) => tx.get(path),
      set: (path, data) => {
        checkExpiry(path, data);
        tx.set(path, data);
      },
      delete: (path) => tx.delete(path),
    });
    const store: DocumentStore = {
      get: (path) => ((used.documents = true), s.get(path)),
      create: (path, data) => ((used.documents = true), checkExpiry(path, data), s.create(path, data)),
      set: (path, data) => ((used.documents = true), checkExpiry(path, data), s.set(path, data)),
      delete: (path) => ((used.documents = true), s.delete(path)),
      list: (path, query) => ((used.documents = true), checkQuery(path, query), s.list(path, query)),
      count: (path, query) => ((used.documents = true), checkQuery(path, query), s.count(path, query)),
      runTransaction: (fn) => ((used.documents = true), s.runTransaction((tx) => fn(recordingTx(tx)))),
      close: () => s.close(),
    };

    const groupOf = new Map(Object.entries(CONFIG_GROUPS).map(([group, { config: key }]) => [key as string, group as ConfigGroup]));
    const recordingConfig = new Proxy(config, {
      get(target, key, receiver) {
        const group = typeof key === 'string' ? groupOf.get(key) : undefined;
        if (group) used.config.add(group);
        return Reflect.get(target, key, receiver) as unknown;
      },
    }) satisfies Config;

    return { ...deps, blobs, bus, store, config: recordingConfig };
  }

  return {
    usage,
    wrapDeps,
    runAs: (functionName, fn) => current.run(functionName, fn),
    vertexAuthClient,
  };
}

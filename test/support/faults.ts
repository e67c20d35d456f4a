/**
 * Fault injection for one function's dependencies: its document store and its bus fail at random, from a seeded
 * generator, the way a flaky network or a Firestore contention storm makes them fail. Each fault is a plain Error
 * thrown before the real call, so the edge sees it as transient, like the real thing.
 */
import type { DocumentStore, DocData, Query, Transaction } from '../../shared/ports/document-store.ts';
import type { Publisher } from '../../shared/ports/bus.ts';
import type { Deps } from '../../shared/runtime/deps.ts';

/** mulberry32: small, seedable, and good enough to spread faults over calls. */
export function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

export interface FaultPlan {
  readonly random: () => number;
  /** Chance that any one store or bus call fails. */
  readonly probability: number;
  /** Counts the faults thrown, by operation. */
  readonly injected: Map<string, number>;
}

function maybeFail(plan: FaultPlan, operation: string): void {
  if (plan.random() >= plan.probability) return;
  plan.injected.set(operation, (plan.injected.get(operation) ?? 0) + 1);
  throw new Error(`injected fault in ${operation}`);
}

export function faultyStore(store: DocumentStore, plan: FaultPlan): DocumentStore {
  return {
    get: async <T extends DocData>(path: string) => (maybeFail(plan, 'store.get'), store.get<T>(path)),
    create: async (path: string, data: DocData) => (maybeFail(plan, 'store.create'), store.create(path, data)),
    set: async (path: string, data: DocData) => (maybeFail(plan, 'store.set'), store.set(path, data)),
    delete: async (path: string) => (maybeFail(plan, 'store.delete'), store.delete(path)),
    list: async <T extends DocData>(collection: string, query?: Query) => (maybeFail(plan, 'store.list'), store.list<T>(collection, query)),
    count: async (collection: string, query?: Query) => (maybeFail(plan, 'store.count'), store.count(collection, query)),
    async runTransaction<R>(fn: (tx: Transaction) => Promise<R>): Promise<R> {
      maybeFail(plan, 'store.runTransaction');
      const result = await store.runTransaction(fn);
      // A commit whose answer is lost: the write happened, the caller hears it failed.
      maybeFail(plan, 'store.commit-answer');
      return result;
    },
    close: () => store.close(),
  };
}

export function faultyBus(bus: Publisher, plan: FaultPlan): Publisher {
  return {
    publish: async (topic, message) => (maybeFail(plan, 'bus.publish'), bus.publish(topic, message)),
  };
}

export function faultyDeps(deps: Deps, plan: FaultPlan): Deps {
  return { ...deps, store: faultyStore(deps.store, plan), bus: faultyBus(deps.bus, plan) };
}

/**
 * The asset document, shaped for the Firestore console: readable field names, statuses as strings, real
 * timestamps, and null rather than missing fields so every document shows the same columns.
 */
import type { DocData } from '../ports/document-store.ts';
import type { MediaKind } from '../media/classify.ts';
import type { AssetStatus, StepStatus } from './state-machine.ts';
import type { AssetCost } from './cost.ts';

export type { MediaKind };

/** How the asset reached us; the CloudEvents `source` forms are normalized to these. */
export type SourceChannel = 'eventarc' | 'pubsub-notification' | 'partner-ingest';

export type AssetSource = {
  uri: string;
  bucket: string;
  name: string;
  generation: string;
  size: number | null;
  contentType: string | null;
  md5Hash: string | null;
  via: SourceChannel;
  partner: string | null;
  idempotencyKey: string | null;
  correlationId: string | null;
  metadata: Record<string, string>;
};

export type StepError = { code: string; message: string };

export type StepState = {
  status: StepStatus;
  dependsOn: string[];
  /** Work orders this step fans out to; fan-in waits for all of them. */
  shards: number;
  /** The delivery attempt that settled the step (1 = first try); for a sharded step, the highest over its shards. */
  attempts: number;
  queuedAt: Date | null;
  startedAt: Date | null;
  finishedAt: Date | null;
  durationMs: number | null;
  outputs: DocData | null;
  provenance: DocData | null;
  error: StepError | null;
  /**
   * The output version folder the step's outputs were written under (`<asset>/<step>/<outputVersion>/`), when a
   * reprocess made them; absent when the first run did (`<asset>/<step>/`).
   */
  outputVersion?: string;
};

export type AssetError = { step: string; code: string; message: string; at: Date };

export type HistoryEntry = { at: Date; event: string; step: string | null; detail: string | null };

export type AssetDoc = {
  id: string;
  status: AssetStatus;
  kind: MediaKind | null;
  profile: string;
  source: AssetSource;
  /** What ffprobe saw; null until the probe step has reported. */
  probe: DocData | null;
  /** Step names in plan order. */
  plan: string[];
  steps: Record<string, StepState>;
  error: AssetError | null;
  history: HistoryEntry[];
  /** The asset made from the previous generation of the same object, if any. */
  previousVersion: string | null;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
  /** Increments on every coordinator write; ops can see how often a document changed. */
  revision: number;
  /** Set only when the watchdog found lost work: how often it re-drove, and when it last acted. */
  watchdog?: WatchdogRecord;
  /** What processing cost so far, per step and in total (shared/domain/cost.ts); absent until a result reports usage. */
  cost?: AssetCost;
  /** A reprocess in flight on this READY asset (shared/domain/reprocess.ts); absent when none is. */
  reprocess?: ReprocessRun;
  /** How the last reprocess of this asset ended; absent until one has. */
  lastReprocess?: ReprocessRecord;
};

/**
 * A reprocess re-running some steps of a READY asset beside its live outputs: the re-run steps' own states and the
 * output version each writes under. The asset's `steps` (what readers see) change only when all of them succeed.
 */
export type ReprocessRun = {
  job: string;
  /** The step the job asked for; `steps` also holds the steps that depend on it. */
  step: string;
  by: string;
  startedAt: Date;
  /** Per re-run step, in plan order: the output version its orders write under. */
  versions: Record<string, string>;
  steps: Record<string, StepState>;
  /** How often the watchdog re-drove the run's lost work; absent until it has. */
  redrives?: number;
};

export type ReprocessRecord = {
  job: string;
  step: string;
  status: 'SUCCEEDED' | 'FAILED';
  at: Date;
  /** Per re-run step: the output version it wrote under. */
  versions: Record<string, string>;
  error: AssetError | null;
};

/** The watchdog's per-asset budget survives restarts because it lives on the document. */
export type WatchdogRecord = { redrives: number; lastAt: Date };

/** History is capped so a long-lived asset's document stays far below Firestore's 1 MiB limit. */
export const HISTORY_LIMIT = 100;

export function appendHistory(history: readonly HistoryEntry[], entry: HistoryEntry): HistoryEntry[] {
  const next = [...history, entry];
  return next.length > HISTORY_LIMIT ? next.slice(next.length - HISTORY_LIMIT) : next;
}

export function newAssetDoc(input: {
  id: string;
  source: AssetSource;
  profile: string;
  previousVersion: string | null;
  now: Date;
  notes?: readonly string[];
}): AssetDoc {
  const notes = (input.notes ?? []).map((detail): HistoryEntry => ({ at: input.now, event: 'NOTE', step: null, detail }));
  return {
    id: input.id,
    status: 'RECEIVED',
    kind: null,
    profile: input.profile,
    source: input.source,
    probe: null,
    plan: [],
    steps: {},
    error: null,
    history: [{ at: input.now, event: 'RECEIVED', step: null, detail: `via ${input.source.via}` }, ...notes],
    previousVersion: input.previousVersion,
    createdAt: input.now,
    updatedAt: input.now,
    completedAt: null,
    revision: 1,
  };
}

/** The outputs of every succeeded step, keyed by step: what partners get in asset.ready and the CLI prints. */
export function collectOutputs(asset: AssetDoc): Record<string, DocData> {
  const outputs: Record<string, DocData> = {};
  for (const step of asset.plan) {
    const state = asset.steps[step];
    if (state?.status === 'SUCCEEDED' && state.outputs) outputs[step] = state.outputs;
  }
  return outputs;
}

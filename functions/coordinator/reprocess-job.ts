/**
 * A reprocess job (`mediaflow reprocess`): re-runs one step, and the steps that depend on it, on a selection of
 * READY assets, at a bounded rate. It is an operator's job, run by the CLI on either runtime, and it lives with the
 * coordinator because it changes assets through the coordinator's own decision and outbox. It pages through READY
 * assets in creation order, starts a run on each selected asset (shared/domain/reprocess.ts startReprocess) in a
 * transaction, and publishes the run's first work orders through the asset's outbox. The workers and the
 * coordinator take it from there.
 *
 * The job's document (collection `reprocessJobs`) holds its selection, its rate and a cursor, written at most once a
 * second while it runs and whenever it stops, so a job killed half-way resumes close to where it stopped
 * (`--resume <job>`). Starting is idempotent per job and asset, so the assets the saved cursor had not yet passed
 * are only counted again ("started before"), never re-run. Assets created after the job began were made with
 * today's recipes: the job stops before them.
 */
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import type { AssetDoc, MediaKind } from '../../shared/domain/asset.ts';
import { collections } from '../../shared/domain/collections.ts';
import { startReprocess, type ReprocessRefusal } from '../../shared/domain/reprocess.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { stageEmissions } from './outbox-entries.ts';
import { flushAndSettle } from './run.ts';
import { formatRecipeCondition, notSelectedBecause, parseRecipeCondition, type ReprocessSelection } from './reprocess-selection.ts';

/** Runs started per second unless told otherwise: each re-runs a step (and its dependents) on one asset. */
export const DEFAULT_REPROCESS_RATE_PER_SECOND = 5;
/** READY assets read per query; the cursor moves one asset at a time within a page. */
export const REPROCESS_PAGE_SIZE = 100;
/** How often, at most, the job's document (cursor and counts) is written while it runs. */
export const JOB_SAVE_INTERVAL_MS = 1000;

export type ReprocessJobState = 'RUNNING' | 'STARTED';

export type ReprocessCounts = {
  /** READY assets looked at. */
  examined: number;
  /** Looked at and left alone: another kind, the step not in their plan, or their recipe does not match. */
  notSelected: number;
  /** Runs this job started. */
  started: number;
  /** Runs this job had already started (or finished) on the asset: seen again after a resume. */
  alreadyStarted: number;
  /** Assets the job did not start a run on, by reason (shared/domain/reprocess.ts ReprocessRefusal). */
  refused: Partial<Record<ReprocessRefusal, number>>;
};

export type ReprocessJob = {
  id: string;
  step: string;
  /** The selection as the operator wrote it: kind, and `recipe<N` (null when not given). */
  kind: MediaKind | null;
  where: string | null;
  ratePerSecond: number;
  by: string;
  /** RUNNING while assets remain to be looked at; STARTED once every selected asset has its run (runs may still be in flight). */
  state: ReprocessJobState;
  /** The last asset looked at, in the query's order: creation time and document id. */
  cursor: { createdAt: Date; id: string } | null;
  counts: ReprocessCounts;
  createdAt: Date;
  updatedAt: Date;
  startedAllAt: Date | null;
};

export interface NewJobRequest {
  readonly step: string;
  readonly kind: MediaKind | null;
  readonly where: string | null;
  readonly ratePerSecond: number;
  readonly by: string;
}

/** What starting a run on one asset came to. */
export type StartOutcome = 'started' | 'already' | { readonly refusal: ReprocessRefusal };

export interface JobRunOptions {
  /** Starts the job's run on one asset (startRuns); absent for a dry run, which looks and counts, starts and saves nothing. */
  readonly start?: (assetId: string) => Promise<StartOutcome>;
  /** Stops the job after the asset in hand (its cursor saved), as a kill would but cleanly: `--resume` goes on. */
  readonly signal?: AbortSignal;
  /** Called after every asset, with the job as it stands (saved at most once a second, and when it stops). */
  readonly onProgress?: (job: ReprocessJob) => void;
}

/** Checks a request against this build's steps before any job exists: a typo must not become a job. */
export function newJob(deps: Pick<Deps, 'steps' | 'clock'>, request: NewJobRequest): ReprocessJob {
  if (!deps.steps.has(request.step)) throw new Error(`no step '${request.step}' in this build; the steps are ${[...deps.steps.keys()].join(', ')}`);
  if (!(request.ratePerSecond > 0) || !Number.isFinite(request.ratePerSecond))
    throw new RangeError(`the reprocess rate must be above 0 per second, got ${request.ratePerSecond}`);
  if (request.where !== null) parseRecipeCondition(request.where);
  const now = deps.clock.now();
  return {
    id: newJobId(now),
    step: request.step,
    kind: request.kind,
    where: request.where === null ? null : formatRecipeCondition(parseRecipeCondition(request.where)),
    ratePerSecond: request.ratePerSecond,
    by: request.by,
    state: 'RUNNING',
    cursor: null,
    counts: { examined: 0, notSelected: 0, started: 0, alreadyStarted: 0, refused: {} },
    createdAt: now,
    updatedAt: now,
    startedAllAt: null,
  };
}

/** `20261206-3fa2c1`: the day it began, for the reader, and a random part, for uniqueness. */
function newJobId(now: Date): string {
  return `${now.toISOString().slice(0, 10).replaceAll('-', '')}-${randomBytes(3).toString('hex')}`;
}

export async function loadJob(deps: Pick<Deps, 'store'>, jobId: string): Promise<ReprocessJob | undefined> {
  return deps.store.get<ReprocessJob>(collections.reprocessJobs.doc(jobId));
}

/**
 * Runs the job from its cursor until every READY asset older than the job has been looked at, or the signal stops
 * it. Returns the job as last saved.
 */
export async function runJob(deps: Pick<Deps, 'store' | 'clock'>, initial: ReprocessJob, options: JobRunOptions = {}): Promise<ReprocessJob> {
  const selection: ReprocessSelection = { step: initial.step, kind: initial.kind, where: initial.where === null ? null : parseRecipeCondition(initial.where) };
  const gapMs = 1000 / initial.ratePerSecond;
  const { assets } = collections;
  let job = initial;
  let lastStart = 0;
  let lastSave = 0;
  const save = async (next: ReprocessJob): Promise<ReprocessJob> => {
    const saved = { ...next, updatedAt: deps.clock.now() };
    if (options.start) await deps.store.set(collections.reprocessJobs.doc(saved.id), saved);
    lastSave = Date.now();
    return saved;
  };
  if (options.start) job = await save(job);
  for (;;) {
    const page = await deps.store.list<AssetDoc>(
      assets.path(),
      assets.queries.withStatusInCreationOrder.query(
        { status: 'READY' },
        { limit: REPROCESS_PAGE_SIZE, ...(job.cursor ? { startAfter: { value: job.cursor.createdAt, id: job.cursor.id } } : {}) },
      ),
    );
    const older = page.filter((snapshot) => snapshot.data.createdAt <= job.createdAt);
    for (const snapshot of older) {
      if (options.signal?.aborted) return save(job);
      const asset = snapshot.data;
      const counts = { ...job.counts, examined: job.counts.examined + 1 };
      if (notSelectedBecause(asset, selection) !== undefined) counts.notSelected += 1;
      else if (!options.start) counts.started += 1;
      else {
        const wait = lastStart + gapMs - Date.now();
        if (wait > 0) await sleep(wait);
        lastStart = Date.now();
        const outcome = await options.start(asset.id);
        if (outcome === 'started') counts.started += 1;
        else if (outcome === 'already') counts.alreadyStarted += 1;
        else counts.refused = { ...counts.refused, [outcome.refusal]: (counts.refused[outcome.refusal] ?? 0) + 1 };
      }
      job = { ...job, counts, cursor: { createdAt: asset.createdAt, id: snapshot.id } };
      // At most once a second: one document must not take a write per asset. A kill loses at most that second's
      // place, and the assets looked at again are counted, never started twice (a start is idempotent per job).
      if (Date.now() - lastSave >= JOB_SAVE_INTERVAL_MS) job = await save(job);
      options.onProgress?.(job);
    }
    // A short page, or one that reached assets newer than the job: nothing older is left.
    if (page.length < REPROCESS_PAGE_SIZE || older.length < page.length) break;
  }
  return save({ ...job, state: 'STARTED', startedAllAt: deps.clock.now() });
}

/** The job's start: its run on one asset, committed with the run's first orders staged, then published. */
export function startRuns(deps: Deps, job: Pick<ReprocessJob, 'id' | 'step' | 'by'>): (assetId: string) => Promise<StartOutcome> {
  return async (assetId) => {
    const path = collections.assets.doc(assetId);
    const decision = await deps.store.runTransaction(async (tx) => {
      const asset = await tx.get<AssetDoc>(path);
      if (!asset) return { note: 'refused', refusal: 'NOT_READY', reason: `asset ${assetId} vanished` } as const;
      const now = deps.clock.now();
      const start = startReprocess(asset, { job: job.id, step: job.step, by: job.by }, deps.steps, now, deps.config.limits);
      if (start.note === 'applied') {
        tx.set(path, start.asset);
        stageEmissions(tx, assetId, start.emissions, now);
      }
      return start;
    });
    if (decision.note === 'refused') return { refusal: decision.refusal };
    // Flushed for a run started before too: a job killed between that start's commit and its flush left the run's
    // first orders in the outbox, and the resume, meeting the asset again, is what publishes them.
    await flushAndSettle(assetId, deps);
    return decision.note === 'applied' ? 'started' : 'already';
  };
}

export interface JobProgress {
  /** Runs of the job still working. */
  readonly inFlight: number;
  /** Runs that switched their asset to the new outputs. */
  readonly updated: number;
  /** Runs that failed: their assets kept the outputs they had. */
  readonly failed: number;
}

/** Where the job's runs are, counted on the assets themselves. */
export async function jobProgress(deps: Pick<Deps, 'store'>, jobId: string): Promise<JobProgress> {
  const { assets } = collections;
  const [inFlight, updated, failed] = await Promise.all([
    deps.store.count(assets.path(), assets.queries.inReprocess.query({ 'reprocess.job': jobId })),
    deps.store.count(assets.path(), assets.queries.reprocessedBy.query({ 'lastReprocess.job': jobId, 'lastReprocess.status': 'SUCCEEDED' })),
    deps.store.count(assets.path(), assets.queries.reprocessedBy.query({ 'lastReprocess.job': jobId, 'lastReprocess.status': 'FAILED' })),
  ]);
  return { inFlight, updated, failed };
}

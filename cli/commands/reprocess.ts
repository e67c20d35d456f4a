/**
 * `mediaflow reprocess --step S [--status READY] [--kind K] [--where recipe<N] [--rate 20/s] [--dry-run]` re-runs a
 * step and the steps that depend on it on a selection of READY assets (functions/coordinator/reprocess-job.ts), and
 * `mediaflow reprocess --resume JOB` goes on with a job that was stopped. On the embedded runtime the runs work in
 * this process, and the command returns once they have all ended; with MEDIAFLOW_RUNTIME=gcp it starts them through
 * Pub/Sub and returns, and `mediaflow reprocess --resume JOB` then reports where they are (`--list`: the newest
 * jobs). Ctrl-C stops a job cleanly after the asset in hand, or stops waiting for the runs in flight once all are
 * started; a kill loses at most the last second's place, which the resume counts again.
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { buildPipeline } from '../../functions/pipeline.ts';
import { productionSteps } from '../../functions/registry.ts';
import {
  DEFAULT_REPROCESS_RATE_PER_SECOND,
  jobProgress,
  loadJob,
  newJob,
  runJob,
  startRuns,
  type JobProgress,
  type ReprocessJob,
} from '../../functions/coordinator/reprocess-job.ts';
import type { MediaKind } from '../../shared/domain/asset.ts';
import { systemClock } from '../../shared/ports/clock.ts';
import type { Deps } from '../../shared/runtime/deps.ts';
import { createEmbeddedRuntime, STATE_FILE } from '../../shared/runtime/embedded.ts';
import { createGcpDeps } from '../../shared/runtime/gcp.ts';
import { errorMessage } from '../../shared/errors.ts';
import { cliConfig, operator, UsageError } from '../options.ts';
import { withStateStore } from './status.ts';
import { collections } from '../../shared/domain/collections.ts';
import { terminalWidth } from '../terminal-text.ts';
import { table } from '../view.ts';

export interface ReprocessCommandOptions {
  readonly out?: string;
  readonly json: boolean;
  readonly verbose: boolean;
  readonly step?: string;
  readonly status?: string;
  readonly kind?: string;
  readonly where?: string;
  readonly rate?: string;
  readonly resume?: string;
  readonly dryRun: boolean;
  /** List the newest jobs instead, at most `limit`. */
  readonly list: boolean;
  readonly limit: number;
}

const kinds: readonly MediaKind[] = ['image', 'audio', 'video'];

export async function reprocessCommand(options: ReprocessCommandOptions): Promise<number> {
  if (options.list) return listJobs(options);
  const config = cliConfig(options.out, options.verbose);
  if (options.resume === undefined && options.step === undefined) throw new UsageError('reprocess needs --step S (the step to re-run), or --resume JOB');
  if (options.resume !== undefined && (options.step ?? options.kind ?? options.where ?? options.rate ?? options.status) !== undefined)
    throw new UsageError('--resume takes the selection and rate the job was started with: give it alone');
  if (options.status !== undefined && options.status !== 'READY')
    throw new UsageError(`--status: only READY assets are reprocessed (a FAILED one is replayed: mediaflow dead-letters replay), got '${options.status}'`);
  if (config.runtime !== 'gcp' && !existsSync(path.join(config.dataDir, STATE_FILE)))
    throw new UsageError(`no mediaflow state at ${config.dataDir} (run \`mediaflow process\` first, or pass --out)`);
  // A new job is checked against this build before any runtime starts: a typo must not run anything.
  const fresh = options.resume === undefined ? newJobOrUsage({ steps: productionSteps, clock: systemClock }, requestOf(options)) : undefined;
  if (options.dryRun) {
    if (!fresh) throw new UsageError('--dry-run goes with a new selection (--step ...), not --resume');
    const counted = await withStateStore(options.out, (store) => runJob({ store, clock: systemClock }, fresh));
    printDryRun(counted, options);
    return 0;
  }
  const controller = new AbortController();
  const stop = (): void => controller.abort();
  process.once('SIGINT', stop);
  process.once('SIGTERM', stop);
  try {
    if (config.runtime === 'gcp') {
      const deps = createGcpDeps(config, productionSteps, process.env);
      try {
        const job = await run(deps, options, fresh, controller.signal);
        const progress = await jobProgress(deps, job.id);
        print(job, progress, options, tail(job, controller.signal, 'the runs go on in the cloud: follow them with mediaflow reprocess --resume ' + job.id));
        return 0;
      } finally {
        await deps.store.close();
      }
    }
    const runtime = createEmbeddedRuntime({ config, steps: productionSteps, pipeline: buildPipeline, env: process.env });
    try {
      await runtime.deps.mediaTools();
      const job = await run(runtime.deps, options, fresh, controller.signal);
      // The runs work in this process: the command ends when the pipeline is quiet, or when it is stopped (what is
      // still in flight stays in the state's journal, and --resume finishes it).
      await Promise.race([runtime.idle(), stopped(controller.signal)]);
      const progress = await jobProgress(runtime.deps, job.id);
      print(job, progress, options, tail(job, controller.signal, ''));
      return controller.signal.aborted || progress.failed > 0 || progress.inFlight > 0 ? 1 : 0;
    } finally {
      await runtime.close();
    }
  } finally {
    process.off('SIGINT', stop);
    process.off('SIGTERM', stop);
  }
}

function stopped(signal: AbortSignal): Promise<void> {
  return signal.aborted ? Promise.resolve() : new Promise((resolve) => signal.addEventListener('abort', () => resolve(), { once: true }));
}

function requestOf(options: ReprocessCommandOptions) {
  if (options.kind !== undefined && !kinds.includes(options.kind as MediaKind))
    throw new UsageError(`--kind takes one of ${kinds.join(', ')}, got '${options.kind}'`);
  return {
    step: options.step!,
    kind: (options.kind as MediaKind | undefined) ?? null,
    where: options.where ?? null,
    ratePerSecond: parseRate(options.rate),
    by: operator(),
  };
}

/** `20`, `20/s` or `600/min`: runs started per second. */
export function parseRate(text: string | undefined): number {
  if (text === undefined) return DEFAULT_REPROCESS_RATE_PER_SECOND;
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*(s|sec|second|m|min|minute))?\s*$/.exec(text);
  const value = match ? Number(match[1]) / (match[2]?.startsWith('m') ? 60 : 1) : Number.NaN;
  if (!(value > 0) || !Number.isFinite(value)) throw new UsageError(`--rate takes runs per second (20, 20/s) or per minute (600/min) above 0, got '${text}'`);
  return value;
}

/** A request this build cannot run (no such step, a --where it cannot read) is the operator's to fix: exit 2, no stack. */
function newJobOrUsage(deps: Parameters<typeof newJob>[0], request: ReturnType<typeof requestOf>): ReprocessJob {
  try {
    return newJob(deps, request);
  } catch (error) {
    throw new UsageError(errorMessage(error));
  }
}

async function run(deps: Deps, options: ReprocessCommandOptions, fresh: ReprocessJob | undefined, signal: AbortSignal): Promise<ReprocessJob> {
  const job = fresh ?? (await loadJob(deps, options.resume!));
  if (!job) throw new UsageError(`no reprocess job '${options.resume}'`);
  // On stderr even with --json: a run killed half-way must have left the id to resume with.
  process.stderr.write(
    `reprocess job ${job.id}: step ${job.step}${job.kind ? `, ${job.kind}` : ''}${job.where ? `, ${job.where}` : ''}, ${job.ratePerSecond}/s\n`,
  );
  if (job.state === 'STARTED') return job;
  let shown = 0;
  return runJob(deps, job, {
    start: startRuns(deps, job),
    signal,
    onProgress: (saved) => {
      // A line every 25 assets looked at, on stderr: stdout is the report.
      if (options.json || saved.counts.examined - shown < 25) return;
      shown = saved.counts.examined;
      process.stderr.write(`  ${describe(saved)}\n`);
    },
  });
}

function describe(job: ReprocessJob): string {
  const refused = Object.entries(job.counts.refused)
    .map(([why, count]) => `${count} ${why}`)
    .join(', ');
  return `${job.counts.examined} READY assets looked at, ${job.counts.notSelected} not selected, ${job.counts.started} started${
    job.counts.alreadyStarted > 0 ? `, ${job.counts.alreadyStarted} started before` : ''
  }${refused ? `, refused: ${refused}` : ''}`;
}

function tail(job: ReprocessJob, signal: AbortSignal, otherwise: string): string {
  if (job.state !== 'STARTED') return `stopped before the end: mediaflow reprocess --resume ${job.id} goes on from asset ${job.counts.examined + 1}`;
  if (signal.aborted) return `stopped with runs in flight: mediaflow reprocess --resume ${job.id} finishes them`;
  return otherwise;
}

function print(job: ReprocessJob, progress: JobProgress, options: ReprocessCommandOptions, note: string): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ job: job.id, step: job.step, state: job.state, counts: job.counts, runs: progress })}\n`);
    return;
  }
  process.stdout.write(`reprocess job ${job.id} (${job.state}): ${describe(job)}\n`);
  process.stdout.write(`runs: ${progress.updated} updated, ${progress.failed} failed (outputs unchanged), ${progress.inFlight} in flight\n`);
  if (note) process.stdout.write(`${note}\n`);
}

/** A dry run saves no job, so it names none: it says how many assets a job with this selection would start. */
function printDryRun(job: ReprocessJob, options: ReprocessCommandOptions): void {
  if (options.json) {
    process.stdout.write(`${JSON.stringify({ dryRun: true, step: job.step, counts: job.counts })}\n`);
    return;
  }
  process.stdout.write(
    `dry run: ${job.counts.examined} READY assets looked at, ${job.counts.notSelected} not selected, ${job.counts.started} would be re-run; nothing was started\n`,
  );
}

/** `--list`: the newest jobs, with where their runs are; read-only, so it may run beside a job. */
async function listJobs(options: ReprocessCommandOptions): Promise<number> {
  if ((options.step ?? options.resume ?? options.kind ?? options.where ?? options.rate ?? options.status) !== undefined || options.dryRun)
    throw new UsageError('--list takes no selection: give it alone (with --limit, --json)');
  const { reprocessJobs } = collections;
  const rows = await withStateStore(options.out, async (store) => {
    const jobs = await store.list<ReprocessJob>(reprocessJobs.path(), reprocessJobs.queries.newestFirst.query({}, { limit: options.limit }));
    return Promise.all(jobs.map(async ({ data: job }) => ({ job, runs: await jobProgress({ store }, job.id) })));
  });
  if (options.json) {
    for (const { job, runs } of rows)
      process.stdout.write(
        `${JSON.stringify({ job: job.id, step: job.step, kind: job.kind, where: job.where, state: job.state, counts: job.counts, runs, createdAt: job.createdAt })}\n`,
      );
    return 0;
  }
  if (rows.length === 0) {
    process.stdout.write('no reprocess jobs\n');
    return 0;
  }
  const selection = (job: ReprocessJob): string => [job.kind, job.where].filter((part) => part !== null).join(' ') || 'all';
  const lines = rows.map(({ job, runs }) => [
    job.id,
    job.step,
    selection(job),
    job.state,
    String(job.counts.started),
    String(runs.updated),
    String(runs.failed),
    String(runs.inFlight),
    job.createdAt.toISOString(),
  ]);
  process.stdout.write(
    `${table(['job', 'step', 'selection', 'state', 'started', 'updated', 'failed', 'in flight', 'created'], lines, { width: terminalWidth() })}\n`,
  );
  return 0;
}

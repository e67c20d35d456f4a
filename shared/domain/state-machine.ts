/**
 * The asset lifecycle. Only the coordinator moves an asset between these states, and only along these edges.
 *
 *   RECEIVED ──► PROCESSING ──► READY
 *      │              └───────► FAILED
 *      ├──► REJECTED   (the input itself is unusable: empty, corrupt, unknown format)
 *      └──► FAILED     (the probe could not run: its retries ran out, or the source vanished)
 *
 * READY, FAILED and REJECTED are terminal: no result, late or duplicate, moves them. The one way back is an
 * operator's replay of the dead letter that failed the asset (`mediaflow dead-letters replay`): an asset FAILED with
 * RETRIES_EXHAUSTED is re-opened, FAILED ──► PROCESSING (or ──► RECEIVED when its probe never succeeded), and the
 * replayed message takes it on through the same edges as the first time. See canReopen.
 *
 * A reprocess (`mediaflow reprocess`, shared/domain/reprocess.ts) moves no status: a READY asset stays READY while
 * some of its steps run again beside it, and only its outputs are replaced, once all of them have succeeded.
 */
export const AssetStatus = {
  RECEIVED: 'RECEIVED',
  PROCESSING: 'PROCESSING',
  READY: 'READY',
  FAILED: 'FAILED',
  REJECTED: 'REJECTED',
} as const;
export type AssetStatus = (typeof AssetStatus)[keyof typeof AssetStatus];

const legalTransitions: Readonly<Record<AssetStatus, readonly AssetStatus[]>> = {
  RECEIVED: ['PROCESSING', 'REJECTED', 'FAILED'],
  PROCESSING: ['READY', 'FAILED'],
  READY: [],
  FAILED: [],
  REJECTED: [],
};

export const allAssetStatuses: readonly AssetStatus[] = Object.values(AssetStatus);

export function canTransition(from: AssetStatus, to: AssetStatus): boolean {
  return legalTransitions[from].includes(to);
}

export function isTerminal(status: AssetStatus): boolean {
  return legalTransitions[status].length === 0;
}

export class IllegalTransitionError extends Error {
  constructor(from: AssetStatus, to: AssetStatus, why?: string) {
    super(`illegal asset transition ${from} → ${to}${why ? ` (${why})` : ''}`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertTransition(from: AssetStatus, to: AssetStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
}

/**
 * Failure codes a replay may undo: only RETRIES_EXHAUSTED, a transient fault that outlived the delivery attempts and
 * whose message is kept whole in the dead-letter store. Every other failure is the input's or the step's own verdict,
 * and a replay would reach it again.
 */
export const reopenableFailureCodes: ReadonlySet<string> = new Set(['RETRIES_EXHAUSTED']);

/** The re-opening edges, apart from the lifecycle's: they are taken by a replay (shared/domain/coordination.ts applyReplay), nothing else. */
const reopenTransitions: Readonly<Partial<Record<AssetStatus, readonly AssetStatus[]>>> = {
  FAILED: ['RECEIVED', 'PROCESSING'],
};

/** Whether a replay may re-open an asset in `from`, failed with `failureCode`, to `to`. */
export function canReopen(from: AssetStatus, to: AssetStatus, failureCode: string | null | undefined): boolean {
  return failureCode !== null && failureCode !== undefined && reopenableFailureCodes.has(failureCode) && (reopenTransitions[from] ?? []).includes(to);
}

export function assertReopen(from: AssetStatus, to: AssetStatus, failureCode: string | null | undefined): void {
  if (!canReopen(from, to, failureCode))
    throw new IllegalTransitionError(from, to, `re-opening needs a FAILED asset with ${[...reopenableFailureCodes].join(' or ')}`);
}

/** A step's own lifecycle inside the asset's `steps` map. */
export const StepStatus = {
  PENDING: 'PENDING',
  QUEUED: 'QUEUED',
  SUCCEEDED: 'SUCCEEDED',
  FAILED: 'FAILED',
  CANCELLED: 'CANCELLED',
} as const;
export type StepStatus = (typeof StepStatus)[keyof typeof StepStatus];

const legalStepTransitions: Readonly<Record<StepStatus, readonly StepStatus[]>> = {
  PENDING: ['QUEUED', 'CANCELLED'],
  QUEUED: ['SUCCEEDED', 'FAILED', 'CANCELLED'],
  SUCCEEDED: [],
  FAILED: [],
  CANCELLED: [],
};

export const allStepStatuses: readonly StepStatus[] = Object.values(StepStatus);

export function canStepTransition(from: StepStatus, to: StepStatus): boolean {
  return legalStepTransitions[from].includes(to);
}

/**
 * A replay re-opens the steps its asset's failure settled: the step whose message died goes back to QUEUED (the
 * replayed message is its work), and the steps the failure CANCELLED go back to PENDING, to be queued again as their
 * dependencies succeed. Nothing else leaves a settled step.
 */
const stepReopenTransitions: Readonly<Partial<Record<StepStatus, readonly StepStatus[]>>> = {
  FAILED: ['QUEUED'],
  CANCELLED: ['PENDING'],
};

export function canReopenStep(from: StepStatus, to: StepStatus): boolean {
  return (stepReopenTransitions[from] ?? []).includes(to);
}

export function isStepSettled(status: StepStatus): boolean {
  return legalStepTransitions[status].length === 0;
}

/**
 * Codes that mean "the input is unusable" rather than "we failed": they make the asset REJECTED. Besides the
 * damaged and the unknown, that is an input over a limit (shared/domain/limits.ts) or one its sender may not name.
 */
export const rejectionCodes: ReadonlySet<string> = new Set([
  'EMPTY_OBJECT',
  'UNSUPPORTED_MEDIA',
  'CORRUPT_MEDIA',
  'INTEGRITY_MISMATCH',
  'IMAGE_TOO_LARGE',
  'AUDIO_TOO_LONG',
  'VIDEO_TOO_LONG',
  'VIDEO_TOO_LARGE',
  'TOO_MANY_FRAMES',
  'TOO_MANY_CHANNELS',
  'SOURCE_NOT_ALLOWED',
]);

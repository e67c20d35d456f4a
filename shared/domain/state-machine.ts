/**
 * The asset lifecycle. Only the coordinator moves an asset between these states, and only along these edges.
 *
 *   RECEIVED ──► PROCESSING ──► READY
 *      │              └───────► FAILED
 *      ├──► REJECTED   (the input itself is unusable: empty, corrupt, unknown format)
 *      └──► FAILED     (the probe could not run: its retries ran out, or the source vanished)
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
  constructor(from: AssetStatus, to: AssetStatus) {
    super(`illegal asset transition ${from} → ${to}`);
    this.name = 'IllegalTransitionError';
  }
}

export function assertTransition(from: AssetStatus, to: AssetStatus): void {
  if (!canTransition(from, to)) throw new IllegalTransitionError(from, to);
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

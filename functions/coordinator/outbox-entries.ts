/**
 * The outbox's entries: what a decision stages inside its own transaction. Kept apart from the flush (outbox.ts),
 * so code that may record a decision but must never publish (the dead-letter handler) reaches only this half.
 */
import { collections } from '../../shared/domain/collections.ts';
import type { Emission } from '../../shared/domain/coordination.ts';
import type { Transaction } from '../../shared/ports/document-store.ts';

export type OutboxEntry = {
  emissionId: string;
  assetId: string;
  kind: Emission['kind'];
  step: string | null;
  /** A queued step's reprocess output version; null for its first run (and absent from entries written before reprocessing existed). */
  outputVersion?: string | null;
  payload: string;
  createdAt: Date;
  claimedUntil: Date | null;
  /** The process that holds the claim (functions/coordinator/outbox.ts); absent from entries never claimed. */
  claimedBy?: string | null;
};

function emissionId(assetId: string, emission: Emission): string {
  switch (emission.kind) {
    case 'queue-step':
      return `${assetId}|queue|${emission.step}${emission.outputVersion === undefined ? '' : `@${emission.outputVersion}`}`;
    case 'asset-updated':
      return `${assetId}/updated/${emission.event.reprocess.job}`;
    case 'asset-ready':
      return `${assetId}/ready`;
    case 'asset-failed':
      return `${assetId}/failed`;
  }
}

export function stageEmissions(tx: Transaction, assetId: string, emissions: readonly Emission[], now: Date): void {
  for (const emission of emissions) {
    const id = emissionId(assetId, emission);
    const entry: OutboxEntry = {
      emissionId: id,
      assetId,
      kind: emission.kind,
      step: emission.kind === 'queue-step' ? emission.step : null,
      outputVersion: emission.kind === 'queue-step' ? (emission.outputVersion ?? null) : null,
      payload: emission.kind === 'queue-step' ? '{}' : JSON.stringify(emission.event),
      createdAt: now,
      claimedUntil: null,
    };
    tx.set(collections.outbox.doc(id), entry);
  }
}

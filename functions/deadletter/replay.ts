/**
 * Dead-letter replay (`mediaflow dead-letters replay`): publishes dead messages again, whole, with their original
 * attributes and a replay marker, to the topics they were first published to. The same code serves both runtimes;
 * the caller hands it the store and a publisher (the in-process bus, or Pub/Sub).
 *
 * Before a message is published again, the asset it concerns is re-opened with the coordinator's own pure decision
 * (shared/domain/coordination.ts applyReplay), committed in a transaction like the dead-letter handler's forced
 * failure: an asset FAILED with RETRIES_EXHAUSTED at that step goes back to PROCESSING (or RECEIVED, when its probe
 * never succeeded), so the replayed message's result is taken instead of ignored as late, and the normal flow takes
 * the asset to READY. Queue emissions of that decision (steps the failure had cancelled) wait in the asset's outbox
 * for the coordinator, which flushes it on the replayed message's result, as on any result.
 *
 * Once replayed, a record is REPLAYED, and replaying it again is refused unless forced; a forced replay publishes
 * again, and an asset already READY ignores it. A replayed copy that dies too re-opens its record (functions/
 * deadletter/run.ts) and fails the asset again with RETRIES_EXHAUSTED.
 */
import { collections } from '../../shared/domain/collections.ts';
import type { AssetDoc } from '../../shared/domain/asset.ts';
import { applyReplay, type ReplayDecision } from '../../shared/domain/coordination.ts';
import { documentId } from '../../shared/domain/document-id.ts';
import type { Publisher } from '../../shared/ports/bus.ts';
import type { Clock } from '../../shared/ports/clock.ts';
import type { DocSnapshot, DocumentStore } from '../../shared/ports/document-store.ts';
import { stageEmissions } from '../coordinator/outbox-entries.ts';
import { functionOfSubscription } from './run.ts';
import { attributesOf, MAX_REPLAY_ENTRIES, payloadOf, REPLAY_ATTRIBUTE, whyNotReplayable, type DeadLetterRecord, type ReplayEntry } from './record.ts';

/** Records a selection by function or time looks through, newest first. */
export const MAX_SCANNED_RECORDS = 10_000;

export interface ReplaySelection {
  /** A record's id, as `mediaflow dead-letters --json` prints it, or `<subscription>:<event id>`. */
  readonly id?: string;
  /** Records of messages this function could not take (`checksum`, `ingest`, `coordinator`, ...). */
  readonly function?: string;
  /** Records dead-lettered at or after this time. */
  readonly since?: Date;
}

export interface ReplayOptions {
  readonly dryRun: boolean;
  /** Replay records already replayed. */
  readonly force: boolean;
  /** Who replays, recorded on the record and in the asset's history. */
  readonly by: string;
}

export interface ReplayPorts {
  readonly store: DocumentStore;
  readonly bus: Publisher;
  readonly clock: Clock;
}

/** What happened to the asset: re-opened, already open (another replay of its step went first), READY already, or none concerned. */
export type AssetEffect = 'reopened' | 'open' | 'ready' | 'none';

export interface ReplayResult {
  readonly id: string;
  readonly sourceSubscription: string;
  readonly assetId: string | null;
  readonly step: string | null;
  readonly action: 'replayed' | 'would replay' | 'skipped';
  readonly reason: string | null;
  readonly asset: AssetEffect;
  readonly messageId: string | null;
}

type Stored = Partial<DeadLetterRecord>;

export async function selectDeadLetters(store: DocumentStore, selection: ReplaySelection): Promise<DocSnapshot<Stored>[]> {
  const { deadLetters } = collections;
  if (selection.id !== undefined) {
    // The id as listed (already encoded), or the readable `<subscription>:<event id>` it encodes.
    for (const id of new Set([selection.id, documentId(selection.id)])) {
      if (id.includes('/')) continue;
      const path = `${deadLetters.path()}/${id}`;
      const data = await store.get<Stored>(path);
      if (data) return [{ id, path, data }];
    }
    return [];
  }
  const records = await store.list<Stored>(deadLetters.path(), deadLetters.queries.newestFirst.query({}, { limit: MAX_SCANNED_RECORDS }));
  return records
    .filter(({ data }) => selection.function === undefined || functionOfSubscription(data.sourceSubscription ?? '') === selection.function)
    .filter(({ data }) => selection.since === undefined || (data.deadLetteredAt !== undefined && data.deadLetteredAt >= selection.since))
    .reverse(); // replayed in the order they died
}

export async function replayDeadLetters(ports: ReplayPorts, selection: ReplaySelection, options: ReplayOptions): Promise<ReplayResult[]> {
  const results: ReplayResult[] = [];
  for (const record of await selectDeadLetters(ports.store, selection)) results.push(await replayOne(ports, record, options));
  return results;
}

async function replayOne(ports: ReplayPorts, { id, path, data: record }: DocSnapshot<Stored>, options: ReplayOptions): Promise<ReplayResult> {
  const base = { id, sourceSubscription: record.sourceSubscription ?? '', assetId: record.assetId ?? null, step: record.step ?? null };
  const skipped = (reason: string, asset: AssetEffect = 'none'): ReplayResult => ({ ...base, action: 'skipped', reason, asset, messageId: null });
  const notReplayable = whyNotReplayable(record);
  const data = payloadOf(record);
  const attributes = attributesOf(record);
  if (notReplayable !== undefined || !data || !attributes || !record.topic) return skipped(notReplayable ?? 'the record does not hold the message whole');
  if (record.status === 'REPLAYED' && !options.force) {
    const last = record.replays?.at(-1);
    return skipped(
      `already replayed${record.replayCount ? ` ${record.replayCount}×` : ''}${last ? `, last at ${last.at.toISOString()} by ${last.by}` : ''}; --force replays it again`,
    );
  }
  const replay = { step: record.step ?? '', deadLetterId: id, by: options.by };
  let effect: AssetEffect = 'none';
  if (record.assetId && record.step) {
    const assetPath = collections.assets.doc(record.assetId);
    const asset = await ports.store.get<AssetDoc>(assetPath);
    // No asset: a dead upload notification whose asset could not be created; the replayed one creates it.
    if (asset) {
      const preview = applyReplay(asset, replay, ports.clock.now());
      if (preview.note === 'refused') return skipped(preview.reason);
      effect = effectOf(preview);
      if (effect === 'ready' && !options.force) return skipped('its asset is READY already', effect);
      if (!options.dryRun && effect === 'reopened') effect = await reopen(ports, record.assetId, replay);
    }
  }
  if (options.dryRun) return { ...base, action: 'would replay', reason: null, asset: effect, messageId: null };
  // The edge's note of the dead message's attempts: on push deliveries it numbers the attempts, and the replay's count from 1.
  if (record.sourceSubscription && record.eventId)
    await ports.store.delete(collections.failures.doc(functionOfSubscription(record.sourceSubscription), record.eventId));
  const number = (record.replayCount ?? 0) + 1;
  const messageId = await ports.bus.publish(record.topic, { data, attributes: { ...attributes, [REPLAY_ATTRIBUTE]: String(number) } });
  await recordReplay(ports, path, { at: ports.clock.now(), by: options.by, messageId, reopened: effect === 'reopened', forced: record.status === 'REPLAYED' });
  return { ...base, action: 'replayed', reason: null, asset: effect, messageId };
}

function effectOf(decision: ReplayDecision): AssetEffect {
  switch (decision.note) {
    case 'applied':
      return 'reopened';
    case 'duplicate':
      return 'open';
    case 'late':
      return 'ready';
    default:
      return 'none';
  }
}

/** The re-opening, committed before the message is published again, with what it queues staged in the outbox. */
async function reopen(ports: ReplayPorts, assetId: string, replay: { step: string; deadLetterId: string; by: string }): Promise<AssetEffect> {
  const path = collections.assets.doc(assetId);
  return ports.store.runTransaction(async (tx) => {
    const asset = await tx.get<AssetDoc>(path);
    if (!asset) return 'none';
    const now = ports.clock.now();
    const decision = applyReplay(asset, replay, now);
    if (decision.note !== 'applied') return decision.note === 'refused' ? 'none' : effectOf(decision);
    tx.set(path, decision.asset);
    stageEmissions(tx, assetId, decision.emissions, now);
    return 'reopened';
  });
}

async function recordReplay(ports: ReplayPorts, path: string, entry: ReplayEntry): Promise<void> {
  await ports.store.runTransaction(async (tx) => {
    const record = await tx.get<Stored>(path);
    if (!record) return;
    const replays = [...(record.replays ?? []), entry].slice(-MAX_REPLAY_ENTRIES);
    tx.set(path, { ...record, status: 'REPLAYED', replayCount: (record.replayCount ?? 0) + 1, replays });
  });
}

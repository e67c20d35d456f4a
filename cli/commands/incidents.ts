/**
 * `mediaflow dead-letters` and `mediaflow rejections`: the two places a message can end without an asset
 * reaching READY on its own. Both are documents, so ops see the same lists in the Firestore console.
 */
import type { DeadLetterRecord } from '../../functions/deadletter/run.ts';
import { collections } from '../../shared/domain/collections.ts';
import { terminalWidth } from '../terminal-text.ts';
import { table, tableMessage } from '../view.ts';
import { withStateStore } from './status.ts';

export interface ListOptions {
  readonly out?: string;
  readonly json: boolean;
  readonly limit: number;
}

type RejectionRecord = {
  function: string;
  messageId: string;
  eventType: string | null;
  reason: string;
  errors: { path: string; message: string }[];
  receivedAt: Date;
};

export async function deadLettersCommand(options: ListOptions): Promise<number> {
  return withStateStore(options.out, async (store) => {
    const { deadLetters } = collections;
    const records = await store.list<DeadLetterRecord>(deadLetters.path(), deadLetters.queries.newestFirst.query({}, { limit: options.limit }));
    if (options.json) {
      for (const record of records) process.stdout.write(`${JSON.stringify({ id: record.id, ...record.data })}\n`);
      return 0;
    }
    const rows = records.map(({ data }) => [
      data.deadLetteredAt.toISOString(),
      data.sourceSubscription,
      data.subject ?? data.eventId,
      String(data.deliveryCount),
      // Records written before replay existed have no count.
      data.replayCount ? `${data.status} ×${data.replayCount}` : data.status,
      tableMessage(data.lastError ?? ''),
    ]);
    process.stdout.write(
      `${table(['dead-lettered', 'subscription', 'asset / event', 'attempts', 'status', 'last error'], rows, { width: terminalWidth(), nameColumn: 2 })}\n`,
    );
    return 0;
  });
}

export async function rejectionsCommand(options: ListOptions): Promise<number> {
  return withStateStore(options.out, async (store) => {
    const { rejections } = collections;
    const records = await store.list<RejectionRecord>(rejections.path(), rejections.queries.newestFirst.query({}, { limit: options.limit }));
    if (options.json) {
      for (const record of records) process.stdout.write(`${JSON.stringify({ id: record.id, ...record.data })}\n`);
      return 0;
    }
    const rows = records.map(({ data }) => [
      data.receivedAt.toISOString(),
      data.function,
      data.eventType ?? '-',
      data.reason,
      tableMessage(data.errors.map((error) => `${error.path} ${error.message}`.trim()).join('; ')),
    ]);
    process.stdout.write(`${table(['received', 'function', 'type', 'reason', 'errors'], rows, { width: terminalWidth() })}\n`);
    return 0;
  });
}

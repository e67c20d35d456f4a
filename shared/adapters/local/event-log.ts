/**
 * The embedded runtime's stand-in for a partner subscribed to the asset-events topic: every event delivered there
 * is appended to a JSON Lines file, so a local user (or a test) sees what partners would receive. Delivery is
 * at least once, as on Pub/Sub: after a crash the same event id can appear twice, and readers dedupe on `id`.
 */
import { appendFile, mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import type { Delivery } from '../../ports/bus.ts';

export interface LoggedEvent {
  readonly id: string;
  readonly type: string;
  readonly subject: string | null;
  readonly time: string | null;
  readonly deliveredAt: string;
  readonly data: unknown;
}

/** Binary-mode CloudEvents over the bus: the context is in `ce-*` attributes, the data is the JSON body. */
export function loggedEvent(delivery: Delivery, deliveredAt: Date): LoggedEvent {
  const attribute = (name: string): string | null => delivery.attributes[`ce-${name}`] ?? null;
  let data: unknown;
  try {
    data = JSON.parse(delivery.data.toString('utf8'));
  } catch {
    data = delivery.data.toString('base64');
  }
  return {
    id: attribute('id') ?? delivery.messageId,
    type: attribute('type') ?? 'unknown',
    subject: attribute('subject'),
    time: attribute('time'),
    deliveredAt: deliveredAt.toISOString(),
    data,
  };
}

export async function appendEvent(file: string, event: LoggedEvent): Promise<void> {
  await mkdir(dirname(file), { recursive: true });
  await appendFile(file, `${JSON.stringify(event)}\n`);
}

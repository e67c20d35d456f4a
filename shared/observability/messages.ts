/**
 * One named helper per log message, so every message has one wording, one severity and one set of fields,
 * and a search in Cloud Logging for a message finds every place that can emit it.
 */
import { errorMessage } from '../errors.ts';
import type { Logger } from './log.ts';

export const logs = {
  eventRejected: (log: Logger, fn: string, messageId: string, reason: string, issues: string, issueCount: number) =>
    log.warn('event rejected and acked; it will not be retried', { function: fn, messageId, reason, issues, issueCount }),
  deliveryIgnored: (log: Logger, reason: string) => log.debug('delivery ignored', { reason }),
  watchdogActed: (log: Logger, assetId: string, stuckSteps: readonly string[], status: string) =>
    log.warn('watchdog repaired an asset whose work went missing', { assetId, stuckSteps: stuckSteps.join(','), status }),
  watchdogFlushedOutbox: (log: Logger, assetId: string) => log.warn('watchdog flushed an outbox its delivery never flushed', { assetId }),
  watchdogReconciled: (log: Logger, sinceHours: number, missing: number, published: number) =>
    log.info('watchdog reconciled the ingest bucket', { sinceHours, missing, published }),
  watchdogSwept: (log: Logger, report: { outboxFlushed: number; redriven: number; failed: number; reevaluated: number; reprocessRuns: number }) =>
    log.info('watchdog sweep done', { ...report }),
  messagesRecovered: (log: Logger, messages: number) => log.info('redelivering messages a previous process left undelivered', { messages }),
  deliveryHandled: (log: Logger, outcome: string) => log.debug('delivery handled', { outcome }),
  deliveryWillRetry: (log: Logger, error: unknown) => log.warn('transient failure; the message will be redelivered', { error: errorMessage(error) }),
  failureNotRecorded: (log: Logger, error: unknown) => log.error('could not record a transient failure', { error: errorMessage(error) }),
  assetReceived: (log: Logger, assetId: string, via: string) => log.info('asset received', { assetId, via }),
  assetDuplicate: (log: Logger, assetId: string, status: string) => log.info('duplicate ingest event; asset already exists', { assetId, status }),
  staleGeneration: (log: Logger, assetId: string, latest: string) =>
    log.info('ignored an event for an older object generation', { assetId, latestGeneration: latest }),
  loopGuard: (log: Logger, uri: string, reason: string) => log.debug('not processing this object', { uri, reason }),
  idempotencyKeyReused: (log: Logger, assetId: string, uri: string) =>
    log.warn('idempotency key reused for a different source; kept the first', { assetId, uri }),
  probeFailed: (log: Logger, assetId: string, code: string, message: string) => log.warn('probe failed permanently', { assetId, code, message }),
  stepResultRecorded: (log: Logger, assetId: string, step: string, note: string) => log.info('step result recorded', { assetId, step, note }),
  shardRecorded: (log: Logger, assetId: string, step: string, done: number, total: number) =>
    log.debug('shard result recorded', { assetId, step, done, total }),
  assetSettled: (log: Logger, assetId: string, status: string) => log.info('asset settled', { assetId, status }),
  workStarted: (log: Logger, orderId: string) => log.debug('work order started', { orderId }),
  workFailedPermanently: (log: Logger, orderId: string, code: string, message: string) => log.warn('work order failed permanently', { orderId, code, message }),
  outboundEventRefused: (log: Logger, assetId: string, emissionId: string, reason: string) =>
    log.error('an outbound event failed its schema and was not published; this is a mediaflow bug', { assetId, emissionId, reason }),
  decisionForced: (log: Logger, assetId: string, step: string, code: string, message: string) =>
    log.error('a step result could not be applied; the asset was failed instead of retried', { assetId, step, code, message }),
  deadLetterRecorded: (log: Logger, subscription: string, eventId: string, deliveryCount: string) =>
    log.error('message dead-lettered', { subscription, eventId, deliveryCount }),
} as const;

/**
 * The edge every function shares: decode the delivery, validate it against its schema, run the function, and
 * map the result onto Pub/Sub semantics. Resolve = ack (success, duplicate, ignored, rejected, permanent failure);
 * throw = nack (transient), so the bus redelivers with backoff and finally dead-letters.
 */
import { formatIssues, type CloudEvent, type ValidationIssue } from '../../events/catalog.ts';
import { createHash } from 'node:crypto';
import { collections } from '../domain/collections.ts';
import { boundMetadata, cleanText, firstOf, MAX_ID_BYTES } from '../domain/bounded.ts';
import { errorMessage, isPermanent } from '../errors.ts';
import type { Logger } from '../observability/log.ts';
import { logs } from '../observability/messages.ts';
import type { Delivery } from '../ports/bus.ts';
import { decodeDelivery } from './decode.ts';
import type { FunctionNeeds } from './needs.ts';
import type { Deps } from './deps.ts';

export type Outcome = 'done' | 'duplicate' | 'ignored' | 'rejected' | 'failed';

export interface InvocationContext {
  readonly delivery: Delivery;
  readonly log: Logger;
}

export interface FunctionDefinition {
  readonly name: string;
  readonly needs: FunctionNeeds;
  handle(delivery: Delivery, deps: Deps): Promise<Outcome>;
}

export interface EventFunctionSpec {
  readonly name: string;
  readonly needs: FunctionNeeds;
  accepts(type: string): boolean;
  /** Type given to a bare JSON payload with no CloudEvents attributes, where the topic implies one. */
  defaultType?(delivery: Delivery, deps: Deps): string | undefined;
  run(event: CloudEvent<unknown>, context: InvocationContext, deps: Deps): Promise<Outcome>;
}

/** How long Firestore keeps these records (a TTL policy on `expireAt`): long enough for ops to look, not forever. */
export const FAILURE_RECORD_TTL_MS = 7 * 24 * 3600_000;
export const REJECTION_RECORD_TTL_MS = 30 * 24 * 3600_000;
/** Preview of a rejected payload kept for ops; enough to recognise it, small enough for a document. */
const REJECTED_PAYLOAD_PREVIEW_BYTES = 4096;
const FAILURE_MESSAGE_LIMIT = 2000;
/** Validation issues kept per rejection, and their text; the count of all of them is kept beside. */
const MAX_RECORDED_ISSUES = 20;
const MAX_ISSUE_BYTES = 500;
const MAX_LOGGED_ISSUES = 5;

export function eventFunction(spec: EventFunctionSpec): FunctionDefinition {
  return {
    name: spec.name,
    needs: spec.needs,
    async handle(received, deps) {
      const decoded = decodeDelivery(received, spec.defaultType?.(received, deps));
      const delivery = decoded.status === 'event' ? await withKnownAttempt(spec.name, decoded.event.id, received, deps) : received;
      const log = deps.log.child({ function: spec.name, messageId: delivery.messageId, attempt: delivery.deliveryAttempt });
      if (decoded.status === 'ignored') {
        logs.deliveryIgnored(log, decoded.reason);
        return 'ignored';
      }
      if (decoded.status === 'invalid') {
        await recordRejection(spec.name, delivery, deps, {
          reason: 'INVALID_EVENT',
          eventId: null,
          type: null,
          issues: [{ path: '', message: decoded.reason }],
        });
        return 'rejected';
      }
      const raw = decoded.event;
      const validated = spec.accepts(raw.type)
        ? deps.validator.validate(raw.type, raw.data)
        : { ok: false as const, issues: [{ path: '', message: `function '${spec.name}' does not accept events of type '${raw.type}'` }] };
      if (!validated.ok) {
        await recordRejection(spec.name, delivery, deps, { reason: 'INVALID_EVENT', eventId: raw.id, type: raw.type, issues: validated.issues });
        return 'rejected';
      }
      const event: CloudEvent<unknown> = Object.freeze({ specversion: '1.0', ...raw, data: validated.value });
      const context: InvocationContext = { delivery, log: log.child({ eventId: event.id, eventType: event.type }) };
      try {
        const outcome = await spec.run(event, context, deps);
        logs.deliveryHandled(context.log, outcome);
        return outcome;
      } catch (error) {
        if (isPermanent(error)) {
          // A permanent fault the function did not turn into a step result itself: ack, and leave a readable trace.
          await recordRejection(spec.name, delivery, deps, {
            reason: error.code,
            eventId: event.id,
            type: event.type,
            issues: [{ path: '', message: error.message }],
          });
          return 'failed';
        }
        await recordTransientFailure(spec.name, event, delivery, deps, error);
        logs.deliveryWillRetry(context.log, error);
        throw error;
      }
    },
  };
}

/**
 * Push deliveries through the framework (and the emulator) do not say which attempt they are. The edge's own
 * record of the last transient failure does: one read, only when the transport left the count out.
 */
async function withKnownAttempt(functionName: string, eventId: string, delivery: Delivery, deps: Deps): Promise<Delivery> {
  if (delivery.deliveryAttempt > 0) return delivery;
  const previous = await deps.store.get<{ attempt: number }>(failurePath(functionName, eventId));
  return { ...delivery, deliveryAttempt: (previous?.attempt ?? 0) + 1 };
}

/** Where the edge records a transient fault, so the dead-letter handler can say what the last error was. */
export function failurePath(functionName: string, eventId: string): string {
  return collections.failures.doc(functionName, eventId);
}

async function recordTransientFailure(functionName: string, event: CloudEvent<unknown>, delivery: Delivery, deps: Deps, error: unknown): Promise<void> {
  const now = deps.clock.now();
  try {
    await deps.store.set(failurePath(functionName, event.id), {
      function: functionName,
      eventId: event.id,
      eventType: event.type,
      subject: event.subject === undefined ? null : cleanText(event.subject, MAX_ID_BYTES),
      // A bare partner payload's id is its Pub/Sub message id, which the dead-letter copy does not keep: the
      // dead-letter handler finds this record by the payload's hash instead.
      payloadSha256: payloadHash(delivery.data),
      attempt: delivery.deliveryAttempt,
      message: cleanText(errorMessage(error), FAILURE_MESSAGE_LIMIT),
      at: now,
      expireAt: new Date(now.getTime() + FAILURE_RECORD_TTL_MS),
    });
  } catch (recordError) {
    // The retry matters more than the note about it; never let the note turn into the failure.
    logs.failureNotRecorded(deps.log, recordError);
  }
}

export function payloadHash(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/**
 * Acks-with-a-trace: what every edge (the event edge here, the HTTP guard in front of the framework) writes for
 * input it refuses. Everything in it is bounded, so a 2 MB object name or 100,000 validation errors still make a
 * record of a few KiB that Firestore accepts, and the refusal is not turned into a retry by its own record.
 */
export async function recordRejection(
  functionName: string,
  delivery: Delivery,
  deps: Deps,
  details: { reason: string; eventId: string | null; type: string | null; issues: readonly ValidationIssue[] },
): Promise<void> {
  const path = collections.rejections.doc(functionName, cleanText(delivery.messageId, MAX_ID_BYTES));
  const now = deps.clock.now();
  const errors = firstOf(details.issues, MAX_RECORDED_ISSUES);
  const attributes = boundMetadata(delivery.attributes);
  await deps.store.create(path, {
    function: functionName,
    subscription: cleanText(delivery.subscription, MAX_ID_BYTES),
    topic: cleanText(delivery.topic, MAX_ID_BYTES),
    messageId: cleanText(delivery.messageId, MAX_ID_BYTES),
    eventId: details.eventId === null ? null : cleanText(details.eventId, MAX_ID_BYTES),
    eventType: details.type === null ? null : cleanText(details.type, MAX_ID_BYTES),
    reason: details.reason,
    errors: errors.items.map((issue) => ({ path: cleanText(issue.path, MAX_ISSUE_BYTES), message: cleanText(issue.message, MAX_ISSUE_BYTES) })),
    errorCount: errors.total,
    attributes: attributes.entries,
    payloadPreview: cleanText(delivery.data.subarray(0, REJECTED_PAYLOAD_PREVIEW_BYTES).toString('utf8'), REJECTED_PAYLOAD_PREVIEW_BYTES),
    payloadBytes: delivery.data.length,
    receivedAt: now,
    expireAt: new Date(now.getTime() + REJECTION_RECORD_TTL_MS),
  });
  logs.eventRejected(deps.log, functionName, delivery.messageId, details.reason, formatIssues(errors.items.slice(0, MAX_LOGGED_ISSUES)), errors.total);
}

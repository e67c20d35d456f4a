/**
 * The HTTP edge in front of functions-framework's own parsers. Pub/Sub redelivers every non-2xx answer, so a
 * body nobody can ever read must be acked, with a rejection record, never answered 4xx (the framework's body
 * parser says 400 to bad JSON) or 500 (its middleware throws a TypeError on bodies that are not objects).
 * The guard reads the body itself, bounded, and either refuses it here or hands the parsed object to the
 * framework's app, with a `next` that catches whatever the framework still cannot turn into a CloudEvent.
 * Only our own transient faults answer 500: the function throwing (the framework's answer), or the store
 * failing to take the rejection record (ours).
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, RequestListener, ServerResponse } from 'node:http';
import type { ValidationIssue } from '../../events/catalog.ts';
import { errorMessage } from '../errors.ts';
import { createLogger, type Logger } from '../observability/log.ts';
import type { Delivery } from '../ports/bus.ts';
import type { Deps } from './deps.ts';
import { recordRejection } from './handler.ts';

/**
 * The largest body the edge reads into memory. Mediaflow's events are metadata (an object resource, a partner
 * request: a few KiB); 1 MiB leaves ample room and keeps a Cloud Run instance's concurrent requests in bounds.
 * A larger body is drained without being kept and is refused.
 */
export const MAX_BODY_BYTES = 1024 * 1024;
/** What a refused body's delivery keeps: enough to recognise it (the rejection record's preview is as long). */
export const REFUSED_BODY_BYTES = 4096;
/** Refused HTTP requests are recorded as if delivered on this subscription. */
export const HTTP_SUBSCRIPTION = 'http';
const MESSAGE_ID_HEX_CHARS = 32;
const NO_CONTENT = 204;
const INTERNAL_ERROR = 500;
/** The framework's header on an answer to a failed execution; ours says the same when the record cannot be written. */
const FUNCTION_STATUS_HEADER = 'x-google-status';
/** Pub/Sub push and Eventarc always POST; the framework routes nothing else to a CloudEvent function. */
const ACCEPTED_METHOD = 'POST';

export interface GuardTarget {
  readonly name: string;
  readonly deps: () => Promise<Deps>;
}

/** An express app called with `next`: errors and unrouted requests come back to the caller, not to finalhandler. */
export type FrameworkApp = (req: IncomingMessage, res: ServerResponse, next: (error?: unknown) => void) => void;

interface ReceivedBody {
  /** The whole body when within MAX_BODY_BYTES; otherwise only its first REFUSED_BODY_BYTES. */
  readonly bytes: Buffer;
  readonly size: number;
  readonly overflow: boolean;
  /**
   * sha256 over method, content type, ce-id (a binary-mode event's identity is in its headers) and every byte,
   * so the same garbage redelivered is the same message, and two events with the same bad data are two.
   */
  readonly digest: string;
}

type Verdict = { readonly accepted: true; readonly body: object } | { readonly accepted: false; readonly problem: string };

/** The request listener that replaces the framework's app as the server's `request` handler. */
export function httpGuard(target: GuardTarget, app: FrameworkApp): RequestListener {
  return (req, res) => {
    void guardRequest(req, res, target, app);
  };
}

async function guardRequest(req: IncomingMessage, res: ServerResponse, target: GuardTarget, app: FrameworkApp): Promise<void> {
  let received: ReceivedBody;
  try {
    received = await readBody(req);
  } catch {
    // The client went away mid-body: there is no one left to answer, and Pub/Sub will redeliver.
    res.destroy();
    return;
  }
  const verdict = judge(req.method ?? '', req.headers, received);
  if (!verdict.accepted) {
    await refuse(req, res, target, received, verdict.problem);
    return;
  }
  // The stream is consumed, so the framework's body parsers see a finished request and leave req.body as set here.
  Object.assign(req, { body: verdict.body, rawBody: received.bytes });
  app(req, res, (error?: unknown) => {
    const problem =
      error === undefined
        ? 'functions-framework routed the request nowhere'
        : `functions-framework could not turn the body into a CloudEvent: ${errorMessage(error)}`;
    void refuse(req, res, target, received, problem);
  });
}

async function readBody(req: IncomingMessage): Promise<ReceivedBody> {
  const { method = '', headers } = req;
  const hash = createHash('sha256').update(`${method}\n${headers['content-type'] ?? ''}\n${header(headers['ce-id']) ?? ''}\n`);
  const chunks: Buffer[] = [];
  let size = 0;
  let overflow = false;
  for await (const chunk of req as AsyncIterable<Buffer>) {
    hash.update(chunk);
    size += chunk.length;
    if (overflow) continue;
    if (size > MAX_BODY_BYTES) {
      // From here on only the hash and the count grow: keep a copy of the head and let the rest go.
      overflow = true;
      const head = Buffer.from(Buffer.concat([...chunks, chunk]).subarray(0, REFUSED_BODY_BYTES));
      chunks.splice(0, chunks.length, head);
      continue;
    }
    chunks.push(chunk);
  }
  return { bytes: Buffer.concat(chunks), size, overflow, digest: hash.digest('hex') };
}

/**
 * The content type is not a reason to refuse a body that is a JSON object: Pub/Sub and Eventarc always send
 * application/json (or application/cloudevents+json), so a valid push under another label is processed as if
 * labelled right; only a body that is not JSON at all, under a non-JSON type, has its type named as the problem.
 * In binary mode the body is the event's data, and every event mediaflow accepts carries an object there too.
 */
function judge(method: string, headers: IncomingHttpHeaders, received: ReceivedBody): Verdict {
  if (method !== ACCEPTED_METHOD) return refused(`method ${method} is not accepted: Pub/Sub and Eventarc POST`);
  if (received.overflow) return refused(`body of ${received.size} bytes is over the ${MAX_BODY_BYTES}-byte limit`);
  const encoding = headers['content-encoding'];
  if (encoding !== undefined && encoding !== 'identity') return refused(`content-encoding ${encoding} is not accepted: Pub/Sub and Eventarc send plain JSON`);
  if (received.size === 0) return refused('body is empty: Pub/Sub and Eventarc send a JSON object');
  let parsed: unknown;
  try {
    parsed = JSON.parse(received.bytes.toString('utf8'));
  } catch (error) {
    const type = mediaType(headers['content-type']);
    return refused(isJson(type) ? `body is not JSON: ${errorMessage(error)}` : `content-type ${type || '(none)'} is not accepted: send application/json`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    return refused(`body is ${kindOf(parsed)}, not a JSON object: Pub/Sub and Eventarc send an object`);
  return { accepted: true, body: parsed };
}

function refused(problem: string): Verdict {
  return { accepted: false, problem };
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';')[0]?.trim().toLowerCase() ?? '';
}

function isJson(type: string): boolean {
  return type === 'application/json' || type.endsWith('+json');
}

function kindOf(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'an array';
  return `a ${typeof value}`;
}

async function refuse(req: IncomingMessage, res: ServerResponse, target: GuardTarget, received: ReceivedBody, problem: string): Promise<void> {
  if (res.headersSent) return;
  let log: Logger | undefined;
  try {
    const deps = await target.deps();
    log = deps.log;
    await recordRejection(target.name, refusedDelivery(req, received, deps.clock.now()), deps, {
      reason: 'INVALID_EVENT',
      eventId: header(req.headers['ce-id']),
      type: header(req.headers['ce-type']),
      issues: [{ path: '', message: problem } satisfies ValidationIssue],
    });
    res.writeHead(NO_CONTENT).end();
  } catch (error) {
    // Without the record the refusal would leave no trace: answer 500 so the request comes back once the store does.
    (log ?? createLogger('error')).error('could not record a refused HTTP request; answering 500 so it is redelivered', {
      function: target.name,
      messageId: refusedMessageId(received),
      error: errorMessage(error),
    });
    res.writeHead(INTERNAL_ERROR, { [FUNCTION_STATUS_HEADER]: 'error' }).end();
  }
}

function refusedMessageId(received: ReceivedBody): string {
  return `http-${received.digest.slice(0, MESSAGE_ID_HEX_CHARS)}`;
}

function refusedDelivery(req: IncomingMessage, received: ReceivedBody, now: Date): Delivery {
  const contentType = req.headers['content-type'];
  return {
    messageId: refusedMessageId(received),
    publishTime: now,
    data: received.bytes.subarray(0, REFUSED_BODY_BYTES),
    attributes: {
      'http-method': req.method ?? '',
      ...(contentType === undefined ? {} : { 'content-type': contentType }),
      'body-bytes': String(received.size),
    },
    deliveryAttempt: 0,
    subscription: HTTP_SUBSCRIPTION,
    topic: topicOfPushPath(req.url ?? ''),
  };
}

/** The framework's own rule (pubsub_middleware.js): the push endpoint's path names the topic as projects/P/topics/T. */
export function topicOfPushPath(url: string): string {
  return /projects\/[^/?]+\/topics\/([^/?]+)/.exec(url)?.[1] ?? '';
}

function header(value: string | string[] | undefined): string | null {
  return typeof value === 'string' && value !== '' ? value : null;
}

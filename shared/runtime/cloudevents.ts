/**
 * CloudEvents on Pub/Sub. The CloudEvents SDK (`cloudevents`) builds and validates the events and serializes
 * them in HTTP binary mode; what it lacks is the Pub/Sub protocol binding, which is all this module adds:
 *  - binary mode: the context attributes as `ce-*` message attributes (the SDK's HTTP binary-mode header names,
 *    which the Pub/Sub binding shares), `content-type` for datacontenttype, and the data as the message body;
 *  - structured mode: the whole event as the JSON body, flagged by `content-type: application/cloudevents+json`,
 *    or (partners and Eventarc replays that drop the attribute) recognised by its shape.
 *
 * Reading uses the SDK as the validator, not its HTTP deserializer (HTTP.toEvent), which is lenient where this
 * edge must refuse and lossy where it must keep the value (evidence in docs/design/libraries.md):
 *  - it wraps data that is not JSON in quotes (`partner=acme` becomes the string "partner=acme");
 *  - it takes a missing ce-specversion for 1.0, accepts 0.3, and never validates any other version ("2.0");
 *  - it invents a random id when ce-id is missing, so a redelivery would no longer be the same event;
 *  - it replaces an unparseable time with the current time, and cuts Eventarc's microseconds to milliseconds;
 *  - it turns structured `data_base64` into a Uint32Array of the bytes.
 * So decode.ts keeps those checks, and the context this module hands the SDK is the one received, unchanged.
 */
import { CloudEvent, HTTP } from 'cloudevents';
import type { OutgoingMessage } from '../ports/bus.ts';

/** The only CloudEvents version mediaflow speaks; the SDK also accepts 0.3, and validates no other. */
export const SPEC_VERSION = '1.0';
export const STRUCTURED_CONTENT_TYPE = 'application/cloudevents+json';
const JSON_CONTENT_TYPE = 'application/json';
const ATTRIBUTE_PREFIX = 'ce-';
/** The Pub/Sub attribute that carries datacontenttype in binary mode, as the HTTP header does. */
const CONTENT_TYPE_ATTRIBUTE = 'content-type';

export interface OutgoingEvent {
  readonly type: string;
  readonly id: string;
  /** Which function published it, as a URI reference: `//mediaflow/<function>`. */
  readonly source: string;
  readonly subject?: string;
  readonly time: Date;
  readonly data: unknown;
}

/**
 * The event as a Pub/Sub message in binary mode. The SDK validates it (a bad source or time fails here, in
 * the publisher, not in every subscriber) and names its attributes; the body is the data as JSON text, also
 * when the data is a string (the SDK's HTTP body would be the bare string, which no subscriber could parse).
 */
export function binaryMessage(event: OutgoingEvent): OutgoingMessage {
  const cloudEvent = new CloudEvent<unknown>({
    specversion: SPEC_VERSION,
    type: event.type,
    id: event.id,
    source: event.source,
    time: event.time.toISOString(),
    ...(event.subject ? { subject: event.subject } : {}),
    datacontenttype: JSON_CONTENT_TYPE,
    data: event.data,
  });
  return { data: Buffer.from(JSON.stringify(event.data)), attributes: binaryAttributes(cloudEvent) };
}

/**
 * The binding's attribute set: the SDK's HTTP binary-mode headers, which the Pub/Sub binding names the same
 * (`ce-<attribute>`, and `content-type` for datacontenttype); Pub/Sub attributes are strings, as the headers are.
 */
function binaryAttributes(event: CloudEvent<unknown>): Record<string, string> {
  const attributes: Record<string, string> = {};
  for (const [name, value] of Object.entries(HTTP.binary(event).headers)) {
    if (typeof value === 'string') attributes[name] = value;
  }
  return attributes;
}

/** Binary mode is recognised by ce-type, as before: a message that names its type wants to be read as an event. */
export function isBinaryMode(attributes: Readonly<Record<string, string>>): boolean {
  return attributes[`${ATTRIBUTE_PREFIX}type`] !== undefined;
}

/** Structured mode: flagged by its content type (any parameters allowed), or a JSON object with specversion and type. */
export function isStructuredMode(attributes: Readonly<Record<string, string>>, data: unknown): boolean {
  return (attributes[CONTENT_TYPE_ATTRIBUTE] ?? '').startsWith(STRUCTURED_CONTENT_TYPE) || looksStructured(data);
}

function looksStructured(data: unknown): boolean {
  if (!data || typeof data !== 'object' || Array.isArray(data)) return false;
  // Not 'id': a structured event that lacks one should be told so, not mistaken for a bare payload.
  return 'specversion' in data && 'type' in data;
}

/** A binary-mode message's context: every `ce-*` attribute without its prefix, and content-type as datacontenttype. */
export function binaryContext(attributes: Readonly<Record<string, string>>): Record<string, string> {
  const context: Record<string, string> = {};
  for (const [name, value] of Object.entries(attributes)) {
    if (name.startsWith(ATTRIBUTE_PREFIX)) context[name.slice(ATTRIBUTE_PREFIX.length)] = value;
  }
  const contentType = attributes[CONTENT_TYPE_ATTRIBUTE];
  if (contentType !== undefined) context.datacontenttype = contentType;
  return context;
}

/**
 * Whether the SDK finds the event valid (CloudEvents 1.0's JSON schema: non-empty strings, source a URI
 * reference, time RFC 3339, dataschema a URI, attribute names [a-z0-9]); the problem as text when not.
 * Everything the SDK throws is a problem with the event: a structured body is arbitrary JSON, and some keys
 * (`validate`, say) make the SDK's own object throw a TypeError rather than a ValidationError.
 */
export function cloudEventProblem(context: Readonly<Record<string, unknown>>, data: unknown): string | undefined {
  try {
    new CloudEvent<unknown>({ ...context, data }, true);
    return undefined;
  } catch (error) {
    return `CloudEvent is not valid: ${describe(error)}`;
  }
}

interface SchemaError {
  readonly instancePath?: string;
  readonly message?: string;
}

function describe(error: unknown): string {
  const schemaErrors = (error as { errors?: unknown }).errors;
  if (Array.isArray(schemaErrors) && schemaErrors.length > 0) {
    return (schemaErrors as SchemaError[]).map((issue) => `${issue.instancePath || '/'} ${issue.message ?? 'is invalid'}`).join('; ');
  }
  // The SDK's own messages run on over several lines of spec prose; the first names the fault.
  const message = error instanceof Error ? error.message : String(error);
  return message.split('\n')[0] ?? message;
}

/** What a dead-letter record keeps of a dead message, so a replay publishes it exactly as it was first published. */
import { describe, expect, it } from 'vitest';
import {
  attributesOf,
  PAYLOAD_LIMIT_BYTES,
  PAYLOAD_PREVIEW_BYTES,
  payloadOf,
  REPLAY_ATTRIBUTE,
  storedAttributes,
  storedPayload,
  topicOfSubscription,
  whyNotReplayable,
  type DeadLetterRecord,
} from '../../functions/deadletter/record.ts';
import { DeadLetterAttribute } from '../../shared/ports/bus.ts';

describe('the payload', () => {
  it('keeps UTF-8 text as text, whole, and reads it back to the same bytes', () => {
    const data = Buffer.from(JSON.stringify({ name: 'café ☕ 🎬', n: 1 }), 'utf8');
    const stored = storedPayload(data);
    expect(stored).toMatchObject({ payloadEncoding: 'utf8', payloadComplete: true, payloadBytes: data.length });
    expect(payloadOf(stored)?.equals(data)).toBe(true);
  });

  it.each([
    ['invalid UTF-8', Buffer.from([0x7b, 0xff, 0xfe, 0x7d])],
    ['a NUL byte', Buffer.from('a\u0000b', 'utf8')],
  ])('keeps %s as base64, exact', (_case, data) => {
    const stored = storedPayload(data);
    expect(stored.payloadEncoding).toBe('base64');
    expect(payloadOf(stored)?.equals(data)).toBe(true);
  });

  it(`keeps a message over ${PAYLOAD_LIMIT_BYTES} bytes as a preview only, which no replay publishes`, () => {
    const stored = storedPayload(Buffer.alloc(PAYLOAD_LIMIT_BYTES + 1, 'x'));
    expect(stored).toMatchObject({ payloadComplete: false, payloadBytes: PAYLOAD_LIMIT_BYTES + 1 });
    expect(stored.payload.length).toBeLessThanOrEqual(PAYLOAD_PREVIEW_BYTES);
    expect(payloadOf(stored)).toBeUndefined();
    expect(whyNotReplayable({ ...stored, topic: 't', originalAttributes: '{}' })).toContain(`${PAYLOAD_LIMIT_BYTES + 1} bytes`);
  });
});

describe('the attributes', () => {
  it('keeps the published ones exactly, without what dead-lettering, the client library or an earlier replay added', () => {
    const published = { 'ce-id': 'x', 'ce-type': 't', 'ce-subject': 'a\u0007b', objectGeneration: '12' };
    const stored = storedAttributes({
      ...published,
      [DeadLetterAttribute.sourceSubscription]: 'checksum--mediaflow-work-checksum',
      [DeadLetterAttribute.sourceDeliveryCount]: '5',
      [REPLAY_ATTRIBUTE]: '2',
      googclient_OpenTelemetrySpanContext: 'span',
    });
    expect(attributesOf({ originalAttributes: stored })).toEqual(published);
  });
});

describe('the topic', () => {
  it.each([
    ['checksum--mediaflow-work-checksum', 'mediaflow-work-checksum'],
    ['projects/p/subscriptions/ingest--mediaflow-uploads', 'mediaflow-uploads'],
    ['unknown', ''],
  ])('%s → %s', (subscription, topic) => {
    expect(topicOfSubscription(subscription)).toBe(topic);
  });
});

describe('whyNotReplayable', () => {
  const whole: Partial<DeadLetterRecord> = { payloadComplete: true, topic: 't', originalAttributes: '{}', notReplayable: null };

  it('a complete record is replayable', () => {
    expect(whyNotReplayable(whole)).toBeUndefined();
  });

  it.each([
    ['recorded before replay existed', { payload: 'x', sourceSubscription: 's' }],
    ['does not name its topic', { ...whole, topic: null, sourceSubscription: 'unknown' }],
    ['attributes were too large', { ...whole, originalAttributes: null }],
    ['a step failure', { ...whole, notReplayable: 'a step failure: replaying it could only fail its asset again' }],
  ] as const)('says why not: %s', (reason, record) => {
    expect(whyNotReplayable(record)).toContain(reason);
  });
});

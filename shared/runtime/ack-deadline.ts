/** A subscription's ack deadline, from the named timeout of the function it feeds. */
/** Pub/Sub's ceiling for an ack deadline (and so for a push request). */
export const MAX_ACK_DEADLINE_SECONDS = 600;
/** Headroom between a handler's own timeout and the deadline, so a timed-out handler still answers before redelivery. */
export const ACK_DEADLINE_MARGIN_SECONDS = 15;

export function ackDeadlineSeconds(timeoutMs: number): number {
  return Math.min(MAX_ACK_DEADLINE_SECONDS, Math.ceil(timeoutMs / 1000) + ACK_DEADLINE_MARGIN_SECONDS);
}

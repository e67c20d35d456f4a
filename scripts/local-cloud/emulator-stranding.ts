/**
 * A minimal reproduction of the Pub/Sub emulator stranding push messages (issue 16), with nothing of mediaflow
 * in the message path: the emulator, `@google-cloud/pubsub`, and a tiny HTTP endpoint that answers 500.
 *
 *   scripts/toolchain.sh node scripts/local-cloud/emulator-stranding.ts [--messages 200] [--fail 5]
 *     [--no-retry-policy | --compare] [--runs 1] [--min-backoff 1] [--max-backoff 5] [--quiet 60]
 *     [--refuse SECONDS] [--delivery push|pull|forward]
 *
 * Per run: a fresh emulator, a topic, a dead-letter topic with a pull subscription that counts what arrives,
 * and a push subscription with a dead-letter policy (maxDeliveryAttempts 5) and, unless --no-retry-policy, a
 * retry policy. The endpoint answers 500 to the first --fail pushes of each message (default 5: every push
 * fails, so every message must be dead-lettered) and 204 after. --messages are published at once. The run ends
 * when every message is accounted for (acked or dead-lettered) or when nothing has happened for --quiet
 * seconds; a message that is neither by then is stranded. --compare runs both settings, one after the other.
 * --refuse N keeps the endpoint closed for the first N seconds (a function being restarted). --delivery pull
 * and forward measure the alternatives (see ScenarioOptions.delivery). With the default push delivery, the only
 * mediaflow code used is the harness that starts the emulator as a process group.
 */
import { PubSub, type Message } from '@google-cloud/pubsub';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import { parseArgs } from 'node:util';
import { freePort, startPubSubEmulator } from './local-cloud.ts';
import { startPushForwarder } from './push-forwarder.ts';

const PROJECT_ID = 'stranding-repro';
const MAX_DELIVERY_ATTEMPTS = 5;
const ACK_DEADLINE_SECONDS = 10;
const POLL_MS = 250;
/** The forwarder's flow control; the emulator's own push has no such knob. */
const FORWARD_CONCURRENCY = 16;
const DELIVERIES = ['push', 'pull', 'forward'] as const;
type Delivery = (typeof DELIVERIES)[number];

export interface ScenarioOptions {
  readonly messages: number;
  /** The endpoint fails this many pushes of each message, then acks; >= MAX_DELIVERY_ATTEMPTS fails them all. */
  readonly fail: number;
  readonly retryPolicy: { readonly minimumBackoffSeconds: number; readonly maximumBackoffSeconds: number } | undefined;
  /** Nothing pushed or dead-lettered for this long, with messages unaccounted for: they are stranded. */
  readonly quietSeconds: number;
  /** The endpoint starts listening only this long after the burst is published (a function being restarted). */
  readonly refuseSeconds: number;
  /** With refuseSeconds: the outage starts this long after publishing instead of at once (in-flight pushes are cut). */
  readonly outageAtSeconds: number;
  /** The endpoint takes this long to answer (a function doing work). */
  readonly delayMs: number;
  /**
   * push: the emulator pushes (the reproduction). pull: a streaming-pull handler acks or nacks, to see whether
   * stranding is push-specific. forward: a pull subscription whose messages the local cloud's push forwarder
   * (push-forwarder.ts, the dev stack's workaround) POSTs to the endpoint; the only mode with mediaflow code.
   */
  readonly delivery: Delivery;
}

export interface ScenarioResult {
  readonly published: number;
  readonly pushes: number;
  readonly acked: number;
  readonly deadLettered: number;
  /** Acked and also dead-lettered, or dead-lettered twice: should be 0. */
  readonly anomalies: number;
  readonly stranded: number;
  /** Pushes the endpoint saw per stranded message → how many messages. */
  readonly strandedAfter: ReadonlyMap<number, number>;
  /** CloudPubSubDeadLetterSourceDeliveryCount of the dead letters → how many. */
  readonly deadLetterDeliveryCounts: ReadonlyMap<string, number>;
  /** Publish → last message accounted for, or → the last activity before the quiet period. */
  readonly seconds: number;
  /** Median and largest gap between two deliveries of the same message, in seconds. */
  readonly gapP50: number;
  readonly gapMax: number;
}

interface Tracked {
  pushes: number;
  lastPush: number;
  acked: boolean;
  deadLetters: number;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => resolve(Buffer.concat(chunks).toString()));
    request.on('error', reject);
  });
}

function increment<K>(map: Map<K, number>, key: K): void {
  map.set(key, (map.get(key) ?? 0) + 1);
}

/** One delivery of a message: true acks it, false fails it (500, or nack when pulling). */
function deliver(message: Tracked, fail: number, gaps: number[]): boolean {
  const now = Date.now();
  if (message.pushes > 0) gaps.push((now - message.lastPush) / 1000);
  message.pushes += 1;
  message.lastPush = now;
  if (message.pushes <= fail) return false;
  message.acked = true;
  return true;
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted.length === 0 ? Number.NaN : sorted[Math.floor(sorted.length / 2)]!;
}

export async function runScenario(pubsubHost: string, options: ScenarioOptions, name: string): Promise<ScenarioResult> {
  const tracked = new Map<string, Tracked>();
  const deadLetterDeliveryCounts = new Map<string, number>();
  const gaps: number[] = [];
  let pushes = 0;
  let lastActivity = Date.now();
  const track = (seq: string | undefined): Tracked | undefined => (seq === undefined ? undefined : tracked.get(seq));

  const server = createServer((request: IncomingMessage, response: ServerResponse) => {
    readBody(request).then(
      (body) => {
        pushes += 1;
        lastActivity = Date.now();
        const push = JSON.parse(body) as { message?: { attributes?: Record<string, string> } };
        const message = track(push.message?.attributes?.seq);
        if (!message) return void response.writeHead(400).end();
        const ok = deliver(message, options.fail, gaps);
        setTimeout(() => response.writeHead(ok ? 204 : 500).end(), options.delayMs);
      },
      () => response.writeHead(400).end(),
    );
  });
  const port = await freePort();
  const listen = (): Promise<void> => new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));

  const pubsub = new PubSub({ projectId: PROJECT_ID, apiEndpoint: pubsubHost });
  try {
    const [topic] = await pubsub.createTopic(name);
    const [deadLetterTopic] = await pubsub.createTopic(`${name}-dead-letters`);
    const [deadLetters] = await deadLetterTopic.createSubscription(`${name}-dead-letters-pull`);
    // The same record mediaflow's subscriptionOptions builds, spelled out.
    const [delivery] = await topic.createSubscription(`${name}-${options.delivery}`, {
      ackDeadlineSeconds: ACK_DEADLINE_SECONDS,
      ...(options.retryPolicy
        ? {
            retryPolicy: {
              minimumBackoff: { seconds: options.retryPolicy.minimumBackoffSeconds },
              maximumBackoff: { seconds: options.retryPolicy.maximumBackoffSeconds },
            },
          }
        : {}),
      deadLetterPolicy: { deadLetterTopic: deadLetterTopic.name, maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS },
      ...(options.delivery === 'push' ? { pushConfig: { pushEndpoint: `http://127.0.0.1:${port}/push` } } : {}),
    });
    const forwarder =
      options.delivery === 'forward'
        ? startPushForwarder(
            pubsub,
            {
              name: delivery.name.slice(delivery.name.lastIndexOf('/') + 1),
              topic: name,
              ackDeadlineSeconds: ACK_DEADLINE_SECONDS,
              maxDeliveryAttempts: MAX_DELIVERY_ATTEMPTS,
              minimumBackoffSeconds: options.retryPolicy?.minimumBackoffSeconds ?? 0,
              maximumBackoffSeconds: options.retryPolicy?.maximumBackoffSeconds ?? 0,
              maxConcurrency: 1,
            },
            `http://127.0.0.1:${port}/push`,
            { maxInFlight: FORWARD_CONCURRENCY },
          )
        : undefined;
    if (options.delivery === 'pull') {
      delivery.on('message', (message: Message) => {
        pushes += 1;
        lastActivity = Date.now();
        const entry = track(message.attributes.seq);
        if (entry && deliver(entry, options.fail, gaps)) message.ack();
        else message.nack();
      });
      delivery.on('error', (error: Error) => process.stderr.write(`pull subscription: ${error.message}\n`));
    }
    deadLetters.on('message', (message: Message) => {
      lastActivity = Date.now();
      const entry = track(message.attributes.seq);
      if (entry) entry.deadLetters += 1;
      increment(deadLetterDeliveryCounts, message.attributes.CloudPubSubDeadLetterSourceDeliveryCount ?? '(none)');
      message.ack();
    });
    deadLetters.on('error', (error: Error) => process.stderr.write(`dead-letter subscription: ${error.message}\n`));

    for (let seq = 0; seq < options.messages; seq++) tracked.set(String(seq), { pushes: 0, lastPush: 0, acked: false, deadLetters: 0 });
    const started = Date.now();
    await Promise.all([...tracked.keys()].map((seq) => topic.publishMessage({ data: Buffer.from(seq), attributes: { seq } })));
    lastActivity = Date.now();
    if (options.refuseSeconds > 0 && options.outageAtSeconds > 0) {
      await listen();
      setTimeout(() => {
        server.close();
        server.closeAllConnections();
        setTimeout(() => void listen(), options.refuseSeconds * 1000);
      }, options.outageAtSeconds * 1000);
    } else {
      if (options.refuseSeconds > 0) await new Promise((resolve) => setTimeout(resolve, options.refuseSeconds * 1000));
      await listen();
    }

    const accounted = (): number => [...tracked.values()].filter((entry) => entry.acked || entry.deadLetters > 0).length;
    let finished = started;
    for (;;) {
      await new Promise((resolve) => setTimeout(resolve, POLL_MS));
      if (accounted() === options.messages) {
        finished = Date.now();
        // A moment more, so a late duplicate dead letter would still be counted.
        await new Promise((resolve) => setTimeout(resolve, 2_000));
        break;
      }
      if (Date.now() - lastActivity > options.quietSeconds * 1000) {
        finished = lastActivity;
        break;
      }
    }
    await deadLetters.close();
    if (options.delivery === 'pull') await delivery.close();
    await forwarder?.close();

    const entries = [...tracked.values()];
    const strandedAfter = new Map<number, number>();
    for (const entry of entries) if (!entry.acked && entry.deadLetters === 0) increment(strandedAfter, entry.pushes);
    return {
      published: options.messages,
      pushes,
      acked: entries.filter((entry) => entry.acked).length,
      deadLettered: entries.filter((entry) => entry.deadLetters > 0).length,
      anomalies: entries.filter((entry) => (entry.acked && entry.deadLetters > 0) || entry.deadLetters > 1).length,
      stranded: entries.filter((entry) => !entry.acked && entry.deadLetters === 0).length,
      strandedAfter,
      deadLetterDeliveryCounts,
      seconds: (finished - started) / 1000,
      gapP50: median(gaps),
      gapMax: gaps.length === 0 ? Number.NaN : Math.max(...gaps),
    };
  } finally {
    await pubsub.close();
    if (server.listening) await new Promise((resolve) => server.close(resolve));
  }
}

function histogram(map: ReadonlyMap<number | string, number>): string {
  if (map.size === 0) return '–';
  return [...map]
    .sort(([a], [b]) => String(a).localeCompare(String(b), undefined, { numeric: true }))
    .map(([key, count]) => `${key}:${count}`)
    .join(' ');
}

function printTable(headers: readonly string[], rows: readonly (readonly string[])[]): void {
  const widths = headers.map((header, column) => Math.max(header.length, ...rows.map((row) => row[column]!.length)));
  const line = (cells: readonly string[]): string => cells.map((cell, column) => cell.padEnd(widths[column]!)).join('  ');
  console.log(line(headers));
  console.log(line(widths.map((width) => '-'.repeat(width))));
  for (const row of rows) console.log(line(row));
}

async function main(): Promise<void> {
  // No metadata server here: the Google auth library must not go looking for one.
  process.env.METADATA_SERVER_DETECTION ??= 'none';
  const { values } = parseArgs({
    options: {
      messages: { type: 'string', default: '200' },
      fail: { type: 'string', default: String(MAX_DELIVERY_ATTEMPTS) },
      'no-retry-policy': { type: 'boolean', default: false },
      compare: { type: 'boolean', default: false },
      runs: { type: 'string', default: '1' },
      'min-backoff': { type: 'string', default: '1' },
      'max-backoff': { type: 'string', default: '5' },
      quiet: { type: 'string', default: '60' },
      refuse: { type: 'string', default: '0' },
      'outage-at': { type: 'string', default: '0' },
      delay: { type: 'string', default: '0' },
      delivery: { type: 'string', default: 'push' },
    },
  });
  const messages = Number(values.messages);
  const fail = Number(values.fail);
  const runs = Number(values.runs);
  const retryPolicy = { minimumBackoffSeconds: Number(values['min-backoff']), maximumBackoffSeconds: Number(values['max-backoff']) };
  const retryLabel = `retry ${retryPolicy.minimumBackoffSeconds}-${retryPolicy.maximumBackoffSeconds} s`;
  const settings: { label: string; retryPolicy: ScenarioOptions['retryPolicy'] }[] = values.compare
    ? [
        { label: retryLabel, retryPolicy },
        { label: 'no retry policy', retryPolicy: undefined },
      ]
    : values['no-retry-policy']
      ? [{ label: 'no retry policy', retryPolicy: undefined }]
      : [{ label: retryLabel, retryPolicy }];
  const failing = fail >= MAX_DELIVERY_ATTEMPTS ? 'every delivery' : fail === 0 ? 'no delivery' : `the first ${fail} deliveries of each message`;
  const delivery = values.delivery as Delivery;
  if (!DELIVERIES.includes(delivery)) throw new Error(`--delivery must be one of ${DELIVERIES.join(', ')}`);
  const how = {
    push: 'emulator push; the endpoint answers 500 to',
    pull: 'streaming pull; the handler nacks',
    forward: 'pull + the stack push forwarder; the endpoint answers 500 to',
  }[delivery];
  console.log(
    `${messages} messages published at once; ${how} ${failing}` +
      `${Number(values.refuse) > 0 ? `; the endpoint refuses connections for the first ${values.refuse} s` : ''}; ` +
      `ack deadline ${ACK_DEADLINE_SECONDS} s, maxDeliveryAttempts ${MAX_DELIVERY_ATTEMPTS}; ` +
      `stranded = neither acked nor dead-lettered after ${values.quiet} s without activity`,
  );
  if (Number(values.refuse) === 0) console.log(`expected: ${fail >= MAX_DELIVERY_ATTEMPTS ? `${messages} dead-lettered` : `${messages} acked`}, 0 stranded`);
  const rows: string[][] = [];
  for (let run = 1; run <= runs; run++) {
    for (const setting of settings) {
      // A fresh emulator per run: nothing left over from an earlier run can explain the figures.
      const host = `127.0.0.1:${await freePort()}`;
      const emulator = await startPubSubEmulator(host, PROJECT_ID);
      try {
        const result = await runScenario(
          host,
          {
            messages,
            fail,
            retryPolicy: setting.retryPolicy,
            quietSeconds: Number(values.quiet),
            refuseSeconds: Number(values.refuse),
            outageAtSeconds: Number(values['outage-at']),
            delayMs: Number(values.delay),
            delivery,
          },
          `run${run}`,
        );
        rows.push([
          String(run),
          `${delivery}, ${setting.label}`,
          String(result.published),
          String(result.pushes),
          String(result.acked),
          String(result.deadLettered),
          String(result.stranded),
          String(result.anomalies),
          histogram(result.strandedAfter),
          histogram(result.deadLetterDeliveryCounts),
          result.seconds.toFixed(1),
          Number.isNaN(result.gapP50) ? '–' : `${result.gapP50.toFixed(1)} / ${result.gapMax.toFixed(1)}`,
        ]);
        process.stderr.write(`run ${run}, ${setting.label}: ${result.stranded} stranded\n`);
      } finally {
        await emulator.stop();
      }
    }
  }
  printTable(
    [
      'run',
      'delivery, subscription',
      'published',
      'pushes',
      'acked',
      'dead-lettered',
      'stranded',
      'anomalies',
      'stranded after N pushes',
      'DL delivery count',
      'seconds',
      'redelivery gap p50 / max (s)',
    ],
    rows,
  );
}

if (import.meta.filename === process.argv[1]) await main();

/**
 * Configuration is a function of the environment, checked once at cold start. Handlers receive the frozen
 * result and never read process.env, so a bad deploy fails at boot with every problem listed at once.
 */
import path from 'node:path';
import { DEFAULT_LIMITS, LIMIT_CEILINGS, LIMIT_ENV, type Limits } from '../domain/limits.ts';
import { ConfigError } from '../errors.ts';
import { PROFILE_PATTERN } from '../domain/ingest-request.ts';
import { BUCKET_NAME_PATTERN, parsePartnerGrants, type PartnerGrant } from './partner-access.ts';

export type Env = Readonly<Record<string, string | undefined>>;
export type RuntimeKind = 'embedded' | 'gcp';
export type LogLevel = 'debug' | 'info' | 'warn' | 'error' | 'silent';

export interface Config {
  readonly runtime: RuntimeKind;
  readonly projectId: string;
  readonly buckets: {
    readonly ingest: string;
    readonly derivatives: string;
    /** Buckets partners publish ingest events for; mediaflow only reads them. */
    readonly partner: readonly string[];
  };
  /** Which partner may name which bucket and prefix in an ingest event (MEDIAFLOW_PARTNER_BUCKETS). */
  readonly partnerGrants: readonly PartnerGrant[];
  /** What mediaflow agrees to process (shared/domain/limits.ts). */
  readonly limits: Limits;
  readonly topics: {
    readonly uploads: string;
    readonly ingestRequests: string;
    readonly stepResults: string;
    readonly assetEvents: string;
    readonly deadLetters: string;
    /** Ticks of the watchdog (Cloud Scheduler publishes one per tick; the embedded runtime its own). */
    readonly watchdogTicks: string;
    /** Work orders go to `<workPrefix><step>`: one topic per step, so each step gets its own ack deadline. */
    readonly workPrefix: string;
  };
  readonly retry: {
    readonly maxDeliveryAttempts: number;
    readonly minimumBackoffSeconds: number;
    readonly maximumBackoffSeconds: number;
  };
  /** Only meaningful for the embedded runtime: where the buckets and the state database live. */
  readonly dataDir: string;
  /** Scales the bus's backoffs and ack deadlines in the embedded runtime; Pub/Sub's 10 s minimum backoff is too slow on a laptop. */
  readonly embeddedTimeScale: number;
  /** In-flight deliveries per subscription in the embedded runtime. */
  readonly embeddedConcurrency: number;
  /** How often the embedded runtime ticks its watchdog, in seconds; 0 turns the ticks off (a sweep can still be run). */
  readonly embeddedWatchdogIntervalSeconds: number;
  readonly defaultProfile: string;
  readonly logLevel: LogLevel;
  /**
   * Gemini on Vertex AI for the tag step: set when MEDIAFLOW_VERTEX_PROJECT and MEDIAFLOW_VERTEX_LOCATION are;
   * without it the step records technical signals only. Credentials come from ADC.
   */
  readonly vertex:
    { readonly project: string; readonly location: string; readonly model?: string; readonly baseUrl?: string; readonly timeoutMs?: number } | undefined;
  /** GCP runtime against the local cloud: fake-gcs-server's endpoint (STORAGE_EMULATOR_HOST); unset on GCP. */
  readonly storageApiEndpoint: string | undefined;
}

const namePattern = /^[a-zA-Z][a-zA-Z0-9._~%+-]{2,200}$/;
const logLevels: readonly LogLevel[] = ['debug', 'info', 'warn', 'error', 'silent'];

/** Pub/Sub's own limits: 5..100 delivery attempts with a dead-letter policy, backoff 0..600 s. */
const deliveryAttemptRange = [5, 100] as const;
const backoffRangeSeconds = [0, 600] as const;

export function loadConfig(env: Env, overrides: { dataDir?: string } = {}): Config {
  const problems: string[] = [];
  const read = (key: string, fallback?: string): string => {
    const value = env[key]?.trim();
    if (value) return value;
    if (fallback !== undefined) return fallback;
    problems.push(`${key} is required`);
    return '';
  };
  const readNumber = (key: string, fallback: number, [min, max]: readonly [number, number]): number => {
    const raw = env[key]?.trim();
    if (!raw) return fallback;
    const value = Number(raw);
    if (!Number.isFinite(value) || value < min || value > max) {
      problems.push(`${key} must be a number in [${min}, ${max}], got '${raw}'`);
      return fallback;
    }
    return value;
  };

  const runtime = read('MEDIAFLOW_RUNTIME', 'embedded');
  if (runtime !== 'embedded' && runtime !== 'gcp') problems.push(`MEDIAFLOW_RUNTIME must be 'embedded' or 'gcp', got '${runtime}'`);
  const onGcp = runtime === 'gcp';
  // Bucket names are deployment facts; only the embedded runtime, whose buckets are folders, has defaults.
  const ingest = read('MEDIAFLOW_INGEST_BUCKET', onGcp ? undefined : 'mediaflow-ingest');
  const derivatives = read('MEDIAFLOW_DERIVATIVES_BUCKET', onGcp ? undefined : 'mediaflow-derivatives');
  const partnerGrants = parsePartnerGrants(env.MEDIAFLOW_PARTNER_BUCKETS, problems);
  const partner = [...new Set(partnerGrants.map((grant) => grant.bucket))];
  const named: [string, string][] = [
    ['MEDIAFLOW_INGEST_BUCKET', ingest],
    ['MEDIAFLOW_DERIVATIVES_BUCKET', derivatives],
  ];
  for (const [key, bucket] of named) {
    if (bucket && !BUCKET_NAME_PATTERN.test(bucket)) problems.push(`${key} '${bucket}' is not a valid bucket name`);
  }
  if (ingest && ingest === derivatives)
    problems.push('MEDIAFLOW_INGEST_BUCKET and MEDIAFLOW_DERIVATIVES_BUCKET must differ, or the pipeline would see its own outputs');
  // A partner reading the ingest or derivatives bucket would read other people's uploads and our own outputs.
  for (const bucket of partner.filter((name) => name === ingest || name === derivatives)) {
    problems.push(`MEDIAFLOW_PARTNER_BUCKETS must not name the ingest or derivatives bucket ('${bucket}')`);
  }

  const prefix = read('MEDIAFLOW_TOPIC_PREFIX', 'mediaflow');
  if (!namePattern.test(`${prefix}-x`)) problems.push(`MEDIAFLOW_TOPIC_PREFIX '${prefix}' does not make valid Pub/Sub topic names`);
  const projectId = read('GOOGLE_CLOUD_PROJECT', onGcp ? undefined : 'mediaflow-local');

  const defaultProfile = read('MEDIAFLOW_DEFAULT_PROFILE', 'default');
  // Every outbound event carries the profile, so a default no schema accepts would fail every asset.
  if (!PROFILE_PATTERN.test(defaultProfile)) problems.push(`MEDIAFLOW_DEFAULT_PROFILE '${defaultProfile}' is not a profile name (lower case, digits, '-')`);

  const logLevel = read('MEDIAFLOW_LOG_LEVEL', 'info') as LogLevel;
  if (!logLevels.includes(logLevel)) problems.push(`MEDIAFLOW_LOG_LEVEL must be one of ${logLevels.join(', ')}`);

  const config: Config = {
    runtime: runtime as RuntimeKind,
    projectId,
    buckets: { ingest, derivatives, partner },
    partnerGrants,
    limits: readLimits(readNumber),
    topics: {
      uploads: `${prefix}-uploads`,
      ingestRequests: `${prefix}-ingest-requests`,
      stepResults: `${prefix}-step-results`,
      assetEvents: `${prefix}-asset-events`,
      deadLetters: `${prefix}-dead-letters`,
      watchdogTicks: `${prefix}-watchdog-ticks`,
      workPrefix: `${prefix}-work-`,
    },
    retry: {
      maxDeliveryAttempts: readNumber('MEDIAFLOW_MAX_DELIVERY_ATTEMPTS', 5, deliveryAttemptRange),
      minimumBackoffSeconds: readNumber('MEDIAFLOW_MIN_BACKOFF_SECONDS', 10, backoffRangeSeconds),
      maximumBackoffSeconds: readNumber('MEDIAFLOW_MAX_BACKOFF_SECONDS', 600, backoffRangeSeconds),
    },
    dataDir: path.resolve(overrides.dataDir ?? read('MEDIAFLOW_DATA_DIR', 'mediaflow-data')),
    embeddedTimeScale: readNumber('MEDIAFLOW_EMBEDDED_TIME_SCALE', 0.02, [0.0001, 1]),
    embeddedConcurrency: readNumber('MEDIAFLOW_EMBEDDED_CONCURRENCY', 2, [1, 64]),
    embeddedWatchdogIntervalSeconds: readNumber('MEDIAFLOW_EMBEDDED_WATCHDOG_INTERVAL_SECONDS', 60, [0, 86_400]),
    defaultProfile,
    logLevel,
    storageApiEndpoint: env.STORAGE_EMULATOR_HOST?.trim() || undefined,
    vertex: readVertex(env, problems),
  };
  if (config.retry.minimumBackoffSeconds > config.retry.maximumBackoffSeconds) {
    problems.push('MEDIAFLOW_MIN_BACKOFF_SECONDS must not exceed MEDIAFLOW_MAX_BACKOFF_SECONDS');
  }
  if (problems.length > 0) throw new ConfigError(`invalid configuration:\n  - ${problems.join('\n  - ')}`);
  return Object.freeze(config);
}

export function workTopic(config: Config, step: string): string {
  return `${config.topics.workPrefix}${step}`;
}

/** Each limit may be lowered, never raised past what one work order can finish (LIMIT_CEILINGS). */
function readLimits(readNumber: (key: string, fallback: number, range: readonly [number, number]) => number): Limits {
  const read = (name: keyof Limits): number => Math.floor(readNumber(LIMIT_ENV[name], DEFAULT_LIMITS[name], [1, LIMIT_CEILINGS[name]]));
  return Object.freeze({
    maxAudioSeconds: read('maxAudioSeconds'),
    maxVideoSeconds: read('maxVideoSeconds'),
    maxVideoFramePixels: read('maxVideoFramePixels'),
    maxVideoFrames: read('maxVideoFrames'),
    maxAudioChannels: read('maxAudioChannels'),
    maxWorkOrdersPerAsset: read('maxWorkOrdersPerAsset'),
  });
}

function readVertex(env: Env, problems: string[]): Config['vertex'] {
  const project = env.MEDIAFLOW_VERTEX_PROJECT?.trim();
  const location = env.MEDIAFLOW_VERTEX_LOCATION?.trim();
  if (!project && !location) return undefined;
  if (!project || !location) {
    problems.push('MEDIAFLOW_VERTEX_PROJECT and MEDIAFLOW_VERTEX_LOCATION go together: set both to tag with Gemini, or neither');
    return undefined;
  }
  const timeout = env.MEDIAFLOW_VERTEX_TIMEOUT_MS?.trim();
  if (timeout && !(Number(timeout) > 0)) problems.push(`MEDIAFLOW_VERTEX_TIMEOUT_MS must be a positive number, got '${timeout}'`);
  return {
    project,
    location,
    ...(env.MEDIAFLOW_VERTEX_MODEL?.trim() ? { model: env.MEDIAFLOW_VERTEX_MODEL.trim() } : {}),
    ...(env.GOOGLE_VERTEX_BASE_URL?.trim() ? { baseUrl: env.GOOGLE_VERTEX_BASE_URL.trim() } : {}),
    ...(timeout && Number(timeout) > 0 ? { timeoutMs: Number(timeout) } : {}),
  };
}

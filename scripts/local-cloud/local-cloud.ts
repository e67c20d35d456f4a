/**
 * The local cloud: the real Pub/Sub and Firestore emulators and fake-gcs-server, each started as its own
 * process group on a free port, and stopped as a group (gcloud's wrappers leave their Java children running if
 * only the wrapper is killed). Used by `npm run dev` and by the GCP test suites' global setup.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import { connect, createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** The Java emulators take 5–15 s to start on an idle laptop; a busy 2-core CI machine needs more. */
export const SERVER_START_TIMEOUT_MS = 120_000;
const STOP_GRACE_MS = 5_000;
const READY_POLL_MS = 250;
const OUTPUT_LINES = 5_000;

export interface RunningServer {
  readonly name: string;
  readonly host: string;
  readonly process: ChildProcess;
  /** What it printed (the last OUTPUT_LINES lines), for error messages and for tests that watch logs. */
  output(): string;
  stop(): Promise<void>;
}

export interface LocalCloud {
  readonly projectId: string;
  readonly pubsubHost: string;
  readonly firestoreHost: string;
  readonly storageEndpoint: string;
  /** Environment for clients and functions: the emulator hosts the Google client libraries read. */
  readonly env: Record<string, string>;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => (typeof address === 'object' && address ? resolve(address.port) : reject(new Error('no port'))));
    });
  });
}

export class MissingServerError extends Error {
  constructor(what: string, install: string) {
    super(`${what} is not installed. Install it with:\n  ${install}`);
    this.name = 'MissingServerError';
  }
}

function onPath(command: string, extraDirs: readonly string[] = []): string | undefined {
  const dirs = [...(process.env.PATH ?? '').split(path.delimiter), ...extraDirs].filter(Boolean);
  return dirs.map((dir) => path.join(dir, command)).find((candidate) => existsSync(candidate));
}

export const FAKE_GCS_SERVER_VERSION = 'v1.56.1';

export function findFakeGcsServer(): string {
  const goBins = [process.env.GOBIN, process.env.GOPATH && path.join(process.env.GOPATH, 'bin'), path.join(os.homedir(), 'go', 'bin')].filter(
    (dir): dir is string => Boolean(dir),
  );
  const found = onPath('fake-gcs-server', goBins);
  if (!found)
    throw new MissingServerError('fake-gcs-server', `go install github.com/fsouza/fake-gcs-server@${FAKE_GCS_SERVER_VERSION}   (Go: /usr/local/go/bin/go)`);
  return found;
}

export function findGcloud(): string {
  const found = onPath('gcloud');
  if (!found)
    throw new MissingServerError(
      'The Google Cloud CLI (gcloud) with its Pub/Sub and Firestore emulators',
      'https://cloud.google.com/sdk/docs/install, then `gcloud components install pubsub-emulator cloud-firestore-emulator`',
    );
  return found;
}

/** One 'exit' listener for every running server: a stack of 15 processes would trip the max-listeners warning. */
const killOnExit = new Set<() => void>();
function killAllOnExit(): void {
  for (const kill of killOnExit) kill();
}

/** Starts a server in its own process group and resolves once `ready()` answers, or fails with its output. */
export async function startServer(
  name: string,
  host: string,
  command: string,
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  ready: () => Promise<boolean>,
): Promise<RunningServer> {
  const child = spawn(command, args, { env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  const lines: string[] = [];
  const keep = (chunk: Buffer): void => {
    lines.push(...chunk.toString().split('\n').filter(Boolean));
    lines.splice(0, Math.max(0, lines.length - OUTPUT_LINES));
  };
  child.stdout?.on('data', keep);
  child.stderr?.on('data', keep);
  let exited: string | undefined;
  child.on('exit', (code, signal) => (exited = `exited with ${signal ?? code}`));
  const killGroup = (signal: NodeJS.Signals): void => {
    try {
      if (child.pid) process.kill(-child.pid, signal);
    } catch {
      // Already gone.
    }
  };
  // A crashed test runner must not leave Java emulators behind.
  const onExit = (): void => killGroup('SIGKILL');
  killOnExit.add(onExit);
  if (killOnExit.size === 1) process.once('exit', killAllOnExit);
  const server: RunningServer = {
    name,
    host,
    process: child,
    output: () => lines.join('\n'),
    async stop() {
      killOnExit.delete(onExit);
      if (killOnExit.size === 0) process.removeListener('exit', killAllOnExit);
      if (child.exitCode !== null || child.signalCode !== null) return;
      const gone = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      killGroup('SIGTERM');
      const timer = setTimeout(() => killGroup('SIGKILL'), STOP_GRACE_MS);
      await gone;
      clearTimeout(timer);
      // The wrapper is gone; make sure nothing it started outlives it.
      killGroup('SIGKILL');
    },
  };
  const deadline = Date.now() + SERVER_START_TIMEOUT_MS;
  for (;;) {
    if (exited) throw new Error(`${name} ${exited} before it was ready:\n${lines.slice(-40).join('\n')}`);
    if (await ready().catch(() => false)) return server;
    if (Date.now() > deadline) {
      await server.stop();
      throw new Error(`${name} was not ready within ${SERVER_START_TIMEOUT_MS / 1000} s:\n${lines.slice(-40).join('\n')}`);
    }
    await new Promise((resolve) => setTimeout(resolve, READY_POLL_MS));
  }
}

/**
 * Whether something accepts TCP connections on the port: a function's readiness, as Cloud Run's default startup
 * probe checks it. An HTTP request would be a delivery, which the function records as a rejection.
 */
export function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port, timeout: 2_000 });
    const done = (open: boolean): void => {
      socket.destroy();
      resolve(open);
    };
    socket.once('connect', () => done(true));
    socket.once('error', () => done(false));
    socket.once('timeout', () => done(false));
  });
}

async function answers(url: string): Promise<boolean> {
  const response = await fetch(url, { signal: AbortSignal.timeout(2_000) });
  return response.ok;
}

/** The Pub/Sub emulator alone, on `host` (127.0.0.1:port); scripts/local-cloud/emulator-stranding.ts uses it too. */
export function startPubSubEmulator(host: string, projectId: string, gcloud: string = findGcloud()): Promise<RunningServer> {
  return startServer(
    'Pub/Sub emulator',
    host,
    gcloud,
    ['beta', 'emulators', 'pubsub', 'start', `--host-port=${host}`, `--project=${projectId}`, '--quiet'],
    process.env,
    () => answers(`http://${host}/`),
  );
}

export interface LocalCloudOptions {
  readonly projectId: string;
  /** The topic fake-gcs-server publishes finalize notifications to, and the bucket it watches. */
  readonly notificationTopic: string;
  readonly notificationBucket: string;
  readonly log?: (line: string) => void;
}

export async function startLocalCloud(options: LocalCloudOptions): Promise<LocalCloud> {
  const gcloud = findGcloud();
  const fakeGcs = findFakeGcsServer();
  const [pubsubPort, firestorePort, storagePort] = await Promise.all([freePort(), freePort(), freePort()]);
  const pubsubHost = `127.0.0.1:${pubsubPort}`;
  const firestoreHost = `127.0.0.1:${firestorePort}`;
  const storageEndpoint = `http://127.0.0.1:${storagePort}`;
  const log = options.log ?? (() => undefined);
  const started: RunningServer[] = [];
  try {
    const [pubsub, firestore] = await Promise.all([
      startPubSubEmulator(pubsubHost, options.projectId, gcloud),
      startServer(
        'Firestore emulator',
        firestoreHost,
        gcloud,
        ['emulators', 'firestore', 'start', `--host-port=${firestoreHost}`, '--quiet'],
        process.env,
        () => answers(`http://${firestoreHost}/`),
      ),
    ]);
    started.push(pubsub, firestore);
    log(`Pub/Sub emulator   ${pubsubHost}`);
    log(`Firestore emulator ${firestoreHost}`);
    // fake-gcs-server publishes with the Go Pub/Sub client, which finds the emulator the same way ours does.
    const storage = await startServer(
      'fake-gcs-server',
      storageEndpoint,
      fakeGcs,
      [
        '-scheme',
        'http',
        '-host',
        '127.0.0.1',
        '-port',
        String(storagePort),
        '-backend',
        'memory',
        '-external-url',
        storageEndpoint,
        '-event.pubsub-project-id',
        options.projectId,
        '-event.pubsub-topic',
        options.notificationTopic,
        '-event.bucket',
        options.notificationBucket,
        '-event.list',
        'finalize',
      ],
      { ...process.env, PUBSUB_EMULATOR_HOST: pubsubHost },
      () => answers(`${storageEndpoint}/storage/v1/b`),
    );
    started.push(storage);
    log(`fake-gcs-server    ${storageEndpoint}`);
  } catch (error) {
    await Promise.all(started.map((server) => server.stop()));
    throw error;
  }
  return {
    projectId: options.projectId,
    pubsubHost,
    firestoreHost,
    storageEndpoint,
    env: {
      GOOGLE_CLOUD_PROJECT: options.projectId,
      PUBSUB_EMULATOR_HOST: pubsubHost,
      FIRESTORE_EMULATOR_HOST: firestoreHost,
      STORAGE_EMULATOR_HOST: storageEndpoint,
      // No metadata server here: the Google auth library must not wait for one.
      METADATA_SERVER_DETECTION: 'none',
    },
    stop: async () => {
      await Promise.all(started.reverse().map((server) => server.stop()));
    },
  };
}

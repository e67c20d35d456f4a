/**
 * Where the HTTP guard hooks into functions-framework 5. The framework builds its express app inside
 * `getServer` (build/src/server.js), body parsers first, and offers no way to add middleware before them. But
 * both ways a server gets built, the `functions-framework` binary Cloud Run runs (main.js) and `getTestServer`
 * (testing.js), look `getServer` up on that module's exports at call time, and main.js does so only after it
 * has imported functions/index.ts. Replacing the export while our module loads therefore puts the guard in
 * front of every server the framework builds for one of our functions, and of no other function's.
 */
import type { RequestListener, Server } from 'node:http';
import { createRequire } from 'node:module';
import path from 'node:path';
import type { FrameworkApp } from './http-guard.ts';

type GetServer = (userFunction: unknown, options: unknown) => Server;
type Guard = (app: FrameworkApp) => RequestListener;

/** Marks the installed wrapper, so loading this module twice in one process wraps getServer once. */
const GUARDS = Symbol.for('mediaflow.http-guards');

interface GuardedGetServer extends GetServer {
  readonly [GUARDS]: WeakMap<object, Guard>;
}

interface ServerModule {
  getServer: GetServer | GuardedGetServer;
}

const requireFramework = createRequire(import.meta.url);

/** Puts `guard` in front of the app of every server the framework builds for this registered function. */
export function guardFrameworkServer(userFunction: object, guard: Guard): void {
  guards().set(userFunction, guard);
}

function guards(): WeakMap<object, Guard> {
  const framework = serverModule();
  const current = framework.getServer;
  if (GUARDS in current) return current[GUARDS];
  const registered = new WeakMap<object, Guard>();
  const guarded = (userFunction: unknown, options: unknown): Server => {
    const server = current(userFunction, options);
    const guard = typeof userFunction === 'function' ? registered.get(userFunction) : undefined;
    if (guard === undefined) return server;
    const listeners = server.listeners('request');
    if (listeners.length !== 1)
      throw new Error(`functions-framework's server has ${listeners.length} request listeners; the HTTP guard expects its express app alone`);
    server.removeAllListeners('request');
    server.on('request', guard(listeners[0] as FrameworkApp));
    return server;
  };
  framework.getServer = Object.assign(guarded, { [GUARDS]: registered });
  return registered;
}

/** The very module instance main.js and testing.js use: resolved from the package entry, so `exports` does not hide it. */
function serverModule(): ServerModule {
  const entry = requireFramework.resolve('@google-cloud/functions-framework');
  const framework = requireFramework(path.join(path.dirname(entry), 'server.js')) as Partial<ServerModule>;
  if (typeof framework.getServer !== 'function') {
    // Fail at cold start, not silently: without the guard, garbage would be answered 4xx/5xx and redelivered forever.
    throw new Error('functions-framework no longer exports getServer from build/src/server.js; the HTTP guard cannot be installed');
  }
  return framework as ServerModule;
}

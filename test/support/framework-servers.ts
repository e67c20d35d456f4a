/**
 * functions-framework's real express app (getTestServer) for a registered function, on a loopback port, for the
 * HTTP contract suites; every server is closed after the file. The framework warns on pushes without a topic path
 * and prints the stack of every 500: both are expected there, so the console is quiet while they run.
 */
import { getTestServer } from '@google-cloud/functions-framework/testing';
import type { Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, vi } from 'vitest';

export function useFrameworkServers(): { readonly serve: (functionName: string) => Promise<string> } {
  const servers: Server[] = [];
  beforeAll(() => {
    vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    vi.spyOn(console, 'error').mockImplementation(() => undefined);
  });
  afterAll(async () => {
    for (const server of servers) {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    }
    vi.restoreAllMocks();
  });
  return {
    serve: async (functionName) => {
      const server = getTestServer(functionName);
      servers.push(server);
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
    },
  };
}

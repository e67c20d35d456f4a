/**
 * A local stand-in for Vertex AI's generateContent endpoint, speaking its wire format over real HTTP, so tests
 * run the real @google/genai client (URL building, auth headers, timeouts, error mapping) against it.
 * Each request takes the next scripted reply; the requests are kept for assertions.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { VertexAuthClient } from '../../functions/tag/vertex.ts';

export interface RecordedRequest {
  readonly method: string;
  readonly path: string;
  readonly headers: IncomingMessage['headers'];
  readonly body: Record<string, unknown>;
}

export type FakeReply =
  | { readonly status: number; readonly body: unknown }
  /** Holds the response until the client gives up. */
  | { readonly hang: true };

export interface VertexFake {
  readonly baseUrl: string;
  readonly requests: RecordedRequest[];
  reply(...replies: FakeReply[]): void;
  close(): Promise<void>;
}

export const FAKE_TOKEN = 'fake-vertex-token';

/**
 * google-auth-library asks its auth client for request headers only; a client with a fixed token keeps the
 * tests away from Application Default Credentials and the metadata server.
 */
export const fixedTokenAuthClient = {
  getRequestHeaders: async () => new Headers({ authorization: `Bearer ${FAKE_TOKEN}` }),
  getAccessToken: async () => ({ token: FAKE_TOKEN }),
} as unknown as VertexAuthClient;

export async function startVertexFake(): Promise<VertexFake> {
  const requests: RecordedRequest[] = [];
  const replies: FakeReply[] = [];
  const hanging = new Set<() => void>();
  const server: Server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const text = Buffer.concat(chunks).toString('utf8');
      requests.push({
        method: request.method ?? '',
        path: request.url ?? '',
        headers: request.headers,
        body: text ? (JSON.parse(text) as Record<string, unknown>) : {},
      });
      const reply = replies.shift() ?? { status: 500, body: { error: { code: 500, message: 'the fake has no reply scripted', status: 'INTERNAL' } } };
      if ('hang' in reply) {
        const release = (): void => {
          response.destroy();
        };
        hanging.add(release);
        response.on('close', () => hanging.delete(release));
        return;
      }
      response.writeHead(reply.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(reply.body));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    requests,
    reply: (...next) => {
      replies.push(...next);
    },
    close: async () => {
      for (const release of hanging) release();
      server.closeAllConnections();
      await new Promise<void>((resolve, reject) => server.close((error) => (error ? reject(error) : resolve())));
    },
  };
}

/** A generateContent answer whose text is `text`, as Vertex returns it. */
export function answer(text: string, options: { finishReason?: string; usage?: Record<string, unknown> } = {}): FakeReply {
  return {
    status: 200,
    body: {
      candidates: [{ content: { role: 'model', parts: [{ text }] }, finishReason: options.finishReason ?? 'STOP' }],
      usageMetadata: options.usage ?? {
        promptTokenCount: 300,
        candidatesTokenCount: 120,
        totalTokenCount: 420,
        promptTokensDetails: [
          { modality: 'TEXT', tokenCount: 42 },
          { modality: 'IMAGE', tokenCount: 258 },
        ],
      },
      modelVersion: 'gemini-2.5-flash-fake-001',
      responseId: 'fake-response',
    },
  };
}

/** An error as Google APIs return it. */
export function apiError(code: number, status: string, message: string): FakeReply {
  return { status: code, body: { error: { code, message, status } } };
}

/**
 * An HTTP server that only records which paths were asked for: the stand-in for an internal host that a crafted
 * upload might try to make a worker fetch (SSRF). Closed in `finally`, whatever the test does.
 */
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

export interface Bystander {
  /** http://127.0.0.1:<port> */
  readonly origin: string;
  /** Paths requested so far, in order. */
  readonly hits: readonly string[];
}

export async function withBystander(fn: (bystander: Bystander) => Promise<void>): Promise<void> {
  const hits: string[] = [];
  const server = createServer((request, response) => {
    hits.push(request.url ?? '');
    response.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    await fn({ origin: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, hits });
  } finally {
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
}

/** An HLS media playlist naming one segment at `url`: what a crafted "video" upload would hold. */
export function playlistNaming(url: string): string {
  return `#EXTM3U\n#EXT-X-TARGETDURATION:2\n#EXTINF:2,\n${url}\n#EXT-X-ENDLIST\n`;
}

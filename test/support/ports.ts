import type { AddressInfo } from 'node:net';
import { createServer, Server } from 'node:net';

/** Starts `server` on 127.0.0.1 on a port the system chooses; resolves with that port. */
export function listenLocal(server: Server): Promise<number> {
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve((server.address() as AddressInfo).port));
  });
}

/** A TCP port nothing listens on right now (for a peer that starts later, or never). */
export async function freePort(): Promise<number> {
  const server = createServer();
  const port = await listenLocal(server);
  await new Promise((resolve) => server.close(resolve));
  return port;
}

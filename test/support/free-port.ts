import { createServer } from 'node:net';

/**
 * Ask the OS for a currently unused TCP port on 127.0.0.1.
 * There is an inherent race (someone else may grab it before we use it), but
 * for local test servers this is the standard, good-enough approach.
 */
export async function freePort(): Promise<number> {
  return new Promise<number>((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.once('error', reject);
    server.listen({ host: '127.0.0.1', port: 0 }, () => {
      const address = server.address();
      if (address === null || typeof address === 'string') {
        server.close();
        reject(new Error('freePort: could not determine the bound port'));
        return;
      }
      const { port } = address;
      server.close((err) => (err ? reject(err) : resolve(port)));
    });
  });
}

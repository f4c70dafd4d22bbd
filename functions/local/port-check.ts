import { createServer } from 'node:net';

/**
 * Fails with one line when the API's port is taken, before `npm start` opens the database or makes
 * its first-start keys: those are shown once, and a start that could never listen would lose them.
 * Port 0 (any free port) always passes.
 */
export async function assertPortFree(host: string, port: number): Promise<void> {
  if (port === 0) return;
  const probe = createServer();
  await new Promise<void>((resolve, reject) => {
    probe.once('error', (err: NodeJS.ErrnoException) => reject(new PortInUse(portMessage(host, port, err))));
    probe.listen({ host, port, exclusive: true }, () => probe.close(() => resolve()));
  });
}

export class PortInUse extends Error {}

export function portMessage(host: string, port: number, err: NodeJS.ErrnoException): string {
  if (err.code === 'EADDRINUSE')
    return `citepay: ${host}:${port} is already in use (another npm start?). Stop that process or choose another port: PORT=${port + 1} npm start`;
  if (err.code === 'EACCES')
    return `citepay: no permission to listen on ${host}:${port}; choose a port above 1023 with PORT=…`;
  return `citepay: cannot listen on ${host}:${port}: ${err.message}`;
}

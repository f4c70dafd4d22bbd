import { request, Agent } from 'node:http';
import type { AddressInfo } from 'node:net';
import { connect } from 'node:net';
import type { Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createApp } from '../functions/api/app.ts';
import { LIMITS } from '../functions/api/input-guard.ts';
import { serveApi } from '../functions/local/node-server.ts';
import type { Services } from '../shared/services/container.ts';
import { createTestServices } from './services.ts';

// Over a real socket, as a browser or SDK sends it: one kept-alive connection, reused.
let services: Services;
let server: Server;
let port: number;

beforeAll(async () => {
  services = await createTestServices();
  server = serveApi(createApp(services).fetch, { port: 0, hostname: '127.0.0.1' });
  await new Promise((r) => server.once('listening', r));
  port = (server.address() as AddressInfo).port;
});
afterAll(async () => {
  await new Promise((r) => server.close(r));
  await services.db.close();
});

function send(
  agent: Agent,
  method: string,
  path: string,
  body?: Buffer | string,
  headers: Record<string, string> = {},
  chunks: string[] = [],
) {
  return new Promise<{ status: number; body: string; socket: unknown; headers: Record<string, unknown> }>(
    (resolve, reject) => {
      const req = request(
        {
          host: '127.0.0.1',
          port,
          method,
          path,
          agent,
          headers: {
            ...(body !== undefined
              ? { 'content-type': 'application/json', 'content-length': String(Buffer.byteLength(body)) }
              : {}),
            ...headers,
          },
        },
        (res) => {
          let text = '';
          res.setEncoding('utf8');
          res.on('data', (d) => (text += d));
          res.on('end', () =>
            resolve({ status: res.statusCode!, body: text, socket: req.socket, headers: res.headers }),
          );
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      if (body !== undefined) req.write(body);
      for (const chunk of chunks) req.write(chunk);
      req.end();
    },
  );
}

describe('an oversized body on a kept-alive connection', () => {
  for (const size of [300 * 1024, 4 * 1024 * 1024, 40 * 1024 * 1024]) {
    it(`answers 413 for ${size} bytes and the next request on the same agent succeeds`, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const first = await send(agent, 'GET', '/healthz');
        expect(first.status).toBe(200);
        const big = await send(agent, 'POST', '/v1/retrieve', JSON.stringify({ query: 'x'.repeat(size) }));
        expect(big.status).toBe(413);
        expect(JSON.parse(big.body).error.code).toBe('PAYLOAD_TOO_LARGE');
        expect(big.headers.connection).toBe('close');
        for (let i = 0; i < 3; i++) {
          const next = await send(agent, 'GET', '/healthz');
          expect(next.status).toBe(200);
        }
      } finally {
        agent.destroy();
      }
    });
  }

  // A client that writes its whole body before reading (most SDKs, curl) must still read the 413:
  // closing while it writes would give it EPIPE/ECONNRESET instead of the answer.
  for (const path of ['/v1/chat/completions', '/v1/retrieve']) {
    it(`lets a client writing 20 MB to ${path} in chunks read the 413 (no EPIPE)`, async () => {
      const agent = new Agent({ keepAlive: true, maxSockets: 1 });
      try {
        const total = 20 * 1024 * 1024;
        const chunk = 'x'.repeat(64 * 1024);
        const reply = await new Promise<{ status: number; body: string }>((resolve, reject) => {
          const req = request(
            {
              host: '127.0.0.1',
              port,
              method: 'POST',
              path,
              agent,
              headers: { 'content-type': 'application/json', 'content-length': String(total) },
            },
            (res) => {
              let text = '';
              res.setEncoding('utf8');
              res.on('data', (d) => (text += d));
              res.on('end', () => resolve({ status: res.statusCode!, body: text }));
            },
          );
          req.on('error', reject);
          let sent = 0;
          const pump = () => {
            while (sent < total) {
              const n = Math.min(chunk.length, total - sent);
              sent += n;
              if (!req.write(chunk.slice(0, n))) return void req.once('drain', pump);
            }
            req.end();
          };
          pump();
        });
        expect(reply.status).toBe(413);
        expect(JSON.parse(reply.body).error.code).toBe('PAYLOAD_TOO_LARGE');
        expect((await send(agent, 'GET', '/healthz')).status).toBe(200);
      } finally {
        agent.destroy();
      }
    });
  }

  it('closes after an answer that did not read the body (no key) and after a chunked oversized body', async () => {
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    try {
      const unauth = await send(agent, 'POST', '/v1/retrieve', JSON.stringify({ query: 'y'.repeat(200 * 1024) }));
      expect(unauth.status).toBe(401);
      expect((await send(agent, 'GET', '/healthz')).status).toBe(200);
      const chunked = await send(
        agent,
        'POST',
        '/v1/retrieve',
        undefined,
        { 'content-type': 'application/json', 'transfer-encoding': 'chunked' },
        ['{"query":"', 'z'.repeat(400 * 1024), '"}'],
      );
      expect(chunked.status).toBe(413);
      expect((await send(agent, 'GET', '/healthz')).status).toBe(200);
      // A small body that was read keeps the connection.
      const small = await send(agent, 'POST', '/v1/retrieve', JSON.stringify({ query: 1 }));
      expect(small.status).toBe(401);
      expect((await send(agent, 'GET', '/healthz')).status).toBe(200);
    } finally {
      agent.destroy();
    }
  });

  it('answers headers over the limit and malformed HTTP in the one error shape', async () => {
    const raw = (text: string) =>
      new Promise<string>((resolve, reject) => {
        const socket = connect(port, '127.0.0.1', () => socket.write(text));
        let out = '';
        socket.on('data', (d) => (out += d.toString()));
        socket.on('end', () => resolve(out));
        socket.on('error', reject);
      });
    const big = await raw(`GET /healthz HTTP/1.1\r\nHost: x\r\nX-Big: ${'a'.repeat(LIMITS.headerBytes + 10)}\r\n\r\n`);
    expect(big).toMatch(/^HTTP\/1\.1 431 /);
    expect(JSON.parse(big.slice(big.indexOf('\r\n\r\n') + 4)).error).toMatchObject({
      code: 'HEADERS_TOO_LARGE',
      requestId: expect.stringMatching(/^req_/),
    });
    const junk = await raw('NOT HTTP AT ALL\r\n\r\n');
    expect(junk).toMatch(/^HTTP\/1\.1 400 /);
    expect(JSON.parse(junk.slice(junk.indexOf('\r\n\r\n') + 4)).error.code).toBe('BAD_REQUEST');
    const agent = new Agent({ keepAlive: true, maxSockets: 1 });
    expect((await send(agent, 'GET', '/healthz')).status).toBe(200);
    agent.destroy();
  });
});

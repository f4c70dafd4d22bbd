import { describe, expect, it } from 'vitest';
import { createLogger } from './logger.ts';

function logged(fields: Record<string, unknown>): Record<string, unknown> {
  const lines: string[] = [];
  createLogger('info', {}, (_level, line) => lines.push(line)).info('x', fields);
  return JSON.parse(lines[0]!);
}

describe('logger masking', () => {
  it('keeps public addresses under a credential-like field name (the stablecoin `token`)', () => {
    const token = '0x5FbDB2315678afecb367f032d93F642f64180aa3';
    expect(logged({ token }).token).toBe(token);
  });

  it('still masks secrets under those names, a 32-byte private key included', () => {
    const privateKey = `0x${'ab'.repeat(32)}`;
    const line = logged({
      token: privateKey,
      sessionToken: 'opaque-session',
      settlerKey: privateKey,
      apiKey: 'cp_live_abcdefgh',
    });
    expect(line).toMatchObject({
      token: '[redacted]',
      sessionToken: '[redacted]',
      settlerKey: '[redacted]',
      apiKey: '[redacted]',
    });
  });
});

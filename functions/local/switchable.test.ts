import { describe, expect, it } from 'vitest';
import { switchable } from './switchable.ts';

describe('switchable', () => {
  it('sends every read and call to the adapter in use at that moment', async () => {
    const make = (name: string) => ({
      url: `http://${name}`,
      async send(body: string) {
        return `${name}:${body}`;
      },
    });
    const s = switchable(make('a'));
    const { port } = s;
    const send = port.send; // a method taken before the switch still reaches the adapter it came from
    expect(port.url).toBe('http://a');
    expect(await port.send('x')).toBe('a:x');
    s.use(make('b'));
    expect(port.url).toBe('http://b');
    expect(await port.send('y')).toBe('b:y');
    expect(await send('z')).toBe('a:z');
    expect('send' in port).toBe(true);
    expect(s.current().url).toBe('http://b');
  });
});

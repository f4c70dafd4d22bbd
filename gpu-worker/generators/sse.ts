// Server-sent events, as OpenAI-compatible engines stream chat completions: lines end in
// \n or \r\n, events are separated by a blank line, each `data:` line adds a line to the
// event's data, other fields (event:, id:, comments) are ignored. Yields each event's data.
export async function* sseData(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<string> {
  const decoder = new TextDecoder();
  let buffer = '';
  let data: string[] = [];
  const lines = function* (text: string, final: boolean) {
    buffer += text;
    const parts = buffer.split('\n');
    buffer = final ? '' : parts.pop()!; // the last part may be a line still arriving
    for (const part of parts) yield part.endsWith('\r') ? part.slice(0, -1) : part;
  };
  const feed = function* (text: string, final: boolean) {
    for (const line of lines(text, final)) {
      if (line === '') {
        if (data.length > 0) yield data.join('\n');
        data = [];
      } else if (line.startsWith('data:')) {
        data.push(line.slice(line[5] === ' ' ? 6 : 5));
      }
    }
    if (final && data.length > 0) yield data.join('\n');
  };
  for await (const chunk of chunks) yield* feed(decoder.decode(chunk, { stream: true }), false);
  yield* feed(decoder.decode(), true);
}

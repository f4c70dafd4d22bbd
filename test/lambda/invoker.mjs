// One built Lambda in a process of its own, run by lambda-local the way the Lambda runtime runs
// it: the parent (test/lambda/functions.ts) forks this with the function's environment and its
// folder as the working directory, then sends events; the first invocation is the cold start
// (module load, migrations, embedder session), the later ones are warm. Plain JavaScript, so
// no TypeScript loader sits in the timings.
//
// A handler wrapped in awslambda.streamifyResponse (the API: Function URL RESPONSE_STREAM mode)
// runs on lambda-local's own `awslambda` polyfill: `execute` resolves with the metadata given to
// awslambda.HttpResponseStream.from (statusCode, headers, cookies) and the stream as `body`. Each
// chunk is relayed to the parent as it is written ({ id, chunk }), then the whole body as text.
import lambdaLocal from 'lambda-local';

process.on('message', async ({ id, entry, exportName, event, timeoutMs }) => {
  const started = performance.now();
  try {
    let returned = await lambdaLocal.execute({
      lambdaPath: entry,
      lambdaHandler: exportName,
      esm: true,
      event,
      timeoutMs,
      verboseLevel: 0,
    });
    if (returned && typeof returned.body?.on === 'function') {
      const chunks = [];
      for await (const chunk of returned.body) {
        const buffer = Buffer.from(chunk);
        chunks.push(buffer);
        process.send({ id, chunk: buffer.toString('utf8'), ms: performance.now() - started });
      }
      returned = {
        statusCode: returned.statusCode,
        headers: returned.headers,
        cookies: returned.cookies,
        body: Buffer.concat(chunks).toString('utf8'),
        streamed: true,
      };
    }
    // the Lambda runtime sends results as JSON: what cannot be encoded fails the invocation there too
    const result = returned === undefined ? null : JSON.parse(JSON.stringify(returned));
    process.send({ id, ok: true, result, ms: performance.now() - started });
  } catch (err) {
    process.send({
      id,
      ok: false,
      error: String(err?.stack ?? err?.errorMessage ?? JSON.stringify(err)),
      ms: performance.now() - started,
    });
  }
});
process.send({ ready: true });

// One built Lambda in a process of its own, run by lambda-local the way the Lambda runtime runs
// it: the parent (test/lambda/functions.ts) forks this with the function's environment and its
// folder as the working directory, then sends events; the first invocation is the cold start
// (module load, migrations, embedder session), the later ones are warm. Plain JavaScript, so
// no TypeScript loader sits in the timings.
import lambdaLocal from 'lambda-local';

process.on('message', async ({ id, entry, exportName, event, timeoutMs }) => {
  const started = performance.now();
  try {
    const returned = await lambdaLocal.execute({ lambdaPath: entry, lambdaHandler: exportName, esm: true, event, timeoutMs, verboseLevel: 0 });
    // the Lambda runtime sends results as JSON: what cannot be encoded fails the invocation there too
    const result = returned === undefined ? null : JSON.parse(JSON.stringify(returned));
    process.send({ id, ok: true, result, ms: performance.now() - started });
  } catch (err) {
    process.send({ id, ok: false, error: String(err?.stack ?? err?.errorMessage ?? JSON.stringify(err)), ms: performance.now() - started });
  }
});
process.send({ ready: true });

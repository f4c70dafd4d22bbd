// npm run build:onnx — converts the shipped USE-lite TF.js graph to ONNX into the model cache
// now rather than at first use (a warm image, a CI cache). Does nothing when the cache is current.
import { loadConfig } from '../config.ts';
import { ensureUseLiteOnnx } from '../embedder/use-lite-onnx.ts';

const started = performance.now();
const model = await ensureUseLiteOnnx(loadConfig().embedder.cacheDir);
console.log(
  `${model.built ? 'built' : 'up to date'}: ${model.path} (source sha256 ${model.sourceHash}, ${(performance.now() - started).toFixed(0)} ms)`,
);

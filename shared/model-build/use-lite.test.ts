import { describe, expect, it } from 'vitest';
import { USE_LITE_ONNX_OPSET } from '../embedder/use-lite-model.ts';
import { CONVERTER_OPSET } from './tf-to-onnx.ts';

describe('the runtime cache key and the converter', () => {
  it('agree on the opset, so a cached build is named for what the converter makes', () => {
    // The embedder names its cached model without loading the converter; a converter moved to
    // another opset must move USE_LITE_ONNX_OPSET too, or old builds would be reused.
    expect(CONVERTER_OPSET).toBe(USE_LITE_ONNX_OPSET);
  });
});

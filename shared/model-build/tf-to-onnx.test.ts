import * as core from '@energetic-ai/core';
import * as ort from 'onnxruntime-node';
import { beforeAll, describe, expect, it } from 'vitest';
import { convertTfGraph, type TfAttr, type TfNode, type TfWeight } from './tf-to-onnx.ts';

// Each graph runs twice — on TensorFlow.js (the engine the converted model must match) and on
// onnxruntime after conversion — and every output must agree in shape and value.

// @energetic-ai/core bundles TF.js but its types point at packages it does not install: type the part used here.
interface Tensor {
  shape: number[];
  data(): Promise<ArrayLike<number>>;
}
const { io, loadGraphModel, ready, tensor } = core as unknown as {
  io: { fromMemory(artifacts: unknown): unknown };
  loadGraphModel(
    handler: unknown,
  ): Promise<{ executeAsync(feeds: Record<string, Tensor>, outputs: string[]): Promise<Tensor | Tensor[]> }>;
  ready(): Promise<void>;
  tensor(values: number[], shape: number[], dtype: 'float32' | 'int32'): Tensor;
};

const DT = { float: 1, int32: 3, int64: 9, bool: 10 } as const;
type Dt = (typeof DT)[keyof typeof DT];

class TfGraph {
  readonly nodes: TfNode[] = [];
  readonly weights = new Map<string, TfWeight>();
  placeholder(name: string, dtype: Dt, dims: number[]) {
    this.nodes.push({
      name,
      op: 'Placeholder',
      input: [],
      attr: { dtype: { type: dtype }, shape: { shape: { dim: dims.map((d) => ({ size: String(d) })) } } as TfAttr },
    });
    return name;
  }
  const(name: string, dtype: Dt, shape: number[], values: number[]) {
    const data = dtype === DT.float ? Float32Array.from(values) : Int32Array.from(values);
    this.weights.set(name, { dtype: dtype === DT.float ? 'float32' : 'int32', shape, data });
    this.nodes.push({ name, op: 'Const', input: [], attr: { dtype: { type: dtype } } });
    return name;
  }
  op(op: string, name: string, input: string[], attr: Record<string, TfAttr> = {}) {
    this.nodes.push({ name, op, input, attr });
    return name;
  }
}

const T = (dtype: Dt) => ({ T: { type: dtype } });
const i = (v: number) => ({ i: String(v) });

async function runTfjs(g: TfGraph, feeds: Record<string, Tensor>, outputs: string[]) {
  const specs = [...g.weights].map(([name, w]) => ({ name, shape: w.shape, dtype: w.dtype }));
  const bytes = new Uint8Array([...g.weights.values()].reduce((n, w) => n + w.data.byteLength, 0));
  let offset = 0;
  for (const w of g.weights.values()) {
    bytes.set(new Uint8Array(w.data.buffer, w.data.byteOffset, w.data.byteLength), offset);
    offset += w.data.byteLength;
  }
  const model = await loadGraphModel(
    io.fromMemory({
      modelTopology: { node: g.nodes, versions: {}, library: {} },
      weightSpecs: specs,
      weightData: bytes.buffer,
    }),
  );
  const result = (await model.executeAsync(feeds, outputs)) as Tensor | Tensor[];
  const list = Array.isArray(result) ? result : [result];
  return Promise.all(list.map(async (t) => ({ dims: t.shape, data: Array.from(await t.data(), Number) })));
}

async function runOnnx(g: TfGraph, feeds: Record<string, ort.Tensor>, outputs: string[]) {
  const session = await ort.InferenceSession.create(
    convertTfGraph({ node: g.nodes }, g.weights, { producer: 'test', outputs }),
  );
  const result = await session.run(feeds);
  return outputs.map((name) => {
    const t = result[name];
    if (!t) throw new Error(`no ONNX output ${name}; have ${session.outputNames.join(', ')}`);
    return { dims: [...t.dims], data: Array.from(t.data as ArrayLike<number | bigint>, Number) };
  });
}

async function expectSame(
  g: TfGraph,
  inputs: Record<string, { dtype: Dt; dims: number[]; values: number[] }>,
  outputs: string[],
) {
  const tf: Record<string, Tensor> = {};
  const onnx: Record<string, ort.Tensor> = {};
  for (const [name, x] of Object.entries(inputs)) {
    tf[name] = tensor(x.values, x.dims, x.dtype === DT.float ? 'float32' : 'int32');
    onnx[name] =
      x.dtype === DT.float
        ? new ort.Tensor('float32', Float32Array.from(x.values), x.dims)
        : new ort.Tensor(
            'int64',
            BigInt64Array.from(x.values, (v) => BigInt(v)),
            x.dims,
          );
  }
  const [want, got] = await Promise.all([runTfjs(g, tf, outputs), runOnnx(g, onnx, outputs)]);
  outputs.forEach((name, k) => {
    expect(got[k]!.dims, name).toEqual(want[k]!.dims);
    got[k]!.data.forEach((v, j) => expect(v, `${name}[${j}]`).toBeCloseTo(want[k]!.data[j]!, 4));
  });
}

const seq = (n: number, f = (k: number) => k) => Array.from({ length: n }, (_, k) => f(k));

describe('TF graph → ONNX', () => {
  beforeAll(async () => {
    await ready();
  });

  it('slices, reshapes and reduces like TensorFlow', async () => {
    const g = new TfGraph();
    const x = g.placeholder('x', DT.float, [2, 3, 4]);
    const c = (name: string, v: number[], shape = [v.length]) => g.const(name, DT.int32, shape, v);
    const ss = (name: string, b: number[], e: number[], s: number[], masks: Record<string, number>) =>
      g.op('StridedSlice', name, [x, c(`${name}/b`, b), c(`${name}/e`, e), c(`${name}/s`, s)], {
        ...T(DT.float),
        Index: { type: DT.int32 },
        ...Object.fromEntries(Object.entries(masks).map(([k, v]) => [k, i(v)])),
      });
    ss('rows', [0, 1], [0, 3], [1, 1], { begin_mask: 1, end_mask: 1 }); // x[:, 1:3]
    ss('picked', [1, 0, -1], [2, 0, 0], [1, 1, 1], { shrink_axis_mask: 5, end_mask: 2 }); // x[1, :, -1]
    ss('reversed', [0, 0, 0], [0, 0, 0], [1, -1, 2], { begin_mask: 7, end_mask: 7 }); // x[:, ::-1, ::2]
    const shape = g.op('Shape', 'shape', [x], { ...T(DT.float), out_type: { type: DT.int32 } });
    const first = g.op('StridedSlice', 'first', [shape, c('f/b', [0]), c('f/e', [1]), c('f/s', [1])], {
      ...T(DT.int32),
      shrink_axis_mask: i(1),
    });
    const newShape = g.op('Pack', 'newShape', [first, g.const('minus1', DT.int32, [], [-1])], {
      ...T(DT.int32),
      N: i(2),
      axis: i(0),
    });
    g.op('Reshape', 'flat', [x, newShape], T(DT.float));
    g.op('Slice', 'sliced', [x, c('sl/b', [0, 1, 0]), c('sl/s', [-1, 1, 2])], T(DT.float));
    g.op('Transpose', 'transposed', [x, c('perm', [0, 2, 1])], T(DT.float));
    const expanded = g.op('ExpandDims', 'expanded', [x, g.const('dim', DT.int32, [], [-1])], T(DT.float));
    g.op('Squeeze', 'squeezed', [expanded], { ...T(DT.float), squeeze_dims: { list: { i: ['3'] } } });
    g.op('ConcatV2', 'concat', [x, x, g.const('axis1', DT.int32, [], [1])], { ...T(DT.float), N: i(2) });
    g.op('SplitV', 'split', [x, c('sizes', [1, 3]), g.const('axis2', DT.int32, [], [2])], {
      ...T(DT.float),
      num_split: i(2),
    });
    g.op('Mean', 'mean', [x, c('last', [-1])], { ...T(DT.float), keep_dims: { b: true } });
    g.op('Sum', 'sum', [x, c('one', [1])], T(DT.float));
    g.op('Max', 'max', [x, g.const('zero', DT.int32, [], [0])], T(DT.float));
    g.op('Prod', 'count', [shape, c('zero1', [0])], T(DT.int32));
    const outputs = [
      'rows',
      'picked',
      'reversed',
      'flat',
      'sliced',
      'transposed',
      'squeezed',
      'concat',
      'split',
      'split:1',
      'mean',
      'sum',
      'max',
      'count',
    ];
    await expectSame(g, { x: { dtype: DT.float, dims: [2, 3, 4], values: seq(24, (k) => k * 0.5 - 3) } }, outputs);
  });

  it('runs the sparse-to-dense, where, gather and scatter steps like TensorFlow', async () => {
    const g = new TfGraph();
    const indices = g.placeholder('indices', DT.int64, [-1, 2]);
    const values = g.placeholder('values', DT.int64, [-1]);
    const zero = g.const('zero', DT.int32, [], [0]);
    const big = g.op('Greater', 'big', [values, g.const('two', DT.int64, [], [2])], T(DT.int64));
    const where = g.op('Where', 'where', [big], T(DT.bool));
    const flatWhere = g.op('Reshape', 'flatWhere', [where, g.const('m1', DT.int32, [1], [-1])], T(DT.int64));
    g.op('GatherV2', 'gathered', [values, flatWhere, zero], {
      Tparams: { type: DT.int64 },
      Tindices: { type: DT.int64 },
    });
    const last = g.op('Max', 'last', [indices, zero], { ...T(DT.int64), keep_dims: { b: false } });
    const shape = g.op('Add', 'shape', [last, g.const('ones', DT.int64, [2], [1, 1])], T(DT.int64));
    const dense = g.op('SparseToDense', 'dense', [indices, shape, values, g.const('minus1', DT.int64, [], [-1])], {
      ...T(DT.int64),
      Tindices: { type: DT.int64 },
    });
    const mask = g.op('Greater', 'mask', [dense, g.const('none', DT.int64, [], [-1])], T(DT.int64));
    g.op('Cast', 'padding', [g.op('LogicalNot', 'notMask', [mask])], {
      SrcT: { type: DT.bool },
      DstT: { type: DT.float },
    });
    const coords = g.op('Cast', 'coords', [g.op('Where', 'where2', [mask], T(DT.bool))], {
      SrcT: { type: DT.int64 },
      DstT: { type: DT.int32 },
    });
    g.op('GatherNd', 'gatheredNd', [dense, coords], { Tparams: { type: DT.int64 }, Tindices: { type: DT.int32 } });
    const shape32 = g.op('Cast', 'shape32', [shape], { SrcT: { type: DT.int64 }, DstT: { type: DT.int32 } });
    const floats = g.op('Cast', 'floats', [values], { SrcT: { type: DT.int64 }, DstT: { type: DT.float } });
    g.op(
      'ScatterNd',
      'scattered',
      [g.op('Cast', 'idx32', [indices], { SrcT: { type: DT.int64 }, DstT: { type: DT.int32 } }), floats, shape32],
      { ...T(DT.float), Tindices: { type: DT.int32 } },
    );
    // TF adds updates that land on the same index
    const twice = g.const('twice', DT.int32, [3, 2], [0, 1, 0, 1, 2, 0]);
    g.op('ScatterNd', 'added', [twice, g.const('updates', DT.float, [3], [1.5, 2, 3]), shape32], {
      ...T(DT.float),
      Tindices: { type: DT.int32 },
    });
    const rows = g.op(
      'StridedSlice',
      'rows',
      [
        shape32,
        g.const('b0', DT.int32, [1], [0]),
        g.const('e1', DT.int32, [1], [1]),
        g.const('s1', DT.int32, [1], [1]),
      ],
      { ...T(DT.int32), shrink_axis_mask: i(1) },
    );
    g.op('Range', 'range', [zero, rows, g.const('step', DT.int32, [], [1])], { Tidx: { type: DT.int32 } });
    // a ragged batch of three rows, the middle one longest
    const pairs = [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
      [1, 2],
      [1, 3],
      [2, 0],
    ];
    await expectSame(
      g,
      {
        indices: { dtype: DT.int64, dims: [pairs.length, 2], values: pairs.flat() },
        values: { dtype: DT.int64, dims: [pairs.length], values: [5, 1, 7, 3, 2, 9, 4] },
      },
      ['gathered', 'dense', 'padding', 'gatheredNd', 'scattered', 'added', 'range'],
    );
  });

  it('does the dense maths like TensorFlow: 1×1 convolutions, batched matmuls, softmax', async () => {
    const g = new TfGraph();
    const x = g.placeholder('x', DT.float, [-1, 5, 8]);
    const rand = (n: number, seed: number) => seq(n, (k) => Math.sin(k * 12.9898 + seed) * 0.5);
    const expanded = g.op('ExpandDims', 'expanded', [x, g.const('two', DT.int32, [], [2])], T(DT.float));
    const conv = g.op('Conv2D', 'conv', [expanded, g.const('filter', DT.float, [1, 1, 8, 6], rand(48, 1))], {
      ...T(DT.float),
      strides: { list: { i: ['1', '1', '1', '1'] } },
      dilations: { list: { i: ['1', '1', '1', '1'] } },
      padding: { s: [...Buffer.from('VALID')] },
      data_format: { s: [...Buffer.from('NHWC')] },
    });
    const biased = g.op('BiasAdd', 'biased', [conv, g.const('bias', DT.float, [6], rand(6, 2))], {
      ...T(DT.float),
      data_format: { s: [...Buffer.from('NHWC')] },
    });
    const squeezed = g.op('Squeeze', 'squeezed', [biased], { ...T(DT.float), squeeze_dims: { list: { i: ['2'] } } });
    g.op('Relu', 'relu', [squeezed], T(DT.float));
    g.op('Tanh', 'tanh', [squeezed], T(DT.float));
    g.op('Sin', 'sin', [squeezed], T(DT.float));
    g.op('Cos', 'cos', [squeezed], T(DT.float));
    const sq = g.op('Square', 'square', [squeezed], T(DT.float));
    g.op('Rsqrt', 'rsqrt', [g.op('Add', 'eps', [sq, g.const('e', DT.float, [], [1e-6])], T(DT.float))], T(DT.float));
    g.op('RealDiv', 'div', [squeezed, g.const('d', DT.float, [], [3])], T(DT.float));
    g.op(
      'Maximum',
      'maximum',
      [
        g.op('Sub', 'sub', [squeezed, g.const('half', DT.float, [], [0.5])], T(DT.float)),
        g.const('z', DT.float, [], [0]),
      ],
      T(DT.float),
    );
    const scores = g.op('BatchMatMul', 'scores', [x, x], { ...T(DT.float), adj_x: { b: false }, adj_y: { b: true } });
    g.op('Softmax', 'softmax', [scores], T(DT.float));
    g.op('BatchMatMul', 'gram', [x, g.op('Mul', 'scaled', [x, g.const('s', DT.float, [], [0.25])], T(DT.float))], {
      ...T(DT.float),
      adj_x: { b: true },
      adj_y: { b: false },
    });
    const flat = g.op('Reshape', 'flat', [x, g.const('shape', DT.int32, [2], [-1, 8])], T(DT.float));
    g.op('MatMul', 'dense', [flat, g.const('w', DT.float, [3, 8], rand(24, 3))], {
      ...T(DT.float),
      transpose_a: { b: false },
      transpose_b: { b: true },
    });
    await expectSame(g, { x: { dtype: DT.float, dims: [2, 5, 8], values: rand(80, 4) } }, [
      'relu',
      'tanh',
      'sin',
      'cos',
      'rsqrt',
      'div',
      'maximum',
      'softmax',
      'gram',
      'dense',
    ]);
  });

  it('refuses an op it has no translation for, by name', () => {
    const g = new TfGraph();
    g.op('Erf', 'erf', [g.placeholder('x', DT.float, [2])], T(DT.float));
    expect(() => convertTfGraph({ node: g.nodes }, g.weights, { producer: 'test' })).toThrow(
      /TF op Erf is not supported/,
    );
  });

  it('refuses convolutions other than 1×1', () => {
    const g = new TfGraph();
    const x = g.placeholder('x', DT.float, [1, 3, 3, 2]);
    g.op('Conv2D', 'conv', [x, g.const('f', DT.float, [3, 3, 2, 1], seq(18))], {
      ...T(DT.float),
      strides: { list: { i: ['1', '1', '1', '1'] } },
      padding: { s: [...Buffer.from('SAME')] },
    });
    expect(() => convertTfGraph({ node: g.nodes }, g.weights, { producer: 'test' })).toThrow(/only 1x1/);
  });
});

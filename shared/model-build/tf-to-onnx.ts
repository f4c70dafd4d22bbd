import { ElemType, OnnxGraph, SLICE_END, SLICE_START_NEG } from './onnx-graph.ts';

// Converts a TensorFlow GraphDef in TF.js' model.json form (frozen graph, weights in shards)
// to an ONNX model, op by op. It covers the ops that Universal Sentence Encoder Lite uses and
// refuses anything else by name, so a graph it cannot translate faithfully fails loudly.
// Integer tensors become int64 (ONNX wants int64 shapes and indices); TF's int32/int64 values
// all fit, so the arithmetic is unchanged. Output is deterministic for the same input.

export interface TfNode {
  name: string;
  op: string;
  input?: string[];
  attr?: Record<string, TfAttr>;
}
export interface TfAttr {
  i?: string | number;
  f?: number;
  b?: boolean;
  s?: string | number[];
  type?: string | number;
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  list?: { i?: (string | number)[] };
}
export interface TfWeight {
  dtype: 'float32' | 'int32';
  shape: number[];
  data: Float32Array | Int32Array;
}

export const CONVERTER_OPSET = 18;

const TF_DTYPES: Record<string, number> = { DT_FLOAT: 1, DT_INT32: 3, DT_INT64: 9, DT_BOOL: 10 };
const tfTypeNum = (t: string | number | undefined): number | undefined => (typeof t === 'string' ? TF_DTYPES[t] : t);

function elemOfTf(t: number | undefined, where: string): ElemType {
  if (t === 1) return ElemType.FLOAT;
  if (t === 3 || t === 9) return ElemType.INT64;
  if (t === 10) return ElemType.BOOL;
  throw new Error(`${where}: unsupported TF dtype ${t}`);
}

const UNARY: Record<string, string> = {
  Identity: 'Identity',
  Relu: 'Relu',
  Tanh: 'Tanh',
  Sin: 'Sin',
  Cos: 'Cos',
  Exp: 'Exp',
  Sqrt: 'Sqrt',
  Neg: 'Neg',
  LogicalNot: 'Not',
};
const BINARY: Record<string, string> = {
  Add: 'Add',
  AddV2: 'Add',
  BiasAdd: 'Add',
  Sub: 'Sub',
  Mul: 'Mul',
  RealDiv: 'Div',
  Maximum: 'Max',
  Minimum: 'Min',
  Less: 'Less',
  Greater: 'Greater',
  Equal: 'Equal',
  LogicalAnd: 'And',
};
const REDUCE: Record<string, string> = {
  Max: 'ReduceMax',
  Min: 'ReduceMin',
  Sum: 'ReduceSum',
  Mean: 'ReduceMean',
  Prod: 'ReduceProd',
};
const BOOL_OUT = new Set(['Less', 'Greater', 'Equal', 'LogicalAnd', 'LogicalNot']);

/** "node:0" → "node", "node:1" stays; control inputs ("^node") are dropped by the caller. */
const tensorName = (ref: string) => (ref.endsWith(':0') ? ref.slice(0, -2) : ref);
const nodeOf = (ref: string) => ref.replace(/^\^/, '').replace(/:\d+$/, '');

export interface ConvertOptions {
  producer: string;
  /** TF tensors to expose as graph outputs ("node" or "node:1"); default: every node nothing consumes */
  outputs?: readonly string[];
  metadata?: Record<string, string>;
}

export function convertTfGraph(
  graph: { node: TfNode[] },
  weights: ReadonlyMap<string, TfWeight>,
  options: ConvertOptions,
): Uint8Array {
  const g = new OnnxGraph();
  const nodes = topologicalOrder(graph.node);
  const consts = new Map<string, { tfType: number; weight: TfWeight }>();
  const ranks = new Map<string, number>();
  const dtypes = new Map<string, number>();
  const consumed = new Set<string>();
  for (const n of nodes) for (const i of n.input ?? []) if (!i.startsWith('^')) consumed.add(nodeOf(i));

  /** A tensor as an ONNX input: constants become initializers on first use. */
  const use = (ref: string): string => {
    const name = tensorName(ref);
    const c = consts.get(name);
    if (c && !g.hasInitializer(name)) {
      const { weight, tfType } = c;
      if (tfType === 1) g.initializer(name, ElemType.FLOAT, weight.shape, weight.data as Float32Array);
      else if (tfType === 10) g.initializer(name, ElemType.BOOL, weight.shape, Array.from(weight.data));
      else g.initializer(name, ElemType.INT64, weight.shape, Array.from(weight.data));
    }
    return name;
  };
  /** The values of a constant input that must be known when converting. */
  const known = (ref: string, what: string): number[] => {
    const c = consts.get(tensorName(ref));
    if (!c) throw new Error(`${what}: needs a constant input, got ${ref}`);
    return Array.from(c.weight.data);
  };
  const rankOf = (ref: string) => ranks.get(tensorName(ref));

  for (const n of nodes) {
    const where = `${n.op} ${n.name}`;
    const a = n.attr ?? {};
    const ins = (n.input ?? []).filter((i) => !i.startsWith('^'));
    const at = (k: number) => {
      const v = ins[k];
      if (v === undefined) throw new Error(`${where}: missing input ${k}`);
      return v;
    };
    const int = (k: string, d = 0) => Number(a[k]?.i ?? d);
    const bool = (k: string) => a[k]?.b === true;
    const out = n.name;
    const setRank = (r: number | undefined) => r !== undefined && ranks.set(out, r);
    const T = tfTypeNum(a.T?.type);
    dtypes.set(out, BOOL_OUT.has(n.op) ? 10 : (T ?? 1));

    switch (n.op) {
      case 'Const': {
        const w = weights.get(n.name);
        if (!w) throw new Error(`${where}: no weights for this constant`);
        const tfType = tfTypeNum(a.dtype?.type) ?? (w.dtype === 'float32' ? 1 : 3);
        consts.set(out, { tfType, weight: w });
        dtypes.set(out, tfType);
        setRank(w.shape.length);
        break;
      }
      case 'Placeholder': {
        const tfType = tfTypeNum(a.dtype?.type);
        const dims = a.shape?.shape?.dim?.map((d, i) => (Number(d.size) >= 0 ? Number(d.size) : `${n.name}_${i}`));
        g.input(out, elemOfTf(tfType, where), dims ?? []);
        dtypes.set(out, tfType ?? 1);
        setRank(dims?.length);
        break;
      }
      case 'Cast': {
        const to = tfTypeNum(a.DstT?.type);
        g.op('Cast', [use(at(0))], { to: { i: elemOfTf(to, where) } }, out);
        dtypes.set(out, to ?? 1);
        setRank(rankOf(at(0)));
        break;
      }
      case 'Rsqrt':
        g.op('Reciprocal', [g.op('Sqrt', [use(at(0))])], {}, out);
        setRank(rankOf(at(0)));
        break;
      case 'Square': {
        const x = use(at(0));
        g.op('Mul', [x, x], {}, out);
        setRank(rankOf(at(0)));
        break;
      }
      case 'Softmax':
        g.op('Softmax', [use(at(0))], { axis: { i: -1 } }, out);
        setRank(rankOf(at(0)));
        break;
      case 'Shape':
        g.op('Shape', [use(at(0))], {}, out);
        dtypes.set(out, 9);
        setRank(1);
        break;
      case 'Reshape':
        g.op('Reshape', [use(at(0)), use(at(1))], {}, out);
        break;
      case 'ExpandDims': {
        const [axis] = known(at(1), where);
        g.op('Unsqueeze', [use(at(0)), g.ints([axis!], `${out}/axes`)], {}, out);
        const r = rankOf(at(0));
        setRank(r === undefined ? undefined : r + 1);
        break;
      }
      case 'Squeeze': {
        const dims = (a.squeeze_dims?.list?.i ?? []).map(Number);
        g.op('Squeeze', dims.length ? [use(at(0)), g.ints(dims, `${out}/axes`)] : [use(at(0))], {}, out);
        const r = rankOf(at(0));
        if (dims.length && r !== undefined) setRank(r - dims.length);
        break;
      }
      case 'Transpose': {
        const perm = known(at(1), where);
        g.op('Transpose', [use(at(0))], { perm: { ints: perm } }, out);
        setRank(perm.length);
        break;
      }
      case 'ConcatV2': {
        const count = int('N', ins.length - 1);
        const [axis] = known(at(count), where);
        g.op('Concat', ins.slice(0, count).map(use), { axis: { i: axis! } }, out);
        setRank(rankOf(at(0)));
        break;
      }
      case 'Pack': {
        const axis = int('axis');
        const axes = g.ints([axis], `${out}/axes`);
        const parts = ins.map((i) => g.op('Unsqueeze', [use(i), axes]));
        g.op('Concat', parts, { axis: { i: axis } }, out);
        const r = rankOf(at(0));
        setRank(r === undefined ? undefined : r + 1);
        break;
      }
      case 'GatherV2': {
        if (int('batch_dims') !== 0) throw new Error(`${where}: batch_dims is not supported`);
        const [axis] = known(at(2), where);
        g.op('Gather', [use(at(0)), use(at(1))], { axis: { i: axis! } }, out);
        dtypes.set(out, tfTypeNum(a.Tparams?.type) ?? 1);
        break;
      }
      case 'GatherNd':
        g.op('GatherND', [use(at(0)), use(at(1))], {}, out);
        dtypes.set(out, tfTypeNum(a.Tparams?.type) ?? 1);
        break;
      case 'ScatterNd': {
        // TF adds updates that land on the same index; ScatterND with reduction "add" over zeros does the same.
        const zeros = g.op('ConstantOfShape', [use(at(2))], {
          value: { t: { elemType: elemOfTf(T, where), dims: [1], data: [0] } },
        });
        g.op('ScatterND', [zeros, use(at(0)), use(at(1))], { reduction: { s: 'add' } }, out);
        break;
      }
      case 'SparseToDense': {
        // indices: [N] or [N, rank]; values: [N] or a scalar; default_value: scalar.
        const shape = use(at(1));
        const indices = g.op('Reshape', [
          use(at(0)),
          g.op('Concat', [g.ints([-1], `${out}/minus1`), g.op('Shape', [shape])], { axis: { i: 0 } }),
        ]);
        const count = g.op('Slice', [g.op('Shape', [indices]), g.ints([0], `${out}/s0`), g.ints([1], `${out}/s1`)]);
        const values = g.op('Expand', [use(at(2)), count]);
        const dense = g.op('Expand', [use(at(3)), shape]);
        g.op('ScatterND', [dense, indices, values], {}, out);
        dtypes.set(out, T ?? 1);
        break;
      }
      case 'Where': {
        if (ins.length !== 1) throw new Error(`${where}: only the one-input (coordinates) form is supported`);
        g.op('Transpose', [g.op('NonZero', [use(at(0))])], { perm: { ints: [1, 0] } }, out);
        dtypes.set(out, 9);
        setRank(2);
        break;
      }
      case 'Range':
        g.op('Range', [use(at(0)), use(at(1)), use(at(2))], {}, out);
        dtypes.set(out, tfTypeNum(a.Tidx?.type) ?? 3);
        setRank(1);
        break;
      case 'MatMul': {
        const x = bool('transpose_a') ? g.op('Transpose', [use(at(0))], { perm: { ints: [1, 0] } }) : use(at(0));
        const y = bool('transpose_b') ? g.op('Transpose', [use(at(1))], { perm: { ints: [1, 0] } }) : use(at(1));
        g.op('MatMul', [x, y], {}, out);
        setRank(2);
        break;
      }
      case 'BatchMatMul':
      case 'BatchMatMulV2': {
        const adjoint = (ref: string, flag: string) => {
          if (!bool(flag)) return use(ref);
          const r = rankOf(ref);
          if (r === undefined || r < 2) throw new Error(`${where}: ${flag} needs an input of known rank`);
          const perm = [...Array(r - 2).keys(), r - 1, r - 2];
          return g.op('Transpose', [use(ref)], { perm: { ints: perm } });
        };
        g.op('MatMul', [adjoint(at(0), 'adj_x'), adjoint(at(1), 'adj_y')], {}, out);
        setRank(Math.max(rankOf(at(0)) ?? -1, rankOf(at(1)) ?? -1));
        break;
      }
      case 'Conv2D': {
        // Only the 1×1, stride-1 NHWC convolution (a per-position dense layer) = MatMul on the last axis.
        const filter = consts.get(tensorName(at(1)));
        const format = decodeString(a.data_format?.s) || 'NHWC';
        const strides = (a.strides?.list?.i ?? []).map(Number);
        const dilations = (a.dilations?.list?.i ?? [1, 1, 1, 1]).map(Number);
        if (
          !filter ||
          filter.weight.shape.length !== 4 ||
          filter.weight.shape[0] !== 1 ||
          filter.weight.shape[1] !== 1 ||
          format !== 'NHWC' ||
          strides.some((s) => s !== 1) ||
          dilations.some((d) => d !== 1)
        )
          throw new Error(`${where}: only 1x1 NHWC convolutions with a constant filter and unit strides are supported`);
        const [, , cin, cout] = filter.weight.shape as [number, number, number, number];
        const kernel = `${tensorName(at(1))}/as_matmul`;
        if (!g.hasInitializer(kernel))
          g.initializer(kernel, ElemType.FLOAT, [cin, cout], filter.weight.data as Float32Array);
        g.op('MatMul', [use(at(0)), kernel], {}, out);
        setRank(rankOf(at(0)));
        break;
      }
      case 'SplitV': {
        const sizes = known(at(1), where);
        const [axis] = known(at(2), where);
        if (sizes.some((s) => s < 0)) throw new Error(`${where}: inferred (-1) split sizes are not supported`);
        const outs = sizes.map((_, k) => (k === 0 ? out : `${out}:${k}`));
        g.node('Split', [use(at(0)), g.ints(sizes, `${out}/sizes`)], outs, { axis: { i: axis! } });
        for (const o of outs) {
          const r = rankOf(at(0));
          if (r !== undefined) ranks.set(o, r);
          dtypes.set(o, T ?? 1);
        }
        break;
      }
      case 'StridedSlice':
        stridedSlice(g, n, use(at(0)), known(at(1), where), known(at(2), where), known(at(3), where), out, where);
        {
          const r = rankOf(at(0));
          const shrunk = bitCount(int('shrink_axis_mask'));
          if (r !== undefined) setRank(r - shrunk);
        }
        break;
      case 'Slice': {
        const begin = known(at(1), where);
        const size = known(at(2), where);
        const ends = begin.map((b, k) => (size[k] === -1 ? SLICE_END : BigInt(b + size[k]!)));
        g.op(
          'Slice',
          [
            use(at(0)),
            g.ints(begin, `${out}/starts`),
            g.ints(ends, `${out}/ends`),
            g.ints([...begin.keys()], `${out}/axes`),
          ],
          {},
          out,
        );
        setRank(rankOf(at(0)));
        break;
      }
      default: {
        const reduce = REDUCE[n.op];
        if (reduce) {
          const axes = known(at(1), where);
          g.op(reduce, [use(at(0)), g.ints(axes, `${out}/axes`)], { keepdims: { i: bool('keep_dims') ? 1 : 0 } }, out);
          const r = rankOf(at(0));
          if (r !== undefined) setRank(bool('keep_dims') ? r : r - axes.length);
          break;
        }
        const unary = UNARY[n.op];
        if (unary) {
          g.op(unary, [use(at(0))], {}, out);
          setRank(rankOf(at(0)));
          break;
        }
        const binary = BINARY[n.op];
        if (binary) {
          if (n.op === 'BiasAdd' && (decodeString(a.data_format?.s) || 'NHWC') !== 'NHWC')
            throw new Error(`${where}: only NHWC bias is supported`);
          g.op(binary, [use(at(0)), use(at(1))], {}, out);
          const r0 = rankOf(at(0));
          const r1 = rankOf(at(1));
          if (r0 !== undefined && r1 !== undefined) setRank(Math.max(r0, r1));
          break;
        }
        throw new Error(`${where}: TF op ${n.op} is not supported by the ONNX converter`);
      }
    }
  }

  const outputs =
    options.outputs?.map(tensorName) ??
    nodes.filter((n) => n.op !== 'Const' && n.op !== 'Placeholder' && !consumed.has(n.name)).map((n) => n.name);
  for (const name of outputs) {
    if (!dtypes.has(name)) throw new Error(`output ${name} is not a tensor of the graph`);
    g.output(name, elemOfTf(dtypes.get(name), `output ${name}`));
  }
  return g.encode({
    opset: CONVERTER_OPSET,
    producer: options.producer,
    ...(options.metadata ? { metadata: options.metadata } : {}),
  });
}

function stridedSlice(
  g: OnnxGraph,
  n: TfNode,
  x: string,
  begin: number[],
  end: number[],
  strides: number[],
  out: string,
  where: string,
) {
  const a = n.attr ?? {};
  const mask = (k: string) => Number(a[k]?.i ?? 0);
  if (mask('ellipsis_mask') || mask('new_axis_mask'))
    throw new Error(`${where}: ellipsis and new-axis masks are not supported`);
  const beginMask = mask('begin_mask');
  const endMask = mask('end_mask');
  const shrinkMask = mask('shrink_axis_mask');
  const starts: bigint[] = [];
  const ends: bigint[] = [];
  const steps: number[] = [];
  const shrink: number[] = [];
  for (let k = 0; k < begin.length; k++) {
    const bit = 1 << k;
    const step = strides[k] ?? 1;
    if (step === 0) throw new Error(`${where}: zero stride`);
    if (shrinkMask & bit) {
      const b = begin[k]!;
      starts.push(BigInt(b));
      ends.push(b === -1 ? SLICE_END : BigInt(b + 1));
      steps.push(1);
      shrink.push(k);
      continue;
    }
    starts.push(beginMask & bit ? (step > 0 ? 0n : SLICE_END) : BigInt(begin[k]!));
    ends.push(endMask & bit ? (step > 0 ? SLICE_END : SLICE_START_NEG) : BigInt(end[k]!));
    steps.push(step);
  }
  const sliced = g.op(
    'Slice',
    [
      x,
      g.ints(starts, `${out}/starts`),
      g.ints(ends, `${out}/ends`),
      g.ints([...starts.keys()], `${out}/axes`),
      g.ints(steps, `${out}/steps`),
    ],
    {},
    shrink.length ? undefined : out,
  );
  if (shrink.length) g.op('Squeeze', [sliced, g.ints(shrink, `${out}/shrink`)], {}, out);
}

function bitCount(v: number): number {
  let c = 0;
  for (; v; v &= v - 1) c++;
  return c;
}

function decodeString(s: string | number[] | undefined): string {
  if (s === undefined) return '';
  if (Array.isArray(s)) return String.fromCharCode(...s);
  return Buffer.from(s, 'base64').toString('latin1');
}

/** Kahn's algorithm, stable on the file's node order, so the output never depends on object iteration. */
function topologicalOrder(nodes: readonly TfNode[]): TfNode[] {
  const index = new Map(nodes.map((n, i) => [n.name, i]));
  const indegree = nodes.map(() => 0);
  const users: number[][] = nodes.map(() => []);
  nodes.forEach((n, i) => {
    for (const ref of n.input ?? []) {
      const j = index.get(nodeOf(ref));
      if (j === undefined) throw new Error(`${n.op} ${n.name}: input ${ref} is not a node of the graph`);
      users[j]!.push(i);
      indegree[i]!++;
    }
  });
  const ready = nodes.map((_, i) => i).filter((i) => indegree[i] === 0);
  const order: TfNode[] = [];
  // a min-heap would be faster; graphs here have a few hundred nodes
  while (ready.length) {
    ready.sort((p, q) => p - q);
    const i = ready.shift()!;
    order.push(nodes[i]!);
    for (const u of users[i]!) if (--indegree[u]! === 0) ready.push(u);
  }
  if (order.length !== nodes.length) throw new Error('the TF graph has a cycle');
  return order;
}

import onnxProto from 'onnx-proto';

// A small writer for ONNX models over onnx-proto (the ONNX protobuf schema compiled for
// protobufjs). Used by the TF.js → ONNX converter and by tests that need a tiny graph.
// Encoding is deterministic: the same calls in the same order give the same bytes.
const { onnx } = onnxProto;

export const ElemType = {
  FLOAT: onnx.TensorProto.DataType.FLOAT,
  INT64: onnx.TensorProto.DataType.INT64,
  BOOL: onnx.TensorProto.DataType.BOOL,
} as const;
export type ElemType = (typeof ElemType)[keyof typeof ElemType];

type TensorData = Float32Array | readonly (number | bigint)[] | BigInt64Array;
export type AttrValue =
  | { i: number }
  | { f: number }
  | { ints: readonly number[] }
  | { floats: readonly number[] }
  | { s: string }
  | { t: { elemType: ElemType; dims: readonly number[]; data: TensorData } };
export type Dim = number | string;

const INT64_MAX = 9223372036854775807n;
const INT64_MIN = -9223372036854775808n;
/** Slice bounds meaning "to the end" / "to the start" for any dimension. */
export const SLICE_END = INT64_MAX;
export const SLICE_START_NEG = INT64_MIN;

export class OnnxGraph {
  readonly nodes: onnxProto.onnx.INodeProto[] = [];
  private readonly initializers: onnxProto.onnx.ITensorProto[] = [];
  private readonly inputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly outputs: onnxProto.onnx.IValueInfoProto[] = [];
  private readonly initializerNames = new Set<string>();
  private counter = 0;

  input(name: string, elemType: ElemType, dims: readonly Dim[]): string {
    this.inputs.push(valueInfo(name, elemType, dims));
    return name;
  }

  output(name: string, elemType: ElemType, dims?: readonly Dim[]): void {
    this.outputs.push(valueInfo(name, elemType, dims));
  }

  hasInitializer(name: string): boolean {
    return this.initializerNames.has(name);
  }

  /** Adds a constant tensor; int64 data is given as numbers or bigints. */
  initializer(name: string, elemType: ElemType, dims: readonly number[], data: TensorData): string {
    if (this.initializerNames.has(name)) throw new Error(`duplicate initializer ${name}`);
    this.initializerNames.add(name);
    this.initializers.push(tensorProto(name, elemType, dims, data));
    return name;
  }

  /** An int64 constant vector, named uniquely. */
  ints(values: readonly (number | bigint)[], hint = 'ints'): string {
    return this.initializer(this.fresh(hint), ElemType.INT64, [values.length], values);
  }

  /** A fresh, unused tensor name derived from `hint`. */
  fresh(hint: string): string {
    return `${hint}/__${this.counter++}`;
  }

  /** Adds a node; returns its output names. `outputs` is a list of names or a count of fresh ones. */
  node(
    opType: string,
    inputs: readonly string[],
    outputs: readonly string[] | number = 1,
    attrs: Record<string, AttrValue> = {},
    domain = '',
  ): string[] {
    const outs = typeof outputs === 'number' ? Array.from({ length: outputs }, () => this.fresh(opType)) : [...outputs];
    this.nodes.push({
      opType,
      domain,
      name: this.fresh(`${opType}`),
      input: [...inputs],
      output: outs,
      attribute: Object.entries(attrs).map(([name, v]) => attribute(name, v)),
    });
    return outs;
  }

  /** Single-output node shorthand. */
  op(opType: string, inputs: readonly string[], attrs: Record<string, AttrValue> = {}, output?: string): string {
    return this.node(opType, inputs, output ? [output] : 1, attrs)[0]!;
  }

  encode(options: {
    opset: number;
    producer: string;
    docString?: string;
    metadata?: Record<string, string>;
  }): Uint8Array {
    const model = onnx.ModelProto.create({
      irVersion: 8,
      opsetImport: [{ domain: '', version: options.opset }],
      producerName: options.producer,
      docString: options.docString ?? '',
      metadataProps: Object.entries(options.metadata ?? {}).map(([key, value]) => ({ key, value })),
      graph: {
        name: options.producer,
        node: this.nodes,
        initializer: this.initializers,
        input: this.inputs,
        output: this.outputs,
      },
    });
    return onnx.ModelProto.encode(model).finish();
  }
}

function valueInfo(name: string, elemType: ElemType, dims?: readonly Dim[]): onnxProto.onnx.IValueInfoProto {
  const shape = dims ? { dim: dims.map((d) => (typeof d === 'number' ? { dimValue: d } : { dimParam: d })) } : null;
  return { name, type: { tensorType: { elemType, shape } } };
}

function tensorProto(
  name: string,
  elemType: ElemType,
  dims: readonly number[],
  data: TensorData,
): onnxProto.onnx.ITensorProto {
  let raw: Uint8Array;
  if (elemType === ElemType.FLOAT) {
    const f = data instanceof Float32Array ? data : Float32Array.from(data as readonly number[]);
    raw = new Uint8Array(f.buffer, f.byteOffset, f.byteLength);
  } else if (elemType === ElemType.INT64) {
    const b =
      data instanceof BigInt64Array ? data : BigInt64Array.from(data as readonly (number | bigint)[], (v) => BigInt(v));
    raw = new Uint8Array(b.buffer, b.byteOffset, b.byteLength);
  } else {
    raw = Uint8Array.from(data as readonly number[], (v) => (v ? 1 : 0));
  }
  const count = dims.reduce((a, b) => a * b, 1);
  const width = elemType === ElemType.BOOL ? 1 : elemType === ElemType.FLOAT ? 4 : 8;
  if (raw.byteLength !== count * width)
    throw new Error(`tensor ${name}: ${raw.byteLength} bytes for dims [${dims.join(', ')}]`);
  return { name, dataType: elemType, dims: [...dims], rawData: raw };
}

function attribute(name: string, v: AttrValue): onnxProto.onnx.IAttributeProto {
  const T = onnx.AttributeProto.AttributeType;
  if ('i' in v) return { name, type: T.INT, i: v.i };
  if ('f' in v) return { name, type: T.FLOAT, f: v.f };
  if ('ints' in v) return { name, type: T.INTS, ints: [...v.ints] };
  if ('floats' in v) return { name, type: T.FLOATS, floats: [...v.floats] };
  if ('t' in v) return { name, type: T.TENSOR, t: tensorProto('', v.t.elemType, v.t.dims, v.t.data) };
  return { name, type: T.STRING, s: new TextEncoder().encode(v.s) };
}

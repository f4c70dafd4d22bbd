import { Tokenizer } from '@huggingface/tokenizers';
import { randomBytes } from 'node:crypto';
import { access, mkdir, readFile, rename, writeFile } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';
import * as ort from 'onnxruntime-node';
import type { ObjectStore } from '../object-store/index.ts';
import type { Embedder } from './index.ts';
import { normalize } from './index.ts';
import { bucketByLength, sessionOptions, type OnnxEmbedderOptions } from './onnx-runtime.ts';

// Any sentence-transformers ONNX export of the BERT family (all-MiniLM-L6-v2, bge-small,
// e5-small, gte-small, …) from its model folder: tokenizer.json through @huggingface/tokenizers
// (pure JS, reads the local file, downloads nothing), the graph on onnxruntime, then the pooling
// the model was trained with (1_Pooling/config.json: mean or CLS; mean when absent) and L2
// normalisation — the Embedder port promises unit vectors. Model id: `st:<folder name>`.

/** Where exports put the graph, in the order tried. */
export const MODEL_FILES = ['model.onnx', 'onnx/model.onnx', 'onnx/model_quantized.onnx'] as const;
const CONFIG_FILES = [
  'tokenizer.json',
  'tokenizer_config.json',
  'config.json',
  'modules.json',
  'sentence_bert_config.json',
  '1_Pooling/config.json',
] as const;

export type Pooling = 'mean' | 'cls';

export interface SentenceTransformerEmbedder extends Embedder {
  readonly pooling: Pooling;
  readonly maxLength: number;
  /** the model's input for one text: ids with the special tokens, truncated to maxLength */
  encode(text: string): { ids: number[]; typeIds: number[] };
}

const LIMITS = { maxRows: 64, maxTokens: 4096 };

export async function createSentenceTransformerEmbedder(
  dir: string,
  options: OnnxEmbedderOptions = {},
): Promise<SentenceTransformerEmbedder> {
  const json = async <T>(file: string): Promise<T | undefined> => {
    try {
      return JSON.parse(await readFile(join(dir, file), 'utf8')) as T;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
      throw new Error(`${join(dir, file)}: ${(err as Error).message}`);
    }
  };
  const tokenizerJson = await json<TokenizerJson>('tokenizer.json');
  if (!tokenizerJson) throw new Error(`${dir}: no tokenizer.json`);
  const tokenizerConfig = (await json<Record<string, unknown>>('tokenizer_config.json')) ?? {};
  const modelConfig = (await json<{ hidden_size?: number; max_position_embeddings?: number }>('config.json')) ?? {};
  const modules = await json<{ type: string; path: string }[]>('modules.json');
  const poolingDir = modules?.find((m) => m.type.endsWith('.Pooling'))?.path ?? '1_Pooling';
  const poolingConfig = await json<Record<string, unknown>>(join(poolingDir, 'config.json'));
  const sbertConfig = await json<{ max_seq_length?: number }>('sentence_bert_config.json');

  const pooling = poolingOf(poolingConfig, dir);
  const maxLength = Math.min(
    sbertConfig?.max_seq_length ??
      tokenizerJson.truncation?.max_length ??
      sane(tokenizerConfig.model_max_length) ??
      modelConfig.max_position_embeddings ??
      512,
    modelConfig.max_position_embeddings ?? Infinity,
  );
  const tokenizer = new Tokenizer(tokenizerJson, tokenizerConfig);
  const template = templateOf(tokenizerJson, tokenizer, dir);
  const room = maxLength - template.prefix.length - template.suffix.length;
  if (room < 1) throw new Error(`${dir}: max length ${maxLength} leaves no room for text`);
  const padId =
    tokenizerJson.padding?.pad_id ?? tokenizer.token_to_id(String(tokenizerConfig.pad_token ?? '[PAD]')) ?? 0;

  const modelFile = await firstExisting(dir, MODEL_FILES);
  if (!modelFile) throw new Error(`${dir}: no ONNX graph (looked for ${MODEL_FILES.join(', ')})`);
  const session = await ort.InferenceSession.create(join(dir, modelFile), sessionOptions(options));
  const output =
    ['last_hidden_state', 'token_embeddings'].find((n) => session.outputNames.includes(n)) ?? session.outputNames[0]!;
  const intType = new Map(
    session.inputMetadata.map((m) => [m.name, m.isTensor && m.type === 'int32' ? 'int32' : 'int64'] as const),
  );
  const wants = new Set(session.inputNames);
  for (const need of ['input_ids', 'attention_mask'])
    if (!wants.has(need)) throw new Error(`${dir}/${modelFile}: the graph has no ${need} input`);

  const encode = (text: string) => {
    const content = tokenizer.encode(text, { add_special_tokens: false }).ids.slice(0, room);
    return {
      ids: [...template.prefix, ...content, ...template.suffix],
      typeIds: [...template.prefixTypes, ...content.map(() => template.sequenceType), ...template.suffixTypes],
    };
  };

  async function run(encoded: { ids: number[]; typeIds: number[] }[]): Promise<Float32Array[]> {
    const rows = encoded.length;
    const width = Math.max(...encoded.map((e) => e.ids.length));
    const ids = new Array<number>(rows * width).fill(padId);
    const mask = new Array<number>(rows * width).fill(0);
    const types = new Array<number>(rows * width).fill(0);
    encoded.forEach((e, r) =>
      e.ids.forEach((id, t) => {
        ids[r * width + t] = id;
        mask[r * width + t] = 1;
        types[r * width + t] = e.typeIds[t]!;
      }),
    );
    const tensor = (name: string, values: number[]) =>
      intType.get(name) === 'int32'
        ? new ort.Tensor('int32', Int32Array.from(values), [rows, width])
        : new ort.Tensor(
            'int64',
            BigInt64Array.from(values, (v) => BigInt(v)),
            [rows, width],
          );
    const feeds: Record<string, ort.Tensor> = {
      input_ids: tensor('input_ids', ids),
      attention_mask: tensor('attention_mask', mask),
    };
    if (wants.has('token_type_ids')) feeds.token_type_ids = tensor('token_type_ids', types);
    const result = (await session.run(feeds))[output]!;
    const data = result.data as Float32Array;
    if (result.dims.length === 2)
      return encoded.map((_, r) => data.slice(r * result.dims[1]!, (r + 1) * result.dims[1]!)); // already pooled
    const hidden = result.dims[2]!;
    return encoded.map((e, r) => pool(data, r, width, hidden, e.ids.length, pooling));
  }

  const dimension = (await run([encode('')]))[0]!.length;
  return {
    modelId: `st:${basename(dir)}`,
    dimension,
    pooling,
    maxLength,
    encode,
    async embed(texts) {
      const encoded = texts.map(encode);
      const vectors = new Array<Float32Array>(texts.length);
      for (const runIndices of bucketByLength(
        encoded.map((e) => e.ids.length),
        LIMITS,
      )) {
        const pooled = await run(runIndices.map((i) => encoded[i]!));
        runIndices.forEach((i, k) => (vectors[i] = normalize(pooled[k]!)));
      }
      return vectors;
    },
  };
}

/** Mean over the real tokens (padding is always at the end) or the first token. */
function pool(
  data: Float32Array,
  row: number,
  width: number,
  hidden: number,
  length: number,
  pooling: Pooling,
): Float32Array {
  const base = row * width * hidden;
  if (pooling === 'cls') return data.slice(base, base + hidden);
  const out = new Float32Array(hidden);
  for (let t = 0; t < length; t++) for (let h = 0; h < hidden; h++) out[h]! += data[base + t * hidden + h]!;
  for (let h = 0; h < hidden; h++) out[h]! /= Math.max(length, 1e-9);
  return out;
}

function poolingOf(config: Record<string, unknown> | undefined, dir: string): Pooling {
  if (!config) return 'mean'; // what sentence-transformers builds for a plain transformer folder
  const modes = Object.entries(config)
    .filter(([k, v]) => k.startsWith('pooling_mode_') && v === true)
    .map(([k]) => k.slice('pooling_mode_'.length));
  if (modes.length === 1 && modes[0] === 'cls_token') return 'cls';
  if (modes.length === 1 && modes[0] === 'mean_tokens') return 'mean';
  throw new Error(`${dir}: pooling ${modes.join('+') || 'none'} is not supported (mean or CLS)`);
}

interface TokenizerJson {
  truncation?: { max_length?: number } | null;
  padding?: { pad_id?: number } | null;
  post_processor?: {
    type: string;
    single?: ({ SpecialToken: { id: string; type_id: number } } | { Sequence: { id: string; type_id: number } })[];
    special_tokens?: Record<string, { ids: number[] }>;
    cls?: [string, number];
    sep?: [string, number];
  } | null;
}

/** The special tokens around one sequence, from the tokenizer's post-processor. */
function templateOf(json: TokenizerJson, tokenizer: Tokenizer, dir: string) {
  const t = {
    prefix: [] as number[],
    prefixTypes: [] as number[],
    suffix: [] as number[],
    suffixTypes: [] as number[],
    sequenceType: 0,
  };
  const post = json.post_processor;
  if (!post) return t;
  if (post.type === 'BertProcessing' || post.type === 'RobertaProcessing') {
    if (!post.cls || !post.sep) throw new Error(`${dir}: ${post.type} without cls/sep`);
    return { ...t, prefix: [post.cls[1]], prefixTypes: [0], suffix: [post.sep[1]], suffixTypes: [0] };
  }
  if (post.type !== 'TemplateProcessing' || !post.single)
    throw new Error(`${dir}: post-processor ${post.type} is not supported`);
  let seen = false;
  for (const piece of post.single) {
    if ('Sequence' in piece) {
      seen = true;
      t.sequenceType = piece.Sequence.type_id;
      continue;
    }
    const name = piece.SpecialToken.id;
    const ids = post.special_tokens?.[name]?.ids ?? [tokenizer.token_to_id(name)];
    if (ids.some((id) => id === undefined)) throw new Error(`${dir}: special token ${name} is not in the vocabulary`);
    (seen ? t.suffix : t.prefix).push(...(ids as number[]));
    (seen ? t.suffixTypes : t.prefixTypes).push(...ids.map(() => piece.SpecialToken.type_id));
  }
  return t;
}

function sane(n: unknown): number | undefined {
  return typeof n === 'number' && n > 0 && n < 100_000 ? n : undefined; // tokenizer configs say 1e30 for "no limit"
}

async function firstExisting(dir: string, files: readonly string[]): Promise<string | undefined> {
  for (const f of files) {
    try {
      await access(join(dir, f));
      return f;
    } catch {
      // try the next place
    }
  }
  return undefined;
}

/**
 * Copies a model folder from the object store (keys `<prefix>/<file>`) into `dest`, the way a
 * cloud deployment gets its model: the config files that exist, and the first graph file found.
 */
export async function downloadModelDir(store: ObjectStore, prefix: string, dest: string): Promise<string> {
  const fetchTo = async (file: string) => {
    const body = await store.get(`${prefix}/${file}`);
    if (!body) return false;
    const path = join(dest, file);
    await mkdir(dirname(path), { recursive: true });
    const tmp = `${path}.${randomBytes(6).toString('hex')}.tmp`;
    await writeFile(tmp, body);
    await rename(tmp, path);
    return true;
  };
  const found = await Promise.all(CONFIG_FILES.map(fetchTo));
  if (!found[0]) throw new Error(`object store: no ${prefix}/tokenizer.json`);
  for (const f of MODEL_FILES) if (await fetchTo(f)) return dest;
  throw new Error(`object store: no ONNX graph under ${prefix}/ (looked for ${MODEL_FILES.join(', ')})`);
}

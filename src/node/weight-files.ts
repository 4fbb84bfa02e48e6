// Weight files the CLI writes: `sam-unet synth-weights` (the synthetic rule as a safetensors file)
// and `sam-unet convert` (a safetensors file or a PyTorch checkpoint rewritten as F32, F16 or q8
// safetensors), one tensor in memory at a time.
import { createWriteStream } from 'node:fs';
import { mkdir } from 'node:fs/promises';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import { syntheticStateDict } from '../model/keys.js';
import { looksLikePth, PthCheckpoint } from '../pth/checkpoint.js';
import { fileSource } from '../safetensors/node.js';
import { SafetensorsFile } from '../safetensors/read.js';
import { f32ArrayToF16, writeSafetensors, type LazyTensorEntry } from '../safetensors/write.js';
import { Q8_BLOCK, Q8_METADATA, Q8_SCALES_SUFFIX, q8Eligible, quantizeQ8 } from '../weights/q8.js';
import { safetensorsWeights } from '../weights/sources.js';
import { UsageError } from './usage.js';

type FloatOut = 'f32' | 'f16';

function floatDtypeOf(s: string | undefined, fallback?: FloatOut): FloatOut {
  const d = s ?? fallback;
  if (d !== 'f32' && d !== 'f16') throw new UsageError(`--dtype must be f32 or f16 (or q8 for convert), got '${s ?? ''}'`);
  return d;
}

/** A float32 tensor entry written as `dtype` (F16: rounded to nearest even, as torch.half()). */
function asDtype(e: LazyTensorEntry, dtype: FloatOut, f32: () => Promise<Float32Array> | Float32Array): LazyTensorEntry {
  if (dtype === 'f32') return { ...e, dtype: 'F32', data: f32 };
  return { ...e, dtype: 'F16', data: async () => f32ArrayToF16(await f32()) };
}

/** Writes `entries` to `path` as a safetensors file, one tensor in memory at a time; returns its size. */
async function writeFileStreamed(path: string, entries: LazyTensorEntry[], metadata: Record<string, string>): Promise<number> {
  await mkdir(dirname(path), { recursive: true });
  const stream = createWriteStream(path);
  const write = (chunk: Uint8Array) =>
    new Promise<void>((resolve, reject) => (stream.write(chunk, (e) => (e ? reject(e) : resolve()))));
  const bytes = await writeSafetensors(entries, write, metadata);
  await new Promise<void>((resolve, reject) => stream.end((e?: Error | null) => (e ? reject(e) : resolve())));
  return bytes;
}

export async function synthWeightsCommand(args: string[], log: (msg: string) => void): Promise<void> {
  const { values } = parseArgs({ args, options: { variant: { type: 'string' }, out: { type: 'string' }, dtype: { type: 'string' } } });
  const variant = values.variant;
  if (variant !== 'res50' && variant !== 'res34') throw new UsageError(`synth-weights needs --variant res50|res34${variant === undefined ? '' : `, got '${variant}'`}`);
  if (!values.out) throw new UsageError('synth-weights needs --out W.safetensors');
  const dtype = floatDtypeOf(values.dtype, 'f32');
  const entries = [...syntheticStateDict(variant)].map((t): LazyTensorEntry => {
    const e = { name: t.key, dtype: t.dtype, shape: t.shape, data: t.data };
    return t.dtype === 'F32' ? asDtype(e, dtype, t.data as () => Float32Array) : e;
  });
  const bytes = await writeFileStreamed(values.out, entries, {
    format: 'pt', variant, note: `synthetic SAM-UNet weights (../shared/golden/README.md rule): meaningless masks${dtype === 'f16' ? '; rounded to float16' : ''}`,
  });
  log(`wrote ${values.out} (${variant}, ${dtype}, ${(bytes / 1e6).toFixed(1)} MB)`);
}

export async function convertCommand(args: string[], log: (msg: string) => void): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { out: { type: 'string' }, dtype: { type: 'string' } } });
  if (positionals.length !== 1) throw new UsageError('convert takes one IN.safetensors or IN.pth');
  if (!values.out) throw new UsageError('convert needs --out OUT.safetensors');
  const q8 = values.dtype === 'q8';
  if (!q8 && values.dtype !== undefined) floatDtypeOf(values.dtype); // a bad --dtype before any file is opened
  const src = await fileSource(positionals[0]!);
  try {
    // A PyTorch checkpoint (.pth) is read without Python: its model state_dict, nothing executed.
    const pth = looksLikePth(await src.read(0, Math.min(8, src.size)));
    const f = pth ? await PthCheckpoint.open(src) : await SafetensorsFile.open(src);
    // From a checkpoint, no --dtype keeps every tensor's own dtype.
    const dtype = q8 ? 'f32' : pth && values.dtype === undefined ? null : floatDtypeOf(values.dtype);
    // Floating values through the weight source (a q8 input is dequantised), in data order.
    const weights = f instanceof SafetensorsFile ? safetensorsWeights(f) : null;
    const names = weights ? [...weights.entries.keys()] : [...f.tensors.keys()];
    const begin = (n: string) => f.tensors.get(n)!.begin;
    const entries = names.sort((a, b) => begin(a) - begin(b)).flatMap((name): LazyTensorEntry[] => {
      const t = f.tensors.get(name)!;
      const isFloat = ['F32', 'F16', 'BF16'].includes(t.dtype) || (weights?.entries.get(name)?.dtype === 'Q8_0');
      const f32 = () => (weights ? weights.read(name) : f.readF32(name));
      if (q8 && isFloat && q8Eligible(name, t.shape)) return q8Entries(name, t.shape, f32);
      const e: LazyTensorEntry = { name, dtype: t.dtype, shape: t.shape, data: async () => (await f.read(name)).data };
      return dtype && isFloat ? [asDtype(e, dtype, f32)] : [e];
    });
    const metadata: Record<string, string> = f instanceof SafetensorsFile ? { ...f.metadata } : { format: 'pt', source: `PyTorch checkpoint, state_dict at [${f.stateDictPath.join(', ')}]` };
    if (q8) metadata.quantization = Q8_METADATA;
    const bytes = await writeFileStreamed(values.out, entries, { ...metadata, converted: q8 ? 'large float tensors as q8_0' : dtype ? `floating tensors as ${dtype}` : 'dtypes kept' });
    log(`wrote ${values.out} (${names.length} tensors, ${q8 ? 'q8' : dtype ?? 'dtypes kept'}, ${(bytes / 1e6).toFixed(1)} MB)`);
  } finally {
    await src.close();
  }
}

/** A tensor as q8 (src/weights/q8.ts): its scales (F16), then its int8 values; quantised once. */
function q8Entries(name: string, shape: readonly number[], f32: () => Promise<Float32Array>): LazyTensorEntry[] {
  let made: Promise<ReturnType<typeof quantizeQ8>> | null = null;
  const q = () => (made ??= f32().then((v) => quantizeQ8(name, v, shape)));
  const rows = shape[0]!, K = shape.reduce((a, b) => a * b, 1) / rows;
  return [
    { name: name + Q8_SCALES_SUFFIX, dtype: 'F16', shape: [rows, Math.ceil(K / Q8_BLOCK)], data: async () => (await q()).scales },
    { name, dtype: 'I8', shape, data: async () => (await q()).q },
  ];
}

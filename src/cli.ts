#!/usr/bin/env node
// sam-unet: segment an image with SAM-UNet on WebGPU from the command line (Node + Dawn).
import { mkdir, writeFile } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { parseArgs } from 'node:util';
import { relaunchWithoutDawnNotices } from './gpu/dawn-notices.js';
import { requestGpu, type Gpu } from './gpu/device.js';
import { encodePng, type RgbImage } from './image/decode.js';
import { maskFromLogits } from './image/mask.js';
import { drawBox, drawPoints, overlayMask } from './image/overlay.js';
import { sheppLogan } from './image/phantom.js';
import type { Variant } from './model/config.js';
import { syntheticWeights } from './model/keys.js';
import type { Box, Point, PromptSet } from './model/prompts.js';
import { SamUnet, type DecodeResult } from './model/sam_unet.js';
import { listWeights, resolveWeights, weightDirs } from './node/weights-dir.js';
import { fileSource } from './safetensors/node.js';
import { SafetensorsFile } from './safetensors/read.js';
import { looksLikePth, PthCheckpoint } from './pth/checkpoint.js';
import { checkpointWeights } from './pth/index.js';
import { serializeSafetensors } from './safetensors/write.js';
import { parsePrecision, PRECISIONS, type Precision } from './weights/load.js';
import type { WeightProvider } from './weights/source.js';
import { safetensorsWeights } from './weights/sources.js';
import { batchCommand } from './node/batch/command.js';
import { describeScanPath, readSegmentInput } from './node/scan-input.js';
import { convertCommand, synthWeightsCommand } from './node/weight-files.js';
import { VOLUME_USAGE, volumeCommand } from './node/volume-command.js';
import { writeSliceMask } from './volume/slice.js';
import { niftiLabelMap } from './volume/nifti-write.js';

/** How a scan becomes the model's image (src/node/scan-input.ts). */
const SCAN_OPTIONS = {
  window: { type: 'string' },
  slice: { type: 'string' },
  axis: { type: 'string' },
  frame: { type: 'string' },
  series: { type: 'string' },
} as const;

const USAGE = `sam-unet — SAM-UNet medical image segmentation on WebGPU

Usage:
  sam-unet segment IMAGE|SCAN [--weights W] [--variant res50|res34] [--precision f32|f16|f16-compute|q8]
                   [--box x0,y0,x1,y1]... [--point x,y,label]... [--mask-input PREV.safetensors]
                   --out MASK.png [--logits OUT.safetensors] [--overlay OVERLAY.png]
                   [--window W] [--slice N] [--axis axial|coronal|sagittal] [--frame N] [--series UID]
                   [--out-labels LABELS.nii.gz]
${VOLUME_USAGE}
  sam-unet synth-weights --variant res50|res34 --out W.safetensors [--dtype f32|f16]
  sam-unet convert IN.safetensors|IN.pth --out OUT.safetensors [--dtype f16|f32|q8]
  sam-unet demo [--out-dir DIR] [--variant res50|res34]
  sam-unet batch MANIFEST.jsonl --out-dir DIR --weights W [--shard K/N] [--resume] [--dry-run]
  sam-unet info [SCAN] [--series UID]

IMAGE is PNG or JPEG. SCAN is a DICOM file (2-D or multi-frame; --frame N), a folder holding a DICOM
series (--series UID picks one when it holds several), or a NIfTI file (.nii, .nii.gz). A volume is
cut at --slice N (default: the middle slice) along --axis (default axial), shown as radiology
viewers show it (axial: the patient's right on the left, anterior up; coronal: right on the left,
superior up; sagittal: anterior on the left, superior up); --out-labels writes the masks into a
label map on the scan's grid. --window: a CT preset (abdomen W400/L40, lung W1500/L-600, bone
W1800/L400, brain W80/L40, mediastinum, liver), "W,L", file (the scan's own), percentile (0.5–99.5 %
of non-zero values, as for MR), or auto (default: abdomen for CT, as MedSAM did; percentile otherwise).
volume: Z is a slice index along --axis, x, y that slice's pixels; N@ gives the object's label
(default --label, 1); the mask spreads from each key slice until it vanishes (see README "Volumes").
Coordinates are pixels of the original image (of the slice, for a scan). Each --box is one prompt set
(N boxes give MASK-0.png, MASK-1.png, …); --point x,y,1 (foreground) or x,y,0 (background) joins
every set, or forms the only set when there is no box. --weights takes a path, or a bare NAME found
in ./weights/ (or the package's weights/ folder) as NAME, NAME.safetensors or NAME.pth (a PyTorch
checkpoint is read directly); without it, the one weights file there is used. --weights synthetic:res50 (or :res34) uses the built-in synthetic
weights, which give meaningless masks. --dtype f16 writes floating tensors
as IEEE half (half the file; the loader converts them back to float32); convert rewrites a file's
floating tensors (F32, F16, BF16) in the dtype asked for, one tensor in memory at a time. It also
reads a PyTorch checkpoint (.pth, torch.save) without Python and without running its pickle: the
model state_dict ('model' / 'state_dict' entry or bare, 'module.' stripped), dtypes kept unless
--dtype is given. --dtype q8 stores every large weight as int8 in blocks of 32 with a float16 scale
each (a quarter of the f32 file; see README "int8 weights"); the loader reads such files.
--precision f16 holds the ViT's linear weights in float16 on the GPU (170 MB less for res50; sums stay
float32; logits moved by up to 7e-4 on the golden cases). --precision f16-compute runs every layer on
float16 weights and activations with float32 sums (needs the GPU feature shader-f16, else it runs in
f32 and says so; logits moved by up to 4e-3 on the golden cases). --precision q8 holds the ViT's
linear weights as int8 blocks on the GPU (GEMMs dequantise as they load; from any weights file).`;

import { UsageError } from './node/usage.js';

function numbers(s: string, n: number, what: string): number[] {
  const v = s.split(',').map((x) => Number(x.trim()));
  if (v.length !== n || v.some((x) => !Number.isFinite(x))) throw new UsageError(`${what} '${s}': expected ${n} comma-separated numbers`);
  return v;
}

function variantOf(s: string | undefined): Variant | undefined {
  if (s === undefined) return undefined;
  if (s !== 'res50' && s !== 'res34') throw new UsageError(`--variant must be res50 or res34, got '${s}'`);
  return s;
}

/** Without --weights: the one weights file in weights/ (weights-dir.ts). */
function defaultWeights(): string {
  const found = listWeights();
  if (found.length === 1) {
    log(`weights: ${found[0]}`);
    return found[0]!;
  }
  const dirs = weightDirs().join(' or ');
  throw new UsageError(`segment needs --weights: ${found.length ? `${dirs} hold ${found.length} weight files` : `there is none in ${dirs}`}`);
}

/** A safetensors file or a PyTorch checkpoint (told by its first bytes), or synthetic weights. */
async function openWeights(arg: string): Promise<{ provider: WeightProvider; close: () => Promise<void> }> {
  const path = resolveWeights(arg);
  const m = path.match(/^synthetic:(res50|res34)$/);
  if (m) return { provider: syntheticWeights(m[1] as Variant), close: async () => {} };
  const src = await fileSource(path);
  try {
    if (looksLikePth(await src.read(0, Math.min(8, src.size)))) {
      return { provider: checkpointWeights(await PthCheckpoint.open(src), src.size), close: () => src.close() };
    }
    return { provider: safetensorsWeights(await SafetensorsFile.open(src)), close: () => src.close() };
  } catch (e) {
    await src.close();
    throw new Error(`${path}: ${(e as Error).message}`);
  }
}

function log(msg: string): void {
  process.stderr.write(msg + '\n');
}

async function loadModel(gpu: Gpu, weights: string, variant?: Variant, precision?: Precision): Promise<SamUnet> {
  const t0 = performance.now();
  const { provider, close } = await openWeights(weights);
  try {
    // Every pipeline of the encoder and the decoder created at once, before the first image.
    const model = await SamUnet.load(gpu, provider, { variant, precision, warmup: { run: false } });
    if (model.weights.precisionNote) log(`note: ${model.weights.precisionNote}`);
    if (model.weights.unexpected.length) log(`note: ${model.weights.unexpected.length} unused key(s) in the weights, e.g. ${model.weights.unexpected[0]}`);
    log(`loaded ${model.variant} weights in ${(performance.now() - t0).toFixed(0)} ms`);
    return model;
  } finally {
    await close();
  }
}

async function runSegment(model: SamUnet, image: RgbImage, sets: PromptSet[]): Promise<DecodeResult> {
  const t0 = performance.now();
  const emb = await model.encode(image);
  const t1 = performance.now();
  const out = await model.decode(emb, sets);
  const t2 = performance.now();
  emb.destroy();
  log(`adapter: ${model.gpu.info.name}`);
  log(`encode ${(t1 - t0).toFixed(0)} ms (includes the driver's compilation on first use), decode ${(t2 - t1).toFixed(0)} ms`);
  return out;
}

function maskPng(r: DecodeResult, i: number): Uint8Array {
  return encodePng(r.width, r.height, maskFromLogits(r.logits[i]!, r.width, r.height), 1);
}

function overlayPng(image: RgbImage, r: DecodeResult, sets: PromptSet[]): Uint8Array {
  let img = image;
  r.masks.forEach((m) => (img = overlayMask(img, m)));
  for (const s of sets) {
    if (s.box) img = drawBox(img, s.box);
    if (s.points) img = drawPoints(img, s.points);
  }
  return encodePng(img.width, img.height, img.data, 3);
}

/** MASK.png for one set; MASK-0.png, MASK-1.png, … for several. */
function outName(path: string, i: number, n: number): string {
  if (n === 1) return path;
  const ext = extname(path);
  return `${path.slice(0, path.length - ext.length)}-${i}${ext}`;
}

async function writeOutputs(r: DecodeResult, out: string, logitsPath?: string): Promise<void> {
  for (let i = 0; i < r.n; i++) {
    const name = outName(out, i, r.n);
    await writeFile(name, maskPng(r, i));
    log(`wrote ${name}`);
  }
  if (logitsPath) {
    const cat = (xs: Float32Array[]) => {
      const all = new Float32Array(xs.reduce((a, x) => a + x.length, 0));
      let o = 0;
      for (const x of xs) all.set(x, (o += x.length) - x.length);
      return all;
    };
    await writeFile(logitsPath, serializeSafetensors([
      { name: 'low_res_logits', dtype: 'F32', shape: [r.n, 1, 64, 64], data: cat(r.lowResLogits) },
      { name: 'logits', dtype: 'F32', shape: [r.n, 1, r.height, r.width], data: cat(r.logits) },
    ]));
    log(`wrote ${logitsPath}`);
  }
}

async function segment(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      weights: { type: 'string' },
      variant: { type: 'string' },
      precision: { type: 'string' },
      box: { type: 'string', multiple: true },
      point: { type: 'string', multiple: true },
      'mask-input': { type: 'string' },
      out: { type: 'string' },
      logits: { type: 'string' },
      overlay: { type: 'string' },
      ...SCAN_OPTIONS,
      'out-labels': { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('segment takes one IMAGE or SCAN');
  const weights = values.weights ?? defaultWeights();
  if (!values.out) throw new UsageError('segment needs --out MASK.png');
  const precision = parsePrecision(values.precision ?? 'f32');
  if (!precision) throw new UsageError(`--precision must be ${PRECISIONS.join(', ')}, got '${values.precision}'`);
  const boxes = (values.box ?? []).map((b) => numbers(b, 4, '--box') as unknown as Box);
  const points = (values.point ?? []).map((p) => numbers(p, 3, '--point') as unknown as Point);
  if (!boxes.length && !points.length) throw new UsageError('segment needs at least one --box or --point');
  let maskInput: Float32Array | undefined;
  if (values['mask-input']) {
    if (boxes.length > 1) throw new UsageError('--mask-input works with one prompt set (at most one --box)');
    const src = await fileSource(values['mask-input']);
    try {
      const f = await SafetensorsFile.open(src);
      const info = f.info('low_res_logits');
      if (info.shape.join('x') !== '1x1x64x64') throw new UsageError(`--mask-input: low_res_logits has shape [${info.shape}], expected [1, 1, 64, 64]`);
      maskInput = await f.readF32('low_res_logits');
    } finally {
      await src.close();
    }
  }
  const sets: PromptSet[] = boxes.length ? boxes.map((box) => ({ box, points, maskInput })) : [{ points, maskInput }];
  const { window, slice, axis, frame, series } = values;
  const input = await readSegmentInput(positionals[0]!, { window, slice, axis, frame, series });
  if (values['out-labels'] && !input.volume) throw new UsageError('--out-labels needs a volume (a DICOM series or a NIfTI file)');
  log(input.summary);
  const image = input.image;
  const gpu = await requestGpu({ f16: precision === 'f16-compute' });
  const model = await loadModel(gpu, weights, variantOf(values.variant), precision);
  try {
    const r = await runSegment(model, image, sets);
    await writeOutputs(r, values.out, values.logits);
    if (values.overlay) {
      await writeFile(values.overlay, overlayPng(image, r, sets));
      log(`wrote ${values.overlay}`);
    }
    if (values['out-labels']) {
      // Set i's mask as label i + 1 on the source grid (a later set wins where masks overlap).
      const vol = input.volume!;
      const labels = new Uint8Array(vol.dims[0] * vol.dims[1] * vol.dims[2]);
      r.masks.forEach((m, i) => writeSliceMask(labels, vol.dims, input.geometry!, m, i + 1));
      await writeFile(values['out-labels'], niftiLabelMap(labels, vol, { gzip: /\.gz$/i.test(values['out-labels']) }));
      log(`wrote ${values['out-labels']} (${vol.dims.join('×')} labels on the scan's grid)`);
    }
  } finally {
    model.destroy();
  }
}

async function demo(args: string[]): Promise<void> {
  const { values } = parseArgs({ args, options: { 'out-dir': { type: 'string' }, variant: { type: 'string' } } });
  const dir = values['out-dir'] ?? 'out';
  const variant = variantOf(values.variant) ?? 'res50';
  await mkdir(dir, { recursive: true });
  log('SAM-UNet demo: a Shepp–Logan phantom segmented with SYNTHETIC weights.');
  log('Synthetic weights are deterministic noise: the mask shows the pipeline runs, not a real segmentation.');
  log('For real masks convert a trained checkpoint (see README) and run `sam-unet segment`.');
  const image = sheppLogan(256);
  await writeFile(join(dir, 'phantom.png'), encodePng(image.width, image.height, image.data, 3));
  const gpu = await requestGpu();
  const model = await loadModel(gpu, `synthetic:${variant}`);
  try {
    const sets: PromptSet[] = [{ box: [70, 60, 150, 200] }];
    const r = await runSegment(model, image, sets);
    await writeOutputs(r, join(dir, 'mask.png'), join(dir, 'logits.safetensors'));
    await writeFile(join(dir, 'overlay.png'), overlayPng(image, r, sets));
    let inside = 0;
    for (const v of r.masks[0]!) inside += v;
    log(`wrote ${join(dir, 'overlay.png')} (mask covers ${inside} of ${r.width * r.height} pixels)`);
  } finally {
    model.destroy();
  }
}

async function info(args: string[]): Promise<void> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { series: { type: 'string' } } });
  if (positionals.length > 1) throw new UsageError('info takes at most one SCAN');
  if (positionals.length === 1) {
    // Indented, with arrays of numbers on one line.
    const text = JSON.stringify(await describeScanPath(positionals[0]!, values.series), null, 2);
    console.log(text.replace(/\[\s+(-?[\d.e+-]+(?:,\s+-?[\d.e+-]+)*)\s+\]/g, (_, xs: string) => `[${xs.split(/,\s+/).join(', ')}]`));
    return;
  }
  const gpu = await requestGpu();
  console.log(JSON.stringify({ adapter: gpu.info, limits: { maxStorageBufferBindingSize: gpu.device.limits.maxStorageBufferBindingSize, maxBufferSize: gpu.device.limits.maxBufferSize } }, null, 2));
}

async function main(argv: string[]): Promise<number> {
  const [cmd, ...rest] = argv;
  try {
    switch (cmd) {
      case 'segment': await segment(rest); break;
      case 'synth-weights': await synthWeightsCommand(rest, log); break;
      case 'convert': await convertCommand(rest, log); break;
      case 'demo': await demo(rest); break;
      case 'info': await info(rest); break;
      case 'volume': await volumeCommand(rest, async (w, v, p) => {
        const precision = parsePrecision(p ?? 'f32');
        if (!precision) throw new UsageError(`--precision must be ${PRECISIONS.join(', ')}, got '${p}'`);
        return loadModel(await requestGpu({ f16: precision === 'f16-compute' }), w ?? defaultWeights(), variantOf(v), precision);
      }); break;
      case 'batch': return await batchCommand(rest, { loadModel: async (w, v, p) => loadModel(await requestGpu({ f16: p === 'f16-compute' }), w, v, p) });
      case undefined: case '-h': case '--help': case 'help': console.log(USAGE); return cmd === undefined ? 2 : 0;
      default: throw new UsageError(`unknown command '${cmd}'`);
    }
    return 0;
  } catch (e) {
    const err = e as Error;
    if (e instanceof UsageError || err.name === 'TypeError' && /parseArgs|option/i.test(err.message)) {
      log(`sam-unet: ${err.message}\n\n${USAGE}`);
      return 2;
    }
    log(`sam-unet: ${err.name && err.name !== 'Error' ? err.name + ': ' : ''}${err.message}`);
    return 1;
  }
}

// The work runs in a child process whose stderr is copied without Dawn's two native limit notices
// (gpu/dawn-notices.ts); in that child, relaunch resolves to null.
relaunchWithoutDawnNotices()
  .then((code) => code ?? main(process.argv.slice(2)))
  .then((code) => process.exit(code));

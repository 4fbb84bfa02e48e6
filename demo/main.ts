// The SAM-UNet demo page: plain TypeScript and DOM. Weights (synthetic, a URL, a local file) are
// loaded once; an image is encoded once; every prompt change runs the decoder alone on the kept
// embedding. GPU work runs one job at a time, and a burst of prompt changes costs one decode.
import * as lib from 'sam-unet-webgpu';
import {
  blobWeights, clearWeightCache, decodeImage, fetchWeights, GpuUnavailableError, requestGpu, SamUnet, sheppLogan, syntheticWeights,
  type Box, type DecodeResult, type Gpu, type ImageEmbedding, type Point, type RgbImage, type Variant, type WeightProvider,
} from 'sam-unet-webgpu';

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

/** Everything the page knows; exposed as window.samUnetDemo.state for the headless tests. */
interface DemoState {
  gpu: Gpu | null;
  model: SamUnet | null;
  weights: string | null;
  loadMs: number | null;
  image: RgbImage | null;
  imageLabel: string | null;
  emb: ImageEmbedding | null;
  encodeMs: number | null;
  encodeCount: number;
  box: Box | null;
  points: Point[];
  result: DecodeResult | null;
  /** The prompt `result` was decoded from. */
  resultPrompt: { box: Box | null; points: Point[] } | null;
  decodeMs: number | null;
  decodeCount: number;
  busy: string | null;
  error: string | null;
}

const state: DemoState = {
  gpu: null, model: null, weights: null, loadMs: null, image: null, imageLabel: null, emb: null, encodeMs: null, encodeCount: 0,
  box: null, points: [], result: null, resultPrompt: null, decodeMs: null, decodeCount: 0, busy: null, error: null,
};

// ---------------------------------------------------------------- status, errors, progress

function setStatus(text: string): void {
  $('status').textContent = text;
}

function showError(e: unknown): void {
  const msg = e instanceof Error ? `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}` : String(e);
  state.error = msg;
  const el = $('error');
  el.textContent = msg;
  el.hidden = false;
  console.error(e);
}

function clearError(): void {
  state.error = null;
  $('error').hidden = true;
}

let progressFrame = 0;
let progressNext: { value: number; text: string } | null = null;
/** Progress bar updates, at most one per animation frame. */
function setProgress(value: number, text: string): void {
  progressNext = { value, text };
  if (progressFrame) return;
  progressFrame = requestAnimationFrame(() => {
    progressFrame = 0;
    if (!progressNext) return;
    $<HTMLProgressElement>('progress').value = progressNext.value;
    $('progress-text').textContent = progressNext.text;
  });
}

const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
const fmtMB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

function renderStats(): void {
  $('stat-weights').textContent = state.weights ? `${state.weights}${state.loadMs !== null ? ` (${fmtMs(state.loadMs)})` : ''}` : '–';
  $('stat-image').textContent = state.image ? `${state.imageLabel} ${state.image.width}×${state.image.height}` : '–';
  $('stat-encode').textContent = state.encodeMs !== null ? `${fmtMs(state.encodeMs)}${state.encodeCount === 1 ? ' (first run compiles the pipelines)' : ''}` : '–';
  $('stat-decode').textContent = state.decodeMs !== null ? `${fmtMs(state.decodeMs)} (#${state.decodeCount})` : '–';
  const p = state.resultPrompt;
  $('stat-prompt').textContent = p
    ? [p.box ? `box ${p.box.map((v) => v.toFixed(1)).join(', ')}` : '', ...p.points.map((q) => `${q[2] ? '+' : '−'}(${q[0].toFixed(1)}, ${q[1].toFixed(1)})`)].filter(Boolean).join(' ')
    : '–';
  if (state.result) {
    let n = 0;
    for (const v of state.result.masks[0]!) n += v;
    $('stat-mask').textContent = `${n} of ${state.result.width * state.result.height} pixels`;
  } else $('stat-mask').textContent = '–';
}

// ---------------------------------------------------------------- one GPU job at a time

let chain: Promise<void> = Promise.resolve();
let pending = 0;

function job(label: string, fn: () => Promise<void>): Promise<void> {
  pending++;
  const run = async () => {
    state.busy = label;
    setStatus(`${label}…`);
    try {
      await fn();
    } catch (e) {
      showError(e);
    } finally {
      pending--;
      state.busy = pending ? state.busy : null;
      if (!pending) setStatus(state.error ? 'Stopped on an error' : 'Ready');
      renderStats();
    }
  };
  chain = chain.then(run);
  return chain;
}

// ---------------------------------------------------------------- WebGPU

async function gpu(): Promise<Gpu> {
  if (!state.gpu) {
    state.gpu = await requestGpu();
    $('adapter').textContent = `WebGPU adapter: ${state.gpu.info.name}`;
  }
  return state.gpu;
}

function noWebGpu(message: string): void {
  const el = $('nogpu');
  el.textContent = `WebGPU is not available: ${message}`;
  el.hidden = false;
  $('adapter').textContent = 'WebGPU adapter: none';
  for (const id of ['synth-res34', 'synth-res50', 'load-url']) $<HTMLButtonElement>(id).disabled = true;
  $<HTMLInputElement>('weights-file').disabled = true;
}

// ---------------------------------------------------------------- weights

/** Lets the page repaint (progress bar) while a synchronous provider computes tensors. */
function yielding(src: WeightProvider): WeightProvider {
  let last = performance.now();
  return {
    entries: src.entries,
    read: async (key) => {
      if (performance.now() - last > 30) {
        await new Promise((r) => setTimeout(r, 0));
        last = performance.now();
      }
      return src.read(key);
    },
  };
}

function dropModel(): void {
  state.emb?.destroy();
  state.emb = null;
  state.model?.destroy();
  state.model = null;
  state.result = null;
  state.resultPrompt = null;
  state.weights = null;
  state.loadMs = null;
  drawMask();
  render();
}

type WeightChoice =
  | { kind: 'synthetic'; variant: Variant }
  | { kind: 'url'; url: string }
  | { kind: 'file'; file: File };

function loadWeights(choice: WeightChoice): Promise<void> {
  clearError();
  return job('Loading weights', async () => {
    const g = await gpu();
    dropModel();
    setProgress(0, '');
    const t0 = performance.now();
    let label: string;
    let src: WeightProvider;
    let cacheNote = '';
    const onBytes = (p: lib.StreamProgress) =>
      setProgress(p.bytesTotal ? p.bytesRead / p.bytesTotal : 0, `${fmtMB(p.bytesRead)}${p.bytesTotal ? ` of ${fmtMB(p.bytesTotal)}` : ''}${p.tensor ? ` · ${p.tensor}` : ''}`);
    if (choice.kind === 'synthetic') {
      label = `synthetic ${choice.variant}`;
      src = yielding(syntheticWeights(choice.variant));
    } else if (choice.kind === 'url') {
      const fetched = await fetchWeights(choice.url, {
        onProgress: onBytes,
        onCached: (ok, why) => (cacheNote = ok ? ' · cached for next time' : ` · not cached (${why instanceof Error ? why.message : String(why)})`),
      });
      label = `${choice.url.split('/').pop()} (${fetched.fromCache ? 'from the browser cache' : 'downloaded'})`;
      src = fetched;
    } else {
      label = choice.file.name;
      src = await blobWeights(choice.file, { onProgress: onBytes });
    }
    let model: SamUnet;
    try {
      model = await SamUnet.load(g, src, {
        onProgress: (p) => {
          if (choice.kind === 'synthetic') setProgress(p.loaded / p.total, `${p.loaded} / ${p.total} tensors · ${p.key}`);
        },
      });
    } catch (e) {
      await (src as Partial<lib.StreamWeightProvider>).cancel?.();
      throw e;
    }
    state.model = model;
    state.loadMs = performance.now() - t0;
    state.weights = `${label}, ${model.variant}`;
    setProgress(1, `loaded ${fmtMB(model.weights.bytes)} into ${model.weights.bufferCount} GPU buffers${cacheNote}`);
    $('weights-info').textContent = model.weights.unexpected.length ? `${model.weights.unexpected.length} unused key(s) in the file, e.g. ${model.weights.unexpected[0]}` : '';
    await encode();
  });
}

// ---------------------------------------------------------------- image, encode, decode

function setImage(image: RgbImage, label: string): Promise<void> {
  clearError();
  state.image = image;
  state.imageLabel = label;
  state.box = null;
  state.points = [];
  state.result = null;
  state.resultPrompt = null;
  drawBase();
  drawMask();
  render();
  renderStats();
  return job('Encoding the image', encode);
}

/** The image that state.emb encodes (the embedding is replaced inside a job, never under a decode). */
let embImage: RgbImage | null = null;

/** Encodes the current image with the current model unless that is done already. */
async function encode(): Promise<void> {
  if (state.emb && embImage !== state.image) {
    state.emb.destroy();
    state.emb = null;
  }
  if (!state.model || !state.image || state.emb) return;
  state.busy = 'Encoding the image';
  setStatus('Encoding the image…');
  const t0 = performance.now();
  embImage = state.image;
  state.emb = await state.model.encode(state.image);
  // The encode is only finished once the GPU is: wait for it so the time means something.
  await state.model.gpu.device.queue.onSubmittedWorkDone();
  state.encodeMs = performance.now() - t0;
  state.encodeCount++;
  renderStats();
  await decode();
}

let decodeQueued = false;
/** Runs the decoder on the latest prompt; several changes while busy give one decode. */
function requestDecode(): void {
  render();
  if (decodeQueued) return;
  decodeQueued = true;
  void job('Decoding', async () => {
    decodeQueued = false;
    await decode();
  });
}

async function decode(): Promise<void> {
  if (!state.model || !state.emb || embImage !== state.image) return;
  const box = state.box;
  const points = [...state.points];
  if (!box && !points.length) {
    state.result = null;
    state.resultPrompt = null;
  } else {
    state.busy = 'Decoding';
    setStatus('Decoding…');
    const t0 = performance.now();
    state.result = await state.model.decode(state.emb, [{ box: box ?? undefined, points }]);
    state.decodeMs = performance.now() - t0;
    state.decodeCount++;
    state.resultPrompt = { box, points };
  }
  drawMask();
  render();
  renderStats();
}

// ---------------------------------------------------------------- drawing

const view = $<HTMLCanvasElement>('view');
const ctx = view.getContext('2d')!;
const base = document.createElement('canvas');
const maskLayer = document.createElement('canvas');
let scale = 1;

function drawBase(): void {
  const img = state.image;
  if (!img) return;
  scale = Math.max(1, Math.min(4, Math.floor(640 / Math.max(img.width, img.height))));
  view.width = img.width * scale;
  view.height = img.height * scale;
  base.width = maskLayer.width = img.width;
  base.height = maskLayer.height = img.height;
  const rgba = new ImageData(img.width, img.height);
  for (let i = 0; i < img.width * img.height; i++) {
    rgba.data[4 * i] = img.data[3 * i]!;
    rgba.data[4 * i + 1] = img.data[3 * i + 1]!;
    rgba.data[4 * i + 2] = img.data[3 * i + 2]!;
    rgba.data[4 * i + 3] = 255;
  }
  base.getContext('2d')!.putImageData(rgba, 0, 0);
  $('placeholder').hidden = true;
}

function drawMask(): void {
  const m = maskLayer.getContext('2d')!;
  m.clearRect(0, 0, maskLayer.width, maskLayer.height);
  const r = state.result;
  if (!r || r.width !== maskLayer.width || r.height !== maskLayer.height) return;
  const rgba = new ImageData(r.width, r.height);
  const mask = r.masks[0]!;
  for (let i = 0; i < mask.length; i++) {
    if (!mask[i]) continue;
    rgba.data[4 * i] = 255;
    rgba.data[4 * i + 1] = 60;
    rgba.data[4 * i + 2] = 60;
    rgba.data[4 * i + 3] = 120;
  }
  m.putImageData(rgba, 0, 0);
}

let dragBox: Box | null = null;

function render(): void {
  if (!state.image) return;
  ctx.imageSmoothingEnabled = false;
  ctx.clearRect(0, 0, view.width, view.height);
  ctx.drawImage(base, 0, 0, view.width, view.height);
  ctx.drawImage(maskLayer, 0, 0, view.width, view.height);
  const box = dragBox ?? state.box;
  if (box) {
    ctx.lineWidth = 2;
    ctx.strokeStyle = dragBox ? '#9fd0ff' : '#3a8ee6';
    ctx.setLineDash(dragBox ? [6, 4] : []);
    ctx.strokeRect(box[0] * scale, box[1] * scale, (box[2] - box[0]) * scale, (box[3] - box[1]) * scale);
    ctx.setLineDash([]);
  }
  for (const [x, y, label] of state.points) {
    ctx.beginPath();
    ctx.arc(x * scale, y * scale, 5, 0, 2 * Math.PI);
    ctx.fillStyle = label ? '#27c24c' : '#e23b3b';
    ctx.fill();
    ctx.lineWidth = 1.5;
    ctx.strokeStyle = '#fff';
    ctx.stroke();
  }
}

// ---------------------------------------------------------------- mouse: drag a box, click points

/** A mouse position in original-image pixels, clamped to the image. */
function imagePoint(e: MouseEvent): [number, number] {
  const rect = view.getBoundingClientRect();
  const img = state.image!;
  const x = ((e.clientX - rect.left) / rect.width) * img.width;
  const y = ((e.clientY - rect.top) / rect.height) * img.height;
  return [Math.min(img.width, Math.max(0, x)), Math.min(img.height, Math.max(0, y))];
}

let down: { x: number; y: number; cx: number; cy: number; shift: boolean } | null = null;

view.addEventListener('mousedown', (e) => {
  if (!state.image || e.button !== 0) return;
  e.preventDefault();
  const [x, y] = imagePoint(e);
  down = { x, y, cx: e.clientX, cy: e.clientY, shift: e.shiftKey };
});

window.addEventListener('mousemove', (e) => {
  if (!down) return;
  if (Math.hypot(e.clientX - down.cx, e.clientY - down.cy) < 4) return;
  const [x, y] = imagePoint(e);
  dragBox = [Math.min(down.x, x), Math.min(down.y, y), Math.max(down.x, x), Math.max(down.y, y)];
  render();
});

window.addEventListener('mouseup', (e) => {
  if (!down) return;
  const d = down;
  down = null;
  const box = dragBox;
  dragBox = null;
  if (box && box[2] - box[0] >= 1 && box[3] - box[1] >= 1) {
    state.box = box;
  } else {
    state.points = [...state.points, [d.x, d.y, d.shift || e.shiftKey ? 0 : 1]];
  }
  requestDecode();
});

// ---------------------------------------------------------------- files, buttons, drag and drop

async function openImageFile(file: File): Promise<void> {
  clearError();
  try {
    await setImage(decodeImage(new Uint8Array(await file.arrayBuffer())), file.name);
  } catch (e) {
    showError(e);
  }
}

function openFile(file: File): void {
  if (/\.safetensors$/i.test(file.name)) void loadWeights({ kind: 'file', file });
  else void openImageFile(file);
}

$('synth-res34').addEventListener('click', () => void loadWeights({ kind: 'synthetic', variant: 'res34' }));
$('synth-res50').addEventListener('click', () => void loadWeights({ kind: 'synthetic', variant: 'res50' }));
$('load-url').addEventListener('click', () => {
  const url = $<HTMLInputElement>('weights-url').value.trim();
  if (url) void loadWeights({ kind: 'url', url: new URL(url, location.href).href });
});
$<HTMLInputElement>('weights-file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void loadWeights({ kind: 'file', file: f });
});
$('clear-cache').addEventListener('click', async () => {
  const gone = await clearWeightCache();
  setProgress(0, gone ? 'cached weights deleted' : 'nothing cached');
});
$('phantom').addEventListener('click', () => void setImage(sheppLogan(256), 'Shepp–Logan phantom'));
$<HTMLInputElement>('image-file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void openImageFile(f);
});
$('clear-prompts').addEventListener('click', () => {
  state.box = null;
  state.points = [];
  requestDecode();
});

const stage = $('stage');
for (const target of [document.body, stage]) {
  target.addEventListener('dragover', (e) => {
    e.preventDefault();
    stage.classList.add('drag');
  });
  target.addEventListener('dragleave', () => stage.classList.remove('drag'));
  target.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    stage.classList.remove('drag');
    const f = (e as DragEvent).dataTransfer?.files?.[0];
    if (f) openFile(f);
  });
}

// ---------------------------------------------------------------- start

declare global {
  interface Window {
    samUnetDemo: { lib: typeof lib; state: DemoState; idle: () => Promise<void>; ready: boolean };
  }
}
window.samUnetDemo = { lib, state, idle: () => chain, ready: false };

async function start(): Promise<void> {
  renderStats();
  if (!('gpu' in navigator) || !navigator.gpu) {
    noWebGpu('this browser has no navigator.gpu. Use Chrome or Edge 113+ (or Safari/Firefox with WebGPU enabled), or start Chromium with --enable-unsafe-webgpu.');
  } else {
    try {
      await gpu();
    } catch (e) {
      if (e instanceof GpuUnavailableError) noWebGpu(e.message);
      else showError(e);
    }
  }
  const q = new URLSearchParams(location.search);
  const w = q.get('weights');
  if (w && state.gpu) {
    $<HTMLInputElement>('weights-url').value = w;
    void loadWeights({ kind: 'url', url: new URL(w, location.href).href });
  }
  setStatus(state.gpu ? 'Ready' : 'No WebGPU');
  window.samUnetDemo.ready = true;
}

void start();

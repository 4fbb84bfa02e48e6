// The SAM-UNet demo page. The model runs in a Web Worker (SamUnetWorker): weights are computed,
// fetched or read there, images decoded there, and the worker hands back ImageBitmaps to draw, so
// this thread only handles the page. Weights (synthetic, a URL, a local file) are loaded once; an
// image is encoded once; every prompt change runs the decoder alone on the kept embedding. Model
// work runs one job at a time, and a burst of prompt changes costs one decode.
import {
  clearWeightCache, GpuUnavailableError, SamUnetWorker,
  type AdapterDescription, type Box, type LoadProgress, type Point, type Variant, type WorkerEmbedding, type WorkerImage, type WorkerImageSource,
  type WorkerWeights,
} from 'sam-unet-webgpu';
import { $, errorText, fmtMB, renderStats, setProgress, setStatus, showError, type Stats } from './ui.js';
import { ImageView } from './view.js';

/** Everything the page knows; exposed as window.samUnetDemo.state for the headless tests. */
interface DemoState extends Stats {
  adapter: AdapterDescription | null;
  box: Box | null;
  points: Point[];
  busy: string | null;
  error: string | null;
}

const state: DemoState = {
  adapter: null, weights: null, loadMs: null, image: null, imageLabel: null, encodeMs: null, encodeCount: 0,
  box: null, points: [], result: null, resultPrompt: null, decodeMs: null, decodeCount: 0, busy: null, error: null,
};

let sam: SamUnetWorker | null = null;
let modelLoaded = false;
let image: WorkerImage | null = null;
/** The embedding of `embImage` (replaced inside a job, never under a decode). */
let emb: WorkerEmbedding | null = null;
let embImage: WorkerImage | null = null;

const view = new ImageView($<HTMLCanvasElement>('view'), (edit) => {
  if ('box' in edit) state.box = edit.box;
  else state.points = [...state.points, edit.point];
  requestDecode();
});

function fail(e: unknown): void {
  state.error = errorText(e);
  showError(state.error);
  console.error(e);
}

function clearError(): void {
  state.error = null;
  showError(null);
}

// ---------------------------------------------------------------- one model job at a time

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
      fail(e);
    } finally {
      pending--;
      state.busy = pending ? state.busy : null;
      if (!pending) setStatus(state.error ? 'Stopped on an error' : 'Ready');
      renderStats(state);
    }
  };
  chain = chain.then(run);
  return chain;
}

// ---------------------------------------------------------------- weights

type WeightChoice = { kind: 'synthetic'; variant: Variant } | { kind: 'url'; url: string } | { kind: 'file'; file: File };

function progressText(p: LoadProgress): [number, string] {
  if (p.bytesRead === undefined) return [p.loaded / p.total, `${p.loaded} / ${p.total} tensors · ${p.key}`];
  const of = p.bytesTotal ? ` of ${fmtMB(p.bytesTotal)}` : '';
  return [p.bytesTotal ? p.bytesRead / p.bytesTotal : p.loaded / p.total, `${fmtMB(p.bytesRead)}${of} · ${p.key}`];
}

function loadWeights(choice: WeightChoice): Promise<void> {
  clearError();
  return job('Loading weights', async () => {
    if (!sam) throw new Error('no model worker: WebGPU is not available');
    // A load frees the model before it, and its embeddings.
    modelLoaded = false;
    emb = null;
    Object.assign(state, { weights: null, loadMs: null, result: null, resultPrompt: null });
    view.setMask(null);
    setProgress(0, '');
    const t0 = performance.now();
    const weights: WorkerWeights =
      choice.kind === 'synthetic' ? { kind: 'synthetic', variant: choice.variant } : choice.kind === 'url' ? { kind: 'url', url: choice.url } : { kind: 'blob', blob: choice.file };
    const info = await sam.load(weights, { warmup: true, onProgress: (p) => setProgress(...progressText(p)) });
    const label = choice.kind === 'synthetic' ? `synthetic ${choice.variant}`
      : choice.kind === 'url' ? `${choice.url.split('/').pop()} (${info.fromCache ? 'from the browser cache' : 'downloaded'})` : choice.file.name;
    const cacheNote = info.cached ? ' · cached for next time' : info.cacheError ? ` · not cached (${info.cacheError})` : '';
    modelLoaded = true;
    state.loadMs = performance.now() - t0;
    state.weights = `${label}, ${info.variant}`;
    setProgress(1, `loaded ${fmtMB(info.bytes)} into ${info.bufferCount} GPU buffers${cacheNote}`);
    $('weights-info').textContent = info.unexpected.length ? `${info.unexpected.length} unused key(s) in the file, e.g. ${info.unexpected[0]}` : '';
    await encode();
  });
}

// ---------------------------------------------------------------- image, encode, decode

let opening = 0;

/** Opens an image in the worker (decoded there), shows it, and queues its encode. */
async function setImage(source: WorkerImageSource, label: string): Promise<void> {
  clearError();
  if (!sam) return fail(new Error('no model worker: WebGPU is not available'));
  const mine = ++opening;
  let opened: WorkerImage;
  try {
    opened = await sam.openImage(source, { bitmap: true });
  } catch (e) {
    return fail(e);
  }
  if (mine !== opening) {
    opened.bitmap?.close(); // a later image won
    return opened.destroy();
  }
  image?.destroy();
  image = opened;
  Object.assign(state, { image: { width: opened.width, height: opened.height }, imageLabel: label, box: null, points: [], result: null, resultPrompt: null });
  view.setImage(opened.bitmap!, opened.width, opened.height);
  view.setPrompts(null, []);
  $('placeholder').hidden = true;
  renderStats(state);
  return job('Encoding the image', encode);
}

/** Encodes the current image with the current model unless that is done already. */
async function encode(): Promise<void> {
  if (emb && embImage !== image) {
    emb.destroy();
    emb = null;
  }
  if (!sam || !modelLoaded || !image || emb) return;
  state.busy = 'Encoding the image';
  setStatus('Encoding the image…');
  const t0 = performance.now();
  const target = image;
  emb = await sam.encode(target); // resolves when the GPU is done
  embImage = target;
  state.encodeMs = performance.now() - t0;
  state.encodeCount++;
  renderStats(state);
  await decode();
}

let decodeQueued = false;
/** Runs the decoder on the latest prompt; several changes while busy give one decode. */
function requestDecode(): void {
  view.setPrompts(state.box, state.points);
  if (decodeQueued) return;
  decodeQueued = true;
  void job('Decoding', async () => {
    decodeQueued = false;
    await decode();
  });
}

async function decode(): Promise<void> {
  if (!sam || !emb || emb.destroyed || embImage !== image) return;
  const box = state.box;
  const points = [...state.points];
  if (!box && !points.length) {
    state.result = null;
    state.resultPrompt = null;
    view.setMask(null);
  } else {
    state.busy = 'Decoding';
    setStatus('Decoding…');
    const t0 = performance.now();
    const r = await sam.decode(emb, [{ box: box ?? undefined, points }], { overlay: [255, 60, 60, 120] });
    state.decodeMs = performance.now() - t0;
    state.decodeCount++;
    state.result = r;
    state.resultPrompt = { box, points };
    view.setMask(r.overlays![0]!);
  }
  view.setPrompts(state.box, state.points);
  renderStats(state);
}

// ---------------------------------------------------------------- files, buttons, drag and drop

function openFile(file: File): void {
  if (/\.(safetensors|pth|pt)$/i.test(file.name)) void loadWeights({ kind: 'file', file });
  else void setImage(file, file.name);
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
$('phantom').addEventListener('click', () => void setImage({ phantom: 256 }, 'Shepp–Logan phantom'));
$<HTMLInputElement>('image-file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void setImage(f, f.name);
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

function noWebGpu(message: string): void {
  const el = $('nogpu');
  el.textContent = `WebGPU is not available: ${message}`;
  el.hidden = false;
  $('adapter').textContent = 'WebGPU adapter: none';
  for (const id of ['synth-res34', 'synth-res50', 'load-url', 'phantom']) $<HTMLButtonElement>(id).disabled = true;
  for (const id of ['weights-file', 'image-file']) $<HTMLInputElement>(id).disabled = true;
}

declare global {
  interface Window {
    samUnetDemo: { state: DemoState; idle: () => Promise<void>; ready: boolean };
  }
}
window.samUnetDemo = { state, idle: () => chain, ready: false };

async function start(): Promise<void> {
  renderStats(state);
  if (!('gpu' in navigator) || !navigator.gpu) {
    noWebGpu('this browser has no navigator.gpu. Use Chrome or Edge 113+ (or Safari/Firefox with WebGPU enabled), or start Chromium with --enable-unsafe-webgpu.');
  } else {
    try {
      sam = await SamUnetWorker.create(new Worker(new URL('sam-unet-webgpu/worker', import.meta.url), { type: 'module', name: 'sam-unet' }));
      state.adapter = sam.adapter;
      $('adapter').textContent = `WebGPU adapter: ${sam.adapter.name} (in a worker)`;
    } catch (e) {
      if (e instanceof GpuUnavailableError) noWebGpu(e.message);
      else fail(e);
    }
  }
  const w = new URLSearchParams(location.search).get('weights');
  if (w && sam) {
    $<HTMLInputElement>('weights-url').value = w;
    void loadWeights({ kind: 'url', url: new URL(w, location.href).href });
  }
  setStatus(sam ? 'Ready' : 'No WebGPU');
  window.samUnetDemo.ready = true;
}

void start();

// The scan demo: a DICOM series or file or a NIfTI volume opened in the model's Web Worker (readers
// and codecs load there), slices drawn here, prompts on any slice, propagation through the volume
// with progress and cancel, every slice's labels overlaid, corrections, the label map downloaded.
// While the user looks at a slice, the worker encodes the slices around it in the background
// (an embedding store, kept in IndexedDB across reloads), so that propagating from there starts warm.
import {
  extractSlice, GpuUnavailableError, labelColor, SamUnetWorker, sliceGeometry,
  type Box, type Point, type SliceAxis, type SliceProgress, type VolumePrompt, type WindowSpec, type WorkerScan, type WorkerSegmentation,
} from 'sam-unet-webgpu';
import { $, errorText, setProgress, setStatus, showError } from './ui.js';

interface ScanState {
  weights: string | null;
  scan: WorkerScan['info'] | null;
  axis: SliceAxis;
  slice: number;
  window: WindowSpec;
  /** Key prompts not yet propagated, by `${label}@${slice}`. */
  prompts: Map<string, VolumePrompt>;
  result: WorkerSegmentation | null;
  /** Slices the last propagation reached per label, as "lo..hi". */
  reached: Record<number, string>;
  progress: SliceProgress | null;
  prefetched: number;
  busy: string | null;
  error: string | null;
}

const state: ScanState = {
  weights: null, scan: null, axis: 'axial', slice: 0, window: 'auto', prompts: new Map(), result: null, reached: {}, progress: null, prefetched: 0, busy: null, error: null,
};
let sam: SamUnetWorker | null = null;
let scan: WorkerScan | null = null;
let picture: { width: number; height: number; rgb: Uint8Array } | null = null;
const canvas = $<HTMLCanvasElement>('view');
const ctx = canvas.getContext('2d')!;
let scale = 1;

function fail(e: unknown): void {
  state.error = errorText(e);
  showError(state.error);
  console.error(e);
}

let chain: Promise<void> = Promise.resolve();
function job(label: string, fn: () => Promise<void>): Promise<void> {
  const run = async () => {
    state.busy = label;
    setStatus(`${label}…`);
    try {
      await fn();
    } catch (e) {
      if ((e as Error)?.name !== 'AbortError') fail(e);
    } finally {
      state.busy = null;
      setStatus(state.error ? 'Stopped on an error' : 'Ready');
    }
  };
  chain = chain.then(run);
  return chain;
}

// ---------------------------------------------------------------- drawing

const key = (label: number, slice: number) => `${label}@${slice}`;
const currentLabel = () => Number($<HTMLSelectElement>('label').value);

function draw(): void {
  if (!picture) return;
  const { width: w, height: h, rgb } = picture;
  const img = ctx.createImageData(w, h);
  // The labels shown on this slice, cut from the label map as the worker cut the slice.
  const labels = state.result && state.scan && scanAffine
    ? extractSlice({ dims: state.scan.dims, data: state.result.labels }, sliceGeometry({ dims: state.scan.dims, affine: scanAffine, spacing: state.scan.spacing }, state.axis, state.slice))
    : null;
  for (let p = 0; p < w * h; p++) {
    let [r, gg, b] = [rgb[3 * p]!, rgb[3 * p + 1]!, rgb[3 * p + 2]!];
    const l = labels?.[p];
    if (l) {
      const c = labelColor(l);
      [r, gg, b] = [(r + c[0]) >> 1, (gg + c[1]) >> 1, (b + c[2]) >> 1];
    }
    img.data.set([r, gg, b, 255], 4 * p);
  }
  const off = new OffscreenCanvas(w, h);
  off.getContext('2d')!.putImageData(img, 0, 0);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, 0, 0, canvas.width, canvas.height);
  for (const p of state.prompts.values()) {
    if (p.slice !== state.slice) continue;
    const c = labelColor(p.label);
    ctx.strokeStyle = `rgb(${c.join(',')})`;
    ctx.lineWidth = 2;
    if (p.box) ctx.strokeRect(p.box[0] * scale, p.box[1] * scale, (p.box[2] - p.box[0]) * scale, (p.box[3] - p.box[1]) * scale);
    for (const [x, y, l] of p.points ?? []) {
      ctx.beginPath();
      ctx.arc(x * scale, y * scale, 5, 0, 2 * Math.PI);
      ctx.fillStyle = l ? '#27c24c' : '#e23b3b';
      ctx.fill();
    }
  }
  if (dragBox) {
    ctx.setLineDash([6, 4]);
    ctx.strokeStyle = '#9fd0ff';
    ctx.strokeRect(dragBox[0] * scale, dragBox[1] * scale, (dragBox[2] - dragBox[0]) * scale, (dragBox[3] - dragBox[1]) * scale);
    ctx.setLineDash([]);
  }
}

/** The scan's affine (from the worker): the overlay's voxel lookup follows the same display orientation as the worker's slices. */
let scanAffine: Float64Array | null = null;

// ---------------------------------------------------------------- slices and prefetch

let sliceWanted = 0;
let prefetch: AbortController | null = null;

async function showSlice(): Promise<void> {
  if (!scan || !state.scan) return;
  const mine = ++sliceWanted;
  const s = await scan.slice(state.axis, state.slice, state.window);
  if (mine !== sliceWanted) return;
  picture = s;
  scale = Math.max(1, Math.min(8, Math.floor(640 / Math.max(s.width, s.height))));
  if (canvas.width !== s.width * scale || canvas.height !== s.height * scale) [canvas.width, canvas.height] = [s.width * scale, s.height * scale];
  $('slice-text').textContent = `${state.slice} / ${state.scan.slices[state.axis].count - 1}`;
  $('window-text').textContent = s.window;
  draw();
  schedulePrefetch();
}

/** After the user rests on a slice, encode the two slices on each side in the background. */
let prefetchTimer = 0;
function schedulePrefetch(): void {
  clearTimeout(prefetchTimer);
  prefetch?.abort();
  if (!scan || !state.weights || state.busy) return;
  prefetchTimer = window.setTimeout(() => {
    const n = state.scan!.slices[state.axis].count;
    const around = [0, 1, -1, 2, -2].map((d) => state.slice + d).filter((k) => k >= 0 && k < n);
    const ac = (prefetch = new AbortController());
    scan!.prefetch(state.axis, around, state.window, { signal: ac.signal }).then((r) => (state.prefetched += r.encoded), () => undefined);
  }, 300);
}

function setSlice(k: number): void {
  if (!state.scan) return;
  const n = state.scan.slices[state.axis].count;
  state.slice = Math.max(0, Math.min(n - 1, k));
  $<HTMLInputElement>('slice').value = String(state.slice);
  void showSlice().catch(fail);
}

// ---------------------------------------------------------------- opening

async function openFiles(files: File[]): Promise<void> {
  if (!sam) return fail(new Error('no model worker: WebGPU is not available'));
  const weights = files.filter((f) => /\.(safetensors|pth|pt)$/i.test(f.name));
  if (weights.length) return loadWeights(weights[0]!);
  await job('Opening the scan', async () => {
    showError((state.error = null));
    scan?.destroy();
    scan = await sam!.openScan(files);
    const info = scan.info;
    state.scan = info;
    state.result = null;
    state.prompts.clear();
    state.reached = {};
    $('scan-info').textContent = `${info.kind === 'dicom' ? 'DICOM' : 'NIfTI'} ${info.modality} ${info.dims.join('×')}, ${info.spacing.map((x) => x.toFixed(2)).join(' × ')} mm${info.warnings.length ? ` · ${info.warnings.length} warning(s)` : ''}`;
    $<HTMLButtonElement>('download-seg').disabled = true;
    $<HTMLButtonElement>('download-nifti').disabled = true;
    scanAffine = Float64Array.from(info.affine);
    const axisCount = info.slices[state.axis].count;
    $<HTMLInputElement>('slice').max = String(axisCount - 1);
    state.slice = Math.floor(axisCount / 2);
    $<HTMLInputElement>('slice').value = String(state.slice);
    await showSlice();
  });
}

async function loadWeights(file: File | { variant: 'res34' | 'res50' }): Promise<void> {
  await job('Loading weights', async () => {
    if (!sam) throw new Error('no model worker');
    const info = await sam.load(file instanceof File ? { kind: 'blob', blob: file } : { kind: 'synthetic', variant: file.variant }, { warmup: true, onProgress: (p) => setProgress(p.loaded / p.total, `${p.loaded} / ${p.total} tensors`) });
    state.weights = file instanceof File ? file.name : `synthetic ${info.variant}`;
    state.result = null;
    $('weights').textContent = `${state.weights} (${info.variant}, ${info.precision})`;
    schedulePrefetch();
  });
}

// ---------------------------------------------------------------- prompts and propagation

let dragStart: { x: number; y: number; cx: number; cy: number; button: number; window?: { center: number; width: number } } | null = null;
let dragBox: Box | null = null;

function imagePoint(e: MouseEvent): [number, number] {
  const r = canvas.getBoundingClientRect();
  const w = picture!.width, h = picture!.height;
  return [Math.min(w, Math.max(0, ((e.clientX - r.left) / r.width) * w)), Math.min(h, Math.max(0, ((e.clientY - r.top) / r.height) * h))];
}

canvas.addEventListener('contextmenu', (e) => e.preventDefault());
canvas.addEventListener('mousedown', (e) => {
  if (!picture) return;
  e.preventDefault();
  const [x, y] = imagePoint(e);
  const win = typeof state.window === 'object' ? state.window : { center: 40, width: 400 };
  dragStart = { x, y, cx: e.clientX, cy: e.clientY, button: e.button, window: win };
});
window.addEventListener('mousemove', (e) => {
  const d = dragStart;
  if (!d || Math.hypot(e.clientX - d.cx, e.clientY - d.cy) < 4) return;
  if (d.button === 2) {
    // Window / level: width with horizontal motion, level with vertical (2 HU per pixel).
    state.window = { width: Math.max(1, d.window!.width + 2 * (e.clientX - d.cx)), center: d.window!.center + 2 * (e.clientY - d.cy) };
    $<HTMLSelectElement>('window').value = 'custom';
    void showSlice().catch(fail);
    return;
  }
  const [x, y] = imagePoint(e);
  dragBox = [Math.min(d.x, x), Math.min(d.y, y), Math.max(d.x, x), Math.max(d.y, y)];
  draw();
});
window.addEventListener('mouseup', (e) => {
  const d = dragStart;
  dragStart = null;
  if (!d || d.button !== 0) return;
  const k = key(currentLabel(), state.slice);
  const p = state.prompts.get(k) ?? { slice: state.slice, label: currentLabel() };
  if (dragBox && dragBox[2] - dragBox[0] >= 1 && dragBox[3] - dragBox[1] >= 1) p.box = dragBox;
  else p.points = [...(p.points ?? []), [d.x, d.y, e.shiftKey ? 0 : 1] as Point];
  dragBox = null;
  state.prompts.set(k, p);
  draw();
});
canvas.addEventListener('wheel', (e) => {
  e.preventDefault();
  setSlice(state.slice + Math.sign(e.deltaY));
}, { passive: false });

let running: AbortController | null = null;
function propagate(): Promise<void> {
  return job('Propagating', async () => {
    if (!scan || !state.weights) throw new Error(!scan ? 'open a scan first' : 'load weights first');
    const prompts = [...state.prompts.values()];
    if (!prompts.length) throw new Error('draw a box or click a point on a slice first');
    prefetch?.abort();
    const ac = (running = new AbortController());
    $<HTMLButtonElement>('cancel').disabled = false;
    try {
      const strategy = $<HTMLSelectElement>('strategy').value as 'box' | 'mask' | 'box+mask';
      const r = await scan.segment(prompts, {
        axis: state.axis, window: state.window, strategy, correct: !!state.result, signal: ac.signal,
        onProgress: (p) => {
          state.progress = p;
          setProgress(p.done / p.total, `${p.done} / ${p.total} slices · label ${p.label} slice ${p.slice}: ${p.area} px`);
        },
      });
      state.result = r;
      state.prompts.clear();
      state.reached = {};
      for (const label of new Set(r.slices.map((s) => s.label))) {
        const ks = r.slices.filter((s) => s.label === label && s.area > 0).map((s) => s.slice);
        state.reached[label] = ks.length ? `${Math.min(...ks)}..${Math.max(...ks)}` : 'none';
      }
      $('result').textContent = `${r.decodes} slice decodes, ${r.encodes} slices encoded; ${Object.entries(state.reached).map(([l, s]) => `label ${l}: slices ${s}`).join(', ')}`;
      $<HTMLButtonElement>('download-nifti').disabled = false;
      $<HTMLButtonElement>('download-seg').disabled = state.scan?.kind !== 'dicom';
      draw();
    } finally {
      running = null;
      $<HTMLButtonElement>('cancel').disabled = true;
    }
  });
}

async function download(format: 'nifti' | 'seg'): Promise<void> {
  if (!scan) return;
  const bytes = await scan.export(format);
  const a = document.createElement('a');
  a.href = URL.createObjectURL(new Blob([bytes as BlobPart], { type: 'application/octet-stream' }));
  a.download = format === 'nifti' ? 'labels.nii.gz' : 'labels-seg.dcm';
  a.click();
  setTimeout(() => URL.revokeObjectURL(a.href), 10_000);
}

// ---------------------------------------------------------------- controls

$('synth-res34').addEventListener('click', () => void loadWeights({ variant: 'res34' }));
$('synth-res50').addEventListener('click', () => void loadWeights({ variant: 'res50' }));
$<HTMLInputElement>('weights-file').addEventListener('change', (e) => {
  const f = (e.target as HTMLInputElement).files?.[0];
  if (f) void loadWeights(f);
});
for (const id of ['scan-files', 'scan-folder']) {
  $<HTMLInputElement>(id).addEventListener('change', (e) => {
    const fs = [...((e.target as HTMLInputElement).files ?? [])];
    if (fs.length) void openFiles(fs);
  });
}
$<HTMLInputElement>('slice').addEventListener('input', (e) => setSlice(Number((e.target as HTMLInputElement).value)));
$<HTMLSelectElement>('axis').addEventListener('change', (e) => {
  state.axis = (e.target as HTMLSelectElement).value as SliceAxis;
  if (!state.scan) return;
  $<HTMLInputElement>('slice').max = String(state.scan.slices[state.axis].count - 1);
  setSlice(Math.floor(state.scan.slices[state.axis].count / 2));
});
$<HTMLSelectElement>('window').addEventListener('change', (e) => {
  state.window = (e.target as HTMLSelectElement).value as WindowSpec;
  void showSlice().catch(fail);
});
$('propagate').addEventListener('click', () => void propagate());
$('cancel').addEventListener('click', () => running?.abort(new DOMException('cancelled', 'AbortError')));
$('clear-prompts').addEventListener('click', () => {
  state.prompts.delete(key(currentLabel(), state.slice));
  draw();
});
$('download-nifti').addEventListener('click', () => void download('nifti').catch(fail));
$('download-seg').addEventListener('click', () => void download('seg').catch(fail));
const stage = $('stage');
for (const t of [document.body, stage]) {
  t.addEventListener('dragover', (e) => e.preventDefault());
  t.addEventListener('drop', (e) => {
    e.preventDefault();
    e.stopPropagation();
    const fs = [...((e as DragEvent).dataTransfer?.files ?? [])];
    if (fs.length) void openFiles(fs);
  });
}

declare global {
  interface Window {
    samUnetScan: { state: ScanState; idle: () => Promise<void>; ready: boolean; openFiles: (f: File[]) => Promise<void>; propagate: () => Promise<void>; setSlice: (k: number) => void; download: (f: 'nifti' | 'seg') => Promise<Uint8Array | null> };
  }
}
window.samUnetScan = {
  state, idle: () => chain, ready: false, openFiles, propagate, setSlice,
  download: async (f) => (scan ? scan.export(f) : null),
};

async function start(): Promise<void> {
  if (!('gpu' in navigator) || !navigator.gpu) {
    $('nogpu').textContent = 'WebGPU is not available in this browser (Chrome or Edge 113+, or Chromium with --enable-unsafe-webgpu).';
    $('nogpu').hidden = false;
  } else {
    try {
      sam = await SamUnetWorker.create(new Worker(new URL('sam-unet-webgpu/worker', import.meta.url), { type: 'module', name: 'sam-unet' }));
      $('adapter').textContent = `WebGPU adapter: ${sam.adapter.name} (in a worker)`;
    } catch (e) {
      if (e instanceof GpuUnavailableError) ($('nogpu').textContent = e.message), ($('nogpu').hidden = false);
      else fail(e);
    }
  }
  setStatus(sam ? 'Ready' : 'No WebGPU');
  window.samUnetScan.ready = true;
}

void start();

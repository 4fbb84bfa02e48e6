// The benchmark page: settings, a run in a Web Worker (bench-worker.ts), the results as tables and a
// JSON to copy. URL parameters preset the settings (model, precision, runs, decodeRuns, kernels=0,
// paths=gemm:tiled,norm:cpu) and `autorun=1` starts a run. `window.benchPage` lets a headless
// browser drive it (bench/chrome.mjs, test/runtimes/bench-page.test.ts): `ready` resolves with the
// adapter, `run(opts)` resolves with the report.
import type { BenchRunOptions, FromPage, ToPage } from './bench-worker.js';

type Ready = Extract<ToPage, { type: 'ready' }>;
interface Report {
  adapter: string;
  model: string;
  precision: string;
  load_ms: number;
  encode_ms: { cold: number; median: number };
  decode_ms: { cold: number; median: number };
  matmul_best_gflops: number;
  model_gflops: number;
  peak_gpu_bytes: number;
  kernels: { name: string; shape: string; median_ms: number; gpu_ms: number | null; gflops: number | null; gbps: number | null }[];
  [k: string]: unknown;
}

const $ = <T extends HTMLElement = HTMLElement>(id: string): T => document.getElementById(id) as T;
const params = new URLSearchParams(location.search);
const logEl = $('log');
const status = (s: string) => ($('status').textContent = s);

let worker: Worker;
let ready: Promise<Ready>;
let pending: { resolve: (r: Report) => void; reject: (e: Error) => void } | null = null;
let lastReport: Report | null = null;

function startWorker(): void {
  worker = new Worker(new URL('./bench-worker.ts', import.meta.url), { type: 'module' });
  ready = new Promise<Ready>((resolve, reject) => {
    worker.onmessage = (ev: MessageEvent<ToPage>) => {
      const m = ev.data;
      if (m.type === 'ready') resolve(m);
      else if (m.type === 'log') logEl.textContent += m.line + '\n';
      else if (m.type === 'report') {
        lastReport = m.report as Report;
        pending?.resolve(lastReport);
        pending = null;
      } else if (m.type === 'error') {
        const e = Object.assign(new Error(m.message), { name: m.name });
        if (pending) {
          pending.reject(e);
          pending = null;
        } else reject(e);
      }
    };
    worker.onerror = (ev) => {
      const e = new Error(`the bench worker failed: ${ev.message}`);
      if (pending) pending.reject(e);
      reject(e);
    };
  });
}

function option(select: HTMLSelectElement, values: readonly string[], chosen?: string | null): void {
  select.replaceChildren(...values.map((v) => new Option(v, v, false, v === chosen)));
}

function settings(): BenchRunOptions {
  const kernelPaths: Record<string, 'tiled' | 'cpu'> = {};
  for (const sel of document.querySelectorAll<HTMLSelectElement>('#paths select')) {
    if (sel.value !== 'auto') kernelPaths[sel.dataset.family!] = sel.value as 'tiled' | 'cpu';
  }
  return {
    model: $<HTMLSelectElement>('model').value as BenchRunOptions['model'],
    precision: $<HTMLSelectElement>('precision').value as BenchRunOptions['precision'],
    runs: Number($<HTMLInputElement>('runs').value),
    decodeRuns: Number($<HTMLInputElement>('decode-runs').value),
    kernels: $<HTMLInputElement>('kernels').checked,
    kernelPaths: Object.keys(kernelPaths).length ? kernelPaths : undefined,
  };
}

const fmt = (ms: number) => (ms >= 100 ? ms.toFixed(0) : ms.toFixed(2));

function render(r: Report): void {
  const rows: [string, string][] = [
    ['adapter', r.adapter],
    ['model / precision', `${r.model} / ${r.precision}`],
    ['weights load', `${fmt(r.load_ms)} ms`],
    ['encode median (cold)', `${fmt(r.encode_ms.median)} ms (${fmt(r.encode_ms.cold)} ms)`],
    ['decode median (cold)', `${fmt(r.decode_ms.median)} ms (${fmt(r.decode_ms.cold)} ms)`],
    ['best matmul', `${r.matmul_best_gflops.toFixed(1)} GFLOP/s`],
    ['model rate', r.model_gflops ? `${r.model_gflops.toFixed(1)} GFLOP/s` : '—'],
    ['peak GPU memory', `${(r.peak_gpu_bytes / 1e6).toFixed(0)} MB`],
  ];
  $('summary').replaceChildren(...rows.map(([k, v]) => {
    const tr = document.createElement('tr');
    tr.append(Object.assign(document.createElement('th'), { textContent: k }), Object.assign(document.createElement('td'), { textContent: v }));
    return tr;
  }));
  const head = ['kernel', 'shape', 'median ms', 'GPU ms', 'GFLOP/s', 'GB/s'];
  const table = $('kernel-table');
  table.replaceChildren();
  if (r.kernels.length) {
    const tr = document.createElement('tr');
    tr.append(...head.map((h) => Object.assign(document.createElement('th'), { textContent: h })));
    table.append(tr);
    for (const k of r.kernels) {
      const row = document.createElement('tr');
      const cells = [k.name, k.shape, fmt(k.median_ms), k.gpu_ms === null ? '—' : fmt(k.gpu_ms), k.gflops?.toFixed(1) ?? '—', k.gbps?.toFixed(1) ?? '—'];
      row.append(...cells.map((c, i) => Object.assign(document.createElement('td'), { textContent: c, className: i >= 2 ? 'num' : '' })));
      table.append(row);
    }
  }
  const json = JSON.stringify(r, null, 2);
  $<HTMLTextAreaElement>('json').value = json;
  const a = $<HTMLAnchorElement>('download');
  URL.revokeObjectURL(a.href);
  a.href = URL.createObjectURL(new Blob([json], { type: 'application/json' }));
  a.hidden = false;
  $<HTMLButtonElement>('copy').disabled = false;
}

function setBusy(b: boolean): void {
  $<HTMLButtonElement>('run').disabled = b;
  $<HTMLButtonElement>('cancel').disabled = !b;
}

/** Runs the bench with `opts` (the settings shown when omitted) and shows the report. */
async function run(opts: BenchRunOptions = settings()): Promise<Report> {
  await ready;
  if (pending) throw new Error('a run is in progress');
  logEl.textContent = '';
  setBusy(true);
  status('running… (a res50 run with the kernel table takes minutes on a software adapter)');
  const t0 = performance.now();
  try {
    const report = await new Promise<Report>((resolve, reject) => {
      pending = { resolve, reject };
      worker.postMessage({ type: 'run', opts } satisfies FromPage);
    });
    if (!opts.firstRun) render(report); // a first-run report (bench/run.mjs --cold) has no tables
    status(`done in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return report;
  } catch (e) {
    status(`failed: ${(e as Error).message}`);
    throw e;
  } finally {
    setBusy(false);
  }
}

async function init(): Promise<Ready> {
  if (!('gpu' in navigator)) {
    const b = $('nogpu');
    b.textContent = 'This browser has no WebGPU (navigator.gpu): use a recent Chrome, Edge or Safari, or Firefox with WebGPU enabled.';
    b.hidden = false;
    throw new Error('no WebGPU');
  }
  startWorker();
  const r = await ready;
  $('adapter').textContent = `WebGPU adapter: ${r.adapter}${r.isSoftware ? ' (software: timings are not a GPU\'s)' : ''}; features: ${r.features.join(', ') || 'none'}`;
  option($<HTMLSelectElement>('precision'), r.precisions, params.get('precision'));
  const chosen = new Map((params.get('paths') ?? '').split(',').filter(Boolean).map((p) => p.split(':') as [string, string]));
  $('paths').replaceChildren(...r.families.map((f) => {
    const label = Object.assign(document.createElement('label'), { textContent: `${f} ` });
    const sel = document.createElement('select');
    sel.dataset.family = f;
    option(sel, ['auto', 'tiled', 'cpu'], chosen.get(f) ?? 'auto');
    label.append(sel);
    return label;
  }));
  for (const [id, key] of [['model', 'model'], ['runs', 'runs'], ['decode-runs', 'decodeRuns']] as const) {
    const v = params.get(key);
    if (v !== null) $<HTMLInputElement>(id).value = v;
  }
  if (params.get('kernels') === '0') $<HTMLInputElement>('kernels').checked = false;
  setBusy(false);
  status('ready');
  return r;
}

$('run').addEventListener('click', () => void run().catch(() => {}));
$('cancel').addEventListener('click', () => {
  worker.terminate();
  pending?.reject(new Error('stopped'));
  pending = null;
  setBusy(false);
  startWorker();
  void ready.then(() => status('stopped; ready'), (e: Error) => status(`failed: ${e.message}`));
});
$('copy').addEventListener('click', () => {
  const text = $<HTMLTextAreaElement>('json').value;
  navigator.clipboard?.writeText(text).then(() => status('JSON copied'), () => {
    $<HTMLTextAreaElement>('json').select();
    status('select and copy the JSON below');
  });
});

const started = init();
started.catch((e: Error) => status(`failed: ${e.message}`));
if (params.get('autorun') === '1') void started.then(() => run()).catch(() => {});
(window as unknown as { benchPage: unknown }).benchPage = { ready: started, run, get report() { return lastReport; } };

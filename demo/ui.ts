// The page's text: status line, error box, progress bar (at most one update per frame) and the
// result table. Nothing here touches pixels.
import type { Box, Point, WorkerDecodeResult } from 'sam-unet-webgpu';

export const $ = <T extends HTMLElement = HTMLElement>(id: string): T => {
  const el = document.getElementById(id);
  if (!el) throw new Error(`#${id} is missing from the page`);
  return el as T;
};

export const fmtMs = (ms: number) => (ms >= 10_000 ? `${(ms / 1000).toFixed(1)} s` : `${ms.toFixed(0)} ms`);
export const fmtMB = (b: number) => `${(b / 1e6).toFixed(1)} MB`;

export function setStatus(text: string): void {
  $('status').textContent = text;
}

/** "Name: message" for a library error (PromptError: …), the message alone for a plain Error. */
export function errorText(e: unknown): string {
  return e instanceof Error || e instanceof DOMException ? `${e.name && e.name !== 'Error' ? `${e.name}: ` : ''}${e.message}` : String(e);
}

export function showError(text: string | null): void {
  const el = $('error');
  el.textContent = text ?? '';
  el.hidden = text === null;
}

let progressFrame = 0;
let progressNext: { value: number; text: string } | null = null;
/** Progress bar updates, at most one per animation frame. */
export function setProgress(value: number, text: string): void {
  progressNext = { value, text };
  if (progressFrame) return;
  progressFrame = requestAnimationFrame(() => {
    progressFrame = 0;
    if (!progressNext) return;
    $<HTMLProgressElement>('progress').value = progressNext.value;
    $('progress-text').textContent = progressNext.text;
  });
}

export interface Stats {
  weights: string | null;
  loadMs: number | null;
  image: { width: number; height: number } | null;
  imageLabel: string | null;
  encodeMs: number | null;
  encodeCount: number;
  decodeMs: number | null;
  decodeCount: number;
  result: WorkerDecodeResult | null;
  resultPrompt: { box: Box | null; points: Point[] } | null;
}

export function renderStats(s: Stats): void {
  $('stat-weights').textContent = s.weights ? `${s.weights}${s.loadMs !== null ? ` (${fmtMs(s.loadMs)})` : ''}` : '–';
  $('stat-image').textContent = s.image ? `${s.imageLabel} ${s.image.width}×${s.image.height}` : '–';
  $('stat-encode').textContent = s.encodeMs !== null ? `${fmtMs(s.encodeMs)}${s.encodeCount === 1 ? ' (first run compiles the pipelines)' : ''}` : '–';
  $('stat-decode').textContent = s.decodeMs !== null ? `${fmtMs(s.decodeMs)} (#${s.decodeCount})` : '–';
  const p = s.resultPrompt;
  $('stat-prompt').textContent = p
    ? [p.box ? `box ${p.box.map((v) => v.toFixed(1)).join(', ')}` : '', ...p.points.map((q) => `${q[2] ? '+' : '−'}(${q[0].toFixed(1)}, ${q[1].toFixed(1)})`)].filter(Boolean).join(' ')
    : '–';
  $('stat-mask').textContent = s.result ? `${s.result.areas[0]} of ${s.result.width * s.result.height} pixels` : '–';
}

// Main-thread long tasks (the Long Tasks API: tasks over 50 ms) of a page, by phase. The observer is
// installed before any page script runs; a phase is the span between begin() and end(), taken on the
// page's own clock, so the test's own work between phases (reading results out of the page) is not
// charged to the page. Each long task names the scripts that ran in it (from the Long Animation
// Frames API), which tells the page's own work apart from a task stretched by a busy machine.
import type { Page } from 'puppeteer-core';

export interface LongTask {
  start: number;
  duration: number;
  /** The scripts that ran during the task (long animation frames' script entries), longest first. */
  scripts?: string[];
}

interface FrameScript {
  start: number;
  duration: number;
  what: string;
}

export interface PhaseTasks {
  phase: string;
  /** When the phase began, on the page's clock (ms). */
  from: number;
  /** The phase's length on the page's clock, ms. */
  spanMs: number;
  tasks: LongTask[];
}

declare global {
  interface Window {
    __longTasks?: LongTask[];
    __frameScripts?: FrameScript[];
  }
}

/** Starts recording long tasks in every document `page` loads from now on. */
export async function observeLongTasks(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const log: LongTask[] = [];
    const scripts: FrameScript[] = [];
    window.__longTasks = log;
    window.__frameScripts = scripts;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) log.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
    type Script = { startTime: number; duration: number; invoker: string; sourceURL: string; sourceFunctionName: string };
    new PerformanceObserver((list) => {
      for (const e of list.getEntries() as unknown as { scripts: Script[] }[]) {
        for (const s of e.scripts) scripts.push({ start: s.startTime, duration: s.duration, what: `${s.invoker || s.sourceFunctionName || '?'} (${s.sourceURL.split('/').pop()})` });
      }
    }).observe({ type: 'long-animation-frame', buffered: true });
  });
}

export class LongTaskPhases {
  private spans: { phase: string; from: number; to: number }[] = [];
  private open: { phase: string; from: number } | null = null;

  constructor(private readonly page: Page) {}

  private now(): Promise<number> {
    return this.page.evaluate(() => performance.now());
  }

  async begin(phase: string): Promise<void> {
    if (this.open) throw new Error(`long-task phase '${this.open.phase}' is still open`);
    this.open = { phase, from: await this.now() };
  }

  async end(): Promise<void> {
    if (!this.open) throw new Error('no long-task phase is open');
    this.spans.push({ ...this.open, to: await this.now() });
    this.open = null;
  }

  /** The long tasks that started inside each phase, their start relative to the phase's (after a short wait for the last reports). */
  async collect(): Promise<PhaseTasks[]> {
    if (this.open) await this.end();
    await new Promise((r) => setTimeout(r, 500));
    const { tasks: all, scripts } = await this.page.evaluate(() => {
      if (!window.__longTasks) throw new Error('observeLongTasks() was not called before the page loaded');
      return { tasks: window.__longTasks, scripts: window.__frameScripts ?? [] };
    });
    for (const t of all) {
      t.scripts = scripts
        .filter((s) => s.start < t.start + t.duration && s.start + s.duration > t.start)
        .sort((a, b) => b.duration - a.duration)
        .map((s) => `${s.what} ${s.duration.toFixed(0)} ms`);
    }
    return this.spans.map(({ phase, from, to }) => ({ phase, from, spanMs: to - from, tasks: all.filter((t) => t.start >= from && t.start < to).map((t) => ({ ...t, start: t.start - from })) }));
  }
}

/** Phases of the same name (e.g. three decodes) as one. */
export function mergePhases(phases: PhaseTasks[]): PhaseTasks[] {
  const byName = new Map<string, PhaseTasks>();
  for (const p of phases) {
    const m = byName.get(p.phase);
    if (m) {
      m.spanMs += p.spanMs;
      m.tasks.push(...p.tasks);
    } else byName.set(p.phase, { ...p, tasks: [...p.tasks] });
  }
  return [...byName.values()];
}

/** "load: 3 long tasks in 12.0 s, longest 120 ms, 260 ms in all" per phase name, then the totals. */
export function describeLongTasks(spans: PhaseTasks[]): string {
  const phases = mergePhases(spans);
  const line = (name: string, span: number, tasks: LongTask[], when: boolean) => {
    const longest = tasks.reduce<LongTask | null>((m, t) => (m && m.duration >= t.duration ? m : t), null);
    const at = when && longest ? ` at ${(longest.start / 1000).toFixed(2)} s into the ${name} phase (scripts in it: ${longest.scripts?.length ? longest.scripts.join(', ') : 'none'})` : '';
    return `${name}: ${tasks.length} long task(s) in ${(span / 1000).toFixed(1)} s` +
      (longest ? `, longest ${longest.duration.toFixed(0)} ms${at}, ${tasks.reduce((a, t) => a + t.duration, 0).toFixed(0)} ms in all` : '');
  };
  const all = phases.flatMap((p) => p.tasks);
  return [...phases.map((p) => line(p.phase, p.spanMs, p.tasks, true)), line('all phases', phases.reduce((a, p) => a + p.spanMs, 0), all, false)].join('; ');
}

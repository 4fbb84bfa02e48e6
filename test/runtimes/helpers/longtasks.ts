// Main-thread long tasks (the Long Tasks API: tasks over 50 ms) of a page, by phase. The observer is
// installed before any page script runs; a phase is the span between begin() and end(), taken on the
// page's own clock, so the test's own work between phases (reading results out of the page) is not
// charged to the page.
import type { Page } from 'puppeteer-core';

export interface LongTask {
  start: number;
  duration: number;
}

export interface PhaseTasks {
  phase: string;
  /** The phase's length on the page's clock, ms. */
  spanMs: number;
  tasks: LongTask[];
}

declare global {
  interface Window {
    __longTasks?: LongTask[];
  }
}

/** Starts recording long tasks in every document `page` loads from now on. */
export async function observeLongTasks(page: Page): Promise<void> {
  await page.evaluateOnNewDocument(() => {
    const log: LongTask[] = [];
    window.__longTasks = log;
    new PerformanceObserver((list) => {
      for (const e of list.getEntries()) log.push({ start: e.startTime, duration: e.duration });
    }).observe({ type: 'longtask', buffered: true });
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

  /** The long tasks that started inside each phase (after a short wait for the last reports). */
  async collect(): Promise<PhaseTasks[]> {
    if (this.open) await this.end();
    await new Promise((r) => setTimeout(r, 500));
    const all = await this.page.evaluate(() => {
      if (!window.__longTasks) throw new Error('observeLongTasks() was not called before the page loaded');
      return window.__longTasks;
    });
    return this.spans.map(({ phase, from, to }) => ({ phase, spanMs: to - from, tasks: all.filter((t) => t.start >= from && t.start < to) }));
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
    } else byName.set(p.phase, { phase: p.phase, spanMs: p.spanMs, tasks: [...p.tasks] });
  }
  return [...byName.values()];
}

/** "load: 3 long tasks in 12.0 s, longest 120 ms, 260 ms in all" per phase name, then the totals. */
export function describeLongTasks(spans: PhaseTasks[]): string {
  const phases = mergePhases(spans);
  const line = (name: string, span: number, tasks: LongTask[]) =>
    `${name}: ${tasks.length} long task(s) in ${(span / 1000).toFixed(1)} s` +
    (tasks.length ? `, longest ${Math.max(...tasks.map((t) => t.duration)).toFixed(0)} ms, ${tasks.reduce((a, t) => a + t.duration, 0).toFixed(0)} ms in all` : '');
  const all = phases.flatMap((p) => p.tasks);
  return [...phases.map((p) => line(p.phase, p.spanMs, p.tasks)), line('all phases', phases.reduce((a, p) => a + p.spanMs, 0), all)].join('; ');
}

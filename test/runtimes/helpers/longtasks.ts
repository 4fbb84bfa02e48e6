// Main-thread tasks of a page over 50 ms, by phase, measured two ways:
// - wall clock, by the Long Tasks API (what the web platform calls a long task), each with the
//   scripts that ran in it (Long Animation Frames API);
// - CPU time, from a Chrome trace of each phase: every task the page's main thread ran
//   (ThreadControllerImpl::RunTask) with its wall time (dur) and its thread time (tdur).
// On a machine whose cores are shared (here: 2 cores, software WebGPU, other jobs) a task that needs
// 5 ms of CPU can take 60 ms of wall time waiting for a core; its thread time stays 5 ms. The page's
// own work is its tasks' thread time.
//
// A phase is the span between begin() and end(), so the test's own work between phases (reading
// results out of the page) is not charged to the page. On Linux each phase also reports how long the
// main thread ran and how long it waited for a core (/proc/<pid>/task/<tid>/schedstat).
import { readFileSync } from 'node:fs';
import type { Page } from 'puppeteer-core';

export interface LongTask {
  /** ms from the phase's start */
  start: number;
  /** wall ms */
  duration: number;
  /** The task's CPU ms on the main thread (from the trace), when found. */
  cpu?: number;
  /** The scripts that ran during the task (long animation frames' script entries), longest first. */
  scripts?: string[];
}

export interface PhaseTasks {
  phase: string;
  /** The phase's length, ms. */
  spanMs: number;
  /** Long Tasks API entries (wall clock over 50 ms). */
  tasks: LongTask[];
  /** Main-thread tasks of the trace: how many, and the one with the most CPU time. */
  traced: number;
  busiest: { wall: number; cpu: number } | null;
  /** The main thread's CPU ms and run-queue wait ms over the phase (Linux), else null. */
  sched: { ran: number; waited: number } | null;
}

interface FrameScript {
  start: number;
  duration: number;
  what: string;
}

interface TraceEvent {
  name: string;
  ph: string;
  pid: number;
  tid: number;
  ts: number;
  dur?: number;
  tdur?: number;
  args?: { data?: { startTime?: number } };
}

declare global {
  interface Window {
    __longTasks?: LongTask[];
    __frameScripts?: FrameScript[];
  }
}

/** Starts recording long tasks (and long animation frames' scripts) in every document `page` loads from now on. */
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

interface Span {
  phase: string;
  /** page clock, ms */
  from: number;
  to: number;
  /** The page's main-thread tasks in the phase: page-clock start, wall and CPU ms. */
  traced: { start: number; wall: number; cpu: number }[];
  sched: { ran: number; waited: number } | null;
}

/** [CPU ns, run-queue wait ns] of a thread, or null where /proc has no schedstat. */
function schedstat(thread: { pid: number; tid: number } | null): [number, number] | null {
  if (!thread) return null;
  try {
    const [ran, waited] = readFileSync(`/proc/${thread.pid}/task/${thread.tid}/schedstat`, 'utf8').trim().split(/\s+/).map(Number);
    return [ran!, waited!];
  } catch {
    return null;
  }
}

export class LongTaskPhases {
  private readonly spans: Span[] = [];
  private open: { phase: string; mark: string; sched: [number, number] | null } | null = null;
  /** The page's main thread as the trace names it (the renderer's pid and tid; real ids without a sandbox). */
  private thread: { pid: number; tid: number } | null = null;

  constructor(private readonly page: Page) {}

  private mark(name: string): Promise<number> {
    return this.page.evaluate((n) => performance.mark(n).startTime, name);
  }

  private async trace(): Promise<TraceEvent[]> {
    return (JSON.parse(Buffer.from((await this.page.tracing.stop())!).toString()) as { traceEvents: TraceEvent[] }).traceEvents;
  }

  async begin(phase: string): Promise<void> {
    if (this.open) throw new Error(`long-task phase '${this.open.phase}' is still open`);
    if (!this.thread) {
      // Which thread is the page's main one: the one that records a mark.
      await this.page.tracing.start({ categories: ['blink.user_timing'] });
      await this.mark('probe');
      const probe = (await this.trace()).find((e) => e.name === 'probe');
      if (probe) this.thread = { pid: probe.pid, tid: probe.tid };
    }
    await this.page.tracing.start({ categories: ['toplevel', 'blink.user_timing'] });
    const mark = `phase-${this.spans.length}`;
    await this.mark(`${mark}:begin`);
    this.open = { phase, mark, sched: schedstat(this.thread) };
  }

  async end(): Promise<void> {
    const o = this.open;
    if (!o) throw new Error('no long-task phase is open');
    this.open = null;
    await this.mark(`${o.mark}:end`);
    const after = schedstat(this.thread);
    const sched = o.sched && after ? { ran: (after[0] - o.sched[0]) / 1e6, waited: (after[1] - o.sched[1]) / 1e6 } : null;
    const events = await this.trace();
    const begin = events.find((e) => e.name === `${o.mark}:begin`);
    const end = events.find((e) => e.name === `${o.mark}:end`);
    if (!begin || !end || begin.args?.data?.startTime === undefined) throw new Error(`the trace of phase '${o.phase}' lacks its marks`);
    // The marks are made on the page's main thread; they carry both clocks (trace µs, page ms).
    const toPage = (ts: number) => (ts - begin.ts) / 1000 + begin.args!.data!.startTime!;
    const traced = events
      .filter((e) => e.pid === begin.pid && e.tid === begin.tid && e.ph === 'X' && e.name === 'ThreadControllerImpl::RunTask' && e.ts >= begin.ts && e.ts < end.ts)
      .map((e) => ({ start: toPage(e.ts), wall: (e.dur ?? 0) / 1000, cpu: (e.tdur ?? 0) / 1000 }));
    this.spans.push({ phase: o.phase, from: toPage(begin.ts), to: toPage(end.ts), traced, sched });
  }

  /** Each phase's long tasks (after a short wait for the last reports) and its busiest traced task. */
  async collect(): Promise<PhaseTasks[]> {
    if (this.open) await this.end();
    await new Promise((r) => setTimeout(r, 500));
    const { tasks: all, scripts } = await this.page.evaluate(() => {
      if (!window.__longTasks) throw new Error('observeLongTasks() was not called before the page loaded');
      return { tasks: window.__longTasks, scripts: window.__frameScripts ?? [] };
    });
    const overlaps = (a: { start: number; duration: number }, start: number, wall: number) => a.start < start + wall && a.start + a.duration > start;
    return this.spans.map(({ phase, from, to, traced, sched }) => ({
      phase,
      spanMs: to - from,
      tasks: all.filter((t) => t.start >= from && t.start < to).map((t) => ({
        start: t.start - from,
        duration: t.duration,
        cpu: traced.filter((x) => overlaps(t, x.start, x.wall)).sort((a, b) => b.wall - a.wall)[0]?.cpu,
        scripts: scripts.filter((s) => overlaps(s, t.start, t.duration)).sort((a, b) => b.duration - a.duration).map((s) => `${s.what} ${s.duration.toFixed(0)} ms`),
      })),
      traced: traced.length,
      busiest: traced.reduce<{ wall: number; cpu: number } | null>((m, x) => (m && m.cpu >= x.cpu ? m : { wall: x.wall, cpu: x.cpu }), null),
      sched,
    }));
  }
}

/** Phases of the same name (e.g. three decodes) as one. */
export function mergePhases(phases: PhaseTasks[]): PhaseTasks[] {
  const byName = new Map<string, PhaseTasks>();
  for (const p of phases) {
    const m = byName.get(p.phase);
    if (!m) {
      byName.set(p.phase, { ...p, tasks: [...p.tasks] });
      continue;
    }
    m.spanMs += p.spanMs;
    m.tasks.push(...p.tasks);
    m.traced += p.traced;
    if (p.busiest && (!m.busiest || p.busiest.cpu > m.busiest.cpu)) m.busiest = p.busiest;
    m.sched = m.sched && p.sched ? { ran: m.sched.ran + p.sched.ran, waited: m.sched.waited + p.sched.waited } : null;
  }
  return [...byName.values()];
}

/**
 * Per phase name: "load: 1.2 s, 340 main-thread tasks, the busiest 12 ms of CPU (14 ms wall); the
 * main thread ran 0.2 s and waited 0.6 s for a core; 1 long task (wall clock): 67 ms (4 ms of CPU)
 * at 2.96 s, scripts: none".
 */
export function describeLongTasks(spans: PhaseTasks[]): string {
  return mergePhases(spans).map((p) => {
    const busiest = (p.busiest ? `the busiest ${p.busiest.cpu.toFixed(0)} ms of CPU (${p.busiest.wall.toFixed(0)} ms wall)` : 'none traced') +
      (p.sched ? `; the main thread ran ${(p.sched.ran / 1000).toFixed(2)} s and waited ${(p.sched.waited / 1000).toFixed(2)} s for a core` : '');
    const tasks = p.tasks.map((t) => `${t.duration.toFixed(0)} ms${t.cpu !== undefined ? ` (${t.cpu.toFixed(0)} ms of CPU)` : ''} at ${(t.start / 1000).toFixed(2)} s, scripts: ${t.scripts?.length ? t.scripts.join(', ') : 'none'}`);
    return `${p.phase}: ${(p.spanMs / 1000).toFixed(1)} s, ${p.traced} main-thread tasks, ${busiest}; ${p.tasks.length} long task(s) (wall clock)${tasks.length ? `: ${tasks.join('; ')}` : ''}`;
  }).join(' | ');
}

// The decoder plans of a model, one per prompt structure: the most recently used few are kept
// built; a plan in use by a decode is pinned, so that an eviction meanwhile destroys it only when
// its last user releases it.
import type { Plan } from '../gpu/plan.js';

export class PlanCache<Shape> {
  private readonly plans = new Map<string, Promise<Plan>>();
  /** Plans in use (a plan evicted from the cache is destroyed when released). */
  private readonly pins = new Map<Plan, number>();
  private readonly evicted = new Set<Plan>();
  /** Every plan made and not destroyed (cached, pinned, or still building). */
  private readonly live = new Set<Plan>();

  constructor(
    /** Records (does not build) the plan of a shape. */
    private readonly record: (shape: Shape) => Plan,
    private readonly maxPlans: number,
    /** Throws when the owner can no longer run (destroyed, device lost); called before and after each wait. */
    private readonly check: () => void,
  ) {}

  /**
   * The plan for `shape`, pinned: it stays alive (even if evicted from the cache meanwhile) until
   * unpin(). Concurrent calls for a new shape share one build.
   */
  async pin(shape: Shape): Promise<Plan> {
    this.check();
    const key = JSON.stringify(shape);
    let entry = this.plans.get(key);
    if (entry) {
      this.plans.delete(key);
      this.plans.set(key, entry); // most recently used last
    } else {
      const plan = this.record(shape);
      this.live.add(plan);
      const built = plan.build().then(() => plan);
      entry = built;
      this.plans.set(key, built);
      built.catch(() => {
        if (this.plans.get(key) === built) this.plans.delete(key);
        this.live.delete(plan);
      });
      while (this.plans.size > this.maxPlans) {
        const [oldKey, old] = this.plans.entries().next().value as [string, Promise<Plan>];
        this.plans.delete(oldKey);
        old.then((o) => this.retire(o), () => undefined);
      }
    }
    const p = await entry;
    this.check();
    if (!this.live.has(p)) {
      // Evicted and destroyed while this call waited: build the shape again.
      return this.pin(shape);
    }
    this.pins.set(p, (this.pins.get(p) ?? 0) + 1);
    return p;
  }

  unpin(p: Plan): void {
    const n = (this.pins.get(p) ?? 1) - 1;
    if (n > 0) this.pins.set(p, n);
    else {
      this.pins.delete(p);
      if (this.evicted.has(p)) this.retire(p);
    }
  }

  /** Destroys an evicted plan now, or when its last user unpins it. */
  private retire(p: Plan): void {
    if (this.pins.has(p)) {
      this.evicted.add(p);
      return;
    }
    this.evicted.delete(p);
    this.live.delete(p);
    p.destroy();
  }

  /** GPU bytes held by the plans made and not destroyed. */
  get bytes(): number {
    let n = 0;
    for (const p of this.live) n += p.gpuBytes;
    return n;
  }

  destroy(): void {
    for (const p of this.live) p.destroy();
    this.live.clear();
    this.plans.clear();
    this.pins.clear();
    this.evicted.clear();
  }
}

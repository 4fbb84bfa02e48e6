// The polite wait (src/gpu/wait.ts) of Dawn in Node on a software adapter: a cold first run (the
// driver compiling at first dispatch) is not learnt, so that it cannot make later runs oversleep;
// after a warm-up run (Plan.run's `warmup`) the next run is learnt at once.
import { describe, expect, it } from 'vitest';
import type { AdapterDescription } from '../src/gpu/device.js';
import { PoliteWait } from '../src/gpu/wait.js';

const lavapipe: AdapterDescription = { name: 'llvmpipe', runtime: 'node', vendor: 'mesa', architecture: '', description: '', isSoftware: true, features: [] };

describe('PoliteWait', () => {
  it('does not learn from a cold first run; learns from the next', async () => {
    const w = new PoliteWait(lavapipe);
    expect(await w.sleep()).toBe(0);
    w.learn(2000, 0); // a first run paying for compilation
    expect(await w.sleep()).toBe(0); // no sleep on its account
    w.learn(40, 0);
    expect(await w.sleep()).toBeCloseTo(34, 6);
  });

  it('after a warm-up run, learns from the first real run', async () => {
    const w = new PoliteWait(lavapipe);
    w.warmedUp();
    w.learn(40, 0);
    expect(await w.sleep()).toBeCloseTo(34, 6);
  });

  it('never sleeps where the wait costs no core (a GPU, or not Node)', async () => {
    for (const info of [{ ...lavapipe, isSoftware: false }, { ...lavapipe, runtime: 'deno' as const }]) {
      const w = new PoliteWait(info);
      w.warmedUp();
      w.learn(400, 0);
      expect(await w.sleep()).toBe(0);
    }
  });
});

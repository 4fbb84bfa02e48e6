// WeightProviders: a safetensors file (read tensor by tensor) or the synthetic rule of
// ../shared/golden/README.md (weights made in memory, no file).
import { SafetensorsFile } from '../safetensors/read.js';
import { syntheticValues } from '../weights/synthetic.js';
import { modelKeys } from './keys.js';
import type { Variant, WeightProvider } from './weights.js';

export function safetensorsWeights(file: SafetensorsFile): WeightProvider {
  const entries = new Map<string, { dtype: string; shape: readonly number[] }>();
  for (const [name, t] of file.tensors) entries.set(name, { dtype: t.dtype, shape: t.shape });
  return { entries, read: (key) => file.readF32(key) };
}

/** The synthetic weights of `variant`: deterministic, meaningless values for tests and demos. */
export function syntheticWeights(variant: Variant): WeightProvider {
  const entries = new Map<string, { dtype: string; shape: readonly number[] }>();
  for (const k of modelKeys(variant)) entries.set(k.key, { dtype: k.dtype, shape: k.shape });
  return {
    entries,
    read: async (key) => {
      const e = entries.get(key);
      if (!e) throw new Error(`no synthetic weight '${key}'`);
      return syntheticValues(key, [...e.shape]);
    },
  };
}

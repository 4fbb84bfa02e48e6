// The state_dict of a variant: its keys with dtype and shape (what building the module tree
// declares, in the upstream state_dict order), how the variants are told apart, and the synthetic
// values of ../shared/golden/README.md for them.
import type { WeightProvider } from '../weights/source.js';
import { WeightError } from '../weights/source.js';
import type { KeySpec } from '../weights/spec.js';
import { syntheticSource, syntheticTensors, type SyntheticTensor } from '../weights/synthetic.js';
import type { Variant } from './config.js';
import { modelSpec } from './net.js';

export type { KeySpec, Variant };

/** Every state_dict key of the variant, in the upstream state_dict order. */
export function modelKeys(variant: Variant): KeySpec[] {
  return modelSpec(variant).spec.keys;
}

/** res50 and res34 differ in their ResNet blocks: Bottleneck blocks have a conv3. */
export function detectVariant(keys: Iterable<string>): Variant {
  let sawResnet = false;
  for (const k of keys) {
    if (k === 'resnet.stage1.0.conv3.weight') return 'res50';
    if (k.startsWith('resnet.')) sawResnet = true;
  }
  if (!sawResnet) throw new WeightError('weights hold no resnet.* keys: not a SAM-UNet state_dict (keys must be the upstream names, unchanged)');
  return 'res34';
}

/** The synthetic weights of `variant`: deterministic, meaningless values for tests and demos. */
export function syntheticWeights(variant: Variant): WeightProvider {
  return syntheticSource(modelKeys(variant));
}

/** Every key of the variant with lazily computed synthetic data, in state_dict order. */
export function syntheticStateDict(variant: Variant): Generator<SyntheticTensor> {
  return syntheticTensors(modelKeys(variant));
}

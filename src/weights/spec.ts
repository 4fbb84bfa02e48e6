// What a model asks of its weights, declared by building it (candle's VarBuilder): each module
// takes `vb.pp('<child>')` and asks for its tensors by name and shape, so no key is written twice and
// the key list is what building the model asked for.
//
// Building the model with a VarBuilder gives a WeightSpec:
// - `keys`: every state_dict tensor the source must hold, in declaration order. Modules declare
//   their own tensors before their children's, children in PyTorch's registration order, so this
//   is the upstream state_dict order.
// - `groups`: how source tensors become GPU weights at load time. Most are one tensor uploaded as
//   it is; a derived group (a conv with its BatchNorm folded in, embeddings stacked into one table)
//   names its inputs and computes its outputs, in one named function.
// - `weights`: every GPU weight the forward binds (Weight.t), each held by the loader once loaded.
import type { Plan } from '../gpu/plan.js';
import type { DType, Tensor } from '../gpu/tensor.js';
import type { Precision } from './load.js';
import { WeightError } from './source.js';

/** One state_dict tensor the source must hold. I64 ones (BatchNorm's num_batches_tracked) are not read. */
export interface KeySpec {
  key: string;
  dtype: 'F32' | 'I64';
  shape: number[];
}

/** How a weight may be stored, beyond f32 (WeightOptions). */
export interface WeightOptions {
  /** Held in f16 under precision 'f16' too (f16 weights of f32 activations): the ViT's linear weights. */
  lowPrecision?: boolean;
  /** Read as f32 by every kernel, so held in f32 under 'f16-compute' too: the prompt encoder's tables. */
  keepF32?: boolean;
}

/** A weight the forward binds: a GPU buffer once the weights are loaded. */
export class Weight {
  private held: { buffer: GPUBuffer; dtype: DType } | null = null;
  /** May be held in f16 under precision 'f16' (the ViT's linear weights). */
  readonly lowPrecision: boolean;
  /** Stays f32 under 'f16-compute'. */
  readonly keepF32: boolean;

  constructor(
    readonly key: string,
    readonly shape: readonly number[],
    opts: WeightOptions = {},
  ) {
    this.lowPrecision = opts.lowPrecision ?? false;
    this.keepF32 = opts.keepF32 ?? false;
  }

  /**
   * How the weight is held under load precision `p`: 'f16-compute' holds every weight in f16 but the
   * keepF32 ones (the activations are f16 too); 'f16' the lowPrecision ones; 'f32' none.
   */
  dtypeIn(p: Precision): DType {
    if (p === 'f16-compute') return this.keepF32 ? 'f32' : 'f16';
    if (p === 'q8' && this.lowPrecision) return 'q8';
    return p === 'f16' && this.lowPrecision ? 'f16' : 'f32';
  }

  /** @internal The loader hands the weight its buffer (and takes it back with null). */
  hold(h: { buffer: GPUBuffer; dtype: DType } | null): void {
    this.held = h;
  }

  get loaded(): boolean {
    return this.held !== null;
  }

  get buffer(): GPUBuffer {
    return this.get().buffer;
  }

  /** How the weight is stored on the GPU. */
  get dtype(): DType {
    return this.get().dtype;
  }

  /** The weight as a tensor of plan `p`, in the dtype it is held in. */
  t(p: Plan): Tensor {
    const h = this.get();
    return p.external(h.buffer, this.shape, this.key, h.dtype);
  }

  private get(): { buffer: GPUBuffer; dtype: DType } {
    if (!this.held) throw new WeightError(`weight '${this.key}' is not on the GPU (not loaded, or the weights were destroyed)`);
    return this.held;
  }
}

/** A load step: source tensors in, GPU weights out. */
export interface WeightGroup {
  /** Source keys, all of them read before `make` runs. */
  readonly inputs: readonly string[];
  readonly outputs: readonly Weight[];
  /** One array per output, in order; absent: the one input uploaded as it is. */
  readonly make?: (values: Float32Array[]) => Float32Array[];
}

export interface WeightSpec {
  readonly keys: KeySpec[];
  readonly groups: WeightGroup[];
  readonly weights: Weight[];
}

/** Hands out weights under a key prefix, recording them into one WeightSpec. */
export class VarBuilder {
  private constructor(
    private readonly spec: WeightSpec,
    private readonly declared: Set<string>,
    /** The key prefix ('' at the root). */
    readonly prefix: string,
  ) {}

  /** An empty spec's root builder. */
  static root(): VarBuilder {
    return new VarBuilder({ keys: [], groups: [], weights: [] }, new Set(), '');
  }

  /** What building with this builder (and its children) declared. */
  get declarations(): WeightSpec {
    return this.spec;
  }

  /** The builder of child module `name` (`vb.pp('blocks').pp(3)`, or `vb.pp('blocks.3')`). */
  pp(name: string | number): VarBuilder {
    return new VarBuilder(this.spec, this.declared, this.key(String(name)));
  }

  /** The full key of `name` under this prefix. */
  key(name: string): string {
    return this.prefix ? `${this.prefix}.${name}` : name;
  }

  /** Declares a state_dict tensor the source must hold and returns its key; only a derive() reads it. */
  source(name: string, shape: readonly number[], dtype: 'F32' | 'I64' = 'F32'): string {
    const key = this.key(name);
    if (this.declared.has(key)) throw new Error(`'${key}' is declared twice`);
    this.declared.add(key);
    this.spec.keys.push({ key, dtype, shape: [...shape] });
    return key;
  }

  /** A state_dict tensor uploaded as it is. */
  get(name: string, shape: readonly number[], opts: WeightOptions = {}): Weight {
    const key = this.source(name, shape);
    const w = new Weight(key, shape, opts);
    this.spec.groups.push({ inputs: [key], outputs: [w] });
    this.spec.weights.push(w);
    return w;
  }

  /**
   * GPU weights `outputs` (named under this prefix) computed at load time from the source tensors
   * `inputs` (full keys, declared with source()) by `make`.
   */
  derive(
    inputs: readonly string[],
    outputs: readonly { name: string; shape: readonly number[] }[],
    make: (values: Float32Array[]) => Float32Array[],
    opts: WeightOptions = {},
  ): Weight[] {
    for (const k of inputs) {
      if (!this.spec.keys.some((s) => s.key === k && s.dtype === 'F32')) throw new Error(`derive: '${k}' is not a declared float tensor`);
    }
    const ws = outputs.map((o) => new Weight(this.key(o.name), o.shape, opts));
    for (const w of ws) {
      if (this.spec.weights.some((x) => x.key === w.key)) throw new Error(`weight '${w.key}' is made twice`);
    }
    this.spec.groups.push({ inputs, outputs: ws, make });
    this.spec.weights.push(...ws);
    return ws;
  }
}

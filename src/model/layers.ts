// Layers bound to a weight prefix: each declares its tensors through a VarBuilder when built and
// records its op on a Plan in forward(), labelled by its prefix. PyTorch names: Linear, LayerNorm,
// LayerNorm2d (SAM's, over channels), Conv2d (optionally with its BatchNorm folded in),
// ConvTranspose2d with a 2×2 kernel and stride 2; and StackedLinear, nn.Linear layers that read one
// input stacked at load into one GEMM.
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { conv2d } from '../ops/conv2d.js';
import { convTranspose2x2 } from '../ops/conv_transpose.js';
import { layerNorm, layerNorm2d } from '../ops/layernorm.js';
import { linear, type Activation } from '../ops/matmul.js';
import { foldConvBatchNorm } from '../weights/fold.js';
import type { VarBuilder, Weight } from '../weights/spec.js';

/** nn.Linear(inF, outF): weight [outF, inF], bias [outF]. */
export class Linear {
  readonly weight: Weight;
  readonly bias: Weight | null;
  private readonly label: string;

  constructor(vb: VarBuilder, inF: number, outF: number, opts: { bias?: boolean; lowPrecision?: boolean } = {}) {
    this.label = vb.prefix;
    this.weight = vb.get('weight', [outF, inF], { lowPrecision: opts.lowPrecision });
    this.bias = opts.bias === false ? null : vb.get('bias', [outF]);
  }

  /** act(x · wᵀ + b) (+ residual, after the activation). */
  forward(p: Plan, x: Tensor, opts: { act?: Activation; residual?: Tensor } = {}): Tensor {
    return linear(p, x, this.weight.t(p), this.bias?.t(p) ?? null, { ...opts, label: this.label });
  }
}

/** An nn.Linear's keys at `vb` (weight [outF, inF], bias [outF]), declared for a derive() to read. */
export interface LinearSource {
  weight: string;
  bias: string;
  inF: number;
  outF: number;
}

export function linearSource(vb: VarBuilder, inF: number, outF: number): LinearSource {
  return { weight: vb.source('weight', [outF, inF]), bias: vb.source('bias', [outF]), inF, outF };
}

/** An nn.LayerNorm's (or any weight + bias pair's) keys at `vb`, declared for a derive() to read. */
export const normSource = (vb: VarBuilder, c: number): { weight: string; bias: string } => ({ weight: vb.source('weight', [c]), bias: vb.source('bias', [c]) });

/**
 * nn.Linear layers that read one input, stacked at load into one weight `<vb>.<name>.weight`
 * [Σ outF, inF] and bias [Σ outF] (row blocks in the order given): one GEMM for the q, k and v
 * projections of an input. forward() can add a PE to the input of the first output columns.
 */
export class StackedLinear {
  readonly weight: Weight;
  readonly bias: Weight;
  /** The first output column of each part. */
  readonly offsets: readonly number[];
  private readonly label: string;

  constructor(vb: VarBuilder, name: string, parts: readonly LinearSource[]) {
    const inF = parts[0]!.inF;
    if (parts.some((q) => q.inF !== inF)) throw new Error(`${vb.key(name)}: stacked linears must read one input size`);
    const offsets: number[] = [];
    let n = 0;
    for (const q of parts) {
      offsets.push(n);
      n += q.outF;
    }
    this.offsets = offsets;
    this.label = vb.key(name);
    const s = vb.pp(name);
    [this.weight, this.bias] = s.derive(parts.flatMap((q) => [q.weight, q.bias]), [{ name: 'weight', shape: [n, inF] }, { name: 'bias', shape: [n] }], (v) => {
      const w = new Float32Array(n * inF);
      const b = new Float32Array(n);
      parts.forEach((_, i) => {
        w.set(v[2 * i]!, offsets[i]! * inF);
        b.set(v[2 * i + 1]!, offsets[i]!);
      });
      return [w, b];
    }) as [Weight, Weight];
  }

  /** x · [W0; W1; …]ᵀ + [b0; b1; …]; the output columns below plus.cols read x + plus.t (rows repeating). */
  forward(p: Plan, x: Tensor, plus?: { t: Tensor; cols: number }): Tensor {
    return linear(p, x, this.weight.t(p), this.bias.t(p), { plus, label: this.label });
  }
}

/** The weight [c] and bias [c] of a normalisation layer. */
abstract class Norm {
  readonly weight: Weight;
  readonly bias: Weight;
  protected readonly label: string;

  constructor(vb: VarBuilder, c: number, protected readonly eps: number) {
    this.label = vb.prefix;
    this.weight = vb.get('weight', [c]);
    this.bias = vb.get('bias', [c]);
  }
}

/** nn.LayerNorm(c, eps) over the last dim. */
export class LayerNorm extends Norm {
  forward(p: Plan, x: Tensor): Tensor {
    return layerNorm(p, x, this.weight.t(p), this.bias.t(p), this.eps, { label: this.label });
  }
}

/** SAM's LayerNorm2d(c, eps) over the channels of NCHW, optionally followed by GELU. */
export class LayerNorm2d extends Norm {
  forward(p: Plan, x: Tensor, act: 'none' | 'gelu' = 'none'): Tensor {
    return layerNorm2d(p, x, this.weight.t(p), this.bias.t(p), this.eps, { act, label: this.label });
  }
}

export interface ConvOptions {
  stride?: number;
  pad?: number;
  /** Default true. */
  bias?: boolean;
}

/** nn.Conv2d(cin, cout, k): weight [cout, cin, k, k], bias [cout]. */
export class Conv2d {
  private constructor(
    private readonly label: string,
    readonly weight: Weight,
    readonly bias: Weight | null,
    private readonly stride: number,
    private readonly pad: number,
  ) {}

  static load(vb: VarBuilder, cin: number, cout: number, k: number, opts: ConvOptions = {}): Conv2d {
    const w = vb.get('weight', [cout, cin, k, k]);
    const b = opts.bias === false ? null : vb.get('bias', [cout]);
    return new Conv2d(vb.prefix, w, b, opts.stride ?? 1, opts.pad ?? 0);
  }

  /**
   * The bias-free conv at `vb` followed by the eval-mode BatchNorm at `bn` (its weight, bias,
   * running_mean, running_var; num_batches_tracked is declared, not read), folded at load time into
   * one conv with weight `<vb>.weight` and bias `<vb>.bias` (weights/fold.ts).
   */
  static withBatchNorm(vb: VarBuilder, bn: VarBuilder, cin: number, cout: number, k: number, opts: { stride?: number; pad?: number; eps: number }): Conv2d {
    const shape = [cout, cin, k, k];
    const conv = vb.source('weight', shape);
    const stats = ['weight', 'bias', 'running_mean', 'running_var'].map((n) => bn.source(n, [cout]));
    bn.source('num_batches_tracked', [], 'I64');
    const [w, b] = vb.derive([conv, ...stats], [{ name: 'weight', shape }, { name: 'bias', shape: [cout] }], ([cw, g, beta, mean, v]) =>
      foldConvBatchNorm(conv, cw!, cout, { weight: g!, bias: beta!, mean: mean!, var: v! }, opts.eps),
    ) as [Weight, Weight];
    return new Conv2d(vb.prefix, w, b, opts.stride ?? 1, opts.pad ?? 0);
  }

  forward(p: Plan, x: Tensor, opts: { act?: Activation; residual?: Tensor } = {}): Tensor {
    return conv2d(p, x, this.weight.t(p), this.bias?.t(p) ?? null, { stride: this.stride, pad: this.pad, ...opts, label: this.label });
  }
}

/** nn.ConvTranspose2d(cin, cout, 2, stride 2): weight [cin, cout, 2, 2], bias [cout]. */
export class ConvTranspose2x2 {
  readonly weight: Weight;
  readonly bias: Weight;
  private readonly label: string;

  constructor(vb: VarBuilder, cin: number, cout: number) {
    this.label = vb.prefix;
    this.weight = vb.get('weight', [cin, cout, 2, 2]);
    this.bias = vb.get('bias', [cout]);
  }

  /** x [N, cin, H, W], or channels-last [N, H, W, cin] with layout 'nhwc' → [N, cout, 2H, 2W]. */
  forward(p: Plan, x: Tensor, act: Activation = 'none', layout: 'nchw' | 'nhwc' = 'nchw'): Tensor {
    return convTranspose2x2(p, x, this.weight.t(p), this.bias.t(p), { act, layout, label: this.label });
  }
}

// The prompt side of SAM-UNet: SAM's two-way transformer and output upscaling
// (segment_anything transformer.py, mask_decoder.py) under SAM-UNet's med-token head
// (`wrapped.SAMMaskDecoderWrapper_Med`), then the upstream postprocess. Recorded once per prompt
// structure (N prompt sets of T sparse tokens, mask prompt or not, original size).
//
// SAM-UNet's head, low_res_logits = h · (embedding_maskfeature(…) + multi_scale_feature), runs the
// last conv of embedding_maskfeature folded into the product (ops/mask_head.ts).
//
// Plan inputs: 'image_embeddings' [1, 256, 16, 16], 'multi_scale_feature' [1, 32, 64, 64],
// 'points' [N, T, 3] (x, y, label in the model frame), and 'mask_input' [N, 1, 64, 64] with a mask.
// Outputs: 'low_res_logits' [N, 1, 64, 64] and 'logits' [N, 1, H, W].
import type { Gpu } from '../gpu/device.js';
import { Plan, type PlanOptions } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { add } from '../ops/elementwise.js';
import { permute } from '../ops/layout.js';
import { maskHead } from '../ops/mask_head.js';
import { narrow } from '../ops/narrow.js';
import { resizeBilinear } from '../ops/resize.js';
import type { VarBuilder, Weight } from '../weights/spec.js';
import type { SamUnetConfig } from './config.js';
import { Conv2d, ConvTranspose2x2, LayerNorm2d, Linear } from './layers.js';
import type { ModelWeights } from './weights.js';
import { TwoWayTransformer, type KeySide } from './two_way.js';

export interface DecoderShape {
  /** Prompt sets decoded together. */
  n: number;
  /** Sparse tokens per set (points, padding point, box corners). */
  t: number;
  hasMask: boolean;
  /** Resized (model-frame) size of the image, before padding to 256. */
  inputH: number;
  inputW: number;
  /** Original image size. */
  origH: number;
  origW: number;
}

export const DECODER_STAGES = [
  'tokens', 'prompt.1', 'dense_pe', 'transformer.0', 'transformer.1', 'output_upscaling', 'embedding_maskfeature', 'hf_mlp',
] as const;

/** `mask_decoder`: SAM's transformer and output upscaling, then the med token and its head. */
export class MaskDecoder {
  readonly transformer: TwoWayTransformer;
  private readonly upscaling: [ConvTranspose2x2, LayerNorm2d, ConvTranspose2x2];
  readonly medToken: Weight;
  private readonly hfMlp: Linear[];
  /** Conv 3×3 p1 32 → 64, LN2d, GELU, Conv 3×3 p1 64 → 32 (the last one folded into maskHead). */
  private readonly maskFeature: [Conv2d, LayerNorm2d, Conv2d];
  private readonly label: string;

  constructor(vb: VarBuilder, cfg: SamUnetConfig) {
    const { dim } = cfg.prompt;
    const u = cfg.unetDim;
    const sam = vb.pp('sam_mask_decoder');
    this.label = vb.prefix;
    this.transformer = new TwoWayTransformer(sam.pp('transformer'), dim, cfg.decoder);
    const up = sam.pp('output_upscaling'); // ConvT, LN2d, GELU, ConvT, GELU
    this.upscaling = [new ConvTranspose2x2(up.pp(0), dim, dim / 4), new LayerNorm2d(up.pp(1), dim / 4, cfg.ln2dEps), new ConvTranspose2x2(up.pp(3), dim / 4, u)];
    this.medToken = vb.get('med_token.weight', [1, dim]);
    const hf = vb.pp('hf_mlp.layers');
    this.hfMlp = [new Linear(hf.pp(0), dim, dim), new Linear(hf.pp(1), dim, dim), new Linear(hf.pp(2), dim, u)];
    const f = vb.pp('embedding_maskfeature');
    this.maskFeature = [Conv2d.load(f.pp(0), u, 2 * u, 3, { pad: 1 }), new LayerNorm2d(f.pp(1), 2 * u, cfg.ln2dEps), Conv2d.load(f.pp(3), 2 * u, u, 3, { pad: 1 })];
  }

  /**
   * The head on the transformer's outputs: queries [N, 1 + T, dim] (med token first), keys
   * [N, grid², dim] → low_res_logits [N, 1, 64, 64]. `tap` exposes intermediate stages.
   */
  head(p: Plan, queries: Tensor, keys: Tensor, msf: Tensor, tap: (name: string, t: () => Tensor) => Tensor | null): Tensor {
    const [N, HW, dim] = keys.shape as [number, number, number];
    const grid = Math.sqrt(HW);
    const [up0, upNorm, up3] = this.upscaling;
    const srcImg = p.reshape(permute(p, keys, [0, 2, 1], `${this.label}.src.nchw`), [N, dim, grid, grid]);
    const u = up3.forward(p, upNorm.forward(p, up0.forward(p, srcImg), 'gelu'), 'gelu');
    tap('output_upscaling', () => u);
    const [f0, fNorm, f3] = this.maskFeature;
    const f = fNorm.forward(p, f0.forward(p, u), 'gelu');
    // The conv's output alone is only computed when a test asks for the stage: maskHead folds it in.
    tap('embedding_maskfeature', () => f3.forward(p, f));
    let h = p.reshape(narrow(p, queries, 1, 0, 1, `${this.label}.med_token_out`), [N, dim]);
    const [hf0, hf1, hf2] = this.hfMlp as [Linear, Linear, Linear];
    h = hf2.forward(p, hf1.forward(p, hf0.forward(p, h, { act: 'relu' }), { act: 'relu' }));
    tap('hf_mlp', () => h);
    // low_res_logits = h · (embedding_maskfeature.3(f) + multi_scale_feature), the conv folded in.
    return maskHead(p, f, h, f3.weight.t(p), f3.bias!.t(p), msf, 'low_res_logits');
  }
}

/** Records the decoder for one prompt structure. `stages`: intermediate tensors to expose as outputs. */
export function recordDecoder(gpu: Gpu, W: ModelWeights, s: DecoderShape, stages: readonly string[] = [], opts: PlanOptions = {}): Plan {
  const { config: cfg, net } = W;
  const p = new Plan(gpu, `decoder n${s.n} t${s.t}${s.hasMask ? ' mask' : ''} ${s.origW}x${s.origH}`, opts);
  const want = new Set(stages);
  const tap = (name: string, t: () => Tensor): Tensor | null => (want.has(name) ? p.output(name, t()) : null);
  const { n: N } = s;
  const { dim, grid } = cfg.prompt;
  const HW = grid * grid;
  const pe = net.promptEncoder;
  const emb = p.input('image_embeddings', [1, dim, grid, grid]);
  const msf = p.input('multi_scale_feature', [1, cfg.unetDim, 4 * grid, 4 * grid]);
  const pts = p.input('points', [N, s.t, 3]);
  const tab = pe.tables(p, net.maskDecoder.medToken);
  const tr = net.maskDecoder.transformer;

  // Prompt encoder. tokens = [med_token, sparse…]; src = image_embeddings + dense; pos = dense PE.
  // What depends on the image alone is a cached segment, skipped while the same embedding is
  // decoded again (Plan.cached): the dense PE, the image tokens and, without a mask prompt, src
  // and block 0's key side.
  const tokens = pe.tokens(p, pts, tab);
  tap('tokens', () => tokens);
  const imageSide = p.cached(['image_embeddings'], () => {
    const pos = pe.densePe(p, tab); // [HW, dim]
    const embTokens = permute(p, p.reshape(emb, [1, dim, HW]), [0, 2, 1], 'image_embeddings.tokens');
    if (s.hasMask) return { pos, embTokens, src: null, side0: null };
    const src = add(p, embTokens, pe.noMaskEmbed.t(p), 'src.no_mask', [N, HW, dim]);
    return { pos, embTokens, src, side0: tr.layers[0]!.keySide(p, src, pos) };
  });
  const pos = imageSide.pos;
  tap('dense_pe', () => pos);
  let src: Tensor;
  let side0: KeySide;
  if (s.hasMask) {
    const dense = pe.embedMask(p, p.input('mask_input', [N, 1, 4 * grid, 4 * grid]));
    tap('prompt.1', () => dense);
    src = add(p, permute(p, p.reshape(dense, [N, dim, HW]), [0, 2, 1], 'dense.tokens'), imageSide.embTokens, 'src');
    side0 = tr.layers[0]!.keySide(p, src, pos);
  } else {
    src = imageSide.src!;
    side0 = imageSide.side0!;
  }

  const [queries, keys] = tr.forward(p, tokens, src, pos, side0);
  tap('transformer.0', () => queries);
  tap('transformer.1', () => keys);
  const lowRes = p.output('low_res_logits', net.maskDecoder.head(p, queries, keys, msf, tap));

  // Postprocess (SAM_UNET.postprocess_masks): bilinear 64→256, crop to the resized size, bilinear
  // to the original size; align_corners = false.
  const up = resizeBilinear(p, lowRes, cfg.inputSize, cfg.inputSize, { label: 'logits.256' });
  p.output('logits', resizeBilinear(p, up, s.origH, s.origW, { srcH: s.inputH, srcW: s.inputW, label: 'logits' }));
  return p;
}

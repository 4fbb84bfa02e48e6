// The prompt side of SAM-UNet: SAM's prompt encoder, the two-way transformer and SAM-UNet's
// med-token head (`wrapped.SAMMaskDecoderWrapper_Med`), then the upstream postprocess. Recorded once
// per prompt structure (N prompt sets of T sparse tokens, mask prompt or not, original size).
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
import { attention } from '../ops/attention.js';
import { conv2d } from '../ops/conv2d.js';
import { convTranspose2x2 } from '../ops/conv_transpose.js';
import { add } from '../ops/elementwise.js';
import { layerNorm, layerNorm2d } from '../ops/layernorm.js';
import { permute } from '../ops/layout.js';
import { linear } from '../ops/matmul.js';
import { maskHead } from '../ops/mask_head.js';
import { narrow } from '../ops/narrow.js';
import { densePe, promptTokens, type PromptTables } from '../ops/prompt_embed.js';
import { resizeBilinear } from '../ops/resize.js';
import { LN2D_EPS } from './adapters.js';
import { IMG_SIZE } from './encoder.js';
import type { ModelWeights } from './weights.js';

const PE = 'prompt_encoder.sam_prompt_encoder';
const MD = 'mask_decoder';
const TR = `${MD}.sam_mask_decoder.transformer`;
const DIM = 256;
const GRID = 16;
const HEADS = 8;
const LN_EPS = 1e-5;

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

export function promptTables(p: Plan, W: ModelWeights): PromptTables {
  return {
    gauss: W.t(p, `${PE}.pe_layer.positional_encoding_gaussian_matrix`),
    labelEmb: W.t(p, `${PE}.label_embeddings`),
    med: W.t(p, `${MD}.med_token.weight`),
  };
}

/** One of SAM Attention's q / k / v projections (`<prefix>.<name>`). */
function proj(p: Plan, W: ModelWeights, prefix: string, name: 'q_proj' | 'k_proj' | 'v_proj', x: Tensor): Tensor {
  return linear(p, x, W.t(p, `${prefix}.${name}.weight`), W.t(p, `${prefix}.${name}.bias`), { label: `${prefix}.${name}` });
}

/** The rest of SAM's Attention on projected q, k, v: multi-head softmax(q kᵀ/√d) v, out_proj (+ residual). */
function attnOut(p: Plan, W: ModelWeights, prefix: string, q: Tensor, k: Tensor, v: Tensor, residual?: Tensor): Tensor {
  const o = attention(p, q, k, v, { heads: HEADS, label: prefix });
  return linear(p, o, W.t(p, `${prefix}.out_proj.weight`), W.t(p, `${prefix}.out_proj.bias`), { residual, label: `${prefix}.out_proj` });
}

/** SAM's Attention: q/k/v projections, multi-head softmax(q kᵀ/√d) v, out_proj (+ residual). */
function attn(p: Plan, W: ModelWeights, prefix: string, q: Tensor, k: Tensor, v: Tensor, residual?: Tensor): Tensor {
  return attnOut(p, W, prefix, proj(p, W, prefix, 'q_proj', q), proj(p, W, prefix, 'k_proj', k), proj(p, W, prefix, 'v_proj', v), residual);
}

function ln(p: Plan, W: ModelWeights, prefix: string, x: Tensor): Tensor {
  return layerNorm(p, x, W.t(p, `${prefix}.weight`), W.t(p, `${prefix}.bias`), LN_EPS, { label: prefix });
}

/**
 * What TwoWayAttentionBlock i computes from its keys (and the key PE) alone: the token→image k and
 * v projections and the image→token q projection. For block 0 without a mask prompt that depends on
 * the image only, and is recorded in a cached segment.
 */
interface KeySide {
  k: Tensor;
  v: Tensor;
  qImg: Tensor;
}

function keySide(p: Plan, W: ModelWeights, i: number, keys: Tensor, keyPe: Tensor): KeySide {
  const L = `${TR}.layers.${i}`;
  const keysPe = add(p, keys, keyPe, `${L}.k_pe`);
  return {
    k: proj(p, W, `${L}.cross_attn_token_to_image`, 'k_proj', keysPe),
    v: proj(p, W, `${L}.cross_attn_token_to_image`, 'v_proj', keys),
    qImg: proj(p, W, `${L}.cross_attn_image_to_token`, 'q_proj', keysPe),
  };
}

/** TwoWayAttentionBlock (transformer.py). queries [N, 1+T, 256], keys [N, 256, 256]; `side` = keySide(keys). */
function twoWayBlock(p: Plan, W: ModelWeights, i: number, queries: Tensor, keys: Tensor, queryPe: Tensor, side: KeySide): [Tensor, Tensor] {
  const L = `${TR}.layers.${i}`;
  if (i === 0) {
    queries = attn(p, W, `${L}.self_attn`, queries, queries, queries); // skip_first_layer_pe: no PE, no residual
  } else {
    const q = add(p, queries, queryPe, `${L}.q_pe`);
    queries = attn(p, W, `${L}.self_attn`, q, q, queries, queries);
  }
  queries = ln(p, W, `${L}.norm1`, queries);
  const t2i = `${L}.cross_attn_token_to_image`;
  queries = attnOut(p, W, t2i, proj(p, W, t2i, 'q_proj', add(p, queries, queryPe, `${L}.q_pe2`)), side.k, side.v, queries);
  queries = ln(p, W, `${L}.norm2`, queries);
  const h = linear(p, queries, W.t(p, `${L}.mlp.lin1.weight`), W.t(p, `${L}.mlp.lin1.bias`), { act: 'relu', label: `${L}.mlp.lin1` });
  queries = linear(p, h, W.t(p, `${L}.mlp.lin2.weight`), W.t(p, `${L}.mlp.lin2.bias`), { residual: queries, label: `${L}.mlp.lin2` });
  queries = ln(p, W, `${L}.norm3`, queries);
  const q = add(p, queries, queryPe, `${L}.q_pe3`);
  const i2t = `${L}.cross_attn_image_to_token`;
  keys = attnOut(p, W, i2t, side.qImg, proj(p, W, i2t, 'k_proj', q), proj(p, W, i2t, 'v_proj', queries), keys);
  keys = ln(p, W, `${L}.norm4`, keys);
  return [queries, keys];
}

/** mask_downscaling: conv 2×2 s2 1→4, LN2d, GELU, conv 2×2 s2 4→16, LN2d, GELU, conv 1×1 16→256. */
function maskDownscaling(p: Plan, W: ModelWeights, mask: Tensor): Tensor {
  const m = `${PE}.mask_downscaling`;
  const conv = (i: number, x: Tensor, stride: number) => conv2d(p, x, W.t(p, `${m}.${i}.weight`), W.t(p, `${m}.${i}.bias`), { stride, label: `${m}.${i}` });
  const norm = (i: number, x: Tensor) => layerNorm2d(p, x, W.t(p, `${m}.${i}.weight`), W.t(p, `${m}.${i}.bias`), LN2D_EPS, { act: 'gelu', label: `${m}.${i}` });
  return conv(6, norm(4, conv(3, norm(1, conv(0, mask, 2)), 2)), 1);
}

export function recordDecoder(gpu: Gpu, W: ModelWeights, s: DecoderShape, stages: readonly string[] = [], opts: PlanOptions = {}): Plan {
  const p = new Plan(gpu, `decoder n${s.n} t${s.t}${s.hasMask ? ' mask' : ''} ${s.origW}x${s.origH}`, opts);
  const want = new Set(stages);
  const tap = (name: string, t: Tensor): Tensor => {
    if (want.has(name)) p.output(name, t);
    return t;
  };
  const { n: N } = s;
  const HW = GRID * GRID;
  const emb = p.input('image_embeddings', [1, DIM, GRID, GRID]);
  const msf = p.input('multi_scale_feature', [1, 32, 64, 64]);
  const pts = p.input('points', [N, s.t, 3]);
  const tab = promptTables(p, W);

  // Prompt encoder. tokens = [med_token, sparse…]; src = image_embeddings + dense; pos = dense PE.
  // What depends on the image alone is a cached segment, skipped while the same embedding is
  // decoded again (Plan.cached): the dense PE, the image tokens and, without a mask prompt, src
  // and block 0's key side.
  const tokens = tap('tokens', promptTokens(p, pts, tab, IMG_SIZE));
  const noMaskEmbed = W.t(p, `${PE}.no_mask_embed.weight`);
  const imageSide = p.cached(['image_embeddings'], () => {
    const pos = densePe(p, tab, GRID); // [HW, 256]
    const embTokens = permute(p, p.reshape(emb, [1, DIM, HW]), [0, 2, 1], 'image_embeddings.tokens');
    if (s.hasMask) return { pos, embTokens, src: null, side0: null };
    const src = add(p, embTokens, noMaskEmbed, 'src.no_mask', [N, HW, DIM]);
    return { pos, embTokens, src, side0: keySide(p, W, 0, src, pos) };
  });
  const pos = tap('dense_pe', imageSide.pos);
  let src: Tensor;
  let side0: KeySide;
  if (s.hasMask) {
    const mask = p.input('mask_input', [N, 1, 64, 64]);
    const dense = tap('prompt.1', maskDownscaling(p, W, mask));
    src = add(p, permute(p, p.reshape(dense, [N, DIM, HW]), [0, 2, 1], 'dense.tokens'), imageSide.embTokens, 'src');
    side0 = keySide(p, W, 0, src, pos);
  } else {
    src = imageSide.src!;
    side0 = imageSide.side0!;
  }

  // Two-way transformer.
  let queries = tokens;
  let keys = src;
  [queries, keys] = twoWayBlock(p, W, 0, queries, keys, tokens, side0);
  [queries, keys] = twoWayBlock(p, W, 1, queries, keys, tokens, keySide(p, W, 1, keys, pos));
  const qf = add(p, queries, tokens, 'final.q_pe');
  const kf = add(p, keys, pos, 'final.k_pe');
  queries = attn(p, W, `${TR}.final_attn_token_to_image`, qf, kf, keys, queries);
  queries = tap('transformer.0', ln(p, W, `${TR}.norm_final_attn`, queries));
  tap('transformer.1', keys);

  // Output upscaling (SAM) and the med-token head (SAM-UNet).
  const up0 = `${MD}.sam_mask_decoder.output_upscaling`;
  const srcImg = p.reshape(permute(p, keys, [0, 2, 1], 'src.nchw'), [N, DIM, GRID, GRID]);
  let u = convTranspose2x2(p, srcImg, W.t(p, `${up0}.0.weight`), W.t(p, `${up0}.0.bias`), { label: `${up0}.0` });
  u = layerNorm2d(p, u, W.t(p, `${up0}.1.weight`), W.t(p, `${up0}.1.bias`), LN2D_EPS, { act: 'gelu', label: `${up0}.1` });
  u = tap('output_upscaling', convTranspose2x2(p, u, W.t(p, `${up0}.3.weight`), W.t(p, `${up0}.3.bias`), { act: 'gelu', label: `${up0}.3` }));
  const mf = `${MD}.embedding_maskfeature`;
  let f = conv2d(p, u, W.t(p, `${mf}.0.weight`), W.t(p, `${mf}.0.bias`), { pad: 1, label: `${mf}.0` });
  f = layerNorm2d(p, f, W.t(p, `${mf}.1.weight`), W.t(p, `${mf}.1.bias`), LN2D_EPS, { act: 'gelu', label: `${mf}.1` });
  const [w3, b3] = [W.t(p, `${mf}.3.weight`), W.t(p, `${mf}.3.bias`)];
  // The conv's output alone is only computed when a test asks for the stage: the mask product
  // below folds the conv in (maskHead).
  if (want.has('embedding_maskfeature')) tap('embedding_maskfeature', conv2d(p, f, w3, b3, { pad: 1, label: `${mf}.3` }));

  const hf = `${MD}.hf_mlp.layers`;
  let h = p.reshape(narrow(p, queries, 1, 0, 1, 'med_token_out'), [N, DIM]);
  h = linear(p, h, W.t(p, `${hf}.0.weight`), W.t(p, `${hf}.0.bias`), { act: 'relu', label: `${hf}.0` });
  h = linear(p, h, W.t(p, `${hf}.1.weight`), W.t(p, `${hf}.1.bias`), { act: 'relu', label: `${hf}.1` });
  h = tap('hf_mlp', linear(p, h, W.t(p, `${hf}.2.weight`), W.t(p, `${hf}.2.bias`), { label: `${hf}.2` }));
  // low_res_logits = h · (embedding_maskfeature.3(f) + multi_scale_feature), the conv folded in.
  const lowRes = p.output('low_res_logits', maskHead(p, f, h, w3, b3, msf, 'low_res_logits'));

  // Postprocess (SAM_UNET.postprocess_masks): bilinear 64→256, crop to the resized size, bilinear
  // to the original size; align_corners = false.
  const up = resizeBilinear(p, lowRes, IMG_SIZE, IMG_SIZE, { label: 'logits.256' });
  p.output('logits', resizeBilinear(p, up, s.origH, s.origW, { srcH: s.inputH, srcW: s.inputW, label: 'logits' }));
  return p;
}

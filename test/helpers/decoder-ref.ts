// An independent float64 CPU reference of SAM-UNet's prompt side, written line by line from the
// upstream PyTorch code (repository Hhankyangg/sam-unet):
//   utils/utils.py                ResizeLongestSide.get_preprocess_shape / apply_coords / apply_boxes
//   modeling/prompt_encoder.py    PromptEncoder (_embed_points with the pad point, _embed_boxes,
//                                 mask_downscaling, no_mask_embed, get_dense_pe), PositionEmbeddingRandom
//   modeling/transformer.py       TwoWayTransformer, TwoWayAttentionBlock, Attention
//   modeling/mask_decoder.py      output_upscaling (ConvT, LN2d, GELU, ConvT, GELU), MLP
//   models/wrapped.py             SAMMaskDecoderWrapper_Med.predict_masks (med token, embedding_maskfeature,
//                                 hf_mlp, hyper_in @ feature)
//   models/sam_unet_model.py      SAM_UNET.postprocess_masks
// It does NOT use src/model/decoder.ts or src/model/prompts.ts (only the PromptSet / FrameInfo
// types): the model-frame coordinates are computed here from upstream's apply_coords. Each prompt
// set is run as its own upstream batch of one (nothing in the decoder mixes batch entries).
import type { FrameInfo, PromptSet } from '../../src/model/prompts.js';
import { conv2dRef, convTranspose2x2Ref, layerNorm2dRef, layerNormRef, linearRef, mhaRef, resizeBilinearRef } from './reference.js';

export type WeightFn = (key: string) => Float32Array;

const PE = 'prompt_encoder.sam_prompt_encoder';
const MD = 'mask_decoder';
const TR = `${MD}.sam_mask_decoder.transformer`;
const IMG = 256; // input_image_size (256, 256)
const EMB = 16; // image_embedding_size (16, 16)
const DIM = 256; // transformer_dim / embed_dim
const HEADS = 8;
const LN_EPS = 1e-5; // nn.LayerNorm default
const LN2D_EPS = 1e-6; // LayerNorm2d default

/** ResizeLongestSide.get_preprocess_shape(oldh, oldw, long) → (newh, neww). */
export function getPreprocessShape(oldh: number, oldw: number, long = IMG): [number, number] {
  const scale = (long * 1.0) / Math.max(oldh, oldw);
  const newh = oldh * scale;
  const neww = oldw * scale;
  return [Math.trunc(newh + 0.5), Math.trunc(neww + 0.5)]; // int(x + 0.5), x ≥ 0
}

/** ResizeLongestSide.apply_coords: coords [..., 2] (x, y), original_size (H, W). */
export function applyCoords(coords: readonly (readonly number[])[], [oldH, oldW]: readonly [number, number]): number[][] {
  const [newH, newW] = getPreprocessShape(oldH, oldW);
  return coords.map(([x, y]) => [x! * (newW / oldW), y! * (newH / oldH)]);
}

/** ResizeLongestSide.apply_boxes: boxes B×4 → reshape(-1, 2, 2) → apply_coords → reshape(-1, 4). */
export function applyBoxes(boxes: readonly (readonly number[])[], originalSize: readonly [number, number]): number[][] {
  const corners = boxes.flatMap((b) => [[b[0]!, b[1]!], [b[2]!, b[3]!]]);
  const t = applyCoords(corners, originalSize);
  return boxes.map((_, i) => [...t[2 * i]!, ...t[2 * i + 1]!]);
}

/** PositionEmbeddingRandom._pe_encoding of one point normalised to [0, 1]² → 256 values. */
function peEncoding(x: number, y: number, G: Float32Array): Float64Array {
  const F = G.length / 2; // num_pos_feats (128); G is [2, F]
  const cx = 2 * x - 1;
  const cy = 2 * y - 1;
  const out = new Float64Array(2 * F);
  for (let j = 0; j < F; j++) {
    const v = 2 * Math.PI * (cx * G[j]! + cy * G[F + j]!); // coords @ G, then 2π·
    out[j] = Math.sin(v);
    out[F + j] = Math.cos(v);
  }
  return out;
}

/** forward_with_coords: coords in input-image pixels, divided by (W, H) of input_image_size. */
function peWithCoords(x: number, y: number, G: Float32Array): Float64Array {
  return peEncoding(x / IMG, y / IMG, G);
}

/** PositionEmbeddingRandom.forward((h, w)) permuted to tokens: [h·w, 256], token i·w + j. */
export function densePeRef(G: Float32Array, h = EMB, w = EMB): Float64Array {
  const out = new Float64Array(h * w * G.length);
  for (let i = 0; i < h; i++) {
    for (let j = 0; j < w; j++) {
      // grid.cumsum − 0.5, divided by the size; stacked as [x_embed, y_embed]
      out.set(peEncoding((j + 1 - 0.5) / w, (i + 1 - 0.5) / h, G), (i * w + j) * G.length);
    }
  }
  return out;
}

function addInto(dst: Float64Array, off: number, src: ArrayLike<number>): void {
  for (let c = 0; c < src.length; c++) dst[off + c] = dst[off + c]! + src[c]!;
}

/**
 * PromptEncoder.forward for one set (batch of one) → sparse [T, 256] and dense [256, 16, 16] (NCHW).
 * points / box are in the model frame (after apply_coords / apply_boxes).
 */
export function promptEncoderRef(
  W: WeightFn,
  points: { coords: number[][]; labels: number[] } | null,
  box: number[] | null,
  mask: Float32Array | null,
): { sparse: Float64Array; T: number; dense: Float64Array } {
  const G = W(`${PE}.pe_layer.positional_encoding_gaussian_matrix`);
  const pointEmb = [0, 1, 2, 3].map((i) => W(`${PE}.point_embeddings.${i}.weight`));
  const notAPoint = W(`${PE}.not_a_point_embed.weight`);
  const rows: Float64Array[] = [];
  if (points) {
    // _embed_points(coords, labels, pad = boxes is None)
    let coords = points.coords.map(([x, y]) => [x! + 0.5, y! + 0.5]); // shift to pixel centre
    let labels = [...points.labels];
    if (!box) {
      coords = [...coords, [0, 0]]; // padding point, added after the shift
      labels = [...labels, -1];
    }
    coords.forEach(([x, y], i) => {
      const e = peWithCoords(x!, y!, G);
      const l = labels[i]!;
      if (l === -1) e.fill(0);
      if (l === -1) addInto(e, 0, notAPoint);
      if (l === 0) addInto(e, 0, pointEmb[0]!);
      if (l === 1) addInto(e, 0, pointEmb[1]!);
      rows.push(e);
    });
  }
  if (box) {
    // _embed_boxes: boxes + 0.5, reshape(-1, 2, 2), PE, + point_embeddings[2] / [3]
    const b = box.map((v) => v + 0.5);
    const c0 = peWithCoords(b[0]!, b[1]!, G);
    const c1 = peWithCoords(b[2]!, b[3]!, G);
    addInto(c0, 0, pointEmb[2]!);
    addInto(c1, 0, pointEmb[3]!);
    rows.push(c0, c1);
  }
  const sparse = new Float64Array(rows.length * DIM);
  rows.forEach((r, i) => sparse.set(r, i * DIM));

  let dense: Float64Array;
  if (mask) {
    // mask_downscaling: Conv2d(1, 4, 2, s2), LN2d, GELU, Conv2d(4, 16, 2, s2), LN2d, GELU, Conv2d(16, 256, 1)
    const m = `${PE}.mask_downscaling`;
    const c0 = conv2dRef(mask, W(`${m}.0.weight`), W(`${m}.0.bias`), [1, 1, 64, 64], [4, 2, 2], 2, 0);
    const n1 = layerNorm2dRef(c0.y, W(`${m}.1.weight`), W(`${m}.1.bias`), c0.shape, LN2D_EPS, 'gelu');
    const c3 = conv2dRef(n1, W(`${m}.3.weight`), W(`${m}.3.bias`), c0.shape, [16, 2, 2], 2, 0);
    const n4 = layerNorm2dRef(c3.y, W(`${m}.4.weight`), W(`${m}.4.bias`), c3.shape, LN2D_EPS, 'gelu');
    dense = conv2dRef(n4, W(`${m}.6.weight`), W(`${m}.6.bias`), c3.shape, [DIM, 1, 1], 1, 0).y;
  } else {
    // no_mask_embed.weight.reshape(1, -1, 1, 1).expand(bs, -1, 16, 16)
    const nm = W(`${PE}.no_mask_embed.weight`);
    dense = new Float64Array(DIM * EMB * EMB);
    for (let c = 0; c < DIM; c++) dense.fill(nm[c]!, c * EMB * EMB, (c + 1) * EMB * EMB);
  }
  return { sparse, T: rows.length, dense };
}

/** transformer.Attention(q, k, v): q [nq, 256], k and v [nk, 256] → [nq, 256]. */
function attentionRef(W: WeightFn, p: string, q: ArrayLike<number>, nq: number, k: ArrayLike<number>, v: ArrayLike<number>, nk: number): Float64Array {
  const internal = W(`${p}.q_proj.bias`).length; // embedding_dim // downsample_rate
  const qp = linearRef(q, W(`${p}.q_proj.weight`), W(`${p}.q_proj.bias`), nq, internal, DIM);
  const kp = linearRef(k, W(`${p}.k_proj.weight`), W(`${p}.k_proj.bias`), nk, internal, DIM);
  const vp = linearRef(v, W(`${p}.v_proj.weight`), W(`${p}.v_proj.bias`), nk, internal, DIM);
  // _separate_heads, softmax(q kᵀ / sqrt(c_per_head)), attn @ v, _recombine_heads
  const o = mhaRef(qp, kp, vp, [1, nq, nk, internal], HEADS);
  return linearRef(o, W(`${p}.out_proj.weight`), W(`${p}.out_proj.bias`), nq, DIM, internal);
}

const add = (a: ArrayLike<number>, b: ArrayLike<number>): Float64Array => Float64Array.from({ length: a.length }, (_, i) => a[i]! + b[i]!);
const norm = (W: WeightFn, p: string, x: ArrayLike<number>): Float64Array => layerNormRef(x, W(`${p}.weight`), W(`${p}.bias`), DIM, LN_EPS);

/** TwoWayTransformer.forward on tokens [nt, 256] (point_embedding) and src / pos as tokens [256, 256]. */
export function twoWayTransformerRef(W: WeightFn, src: Float64Array, pos: Float64Array, pointEmbedding: Float64Array, nt: number): { queries: Float64Array; keys: Float64Array } {
  const HW = EMB * EMB;
  let queries: Float64Array = pointEmbedding;
  let keys: Float64Array = src;
  const queryPe = pointEmbedding;
  const keyPe = pos;
  for (let i = 0; i < 2; i++) {
    const L = `${TR}.layers.${i}`;
    // Self attention block
    if (i === 0) {
      queries = attentionRef(W, `${L}.self_attn`, queries, nt, queries, queries, nt); // skip_first_layer_pe
    } else {
      const q = add(queries, queryPe);
      const attnOut = attentionRef(W, `${L}.self_attn`, q, nt, q, queries, nt);
      queries = add(queries, attnOut);
    }
    queries = norm(W, `${L}.norm1`, queries);
    // Cross attention block, tokens attending to image embedding
    let q = add(queries, queryPe);
    let k = add(keys, keyPe);
    let attnOut = attentionRef(W, `${L}.cross_attn_token_to_image`, q, nt, k, keys, HW);
    queries = add(queries, attnOut);
    queries = norm(W, `${L}.norm2`, queries);
    // MLP block: lin2(relu(lin1(x)))
    const h = linearRef(queries, W(`${L}.mlp.lin1.weight`), W(`${L}.mlp.lin1.bias`), nt, W(`${L}.mlp.lin1.bias`).length, DIM, 'relu');
    const mlpOut = linearRef(h, W(`${L}.mlp.lin2.weight`), W(`${L}.mlp.lin2.bias`), nt, DIM, W(`${L}.mlp.lin1.bias`).length);
    queries = add(queries, mlpOut);
    queries = norm(W, `${L}.norm3`, queries);
    // Cross attention block, image embedding attending to tokens
    q = add(queries, queryPe);
    k = add(keys, keyPe);
    attnOut = attentionRef(W, `${L}.cross_attn_image_to_token`, k, HW, q, queries, nt);
    keys = add(keys, attnOut);
    keys = norm(W, `${L}.norm4`, keys);
  }
  const q = add(queries, pointEmbedding);
  const k = add(keys, pos);
  const attnOut = attentionRef(W, `${TR}.final_attn_token_to_image`, q, nt, k, keys, HW);
  queries = add(queries, attnOut);
  queries = norm(W, `${TR}.norm_final_attn`, queries);
  return { queries, keys };
}

/** [rows, cols] → [cols, rows]. */
function transpose(x: ArrayLike<number>, rows: number, cols: number): Float64Array {
  const y = new Float64Array(rows * cols);
  for (let r = 0; r < rows; r++) for (let c = 0; c < cols; c++) y[c * rows + r] = x[r * cols + c]!;
  return y;
}

/**
 * SAMMaskDecoderWrapper_Med.predict_masks for one set: image_embeddings [256, 16, 16] and
 * multi_scale_feature [32, 64, 64] (NCHW, batch 1), sparse [T, 256], dense [256, 16, 16] → [64·64].
 */
export function maskDecoderRef(W: WeightFn, imageEmbeddings: ArrayLike<number>, densePe: Float64Array, sparse: Float64Array, T: number, dense: Float64Array, msf: ArrayLike<number>): Float64Array {
  const HW = EMB * EMB;
  // tokens = cat(med_token, sparse)
  const tokens = new Float64Array((1 + T) * DIM);
  tokens.set(W(`${MD}.med_token.weight`), 0);
  tokens.set(sparse, DIM);
  // src = image_embeddings + dense; flatten(2).permute(0, 2, 1) inside the transformer
  const srcNchw = add(imageEmbeddings, dense);
  const src = transpose(srcNchw, DIM, HW);
  const { queries: hs, keys } = twoWayTransformerRef(W, src, densePe, tokens, 1 + T);
  const maskTokensOut = hs.subarray(0, DIM);
  // src.transpose(1, 2).view(b, c, h, w)
  const srcImg = transpose(keys, HW, DIM);
  // output_upscaling: ConvT(256→64), LN2d, GELU, ConvT(64→32), GELU
  const up = `${MD}.sam_mask_decoder.output_upscaling`;
  const u0 = convTranspose2x2Ref(srcImg, W(`${up}.0.weight`), W(`${up}.0.bias`), [1, DIM, EMB, EMB], DIM / 4);
  const u1 = layerNorm2dRef(u0, W(`${up}.1.weight`), W(`${up}.1.bias`), [1, DIM / 4, 2 * EMB, 2 * EMB], LN2D_EPS, 'gelu');
  const u3 = convTranspose2x2Ref(u1, W(`${up}.3.weight`), W(`${up}.3.bias`), [1, DIM / 4, 2 * EMB, 2 * EMB], DIM / 8, 'gelu');
  // embedding_maskfeature: Conv3×3 p1 (32→64), LN2d, GELU, Conv3×3 p1 (64→32); + multi_scale_feature
  const mf = `${MD}.embedding_maskfeature`;
  const S = 4 * EMB;
  const f0 = conv2dRef(u3, W(`${mf}.0.weight`), W(`${mf}.0.bias`), [1, DIM / 8, S, S], [DIM / 4, 3, 3], 1, 1);
  const f1 = layerNorm2dRef(f0.y, W(`${mf}.1.weight`), W(`${mf}.1.bias`), f0.shape, LN2D_EPS, 'gelu');
  const f3 = conv2dRef(f1, W(`${mf}.3.weight`), W(`${mf}.3.bias`), f0.shape, [DIM / 8, 3, 3], 1, 1);
  const feat = add(f3.y, msf);
  // hf_mlp: MLP(256, 256, 32, 3), ReLU between layers
  const hf = `${MD}.hf_mlp.layers`;
  let h = linearRef(maskTokensOut, W(`${hf}.0.weight`), W(`${hf}.0.bias`), 1, DIM, DIM, 'relu');
  h = linearRef(h, W(`${hf}.1.weight`), W(`${hf}.1.bias`), 1, DIM, DIM, 'relu');
  h = linearRef(h, W(`${hf}.2.weight`), W(`${hf}.2.bias`), 1, DIM / 8, DIM);
  // hyper_in @ upscaled_embedding_hq.view(b, c, h·w)
  const out = new Float64Array(S * S);
  for (let c = 0; c < DIM / 8; c++) {
    const hc = h[c]!;
    for (let i = 0; i < S * S; i++) out[i] = out[i]! + hc * feat[c * S * S + i]!;
  }
  return out;
}

/** SAM_UNET.postprocess_masks: interpolate to 256, crop [:h, :w], interpolate to (H, W). */
export function postprocessMasksRef(low: ArrayLike<number>, [inH, inW]: readonly [number, number], [H, W]: readonly [number, number]): Float64Array {
  const up = resizeBilinearRef(low, [1, 1, 64, 64], IMG, IMG);
  const crop = new Float64Array(inH * inW);
  for (let y = 0; y < inH; y++) for (let x = 0; x < inW; x++) crop[y * inW + x] = up[y * IMG + x]!;
  return resizeBilinearRef(crop, [1, 1, inH, inW], H, W);
}

export interface DecoderRefResult {
  /** Per set: low_res_logits, 64×64. */
  lowRes: Float32Array[];
  /** Per set: logits in the original frame, H×W. */
  logits: Float32Array[];
  /** The same in float64 (for error reports that should not include the float32 rounding). */
  lowRes64: Float64Array[];
  logits64: Float64Array[];
}

/**
 * The decoder side of SAM_UNET.infer for prompt sets in original-image coordinates:
 * apply_coords / apply_boxes, the prompt encoder, the med-token mask decoder and postprocess_masks.
 * imageEmbeddings [1, 256, 16, 16], msf [1, 32, 64, 64].
 */
export function decoderRef(weights: WeightFn, imageEmbeddings: Float32Array, msf: Float32Array, sets: readonly PromptSet[], frame: FrameInfo): DecoderRefResult {
  const originalSize: [number, number] = [frame.height, frame.width];
  const [inH, inW] = getPreprocessShape(frame.height, frame.width);
  if (inH !== frame.inputH || inW !== frame.inputW) {
    throw new Error(`decoderRef: frame says input ${frame.inputW}×${frame.inputH}, upstream get_preprocess_shape gives ${inW}×${inH}`);
  }
  const densePe = densePeRef(weights(`${PE}.pe_layer.positional_encoding_gaussian_matrix`));
  const res: DecoderRefResult = { lowRes: [], logits: [], lowRes64: [], logits64: [] };
  for (const s of sets) {
    const pts = s.points && s.points.length > 0
      ? { coords: applyCoords(s.points.map((p) => [p[0], p[1]]), originalSize), labels: s.points.map((p) => p[2]) }
      : null;
    const box = s.box ? applyBoxes([s.box], originalSize)[0]! : null;
    const { sparse, T, dense } = promptEncoderRef(weights, pts, box, s.maskInput ?? null);
    const low = maskDecoderRef(weights, imageEmbeddings, densePe, sparse, T, dense, msf);
    const logits = postprocessMasksRef(low, [inH, inW], originalSize);
    res.lowRes64.push(low);
    res.logits64.push(logits);
    res.lowRes.push(Float32Array.from(low));
    res.logits.push(Float32Array.from(logits));
  }
  return res;
}

/** Synthetic-weight accessor for decoderRef (values cached per key). */
export function cachedWeights(read: (key: string) => Float32Array): WeightFn {
  const cache = new Map<string, Float32Array>();
  return (key) => {
    let v = cache.get(key);
    if (!v) {
      v = read(key);
      cache.set(key, v);
    }
    return v;
  };
}


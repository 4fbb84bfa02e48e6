// Every state_dict key of SAM-UNet with its dtype and shape, generated from the module tree of
// the upstream PyTorch code (sam_unet_model.py, wrapped.py, resnet.py, segment_anything) in
// state_dict order: a module's own parameters, then its children in registration order.
// test/keys.test.ts checks the result against golden/keys_res50.txt and keys_res34.txt.

export type Variant = 'res50' | 'res34';

export interface KeySpec {
  key: string;
  dtype: 'F32' | 'I64';
  shape: number[];
}

const VIT_DIM = 768;
const VIT_DEPTH = 12;
const VIT_MLP = 3072;
const HEAD_DIM = 64;
const GRID = 16; // 256 / patch 16
const WINDOW = 14;
const GLOBAL_BLOCKS = [2, 5, 8, 11];
const PROMPT_DIM = 256;
const DECODER_MLP = 2048;
const CROSS_DIM = 128; // two-way transformer cross-attention internal dim (downsample rate 2)
const UNET_DIM = 32;
const STAGE_BLOCKS = [3, 4, 6, 3];

/** Appends keys under a prefix, with helpers named after the PyTorch modules. */
class Keys {
  readonly list: KeySpec[] = [];

  param(key: string, shape: number[]): void {
    this.list.push({ key, dtype: 'F32', shape });
  }
  linear(p: string, inF: number, outF: number, bias = true): void {
    this.param(`${p}.weight`, [outF, inF]);
    if (bias) this.param(`${p}.bias`, [outF]);
  }
  conv(p: string, cin: number, cout: number, k: number, bias = true): void {
    this.param(`${p}.weight`, [cout, cin, k, k]);
    if (bias) this.param(`${p}.bias`, [cout]);
  }
  /** ConvTranspose2d stores its weight as [in, out, k, k]. */
  convT(p: string, cin: number, cout: number, k: number): void {
    this.param(`${p}.weight`, [cin, cout, k, k]);
    this.param(`${p}.bias`, [cout]);
  }
  /** LayerNorm / LayerNorm2d. */
  norm(p: string, c: number): void {
    this.param(`${p}.weight`, [c]);
    this.param(`${p}.bias`, [c]);
  }
  batchNorm(p: string, c: number): void {
    this.norm(p, c);
    this.param(`${p}.running_mean`, [c]);
    this.param(`${p}.running_var`, [c]);
    this.list.push({ key: `${p}.num_batches_tracked`, dtype: 'I64', shape: [] });
  }
  embedding(p: string, n: number, dim: number): void {
    this.param(`${p}.weight`, [n, dim]);
  }
}

/** image_encoder.sam_img_encoder: SAM's ImageEncoderViT (ViT-B, 256×256 input). */
function imageEncoder(k: Keys, p: string): void {
  k.param(`${p}.pos_embed`, [1, GRID, GRID, VIT_DIM]);
  k.conv(`${p}.patch_embed.proj`, 3, VIT_DIM, 16);
  for (let i = 0; i < VIT_DEPTH; i++) {
    const b = `${p}.blocks.${i}`;
    const size = GLOBAL_BLOCKS.includes(i) ? GRID : WINDOW;
    k.norm(`${b}.norm1`, VIT_DIM);
    k.param(`${b}.attn.rel_pos_h`, [2 * size - 1, HEAD_DIM]);
    k.param(`${b}.attn.rel_pos_w`, [2 * size - 1, HEAD_DIM]);
    k.linear(`${b}.attn.qkv`, VIT_DIM, 3 * VIT_DIM);
    k.linear(`${b}.attn.proj`, VIT_DIM, VIT_DIM);
    k.norm(`${b}.norm2`, VIT_DIM);
    k.linear(`${b}.mlp.lin1`, VIT_DIM, VIT_MLP);
    k.linear(`${b}.mlp.lin2`, VIT_MLP, VIT_DIM);
  }
  k.conv(`${p}.neck.0`, VIT_DIM, PROMPT_DIM, 1, false);
  k.norm(`${p}.neck.1`, PROMPT_DIM);
  k.conv(`${p}.neck.2`, PROMPT_DIM, PROMPT_DIM, 3, false);
  k.norm(`${p}.neck.3`, PROMPT_DIM);
}

/** prompt_encoder.sam_prompt_encoder: SAM's PromptEncoder. */
function promptEncoder(k: Keys, p: string): void {
  k.param(`${p}.pe_layer.positional_encoding_gaussian_matrix`, [2, PROMPT_DIM / 2]);
  for (let i = 0; i < 4; i++) k.embedding(`${p}.point_embeddings.${i}`, 1, PROMPT_DIM);
  k.embedding(`${p}.not_a_point_embed`, 1, PROMPT_DIM);
  const m = `${p}.mask_downscaling`; // Conv, LN2d, GELU, Conv, LN2d, GELU, Conv
  k.conv(`${m}.0`, 1, 4, 2);
  k.norm(`${m}.1`, 4);
  k.conv(`${m}.3`, 4, 16, 2);
  k.norm(`${m}.4`, 16);
  k.conv(`${m}.6`, 16, PROMPT_DIM, 1);
  k.embedding(`${p}.no_mask_embed`, 1, PROMPT_DIM);
}

/** SAM's Attention with q/k/v/out projections through an internal dim. */
function attention(k: Keys, p: string, internal: number): void {
  for (const proj of ['q_proj', 'k_proj', 'v_proj']) k.linear(`${p}.${proj}`, PROMPT_DIM, internal);
  k.linear(`${p}.out_proj`, internal, PROMPT_DIM);
}

/** mask_decoder: SAMMaskDecoderWrapper_Med (SAM's transformer and upscaling, plus its own heads). */
function maskDecoder(k: Keys, p: string): void {
  const t = `${p}.sam_mask_decoder.transformer`;
  for (let i = 0; i < 2; i++) {
    const l = `${t}.layers.${i}`;
    attention(k, `${l}.self_attn`, PROMPT_DIM);
    k.norm(`${l}.norm1`, PROMPT_DIM);
    attention(k, `${l}.cross_attn_token_to_image`, CROSS_DIM);
    k.norm(`${l}.norm2`, PROMPT_DIM);
    k.linear(`${l}.mlp.lin1`, PROMPT_DIM, DECODER_MLP);
    k.linear(`${l}.mlp.lin2`, DECODER_MLP, PROMPT_DIM);
    k.norm(`${l}.norm3`, PROMPT_DIM);
    k.norm(`${l}.norm4`, PROMPT_DIM);
    attention(k, `${l}.cross_attn_image_to_token`, CROSS_DIM);
  }
  attention(k, `${t}.final_attn_token_to_image`, CROSS_DIM);
  k.norm(`${t}.norm_final_attn`, PROMPT_DIM);
  const up = `${p}.sam_mask_decoder.output_upscaling`; // ConvT, LN2d, GELU, ConvT, GELU
  k.convT(`${up}.0`, PROMPT_DIM, PROMPT_DIM / 4, 2);
  k.norm(`${up}.1`, PROMPT_DIM / 4);
  k.convT(`${up}.3`, PROMPT_DIM / 4, UNET_DIM, 2);
  k.embedding(`${p}.med_token`, 1, PROMPT_DIM);
  k.linear(`${p}.hf_mlp.layers.0`, PROMPT_DIM, PROMPT_DIM);
  k.linear(`${p}.hf_mlp.layers.1`, PROMPT_DIM, PROMPT_DIM);
  k.linear(`${p}.hf_mlp.layers.2`, PROMPT_DIM, UNET_DIM);
  const f = `${p}.embedding_maskfeature`; // Conv, LN2d, GELU, Conv
  k.conv(`${f}.0`, UNET_DIM, 2 * UNET_DIM, 3);
  k.norm(`${f}.1`, 2 * UNET_DIM);
  k.conv(`${f}.3`, 2 * UNET_DIM, UNET_DIM, 3);
}

/** ResNet stage output channels: torchvision Bottleneck (expansion 4) or BasicBlock (1). */
export function resnetChannels(variant: Variant): number[] {
  const expansion = variant === 'res50' ? 4 : 1;
  return [64, 128, 256, 512].map((c) => c * expansion);
}

/** resnet: stage0 = conv1 + bn1 (+ ReLU, maxpool), stage1..4 = torchvision layer1..4. */
function resnet(k: Keys, p: string, variant: Variant): void {
  k.conv(`${p}.stage0.0`, 3, 64, 7, false);
  k.batchNorm(`${p}.stage0.1`, 64);
  const bottleneck = variant === 'res50';
  const expansion = bottleneck ? 4 : 1;
  let cin = 64;
  STAGE_BLOCKS.forEach((blocks, s) => {
    const planes = 64 << s;
    const cout = planes * expansion;
    for (let i = 0; i < blocks; i++) {
      const b = `${p}.stage${s + 1}.${i}`;
      if (bottleneck) {
        k.conv(`${b}.conv1`, cin, planes, 1, false);
        k.batchNorm(`${b}.bn1`, planes);
        k.conv(`${b}.conv2`, planes, planes, 3, false);
        k.batchNorm(`${b}.bn2`, planes);
        k.conv(`${b}.conv3`, planes, cout, 1, false);
        k.batchNorm(`${b}.bn3`, cout);
      } else {
        k.conv(`${b}.conv1`, cin, planes, 3, false);
        k.batchNorm(`${b}.bn1`, planes);
        k.conv(`${b}.conv2`, planes, planes, 3, false);
        k.batchNorm(`${b}.bn2`, planes);
      }
      const stride = i === 0 && s > 0 ? 2 : 1;
      if (stride !== 1 || cin !== cout) {
        k.conv(`${b}.downsample.0`, cin, cout, 1, false);
        k.batchNorm(`${b}.downsample.1`, cout);
      }
      cin = cout;
    }
  });
}

/** adapters_in.i.reshaper: ResNet stage i+1 (C channels) to 768 × 16 × 16 (common.Reshaper). */
function adaptersIn(k: Keys, variant: Variant): void {
  const [c1, c2, c3, c4] = resnetChannels(variant) as [number, number, number, number];
  const a0 = 'adapters_in.0.reshaper'; // 64 → 16: [Conv s2, LN2d, GELU] × 2, Conv 1×1
  k.conv(`${a0}.0`, c1, 2 * c1, 3);
  k.norm(`${a0}.1`, 2 * c1);
  k.conv(`${a0}.3`, 2 * c1, 4 * c1, 3);
  k.norm(`${a0}.4`, 4 * c1);
  k.conv(`${a0}.6`, 4 * c1, VIT_DIM, 1);
  const a1 = 'adapters_in.1.reshaper'; // 32 → 16: Conv s2, LN2d, GELU, Conv 1×1
  k.conv(`${a1}.0`, c2, 2 * c2, 3);
  k.norm(`${a1}.1`, 2 * c2);
  k.conv(`${a1}.3`, 2 * c2, VIT_DIM, 1);
  k.conv('adapters_in.2.reshaper.0', c3, VIT_DIM, 1); // 16 → 16
  const a3 = 'adapters_in.3.reshaper'; // 8 → 16: ConvT s2, LN2d, GELU, Conv 1×1
  k.convT(`${a3}.0`, c4, c4 / 2, 2);
  k.norm(`${a3}.1`, c4 / 2);
  k.conv(`${a3}.3`, c4 / 2, VIT_DIM, 1);
}

/** ConvT 2×2 s2, LN2d, GELU, ConvT 2×2 s2: a 4× upscaling to the U-Net's 32 × 64 × 64. */
function upscale4(k: Keys, p: string, cin: number, mid: number): void {
  k.convT(`${p}.0`, cin, mid, 2);
  k.norm(`${p}.1`, mid);
  k.convT(`${p}.3`, mid, UNET_DIM, 2);
}

/** Every state_dict key of the variant, in the upstream state_dict order. */
export function modelKeys(variant: Variant): KeySpec[] {
  const k = new Keys();
  imageEncoder(k, 'image_encoder.sam_img_encoder');
  promptEncoder(k, 'prompt_encoder.sam_prompt_encoder');
  maskDecoder(k, 'mask_decoder');
  resnet(k, 'resnet', variant);
  adaptersIn(k, variant);
  for (let i = 0; i < 3; i++) upscale4(k, `adapters_bridge.${i}`, VIT_DIM, PROMPT_DIM);
  upscale4(k, 'embedding_encoder', PROMPT_DIM, PROMPT_DIM / 4);
  return k.list;
}

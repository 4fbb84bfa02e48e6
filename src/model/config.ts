// The one description of SAM-UNet's architecture, per variant (../shared/SAM-UNET.md "Constants").
// Modules take the part they need in their constructor; nothing else holds an architecture number.
// The variants differ only in the ResNet branch.

export type Variant = 'res50' | 'res34';

/** Side of the square model input (upstream `img_size`): every variant. */
export const INPUT_SIZE = 256;
/** Side of a mask prompt and of the low-resolution logits: 4 × the embedding grid. */
export const MASK_SIDE = 64;

export interface VitConfig {
  patchSize: number;
  dim: number;
  depth: number;
  heads: number;
  mlpDim: number;
  /** Window side of the windowed blocks. */
  window: number;
  /** Blocks with global attention; the others are windowed. */
  globalBlocks: readonly number[];
  lnEps: number;
  /** Output channels of the neck (the image embeddings). */
  neckDim: number;
}

export interface ResnetConfig {
  /** torchvision Bottleneck (expansion 4) or BasicBlock (expansion 1). */
  block: 'bottleneck' | 'basic';
  /** Blocks per stage 1..4. */
  layers: readonly number[];
  /** Planes of stage 1..4 (output channels × expansion). */
  planes: readonly number[];
  stemChannels: number;
  bnEps: number;
}

export interface PromptConfig {
  /** Embedding dim of tokens and of the image embeddings. */
  dim: number;
  /** The image embeddings' grid side (INPUT_SIZE / patch size). */
  grid: number;
  /** Channels inside mask_downscaling (SAM's mask_in_chans). */
  maskInChans: number;
}

export interface DecoderConfig {
  /** TwoWayTransformer layers. */
  depth: number;
  heads: number;
  mlpDim: number;
  /** Cross-attention internal dim = dim / attention_downsample_rate. */
  crossDim: number;
  /** The transformer's nn.LayerNorm eps (PyTorch's default). */
  lnEps: number;
}

export interface SamUnetConfig {
  variant: Variant;
  inputSize: number;
  vit: VitConfig;
  resnet: ResnetConfig;
  prompt: PromptConfig;
  decoder: DecoderConfig;
  /** Channels of the U-Net features (multi_scale_feature, 32 × 64 × 64) and of hf_mlp's output. */
  unetDim: number;
  /** LayerNorm2d eps (adapters, neck, mask_downscaling, output_upscaling). */
  ln2dEps: number;
}

const shared = {
  inputSize: INPUT_SIZE,
  vit: {
    patchSize: 16, dim: 768, depth: 12, heads: 12, mlpDim: 3072, window: 14, globalBlocks: [2, 5, 8, 11], lnEps: 1e-6, neckDim: 256,
  },
  prompt: { dim: 256, grid: 16, maskInChans: 16 },
  decoder: { depth: 2, heads: 8, mlpDim: 2048, crossDim: 128, lnEps: 1e-5 },
  unetDim: 32,
  ln2dEps: 1e-6,
} as const;

const resnet = (block: ResnetConfig['block']): ResnetConfig => ({
  block, layers: [3, 4, 6, 3], planes: [64, 128, 256, 512], stemChannels: 64, bnEps: 1e-5,
});

export const CONFIGS: Readonly<Record<Variant, SamUnetConfig>> = {
  res50: { variant: 'res50', ...shared, resnet: resnet('bottleneck') },
  res34: { variant: 'res34', ...shared, resnet: resnet('basic') },
};

/** Output channels of ResNet stages 1..4: res50 256/512/1024/2048, res34 64/128/256/512. */
export function resnetChannels(r: ResnetConfig): number[] {
  return r.planes.map((c) => c * (r.block === 'bottleneck' ? 4 : 1));
}

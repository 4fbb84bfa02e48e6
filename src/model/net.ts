// SAM-UNet's module tree (upstream sam_unet_model.py `SAM_UNET`), built from one configuration with
// a VarBuilder: building it declares every weight, so the key spec is what the modules ask for.
// Children are built in the upstream registration order, which makes the declarations the
// state_dict's order (test/keys.test.ts checks both against golden/keys_*.txt).
import { VarBuilder, type WeightSpec } from '../weights/spec.js';
import { Reshaper, Upscale4 } from './adapters.js';
import { CONFIGS, resnetChannels, type SamUnetConfig, type Variant } from './config.js';
import { MaskDecoder } from './decoder.js';
import { PromptEncoder } from './prompt_encoder.js';
import { ResNet } from './resnet.js';
import { ImageEncoderViT } from './vit.js';

export class SamUnetNet {
  readonly imageEncoder: ImageEncoderViT;
  readonly promptEncoder: PromptEncoder;
  readonly maskDecoder: MaskDecoder;
  readonly resnet: ResNet;
  /** ResNet stage k + 1 → the ViT grid, injected before global block k. */
  readonly adaptersIn: Reshaper[];
  /** ViT grid after global block 2 − k → the U-Net's 64 × 64 (U-Net order). */
  readonly adaptersBridge: Upscale4[];
  readonly embeddingEncoder: Upscale4;

  constructor(readonly config: SamUnetConfig, vb: VarBuilder) {
    const { vit, prompt, unetDim, ln2dEps } = config;
    const grid = config.inputSize / vit.patchSize;
    this.imageEncoder = new ImageEncoderViT(vb.pp('image_encoder.sam_img_encoder'), vit, config.inputSize);
    this.promptEncoder = new PromptEncoder(vb.pp('prompt_encoder.sam_prompt_encoder'), prompt, config.inputSize, ln2dEps);
    this.maskDecoder = new MaskDecoder(vb.pp('mask_decoder'), config);
    this.resnet = new ResNet(vb.pp('resnet'), config.resnet);
    // Stage k + 1 has side inputSize / 4 / 2^k (64, 32, 16, 8).
    this.adaptersIn = resnetChannels(config.resnet).map((c, k) =>
      new Reshaper(vb.pp(`adapters_in.${k}.reshaper`), c, config.inputSize / (4 << k), grid, vit.dim, ln2dEps));
    this.adaptersBridge = Array.from({ length: vit.globalBlocks.length - 1 }, (_, k) =>
      new Upscale4(vb.pp(`adapters_bridge.${k}`), vit.dim, prompt.dim, unetDim, ln2dEps));
    this.embeddingEncoder = new Upscale4(vb.pp('embedding_encoder'), vit.neckDim, vit.neckDim / 4, unetDim, ln2dEps);
  }
}

/** What the weights of `variant` must hold and how they are loaded (a fresh module tree's declarations). */
export function modelSpec(variant: Variant): { net: SamUnetNet; spec: WeightSpec } {
  const vb = VarBuilder.root();
  const net = new SamUnetNet(CONFIGS[variant], vb);
  return { net, spec: vb.declarations };
}

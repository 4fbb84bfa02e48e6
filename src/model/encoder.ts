// The image side of SAM-UNet (`SAM_UNET.infer` up to the prompt encoder): ResNet branch, ViT blocks
// with the adapters injected after blocks 1, 4, 7, 10, the U-Net bridges, the neck and the
// embedding encoder. Recorded once into a Plan with input 'image' [1, 3, 256, 256] and outputs
// 'image_embeddings' [1, 256, 16, 16] and 'multi_scale_feature' [1, 32, 64, 64].
import { Plan, type PlanOptions } from '../gpu/plan.js';
import type { Gpu } from '../gpu/device.js';
import { add } from '../ops/elementwise.js';
import { permute } from '../ops/layout.js';
import { adapterBridge, adapterIn, embeddingEncoder } from './adapters.js';
import { resnet } from './resnet.js';
import { addPosEmbed, neck, patchEmbed, vitBlock, VIT } from './vit.js';
import type { ModelWeights } from './weights.js';

export const IMG_SIZE = 256;

/** Names of the intermediate stages an encoder plan can expose (as in ../shared/golden). */
export const ENCODER_STAGES = [
  'resnet.0', 'resnet.1', 'resnet.2', 'resnet.3', 'patch_embed',
  ...Array.from({ length: 12 }, (_, i) => `block.${i}`),
  'adapters_in.0', 'adapters_in.1', 'adapters_in.2', 'adapters_in.3',
  'adapters_bridge.0', 'adapters_bridge.1', 'adapters_bridge.2', 'embedding_encoder',
] as const;

/** Records the encoder. `stages`: intermediate tensors to expose as outputs (debugging, tests). */
export function recordEncoder(gpu: Gpu, W: ModelWeights, stages: readonly string[] = [], opts: PlanOptions = {}): Plan {
  const p = new Plan(gpu, 'encoder', opts);
  const want = new Set(stages);
  const tap = <T extends Parameters<Plan['output']>[1]>(name: string, t: T): T => {
    if (want.has(name)) p.output(name, t);
    return t;
  };
  const image = p.input('image', [1, 3, IMG_SIZE, IMG_SIZE]);
  const feats = resnet(p, W, image).map((f, i) => tap(`resnet.${i}`, f));
  let x = addPosEmbed(p, W, tap('patch_embed', patchEmbed(p, W, image)));
  const bridges: ReturnType<typeof adapterBridge>[] = [];
  for (let i = 0; i < 4; i++) {
    for (let j = 0; j < 2; j++) x = tap(`block.${3 * i + j}`, vitBlock(p, W, 3 * i + j, x));
    const injected = tap(`adapters_in.${i}`, adapterIn(p, W, i, feats[i]!));
    x = add(p, x, permute(p, injected, [0, 2, 3, 1], `adapters_in.${i}.nhwc`), `inject.${i}`);
    x = tap(`block.${VIT.globalBlocks[i]}`, vitBlock(p, W, VIT.globalBlocks[i]!, x));
    if (i < 3) {
      const k = 2 - i; // U-Net order: bridge 2 is taken after block 2, 1 after 5, 0 after 8
      bridges[k] = tap(`adapters_bridge.${k}`, adapterBridge(p, W, k, permute(p, x, [0, 3, 1, 2], `bridge.${k}.nchw`)));
    }
  }
  const embeddings = neck(p, W, permute(p, x, [0, 3, 1, 2], 'neck.nchw'));
  let msf = tap('embedding_encoder', embeddingEncoder(p, W, embeddings));
  for (const b of bridges) msf = add(p, msf, b!, 'multi_scale_feature');
  p.output('image_embeddings', embeddings);
  p.output('multi_scale_feature', msf);
  return p;
}

// The image side of SAM-UNet (`SAM_UNET.infer` up to the prompt encoder): ResNet branch, ViT blocks
// with the adapters injected before each global block, the U-Net bridges after the first three
// global blocks, the neck and the embedding encoder. Recorded once into a Plan with input 'image'
// [1, 3, 256, 256] and outputs 'image_embeddings' [1, 256, 16, 16] and 'multi_scale_feature'
// [1, 32, 64, 64].
import { Plan, type PlanOptions } from '../gpu/plan.js';
import type { Gpu } from '../gpu/device.js';
import type { Tensor } from '../gpu/tensor.js';
import { add } from '../ops/elementwise.js';
import { permute } from '../ops/layout.js';
import type { ModelWeights } from './weights.js';

/** Names of the intermediate stages an encoder plan can expose (as in ../shared/golden). */
export const ENCODER_STAGES = [
  'resnet.0', 'resnet.1', 'resnet.2', 'resnet.3', 'patch_embed',
  ...Array.from({ length: 12 }, (_, i) => `block.${i}`),
  'adapters_in.0', 'adapters_in.1', 'adapters_in.2', 'adapters_in.3',
  'adapters_bridge.0', 'adapters_bridge.1', 'adapters_bridge.2', 'embedding_encoder',
] as const;

/** Records the encoder. `stages`: intermediate tensors to expose as outputs (debugging, tests). */
export function recordEncoder(gpu: Gpu, W: ModelWeights, stages: readonly string[] = [], opts: PlanOptions = {}): Plan {
  const { config: cfg, net } = W;
  const vit = net.imageEncoder;
  const p = new Plan(gpu, 'encoder', opts);
  const want = new Set(stages);
  const tap = (name: string, t: Tensor): Tensor => (want.has(name) ? p.output(name, t) : t);
  const image = p.input('image', [1, 3, cfg.inputSize, cfg.inputSize]);
  const feats = net.resnet.forward(p, image).map((f, i) => tap(`resnet.${i}`, f));
  let x = vit.addPosEmbed(p, tap('patch_embed', vit.patchEmbed(p, image)));
  const bridges: Tensor[] = [];
  let g = 0; // global blocks passed
  vit.blocks.forEach((block, b) => {
    const global = cfg.vit.globalBlocks.includes(b);
    if (global) {
      const injected = tap(`adapters_in.${g}`, net.adaptersIn[g]!.forward(p, feats[g]!));
      x = add(p, x, permute(p, injected, [0, 2, 3, 1], `adapters_in.${g}.nhwc`), `inject.${g}`);
    }
    x = tap(`block.${b}`, block.forward(p, x));
    if (global && g < net.adaptersBridge.length) {
      const k = net.adaptersBridge.length - 1 - g; // U-Net order: bridge 2 is taken after the first global block
      bridges[k] = tap(`adapters_bridge.${k}`, net.adaptersBridge[k]!.forward(p, permute(p, x, [0, 3, 1, 2], `bridge.${k}.nchw`)));
    }
    if (global) g++;
  });
  const embeddings = vit.neck(p, permute(p, x, [0, 3, 1, 2], 'neck.nchw'));
  let msf = tap('embedding_encoder', net.embeddingEncoder.forward(p, embeddings));
  for (const b of bridges) msf = add(p, msf, b, 'multi_scale_feature');
  p.output('image_embeddings', embeddings);
  p.output('multi_scale_feature', msf);
  return p;
}

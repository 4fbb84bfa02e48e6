// The ResNet branch (`resnet`: upstream resnet.py, torchvision resnet50 / resnet34 in eval mode),
// each BatchNorm folded into its conv at load time. stage0 = conv1 + bn1 (+ ReLU, maxpool),
// stage1..4 = torchvision layer1..4. forward() returns the four stage outputs f1..f4: res50
// 256×64×64, 512×32×32, 1024×16×16, 2048×8×8 (res34: 64/128/256/512 channels).
import type { Plan } from '../gpu/plan.js';
import type { Tensor } from '../gpu/tensor.js';
import { maxPool3x3s2 } from '../ops/maxpool.js';
import type { VarBuilder } from '../weights/spec.js';
import type { ResnetConfig } from './config.js';
import { Conv2d } from './layers.js';

/**
 * torchvision Bottleneck (1×1 → 3×3 with the stride → 1×1 to planes·4) or BasicBlock (3×3 with the
 * stride → 3×3), each conv with its BatchNorm (conv<i> + bn<i>); identity or `downsample`
 * (1×1 conv + BatchNorm); ReLU after every conv but the last, and after the residual add.
 */
class Block {
  private readonly convs: Conv2d[];
  private readonly downsample: Conv2d | null;

  constructor(vb: VarBuilder, r: ResnetConfig, cin: number, planes: number, stride: number) {
    const eps = r.bnEps;
    const cb = (i: number, c0: number, c1: number, k: number, s = 1) =>
      Conv2d.withBatchNorm(vb.pp(`conv${i}`), vb.pp(`bn${i}`), c0, c1, k, { stride: s, pad: k === 3 ? 1 : 0, eps });
    const cout = r.block === 'bottleneck' ? 4 * planes : planes;
    this.convs = r.block === 'bottleneck'
      ? [cb(1, cin, planes, 1), cb(2, planes, planes, 3, stride), cb(3, planes, cout, 1)]
      : [cb(1, cin, planes, 3, stride), cb(2, planes, planes, 3)];
    this.downsample = stride !== 1 || cin !== cout
      ? Conv2d.withBatchNorm(vb.pp('downsample.0'), vb.pp('downsample.1'), cin, cout, 1, { stride, eps })
      : null;
  }

  forward(p: Plan, x: Tensor): Tensor {
    const identity = this.downsample ? this.downsample.forward(p, x) : x;
    let h = x;
    this.convs.forEach((c, i) => {
      const last = i === this.convs.length - 1;
      h = c.forward(p, h, { act: 'relu', residual: last ? identity : undefined });
    });
    return h;
  }
}

export class ResNet {
  private readonly stem: Conv2d;
  private readonly poolLabel: string;
  private readonly stages: Block[][];

  constructor(vb: VarBuilder, r: ResnetConfig) {
    const s0 = vb.pp('stage0'); // conv 7×7 s2 p3, bn, ReLU, maxpool 3×3 s2 p1
    this.stem = Conv2d.withBatchNorm(s0.pp(0), s0.pp(1), 3, r.stemChannels, 7, { stride: 2, pad: 3, eps: r.bnEps });
    this.poolLabel = s0.key('3');
    let cin = r.stemChannels;
    this.stages = r.layers.map((n, s) =>
      Array.from({ length: n }, (_, i) => {
        const b = new Block(vb.pp(`stage${s + 1}.${i}`), r, cin, r.planes[s]!, i === 0 && s > 0 ? 2 : 1);
        cin = r.block === 'bottleneck' ? 4 * r.planes[s]! : r.planes[s]!;
        return b;
      }),
    );
  }

  /** x: the normalised image [B, 3, 256, 256] → [f1, f2, f3, f4]. */
  forward(p: Plan, x: Tensor): Tensor[] {
    let h = maxPool3x3s2(p, this.stem.forward(p, x, { act: 'relu' }), this.poolLabel);
    return this.stages.map((blocks) => {
      for (const b of blocks) h = b.forward(p, h);
      return h;
    });
  }
}

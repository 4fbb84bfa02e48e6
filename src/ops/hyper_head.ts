// SAM-UNet's hypernetwork head on each set's med token and the mask head's per-set conv weight, in
// one dispatch (shaders/hyper_head.wgsl), and the layout of its weights pack.
import type { Plan } from '../gpu/plan.js';
import { commonDtype, kernelOf } from '../gpu/storage.js';
import { ANY, expectShape, type Tensor } from '../gpu/tensor.js';
import { putTransposed } from './attention_block.js';

/** Elements of the pack for input / hidden dim C and output dim Dout. */
export const hyperPackSize = (C: number, Dout: number): number => 2 * (C * C + C) + C * Dout + Dout;

/** The pack hyper_head.wgsl reads, from the three nn.Linear layers [C, C], [C, C], [Dout, C] and biases. */
export function hyperPack(layers: readonly [Float32Array, Float32Array][], C: number, Dout: number): Float32Array {
  const out = new Float32Array(hyperPackSize(C, Dout));
  let at = 0;
  layers.forEach(([w, b], i) => {
    const rows = i === 2 ? Dout : C;
    at = putTransposed(out, at, w, rows, C);
    out.set(b, at);
    at += rows;
  });
  return out;
}

/**
 * queries [N, T', C]: h = MLP(queries[:, 0]) (3 layers, ReLU between, `pack` = hyperPack(…)) [N,
 * Dout], and weff = h · w3 [N, Kf] (w3 [Dout, …] flattened to Kf columns). C, Dout ≤ 256.
 */
export function hyperHead(p: Plan, queries: Tensor, pack: Tensor, w3: Tensor, label = 'hyper_head'): { h: Tensor; weff: Tensor } {
  expectShape(queries, [-1, -1, -1], `${label}: queries`, ANY);
  const [N, T, C] = queries.shape as [number, number, number];
  const Dout = w3.dim(0);
  const Kf = w3.size / Dout;
  if (C > 256 || Dout > 256) throw new Error(`${label}: dims ${C}, ${Dout} > 256`);
  expectShape(pack, [hyperPackSize(C, Dout)], `${label}: weights pack`, ANY);
  const dt = commonDtype(label, queries, pack, w3);
  const h = p.temp([N, Dout], `${label}.h`, dt);
  const weff = p.temp([N, Kf], `${label}.weff`, dt);
  p.dispatch({
    shader: kernelOf('hyper_head', dt),
    inputs: [queries, pack, w3],
    outputs: [h, weff],
    params: { N, C, Dout, Kf, rowStride: T * C },
    groups: [N],
    label,
  });
  return { h, weff };
}

// Which variant of a kernel family the ops record: the shared-tile kernels written for real GPUs
// ('tiled'), or the CPU-shaped variants for software adapters ('cpu': register blocks straight
// from global memory, no barriers; see docs/KERNELS.md). One setting per family, read when an op
// is recorded; tests and benchmarks force each family both ways on one machine.
import type { Plan } from '../gpu/plan.js';

/**
 *  - 'auto' (default): the software variant on a software adapter (`p.gpu.info.isSoftware`) wherever
 *    its alignment rules hold, else the real-GPU kernel;
 *  - 'tiled': the real-GPU kernel everywhere;
 *  - 'cpu': the software variant wherever its alignment rules hold, on any adapter.
 */
export type KernelPath = 'auto' | 'tiled' | 'cpu';

/**
 * gemm: matmul, linear, conv2d and convTranspose2x2 (matmul_cpu.wgsl vs matmul.wgsl, conv2d.wgsl,
 * conv_transpose2x2.wgsl); attention: attentionRelPos (attention_relpos_cpu.wgsl); norm: layerNorm
 * and layerNorm2d (layernorm_cpu.wgsl, layernorm2d_cpu.wgsl); layout: permute's transpose
 * (layout_transpose.wgsl's CPU variant).
 */
export type KernelFamily = 'gemm' | 'attention' | 'norm' | 'layout';

const paths: Record<KernelFamily, KernelPath> = { gemm: 'auto', attention: 'auto', norm: 'auto', layout: 'auto' };

/** Sets the path of `family` and returns the previous setting. */
export function setKernelPath(family: KernelFamily, path: KernelPath): KernelPath {
  const prev = paths[family];
  paths[family] = path;
  return prev;
}

/** Whether ops of `family` recorded on `p` now take the software variant (where its alignment holds). */
export function useSoftwareKernel(p: Plan, family: KernelFamily): boolean {
  const path = paths[family];
  return path === 'cpu' || (path === 'auto' && p.gpu.info.isSoftware);
}

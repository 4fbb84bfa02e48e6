// Which variant of a kernel family a plan's ops record: the shared-tile kernels written for real
// GPUs ('tiled'), or the CPU-shaped variants for software adapters ('cpu': register blocks straight
// from global memory, no barriers; see docs/KERNELS.md), where their alignment rules hold. A Plan
// carries one choice per family (PlanOptions.kernels), by default from its adapter; tests and
// benchmarks force each family both ways on one machine.
import { PlanError } from './allocator.js';
import type { AdapterDescription } from './device.js';

/**
 * gemm: linear, matmul, conv2d and convTranspose2x2 (matmul_cpu.wgsl vs matmul.wgsl, conv2d.wgsl,
 * conv_transpose2x2.wgsl); attention: attentionRelPos (attention_relpos_cpu.wgsl); norm: layerNorm
 * and layerNorm2d (layernorm_cpu.wgsl, layernorm2d_cpu.wgsl); layout: permute's transpose
 * (layout_transpose.wgsl's CPU variant).
 */
export const KERNEL_FAMILIES = ['gemm', 'attention', 'norm', 'layout'] as const;
export type KernelFamily = (typeof KERNEL_FAMILIES)[number];

/** 'tiled': the real-GPU kernel everywhere; 'cpu': the software variant wherever its alignment holds. */
export type KernelPath = 'tiled' | 'cpu';

export type KernelPaths = Readonly<Record<KernelFamily, KernelPath>>;

/**
 * The path of every family: as `chosen` says, else 'cpu' on a software adapter and 'tiled' on any
 * other. A family or path that does not exist is a PlanError.
 */
export function kernelPaths(info: AdapterDescription, chosen: Readonly<Partial<Record<string, string>>> = {}): KernelPaths {
  for (const [family, path] of Object.entries(chosen)) {
    if (!(KERNEL_FAMILIES as readonly string[]).includes(family)) throw new PlanError(`kernels: no kernel family '${family}' (${KERNEL_FAMILIES.join(', ')})`);
    if (path !== undefined && path !== 'tiled' && path !== 'cpu') throw new PlanError(`kernels.${family}: '${path}' is not 'tiled' or 'cpu'`);
  }
  const fallback: KernelPath = info.isSoftware ? 'cpu' : 'tiled';
  const paths = Object.fromEntries(KERNEL_FAMILIES.map((f) => [f, (chosen[f] as KernelPath | undefined) ?? fallback]));
  return Object.freeze(paths as Record<KernelFamily, KernelPath>);
}

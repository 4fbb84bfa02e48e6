// Types of shader-layout.mjs (for test/shader-layout.test.ts).
export interface KernelLayout {
  inputs: number;
  outputs: number;
  params: { name: string; type: 'u32' | 'i32' | 'f32'; offset: number }[];
  paramBytes: number;
  constants: string[];
  enables: string[];
}
export function expandIncludes(dir: string, file: string, stack?: string[], swap?: Record<string, string>): string;
export interface KernelSource { name: string; code: string; variantOf?: { base: string; axes: number[] } }
export const AXES: readonly { include: string; swap: string; suffix: string; enable: string }[];
export function kernelSources(dir: string): { kernels: KernelSource[]; snippets: [string, string][] };
export function variantSource(code: string, swaps: [string, string][], enables: string[]): string;
export function kernelLayout(name: string, code: string): KernelLayout;
export function emitShadersTs(kernels: (KernelSource & { layout: KernelLayout })[], snippets: [string, string][]): string;

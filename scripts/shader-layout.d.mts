// Types of shader-layout.mjs (for test/shader-layout.test.ts).
export interface KernelLayout {
  inputs: number;
  outputs: number;
  params: { name: string; type: 'u32' | 'i32' | 'f32'; offset: number }[];
  paramBytes: number;
  constants: string[];
}
export function expandIncludes(dir: string, file: string, stack?: string[]): string;
export function kernelLayout(name: string, code: string): KernelLayout;
export function emitShadersTs(kernels: { name: string; code: string; layout: KernelLayout }[]): string;

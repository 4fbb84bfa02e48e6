// Tests that read ../shared (golden fixtures, the model notes) go through here. Without the
// folder they skip with a warning naming the missing path; with the CI environment variable set
// they never skip: a missing folder fails them.
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { join, resolve } from 'node:path';
import { describe, it } from 'vitest';
import type { Variant } from '../../src/model/weights.js';
import type { PromptSet } from '../../src/model/prompts.js';
import { fileSource } from '../../src/safetensors/node.js';
import { SafetensorsFile } from '../../src/safetensors/read.js';

/** The repository root (two levels above this file), independent of the working directory. */
export const repoRoot = resolve(fileURLToPath(new URL('../..', import.meta.url)));

/** Where ../shared should be, and its golden folder. */
export const sharedPath = resolve(repoRoot, '..', 'shared');
export const goldenPath = join(sharedPath, 'golden');

const inCI = process.env.CI !== undefined;
const present = existsSync(goldenPath);
let warned = false;

/** ../shared when its golden folder exists, else null (after one warning naming the path). */
export function sharedDir(): string | null {
  if (present) return sharedPath;
  if (!warned && !inCI) {
    warned = true;
    console.warn(`[shared] ${goldenPath} is missing: tests that need ../shared/golden are skipped`);
  }
  return null;
}

/** ../shared/golden, or an error saying it is missing (for use inside a shared test). */
export function goldenDir(): string {
  if (!present) throw new Error(`${goldenPath} is missing (needed by this test; CI=${process.env.CI ?? 'unset'})`);
  return goldenPath;
}

/** Skip only outside CI and only when ../shared/golden is absent. */
const skip = (): boolean => sharedDir() === null && !inCI;

/** An `it` that needs ../shared/golden: skipped (with a warning) when absent, failing under CI. */
export function itShared(name: string, fn: () => unknown | Promise<unknown>, timeout?: number): void {
  it.skipIf(skip())(
    name,
    async () => {
      goldenDir(); // under CI a missing folder fails here, naming the path
      await fn();
    },
    timeout,
  );
}

/**
 * A `describe` block that needs ../shared/golden. When the folder is absent `fn` is not even
 * called (so it may read files while collecting): the block holds one test that is skipped, or,
 * under CI, fails naming the path.
 */
export function describeShared(name: string, fn: () => void): void {
  if (present) describe(name, fn);
  else describe(name, () => it.skipIf(skip())(`needs ${goldenPath}`, () => void goldenDir()));
}

/** One golden case: ../shared/golden/<name>.json (see its README). Sizes are [H, W]. */
export interface GoldenCase {
  name: string;
  variant: Variant;
  image: string;
  original_size: [number, number];
  input_size: [number, number];
  boxes?: [number, number, number, number][];
  boxes_model_frame?: [number, number, number, number][];
  points?: [number, number, number][];
  points_model_frame?: [number, number][];
  tensors: Record<string, number[]>;
}

/** Every case that cases.json lists, or [] when ../shared/golden is absent (describeShared reports it). */
export function goldenCases(): GoldenCase[] {
  if (!present) return [];
  const list = JSON.parse(readFileSync(join(goldenPath, 'cases.json'), 'utf8')) as { name: string }[];
  return list.map(({ name }) => JSON.parse(readFileSync(join(goldenPath, `${name}.json`), 'utf8')) as GoldenCase);
}

/** A golden case's end-to-end inputs and references: the model input, its frame, the prompt sets, and per set the reference logits. */
export async function goldenRun(c: GoldenCase): Promise<{
  input: Float32Array;
  frame: { width: number; height: number; inputW: number; inputH: number };
  sets: PromptSet[];
  refLow: Float32Array[];
  refLogits: Float32Array[];
}> {
  const src = await fileSource(join(goldenPath, `${c.name}.safetensors`));
  try {
    const f = await SafetensorsFile.open(src);
    const [H, W] = c.original_size;
    const [h, w] = c.input_size;
    const n = c.tensors['low_res_logits']![0]!;
    const masks = c.tensors['input.mask_inputs'] ? await f.readF32('input.mask_inputs') : null;
    const sets: PromptSet[] = Array.from({ length: n }, (_, i) => ({
      box: c.boxes?.[i] as [number, number, number, number] | undefined,
      points: c.points?.map((p) => p as unknown as [number, number, number]),
      maskInput: masks ? masks.slice(i * 4096, (i + 1) * 4096) : undefined,
    }));
    const split = (v: Float32Array) => Array.from({ length: n }, (_, i) => v.subarray((i * v.length) / n, ((i + 1) * v.length) / n));
    return {
      input: await f.readF32('input.image'), frame: { width: W, height: H, inputW: w, inputH: h }, sets,
      refLow: split(await f.readF32('low_res_logits')), refLogits: split(await f.readF32('logits')),
    };
  } finally {
    await src.close();
  }
}

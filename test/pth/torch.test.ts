// Checkpoints written by real PyTorch (Debian's python3-torch, through test/pth/torch_checkpoints.py)
// in every layout the reader knows, holding the synthetic res34 weights that this test first writes
// as safetensors: each layout must give exactly the safetensors path's tensors (same keys in the
// same order, shapes, dtypes and bytes; F16 / BF16 as torch rounds them); `sam-unet convert` turns
// one into the same safetensors file. Then the res50 golden case runs end to end on weights read
// from an upstream-layout checkpoint.
import { execFile } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { open } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SamUnet } from '../../src/model/sam_unet.js';
import type { Variant, WeightProvider } from '../../src/model/weights.js';
import { pthFileWeights } from '../../src/pth/node.js';
import { PthError } from '../../src/pth/errors.js';
import { fileSource } from '../../src/safetensors/node.js';
import { SafetensorsFile, typedArray } from '../../src/safetensors/read.js';
import { f32ArrayToF16, writeSafetensors } from '../../src/safetensors/write.js';
import { syntheticStateDict } from '../../src/model/keys.js';
import { maxAbsDiff, testGpu } from '../helpers/gpu.js';
import { itPython, python, runPython } from '../helpers/python.js';
import { writeZip } from '../fuzz/pth-gen.js';
import { describeShared, goldenCases, goldenPath, itShared, repoRoot } from '../helpers/shared.js';

const script = fileURLToPath(new URL('./torch_checkpoints.py', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'sam-unet-pth-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const run = promisify(execFile);

/** Runs dist/cli.js (built by `npm test`). */
async function sam(args: string[]): Promise<{ code: number; stderr: string }> {
  try {
    return { code: 0, stderr: (await run(process.execPath, [join(repoRoot, 'dist', 'cli.js'), ...args], { maxBuffer: 1 << 24 })).stderr };
  } catch (e) {
    const err = e as { code?: number; stderr?: string };
    return { code: err.code ?? -1, stderr: err.stderr ?? '' };
  }
}

/** The synthetic state_dict of `variant` as a safetensors file, written one tensor at a time. */
async function writeSynthetic(variant: Variant, path: string): Promise<void> {
  const fh = await open(path, 'w');
  try {
    const entries = [...syntheticStateDict(variant)].map((t) => ({ name: t.key, dtype: t.dtype, shape: t.shape, data: t.data }));
    await writeSafetensors(entries, async (chunk) => void (await fh.write(chunk)));
  } finally {
    await fh.close();
  }
}

/** Checkpoints of the safetensors file at `weights` in `layouts`, by layout. */
function torchSave(weights: string, out: string, layouts: string[]): Map<string, string> {
  const made = new Map<string, string>();
  for (const line of runPython(true, script, [weights, out, ...layouts]).trim().split('\n')) {
    const { layout, path } = JSON.parse(line) as { layout: string; path: string };
    made.set(layout, path);
  }
  return made;
}

/** bfloat16 bits of float32 values, rounded to nearest even (as torch's .bfloat16(); no NaN here). */
function bf16Bits(f32: Float32Array): Uint16Array {
  const u = new Uint32Array(f32.buffer, f32.byteOffset, f32.length);
  const out = new Uint16Array(u.length);
  for (let i = 0; i < u.length; i++) out[i] = (u[i]! + 0x7fff + ((u[i]! >>> 16) & 1)) >>> 16;
  return out;
}

interface Layout {
  layout: string;
  format: 'zip' | 'legacy';
  path: string[];
  prefix: string;
  other: string[];
  floats: 'F32' | 'F16' | 'BF16';
}

const LAYOUTS: Layout[] = [
  { layout: 'bare', format: 'zip', path: [], prefix: '', other: [], floats: 'F32' },
  { layout: 'upstream', format: 'zip', path: ['model'], prefix: '', other: ['optimizer', 'epoch'], floats: 'F32' },
  { layout: 'state_dict_module', format: 'zip', path: ['state_dict'], prefix: 'module.', other: ['epoch', 'best_dice', 'args'], floats: 'F32' },
  { layout: 'model_state_dict', format: 'zip', path: ['model_state_dict'], prefix: '', other: ['optimizer_state_dict', 'epoch'], floats: 'F32' },
  { layout: 'f16', format: 'zip', path: [], prefix: '', other: [], floats: 'F16' },
  { layout: 'bf16', format: 'zip', path: ['model'], prefix: '', other: [], floats: 'BF16' },
  { layout: 'protocol4', format: 'zip', path: [], prefix: '', other: [], floats: 'F32' },
  { layout: 'legacy', format: 'legacy', path: ['model'], prefix: '', other: [], floats: 'F32' },
  { layout: 'zip64', format: 'zip', path: [], prefix: '', other: [], floats: 'F32' },
];

describe('res34 checkpoints written by torch.save', () => {
  let made = new Map<string, string>();
  let st: SafetensorsFile;
  let close = async () => {};

  beforeAll(async () => {
    if (!python(true)) return;
    const weights = join(dir, 'res34.safetensors');
    await writeSynthetic('res34', weights);
    const src = await fileSource(weights);
    close = () => src.close();
    st = await SafetensorsFile.open(src);
    made = torchSave(weights, join(dir, 'res34'), [...LAYOUTS.map((l) => l.layout), 'views', 'noncontiguous']);
  }, 600_000);
  afterAll(() => close());

  for (const l of LAYOUTS) {
    itPython(true, `${l.layout}: the same tensors as the safetensors path (${l.floats})`, async () => {
      const w = await pthFileWeights(made.get(l.layout)!);
      try {
        const provider: WeightProvider = w; // the weight source shape the model loads
        const ck = w.checkpoint;
        expect([ck.format, ck.stateDictPath, ck.strippedPrefix, ck.otherKeys]).toEqual([l.format, l.path, l.prefix, l.other]);
        expect([...provider.entries.keys()]).toEqual([...st.tensors.keys()]);
        let firstFloat: string | null = null;
        for (const [name, ref] of st.tensors) {
          const e = provider.entries.get(name)!;
          expect(e.shape, name).toEqual(ref.shape);
          expect(e.dtype, name).toBe(ref.dtype === 'F32' ? l.floats : ref.dtype);
          const got = (await ck.read(name)).data;
          const want = (await st.read(name)).data;
          let expected: Uint8Array = want;
          if (ref.dtype === 'F32' && l.floats !== 'F32') {
            const f32 = typedArray('F32', want);
            const bits = l.floats === 'F16' ? f32ArrayToF16(f32) : bf16Bits(f32);
            expected = new Uint8Array(bits.buffer, bits.byteOffset, bits.byteLength);
          }
          if (!Buffer.from(got.buffer, got.byteOffset, got.byteLength).equals(Buffer.from(expected.buffer, expected.byteOffset, expected.byteLength))) {
            throw new Error(`${l.layout}: tensor "${name}" differs from the safetensors path`);
          }
          if (ref.dtype === 'F32') firstFloat ??= name;
        }
        // The float32 values the model loader asks for (F16 / BF16 widened exactly).
        const values = await provider.read(firstFloat!);
        const ref = await st.readF32(firstFloat!);
        expect(maxAbsDiff(values, ref).maxAbs).toBeLessThanOrEqual(l.floats === 'F32' ? 0 : l.floats === 'F16' ? 1e-3 : 8e-3);
      } finally {
        await w.close();
      }
    });
  }

  itPython(true, 'sam-unet convert upstream.pth --out w.safetensors: the synthetic weights, dtypes kept, one tensor at a time', async () => {
    const out = join(dir, 'converted.safetensors');
    const r = await sam(['convert', made.get('upstream')!, '--out', out]);
    expect(r.code, r.stderr).toBe(0);
    expect(r.stderr).toMatch(/wrote .*converted\.safetensors \(559 tensors, dtypes kept/);
    const src = await fileSource(out);
    try {
      const got = await SafetensorsFile.open(src);
      expect([...got.tensors.keys()].sort()).toEqual([...st.tensors.keys()].sort());
      for (const [name, t] of st.tensors) {
        expect(got.info(name).dtype).toBe(t.dtype);
        if (!Buffer.from((await got.read(name)).data).equals(Buffer.from((await st.read(name)).data))) throw new Error(`"${name}" differs`);
      }
    } finally {
      await src.close();
    }
  });

  it('sam-unet convert names the global of a checkpoint that tries to run code, and writes nothing', async () => {
    const evil = join(dir, 'evil.pth');
    const pickle = Uint8Array.from('\x80\x02cos\nsystem\nX\x02\x00\x00\x00id\x85R.', (c) => c.charCodeAt(0));
    writeFileSync(evil, writeZip([{ name: 'evil/data.pkl', data: pickle }], { align: true, descriptor: true, zip64: true }));
    const r = await sam(['convert', evil, '--out', join(dir, 'evil.safetensors')]);
    expect(r.code).toBe(1);
    expect(r.stderr).toMatch(/UnsafePickleError: the checkpoint's pickle names the global os\.system, which is not allowed: nothing was executed/);
    expect(existsSync(join(dir, 'evil.safetensors'))).toBe(false);
  });

  itPython(true, 'views of one shared storage (offsets) read their own slices', async () => {
    const w = await pthFileWeights(made.get('views')!);
    try {
      const base = Float32Array.from({ length: 40 }, (_, i) => i);
      const want: Record<string, [number[], Float32Array]> = {
        a: [[3, 4], base.slice(0, 12)], b: [[8], base.slice(12, 20)], c: [[2, 10], base.slice(20, 40)], d: [[1, 1], base.slice(5, 6)],
      };
      expect([...w.entries.keys()]).toEqual(Object.keys(want));
      for (const [k, [shape, values]] of Object.entries(want)) {
        expect(w.entries.get(k)!.shape).toEqual(shape);
        expect(Array.from(await w.read(k)), k).toEqual(Array.from(values));
        expect(w.checkpoint.info(k).storage).toBe(w.checkpoint.info('a').storage);
      }
    } finally {
      await w.close();
    }
  });

  itPython(true, 'a non-contiguous tensor is rejected by name', async () => {
    const err = await pthFileWeights(made.get('noncontiguous')!).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PthError);
    expect((err as Error).message).toMatch(/tensor "w" is a non-contiguous view \(size \[3,2\], stride \[1,3\]\).*contiguous\(\)/);
  });
});

describeShared('the res50 golden case through an upstream-layout .pth', () => {
  const c = goldenCases().find((g) => g.variant === 'res50' && g.boxes?.length)!;
  const run = python(true) || process.env.CI !== undefined ? itShared : it.skip;
  run(`${c.name}: weights from {'model': …, 'optimizer': Adam, 'epoch'} give the reference logits`, async () => {
    const weights = join(dir, 'res50.safetensors');
    await writeSynthetic('res50', weights);
    const pth = torchSave(weights, join(dir, 'res50'), ['upstream']).get('upstream')!;
    rmSync(weights);
    const w = await pthFileWeights(pth);
    const model = await SamUnet.load(await testGpu(), w).finally(() => w.close());
    try {
      const ref = await SafetensorsFile.open(await fileSource(join(goldenPath, `${c.name}.safetensors`)));
      const [H, W] = c.original_size;
      const [h, wd] = c.input_size;
      const emb = await model.encodeInput(await ref.readF32('input.image'), { width: W, height: H, inputW: wd, inputH: h });
      const out = await model.decode(emb, c.boxes!.map((box) => ({ box })));
      emb.destroy();
      const low = new Float32Array(out.lowResLogits.length * 4096);
      out.lowResLogits.forEach((l, i) => low.set(l, i * 4096));
      const { maxAbs } = maxAbsDiff(low, await ref.readF32('low_res_logits'));
      expect(maxAbs, 'low_res_logits max |ours - ref| (golden README: 2e-3)').toBeLessThanOrEqual(2e-3);
      const refLogits = await ref.readF32('logits');
      const logits = out.logits.flatMap((l) => Array.from(l));
      let disagree = 0;
      for (let i = 0; i < refLogits.length; i++) if (Math.abs(refLogits[i]!) > 1e-2 && refLogits[i]! > 0 !== logits[i]! > 0) disagree++;
      expect(disagree, 'mask pixels that disagree where |ref logit| > 1e-2').toBe(0);
      console.log(`[pth] ${c.name} through a ${statSync(pth).size} B upstream .pth: low_res_logits max |Δ| ${maxAbs.toExponential(2)}`);
    } finally {
      model.destroy();
    }
  });
});

// A virtual tensor of a Plan. Its GPU buffer is known for inputs, outputs and externals once
// the plan is built; temporaries get a buffer shared with others by liveness, except 'pinned' ones
// (written by a cached segment: Plan.cached), which keep their own.

export type TensorKind = 'input' | 'output' | 'temp' | 'pinned' | 'external';

/**
 * How a tensor's elements are stored. 'f32': one float32 each. 'f16': IEEE binary16, two per 32-bit
 * word, element e in bits 16·(e % 2) .. 16·(e % 2) + 15 of word e / 2 (a little-endian Uint16Array
 * viewed as words; an odd count ends in a zero half), which is WGSL's array<f16>. Two uses: a linear
 * weight of f32 activations (precision 'f16': the kernels unpack it with core WGSL's
 * unpack2x16float), and every activation and weight of a precision 'f16-compute' plan (the kernels'
 * f16 twins, gpu/storage.ts; they need shader-f16).
 * 'q8': a linear weight of f32 activations in blocks of 32 int8 values and a binary16 scale, 9 words
 * per block (shaders/_q8_load.wgsl; packed by weights/dtype.ts), read by the *_q8w GEMM kernels.
 */
export type DType = 'f32' | 'f16' | 'q8';

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

/** Bytes that `n` elements of `dtype` take in a GPU buffer. */
export function storageBytes(dtype: DType, n: number): number {
  return dtype === 'f16' ? Math.ceil(n / 2) * 4 : dtype === 'q8' ? Math.ceil(n / 32) * 36 : n * 4;
}

export class Tensor {
  readonly shape: readonly number[];
  readonly size: number;

  constructor(
    readonly id: number,
    shape: readonly number[],
    public kind: TensorKind,
    readonly label: string,
    private ownBuffer?: GPUBuffer,
    /** For a reshaped view: the tensor that owns the storage. */
    readonly base?: Tensor,
    dtype: DType = 'f32',
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`tensor '${label}': bad shape [${shape}]`);
    }
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
    this.dtype = base ? base.root.dtype : dtype;
  }

  /** The storage format (a view has its root's). */
  readonly dtype: DType;

  /** The tensor owning the storage (itself unless this is a view). */
  get root(): Tensor {
    return this.base ? this.base.root : this;
  }

  get buffer(): GPUBuffer | undefined {
    return this.base ? this.base.root.buffer : this.ownBuffer;
  }

  set buffer(b: GPUBuffer | undefined) {
    if (this.base) throw new Error(`tensor '${this.label}' is a view`);
    this.ownBuffer = b;
  }

  get bytes(): number {
    return storageBytes(this.dtype, this.size);
  }

  get rank(): number {
    return this.shape.length;
  }

  /** Dimension `i`, negative counting from the end. */
  dim(i: number): number {
    const d = this.shape[i < 0 ? this.shape.length + i : i];
    if (d === undefined) throw new Error(`tensor '${this.label}' [${this.shape}] has no dim ${i}`);
    return d;
  }
}

/** Both dtypes: for ops that take either (and check that their operands agree: gpu/storage.ts). */
export const ANY: readonly DType[] = ['f32', 'f16'];

/** Throws unless `t` has exactly `shape` (-1 matches any size) and one of `dtypes` (default: f32 only). */
export function expectShape(t: Tensor, shape: readonly number[], what: string, dtypes: readonly DType[] = ['f32']): void {
  const ok = t.rank === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) throw new Error(`${what}: '${t.label}' has shape [${t.shape}], expected [${shape.map((d) => (d < 0 ? '?' : d))}]`);
  if (!dtypes.includes(t.dtype)) throw new Error(`${what}: '${t.label}' is ${t.dtype}, expected ${dtypes.join(' or ')}`);
}

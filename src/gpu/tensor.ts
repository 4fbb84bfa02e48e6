// A virtual fp32 tensor of a Plan. Its GPU buffer is known for inputs, outputs and externals once
// the plan is built; temporaries get a buffer shared with others by liveness, except 'pinned' ones
// (written by a cached segment: Plan.cached), which keep their own.

export type TensorKind = 'input' | 'output' | 'temp' | 'pinned' | 'external';

export const numel = (shape: readonly number[]): number => shape.reduce((a, b) => a * b, 1);

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
  ) {
    for (const d of shape) {
      if (!Number.isInteger(d) || d <= 0) throw new Error(`tensor '${label}': bad shape [${shape}]`);
    }
    this.shape = Object.freeze([...shape]);
    this.size = numel(shape);
  }

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
    return this.size * 4;
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

/** Throws unless `t` has exactly `shape` (-1 matches any size). */
export function expectShape(t: Tensor, shape: readonly number[], what: string): void {
  const ok = t.rank === shape.length && shape.every((d, i) => d === -1 || d === t.shape[i]);
  if (!ok) throw new Error(`${what}: '${t.label}' has shape [${t.shape}], expected [${shape.map((d) => (d < 0 ? '?' : d))}]`);
}

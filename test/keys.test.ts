// modelKeys(), generated from the architecture, against the golden state_dict key lists.
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';
import { modelKeys, type Variant } from '../src/model/keys.js';
import { describeShared, goldenDir, itShared } from './helpers/shared.js';

const DTYPES: Record<string, string> = { float32: 'F32', int64: 'I64' };

/** Lines "key<TAB>torch dtype<TAB>AxBxC" (empty shape for a scalar) as "key F32 [A,B,C]". */
function goldenKeys(variant: Variant): string[] {
  const text = readFileSync(join(goldenDir(), `keys_${variant}.txt`), 'utf8');
  return text
    .split('\n')
    .filter((l) => l.length > 0)
    .map((line) => {
      const [key, dtype, shape, ...rest] = line.split('\t');
      expect(rest, line).toEqual([]);
      expect(DTYPES[dtype!], `dtype of ${key}`).toBeDefined();
      const dims = shape ? shape.split('x').map(Number) : [];
      return `${key} ${DTYPES[dtype!]} [${dims.join(',')}]`;
    });
}

describeShared('modelKeys', () => {
  for (const variant of ['res50', 'res34'] as const) {
    itShared(`${variant} equals golden/keys_${variant}.txt, in order`, () => {
      const ours = modelKeys(variant).map((k) => `${k.key} ${k.dtype} [${k.shape.join(',')}]`);
      const golden = goldenKeys(variant);
      expect(ours).toEqual(golden);
    });
  }
});

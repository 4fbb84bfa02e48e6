// B as q8 weights (src/weights/q8.ts's q8_0 convention, packed for the GPU by weights/dtype.ts):
// blocks of 32 consecutive elements (flat index e; a row of an nn.Linear weight [N, K] holds K / 32
// whole blocks, K % 32 == 0), each 9 u32 words: 8 words of four int8 values (element e % 4 of its
// word in bits 8·(e % 4) .. 8·(e % 4) + 7, two's complement) and one word whose low 16 bits are the
// block's binary16 scale d. Element e = q · d, exact in f32 (8 + 11 significant bits). Core WGSL
// (extractBits, unpack2x16float): no shader-f16 needed. 36 bytes per 32 weights (1.125 B each).
@group(0) @binding(1) var<storage, read> B: array<u32>;
fn q8Scale(blk: u32) -> f32 { return unpack2x16float(B[blk * 9u + 8u]).x; }
fn loadB(e: u32) -> f32 {
  let blk = e / 32u;
  let word = B[blk * 9u + (e % 32u) / 4u];
  let w = bitcast<i32>(word);
  return f32(extractBits(w, (e & 3u) * 8u, 8u)) * q8Scale(blk);
}
// Elements 4·i .. 4·i + 3 (one word of one block).
fn loadB4(i: u32) -> vec4<f32> {
  let blk = i / 8u;
  let word = B[blk * 9u + i % 8u];
  let w = bitcast<i32>(word);
  let q = vec4<f32>(f32(extractBits(w, 0u, 8u)), f32(extractBits(w, 8u, 8u)), f32(extractBits(w, 16u, 8u)), f32(extractBits(w, 24u, 8u)));
  return q * q8Scale(blk);
}

// SAM's prompt encoder, sparse side, and the dense positional encoding (PositionEmbeddingRandom).
//   PE(c) for c in [0,1]^2: v = (2c - 1)·G (G: 2×128), out = [sin(2πv), cos(2πv)] (256 channels).
// MODE 0, sparse tokens: out [N, 1 + T, 256]. Row 0 of each set is the med token; row 1 + t is the
//   prompt point t of set n: pts [N, T, 3] holds (x, y, label) in the 256-pixel model frame. Label
//   -1 is padding (not_a_point_embed replaces the PE), 0 / 1 negative / positive points, 2 / 3 the
//   top-left / bottom-right box corners (point_embeddings.k is added). Coordinates get +0.5 and / 256.
// MODE 1, dense PE of an S×S grid, channels-last: out [S·S, 256] at pixel centres ((j+.5)/S, (i+.5)/S).
// One invocation owns one output channel pair (c, c + 128) of one token.
override MODE: u32 = 0u;
#include "_storage.wgsl"

struct Params { n_tokens: u32, t: u32, s: u32, img: f32 }
@group(0) @binding(0) var<storage, read> pts: array<f32>;
@group(0) @binding(1) var<storage, read> gauss: array<f32>;    // [2, 128]
@group(0) @binding(2) var<storage, read> label_emb: array<f32>; // [5, 256]: not_a_point, pe0..pe3
@group(0) @binding(3) var<storage, read> med: array<f32>;       // [256]
@group(0) @binding(4) var<storage, read_write> out: array<st>; // f16 in the twin (the tables stay f32)
@group(0) @binding(5) var<uniform> p: Params;

const TWO_PI: f32 = 6.283185307179586;

@compute @workgroup_size(128)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(local_invocation_index) c: u32) {
  let token = wg.x;                 // 0 .. n_tokens-1
  if (token >= p.n_tokens) { return; }
  var x: f32; var y: f32; var label: i32 = 99;
  if (MODE == 0u) {
    let n = token / (p.t + 1u);
    let r = token % (p.t + 1u);
    if (r == 0u) {
      out[token * 256u + c] = st(med[c]);
      out[token * 256u + c + 128u] = st(med[c + 128u]);
      return;
    }
    let base = (n * p.t + r - 1u) * 3u;
    x = (pts[base] + 0.5) / p.img;
    y = (pts[base + 1u] + 0.5) / p.img;
    label = i32(round(pts[base + 2u]));
  } else {
    x = (f32(token % p.s) + 0.5) / f32(p.s);
    y = (f32(token / p.s) + 0.5) / f32(p.s);
  }
  let v = TWO_PI * ((2.0 * x - 1.0) * gauss[c] + (2.0 * y - 1.0) * gauss[128u + c]);
  var s = sin(v);
  var co = cos(v);
  if (label == -1) {
    s = label_emb[c];
    co = label_emb[c + 128u];
  } else if (label >= 0 && label <= 3) {
    let row = u32(label + 1) * 256u;
    s += label_emb[row + c];
    co += label_emb[row + c + 128u];
  }
  out[token * 256u + c] = st(s);
  out[token * 256u + c + 128u] = st(co);
}

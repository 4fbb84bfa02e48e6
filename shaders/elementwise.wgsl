// Elementwise add over flat fp32 arrays, with a repeating operand:
//   y[i] = a[i % na] + b[i % nb], i < n (na and nb divide n; the model's broadcasts, elementwise.ts)
// One invocation owns PER output elements, a grid-stride apart; the linear workgroup index is
// folded over x and y (see grid()).
override PER: u32 = 4u;

struct Params { n: u32, na: u32, nb: u32, _pad: u32 }
@group(0) @binding(0) var<storage, read> a: array<f32>;
@group(0) @binding(1) var<storage, read> b: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;
@group(0) @binding(3) var<uniform> p: Params;

@compute @workgroup_size(256)
fn main(@builtin(workgroup_id) wg: vec3<u32>, @builtin(num_workgroups) nwg: vec3<u32>,
        @builtin(local_invocation_index) li: u32) {
  // PER elements per invocation, grid-strided (consecutive invocations stay on consecutive
  // elements): fewer workgroups, each of which costs a CPU adapter a fixed ~2 µs.
  let stride = nwg.x * nwg.y * 256u;
  for (var j = 0u; j < PER; j++) {
    let i = (wg.x + wg.y * nwg.x) * 256u + li + j * stride;
    if (i >= p.n) { return; }
    // The modulo only where an operand repeats: a division that differs between invocations is a
    // scalar division per lane on a CPU adapter (the branches are uniform).
    var va: f32;
    var vb: f32;
    if (p.na == p.n) { va = a[i]; } else { va = a[i % p.na]; }
    if (p.nb == p.n) { vb = b[i]; } else { vb = b[i % p.nb]; }
    y[i] = va + vb;
  }
}

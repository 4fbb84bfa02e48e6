// The storage element types of a kernel that has an f16 twin (scripts/shader-layout.mjs
// kernelSources): its activation and weight bindings are arrays of st (or st4), loaded as f32(x[i])
// (vec4<f32>(x4[i])) and stored as st(v) (st4(v)). Here f32; in the twin <name>_f16,
// _storage_f16.wgsl's f16. Sums, softmax and normalisation statistics stay f32 in both.
alias st = f32;
alias st4 = vec4<f32>;

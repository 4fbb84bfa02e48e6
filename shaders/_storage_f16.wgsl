// _storage.wgsl in a kernel's f16 twin (which starts with `enable f16;`): IEEE binary16 elements,
// two per 32-bit word (the DType 'f16' layout, gpu/tensor.ts).
alias st = f16;
alias st4 = vec4<f16>;

// The end of the flash-style attention kernels (attention.wgsl, attention_relpos.wgsl): invocation
// li = qi·KS + s holds the partial result of query qi over its share of the keys (running max m,
// sum l, unnormalised acc[0 .. HD)), and the KS partials of each query are merged through workgroup
// memory, RC channels at a time, so that output rows are written by consecutive invocations:
//   let f = merge_factor(lane, sw, m, l);
//   for (var c0 = 0u; c0 < HD; c0 += RC) {
//     stage_chunk(li, c0, f, &acc);
//     for (var o = li; o < queries · RC; o += WG) { … merged(o / RC, o % RC) is channel c0 + o % RC … }
//   }
// Also online_softmax, the running update each partial makes per key.
// The includer declares KS, HD, RC, RCP, NEG and the workgroup array ks (at least WG·RCP floats),
// and includes _reduce.wgsl (the KS partials of a query are an aligned group of KS invocations).
// Call in uniform control flow.

// Folds the score sc of one more key into the running max m and sum l, rescaling acc[0 .. HD) when
// the max grows; returns the key's weight (the caller adds weight · v to acc).
fn online_softmax(sc: f32, m: ptr<function, f32>, l: ptr<function, f32>, acc: ptr<function, array<f32, 64>>) -> f32 {
  if (sc > *m) {
    let c = exp(*m - sc);
    *l *= c;
    for (var i = 0u; i < HD; i++) { (*acc)[i] *= c; }
    *m = sc;
  }
  let pr = exp(sc - *m);
  *l += pr;
  return pr;
}

// The factor that turns this invocation's acc into its share of the normalised output: the softmax
// statistics of its query, max and sum over its KS partials.
fn merge_factor(lane: Lane, sw: u32, m: f32, l: f32) -> f32 {
  let mx = group_max(lane, sw, KS, m);
  let c = exp(m - mx);
  return c / group_sum(lane, sw, KS, l * c);
}

// Puts channels c0 .. c0+RC-1 of every invocation's scaled acc in ks (row li, padded to RCP).
fn stage_chunk(li: u32, c0: u32, f: f32, acc: ptr<function, array<f32, 64>>) {
  workgroupBarrier();
  for (var j = 0u; j < RC; j++) {
    if (c0 + j < HD) { ks[li * RCP + j] = (*acc)[c0 + j] * f; }
  }
  workgroupBarrier();
}

// Channel c0 + j of query q2 of the workgroup: the sum of its KS staged partials.
fn merged(q2: u32, j: u32) -> f32 {
  var r = 0.0;
  for (var t = 0u; t < KS; t++) { r += ks[(q2 * KS + t) * RCP + j]; }
  return r;
}

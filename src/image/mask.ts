// Mask logits → an 8-bit mask: the one threshold (SamUnet's masks use it with inside = 1, the CLI's
// PNGs with 255). Inside means logit > 0, as upstream's `masks = logits > 0` (NaN counts as outside).

/** `logits` is h×w row-major (one mask); returns w·h bytes, `inside` (default 255, for encodePng) where the logit is > 0. */
export function maskFromLogits(logits: Float32Array, w: number, h: number, inside = 255): Uint8Array {
  if (!Number.isInteger(w) || !Number.isInteger(h) || w < 1 || h < 1) throw new RangeError(`maskFromLogits: invalid size ${w}×${h}`);
  if (logits.length !== w * h) throw new RangeError(`maskFromLogits: ${logits.length} logits for a ${w}×${h} mask`);
  const mask = new Uint8Array(w * h);
  for (let i = 0; i < mask.length; i++) mask[i] = logits[i]! > 0 ? inside : 0;
  return mask;
}

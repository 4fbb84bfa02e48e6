// An ImageEmbedding filled with seeded random values for a width×height image, so that decoder
// tests need no encoder run.
import { imageFrame } from '../../src/model/frame.js';
import { ImageEmbedding, type SamUnet } from '../../src/model/sam_unet.js';
import { rand } from './gpu.js';

export function fakeEmbedding(model: SamUnet, width: number, height: number, seed = 1): ImageEmbedding {
  const device = model.gpu.device;
  const usage = GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST;
  const emb = rand(256 * 16 * 16, seed);
  const msf = rand(32 * 64 * 64, seed + 1);
  const e = device.createBuffer({ size: emb.byteLength, usage, label: 'fake.image_embeddings' });
  const m = device.createBuffer({ size: msf.byteLength, usage, label: 'fake.multi_scale_feature' });
  device.queue.writeBuffer(e, 0, emb as Float32Array<ArrayBuffer>);
  device.queue.writeBuffer(m, 0, msf as Float32Array<ArrayBuffer>);
  return new ImageEmbedding(imageFrame(width, height), e, m, model);
}

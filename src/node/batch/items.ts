// What one batch item does. Image items: decode, encode once, decode every prompt set, write each
// mask PNG atomically. Volume items: propagate the objects' prompts through the scan
// (segmentVolumeFiles) and write the label map (and the DICOM SEG) atomically.
import { readFile } from 'node:fs/promises';
import { decodeImage } from '../../image/decode.js';
import { maskFromLogits } from '../../image/mask.js';
import { encodePng } from '../../image/png.js';
import type { PromptSet } from '../../model/prompts.js';
import type { SamUnet } from '../../model/sam_unet.js';
import { segmentVolumeFiles } from '../volume-run.js';
import { writeFileAtomic } from './atomic.js';
import type { BatchItem, ImageItem } from './manifest.js';

export async function segmentImageItem(model: SamUnet, item: ImageItem): Promise<void> {
  const image = decodeImage(new Uint8Array(await readFile(item.input)));
  const sets: PromptSet[] = item.boxes.length ? item.boxes.map((box) => ({ box, points: item.points })) : [{ points: item.points }];
  const r = await model.segment(image, sets);
  for (let i = 0; i < r.n; i++) {
    await writeFileAtomic(item.outputs[i]!, encodePng(r.width, r.height, maskFromLogits(r.logits[i]!, r.width, r.height), 1));
  }
}

/** The handler runBatch calls for each item. */
export function itemHandler(model: SamUnet): (item: BatchItem) => Promise<void> {
  return async (item) => {
    if (item.kind === 'image') return segmentImageItem(model, item);
    await segmentVolumeFiles(model, item.input, item.objects, { out: item.outputs[0]!, seg: item.outputs[1] });
  };
}

// `sam-unet volume` and the batch's volume items: open a scan, propagate the prompts through it
// (src/volume/propagate.ts), and write the label map (.nii / .nii.gz), a DICOM SEG for DICOM input
// and PNG slices, each file atomically. Prompts: per object (label), boxes [z, x0, y0, x1, y1] and
// points [z, x, y, l] with z the slice index along the axis and x, y that slice's display pixels.
import { mkdir } from 'node:fs/promises';
import { join } from 'node:path';
import type { WindowSpec } from '../medical/window.js';
import type { Box, Point } from '../model/prompts.js';
import type { SamUnet } from '../model/sam_unet.js';
import { dicomSeg } from '../volume/dicom-seg.js';
import { niftiLabelMap } from '../volume/nifti-write.js';
import { labelSlicesPng } from '../volume/png-slices.js';
import { segmentVolume, VolumePromptError, type PropagationStrategy, type SliceProgress, type VolumePrompt, type VolumeSegmentation } from '../volume/propagate.js';
import type { SliceAxis } from '../volume/slice.js';
import type { Volume } from '../volume/types.js';
import { writeFileAtomic } from './batch/atomic.js';
import { clock } from './batch/progress.js';
import { openVolumePath } from './scan-input.js';

/** One object's prompts, as the manifest and the CLI give them. */
export interface VolumeObjectPrompts {
  label: number;
  boxes: readonly (readonly [number, number, number, number, number])[];
  points: readonly (readonly [number, number, number, number])[];
}

/** The key-slice prompts of `objects`: a box and the points of one label on one slice form one prompt. */
export function volumePrompts(objects: readonly VolumeObjectPrompts[]): VolumePrompt[] {
  const byKey = new Map<string, { slice: number; label: number; box?: Box; points: Point[] }>();
  const at = (label: number, slice: number) => {
    const k = `${label}@${slice}`;
    let p = byKey.get(k);
    if (!p) byKey.set(k, (p = { slice, label, points: [] }));
    return p;
  };
  for (const o of objects) {
    for (const [z, ...box] of o.boxes) {
      const p = at(o.label, z);
      if (p.box) throw new VolumePromptError(`label ${o.label} has two boxes on slice ${z}: one box per object and slice`);
      p.box = box as unknown as Box;
    }
    for (const [z, ...pt] of o.points) at(o.label, z).points.push(pt as unknown as Point);
  }
  return [...byKey.values()].map((p) => ({ slice: p.slice, label: p.label, box: p.box, points: p.points.length ? p.points : undefined }));
}

export interface VolumeOutputs {
  /** The label map, .nii or .nii.gz. */
  out: string;
  /** A DICOM SEG referencing the source series (DICOM input only). */
  seg?: string;
  /** A folder of PNG slices (labels as grey values), along the volume's k. */
  pngDir?: string;
}

export interface VolumeRunOptions {
  axis?: SliceAxis;
  window?: WindowSpec;
  series?: string;
  strategy?: PropagationStrategy;
  margin?: number;
  signal?: AbortSignal;
  onProgress?: (p: SliceProgress) => void;
}

/** Reads `input`, segments it from `objects`' prompts and writes `outputs`; returns what it did. */
export async function segmentVolumeFiles(
  model: SamUnet,
  input: string,
  objects: readonly VolumeObjectPrompts[],
  outputs: VolumeOutputs,
  opts: VolumeRunOptions = {},
): Promise<{ volume: Volume; result: VolumeSegmentation; written: string[] }> {
  const volume = await openVolumePath(input, opts.series);
  if (outputs.seg && volume.source.kind !== 'dicom') throw new VolumePromptError(`--seg writes a DICOM SEG that references a DICOM series; ${input} is NIfTI`);
  const result = await segmentVolume(model, volume, volumePrompts(objects), {
    axis: opts.axis, window: opts.window, strategy: opts.strategy, margin: opts.margin, signal: opts.signal, onProgress: opts.onProgress,
  });
  const written: string[] = [];
  await writeFileAtomic(outputs.out, niftiLabelMap(result.labels, volume, { gzip: /\.gz$/i.test(outputs.out) }));
  written.push(outputs.out);
  if (outputs.seg) {
    await writeFileAtomic(outputs.seg, dicomSeg(result.labels, volume));
    written.push(outputs.seg);
  }
  if (outputs.pngDir) {
    await mkdir(outputs.pngDir, { recursive: true });
    const pngs = labelSlicesPng(result.labels, volume);
    for (const [k, png] of pngs.entries()) await writeFileAtomic(join(outputs.pngDir, `slice-${String(k).padStart(4, '0')}.png`), png);
    written.push(`${outputs.pngDir}/ (${pngs.length} PNG slices)`);
  }
  return { volume, result, written };
}

/** Slice progress on stderr: one line redrawn in place on a terminal, plain lines elsewhere. */
export function sliceProgressPrinter(sink: { write(s: string): unknown; isTTY?: boolean }): { onProgress: (p: SliceProgress) => void; end(): void } {
  let drawn = false;
  return {
    onProgress(p) {
      const secs = p.elapsedMs / 1000;
      const rate = secs >= 1 ? p.done / secs : 0;
      const left = rate ? `at most ${clock((p.total - p.done) / rate)} left` : '? left';
      const line = `${p.done}/${p.total} slices, ${rate ? rate.toFixed(2) : '?'} slices/s, ${left} · label ${p.label} slice ${p.slice}: ${p.area} px`;
      if (sink.isTTY) {
        sink.write(`\r\x1b[2K${line}`);
        drawn = true;
      } else sink.write(line + '\n');
    },
    end() {
      if (drawn) sink.write('\r\x1b[2K');
      drawn = false;
    },
  };
}

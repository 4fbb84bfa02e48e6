// `sam-unet volume INPUT --box [N@]Z:x0,y0,x1,y1 [--point [N@]Z:x,y,l]... [--label N] --out labels.nii.gz
// [--seg out.dcm] [--png-dir DIR]`: one scan segmented whole from prompts on key slices.
import { parseArgs } from 'node:util';
import { UsageError } from './usage.js';
import type { SamUnet } from '../model/sam_unet.js';
import { PROPAGATION_STRATEGIES, type PropagationStrategy } from '../volume/propagate.js';
import { parseAxis, parseWindowOption } from './scan-input.js';
import { segmentVolumeFiles, sliceProgressPrinter, type VolumeObjectPrompts } from './volume-run.js';

export const VOLUME_USAGE = `  sam-unet volume SCAN --box [N@]Z:x0,y0,x1,y1 [--point [N@]Z:x,y,label]... [--label N]
                  --out LABELS.nii.gz [--seg SEG.dcm] [--png-dir DIR] [--axis axial|coronal|sagittal]
                  [--window W] [--series UID] [--strategy box|mask|box+mask] [--margin PX]
                  [--weights W] [--variant res50|res34] [--precision f32|f16|f16-compute|q8]`;


/** "[N@]Z:a,b,c…" → [label, z, ...numbers]. */
function prompt(text: string, n: number, what: string, defaultLabel: number): [number, number, ...number[]] {
  const m = /^(?:(\d+)@)?(\d+):(.*)$/.exec(text.trim());
  const nums = m ? m[3]!.split(',').map((x) => Number(x.trim())) : [];
  if (!m || nums.length !== n || nums.some((x) => !Number.isFinite(x))) {
    throw new UsageError(`${what} '${text}': expected [LABEL@]SLICE:${n === 4 ? 'x0,y0,x1,y1' : 'x,y,label'} (slice and label whole numbers)`);
  }
  return [m[1] === undefined ? defaultLabel : Number(m[1]), Number(m[2]), ...nums];
}

export async function volumeCommand(
  args: string[],
  loadModel: (weights: string | undefined, variant: string | undefined, precision: string | undefined) => Promise<SamUnet>,
): Promise<void> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      box: { type: 'string', multiple: true }, point: { type: 'string', multiple: true }, label: { type: 'string' },
      out: { type: 'string' }, seg: { type: 'string' }, 'png-dir': { type: 'string' },
      axis: { type: 'string' }, window: { type: 'string' }, series: { type: 'string' }, strategy: { type: 'string' }, margin: { type: 'string' },
      weights: { type: 'string' }, variant: { type: 'string' }, precision: { type: 'string' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('volume takes one SCAN (a DICOM series folder, a .nii / .nii.gz file)');
  if (!values.out || !/\.nii(\.gz)?$/i.test(values.out)) throw new UsageError('volume needs --out LABELS.nii.gz (or .nii)');
  if (values.seg && !/\.dcm$/i.test(values.seg)) throw new UsageError(`--seg '${values.seg}' must name a .dcm file`);
  const defaultLabel = values.label === undefined ? 1 : Number(values.label);
  if (!Number.isInteger(defaultLabel) || defaultLabel < 1 || defaultLabel > 65535) throw new UsageError(`--label must be a whole number 1..65535, got '${values.label}'`);
  const strategy = (values.strategy ?? 'box') as PropagationStrategy;
  if (!PROPAGATION_STRATEGIES.includes(strategy)) throw new UsageError(`--strategy must be ${PROPAGATION_STRATEGIES.join(', ')}, got '${values.strategy}'`);
  const margin = values.margin === undefined ? undefined : Number(values.margin);
  if (margin !== undefined && !(Number.isFinite(margin) && margin >= 0)) throw new UsageError(`--margin must be a number of pixels >= 0, got '${values.margin}'`);
  const objects = new Map<number, VolumeObjectPrompts & { boxes: [number, number, number, number, number][]; points: [number, number, number, number][] }>();
  const obj = (label: number) => {
    let o = objects.get(label);
    if (!o) objects.set(label, (o = { label, boxes: [], points: [] }));
    return o;
  };
  for (const b of values.box ?? []) {
    const [label, z, ...box] = prompt(b, 4, '--box', defaultLabel);
    obj(label).boxes.push([z, ...box] as [number, number, number, number, number]);
  }
  for (const p of values.point ?? []) {
    const [label, z, ...pt] = prompt(p, 3, '--point', defaultLabel);
    obj(label).points.push([z, ...pt] as [number, number, number, number]);
  }
  if (!objects.size) throw new UsageError('volume needs at least one --box or --point');
  const axis = parseAxis(values.axis);
  const window = parseWindowOption(values.window);
  const model = await loadModel(values.weights, values.variant, values.precision);
  const controller = new AbortController();
  const onSigint = () => controller.abort(new Error('interrupted (Ctrl-C): no file written'));
  process.once('SIGINT', onSigint);
  const progress = sliceProgressPrinter(process.stderr);
  const t0 = performance.now();
  try {
    const { volume, result, written } = await segmentVolumeFiles(
      model, positionals[0]!, [...objects.values()],
      { out: values.out, seg: values.seg, pngDir: values['png-dir'] },
      { axis, window, series: values.series, strategy, margin, signal: controller.signal, onProgress: progress.onProgress },
    );
    progress.end();
    const secs = (performance.now() - t0) / 1000;
    const voxels = new Map<number, number>();
    for (const v of result.labels) if (v) voxels.set(v, (voxels.get(v) ?? 0) + 1);
    process.stderr.write(
      `volume ${volume.dims.join('×')} (${volume.modality}): ${result.decodes} slice decodes (${result.encodes} slices encoded, the rest found in the embedding store) in ${secs.toFixed(1)} s, ${(result.decodes / secs).toFixed(2)} slices/s; ` +
        `${[...objects.keys()].map((l) => `label ${l}: ${voxels.get(l) ?? 0} voxels`).join(', ')}\n`,
    );
    for (const w of written) process.stderr.write(`wrote ${w}\n`);
  } finally {
    progress.end();
    process.off('SIGINT', onSigint);
    model.destroy();
  }
}

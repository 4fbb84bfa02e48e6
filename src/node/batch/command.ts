// `sam-unet batch MANIFEST.jsonl --out-dir DIR --weights W [--shard K/N] [--resume] [--dry-run]`:
// many images (volumes later) with their prompts in one process: the weights are loaded and the
// pipelines compiled once. Exit status: 0 all done, 1 an item failed (each listed), 2 a usage or
// manifest error (nothing run), 130 interrupted by Ctrl-C, 143 by SIGTERM.
// Ctrl-C once: the current item is finished, no other is started. Twice: the current item is
// abandoned (its partial files deleted) at once. SIGTERM (a scheduler's time limit) abandons too.
import { readFile } from 'node:fs/promises';
import { dirname, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { SamUnet } from '../../model/sam_unet.js';
import type { Precision, Variant } from '../../model/weights.js';
import { parsePrecision, PRECISIONS } from '../../weights/load.js';
import { abandonPartials, removePartials } from './atomic.js';
import { itemHandler } from './items.js';
import { inShard, ManifestError, parseManifest, parseShard } from './manifest.js';
import { progressReporter } from './progress.js';
import { isDone, runBatch, summaryText } from './run.js';

export const BATCH_USAGE = `Usage: sam-unet batch MANIFEST.jsonl --out-dir DIR --weights W.safetensors [--variant res50|res34]
                     [--precision f32|f16|f16-compute|q8] [--shard K/N] [--resume] [--dry-run]

One JSON object per line, e.g. {"input": "a.png", "boxes": [[x0,y0,x1,y1]], "points": [[x,y,1]], "out": "a-mask.png"}
(inputs relative to the manifest's folder, outputs to --out-dir; see README "Batch"). --shard K/N runs
the lines i (0-based) with i mod N = K-1; --resume skips items whose outputs all exist; --dry-run
lists the shard's items (done or to do) without loading the model.`;

export interface BatchDeps {
  /** Loads the model (the CLI's loader: weights file or synthetic:res50|res34). */
  loadModel(weights: string, variant: Variant | undefined, precision: Precision): Promise<SamUnet>;
  stderr?: { write(s: string): unknown; isTTY?: boolean; columns?: number };
  stdout?: { write(s: string): unknown };
}

class UsageError extends Error {}

function options(args: string[]) {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: {
      'out-dir': { type: 'string' }, weights: { type: 'string' }, variant: { type: 'string' }, precision: { type: 'string' },
      shard: { type: 'string' }, resume: { type: 'boolean' }, 'dry-run': { type: 'boolean' },
    },
  });
  if (positionals.length !== 1) throw new UsageError('batch takes one MANIFEST.jsonl');
  if (!values['out-dir']) throw new UsageError('batch needs --out-dir DIR');
  if (!values.weights && !values['dry-run']) throw new UsageError('batch needs --weights');
  const variant = values.variant;
  if (variant !== undefined && variant !== 'res50' && variant !== 'res34') throw new UsageError(`--variant must be res50 or res34, got '${variant}'`);
  const precision = parsePrecision(values.precision ?? 'f32');
  if (!precision) throw new UsageError(`--precision must be ${PRECISIONS.join(', ')}, got '${values.precision}'`);
  return { ...values, manifest: positionals[0]!, variant: variant as Variant | undefined, precision, shard: values.shard ? parseShard(values.shard) : undefined };
}

export async function batchCommand(args: string[], deps: BatchDeps): Promise<number> {
  const stderr = deps.stderr ?? process.stderr;
  const stdout = deps.stdout ?? process.stdout;
  let o: ReturnType<typeof options>;
  try {
    o = options(args);
  } catch (e) {
    if (!(e instanceof UsageError || e instanceof ManifestError || (e as Error).name === 'TypeError')) throw e; // parseArgs: TypeError
    stderr.write(`sam-unet batch: ${(e as Error).message}\n\n${BATCH_USAGE}\n`);
    return 2;
  }
  let items;
  try {
    const text = await readFile(o.manifest, 'utf8').catch((e: Error) => {
      throw new ManifestError(`cannot read it: ${e.message}`);
    });
    items = parseManifest(text, { manifestDir: dirname(resolve(o.manifest)), outDir: resolve(o['out-dir']!) });
  } catch (e) {
    if (!(e instanceof ManifestError)) throw e;
    stderr.write(`sam-unet batch: ${o.manifest}: ${e.message}\n`);
    return 2;
  }
  const mine = o.shard ? items.filter((it) => inShard(it.line, o.shard!)) : items;
  if (o['dry-run']) {
    for (const it of mine) stdout.write(`${it.line}\t${it.kind}\t${it.input}\t${it.outputs.join(',')}\t${isDone(it) ? 'done' : 'todo'}\n`);
    return 0;
  }
  const cleaned = await removePartials(mine.flatMap((it) => it.outputs));
  if (cleaned) stderr.write(`batch: removed ${cleaned} partial file(s) left by an interrupted run\n`);
  const reporter = progressReporter(stderr);
  const ac = new AbortController();
  let interrupts = 0;
  const onInt = () => {
    if (++interrupts === 1) {
      ac.abort();
      stderr.write('\nbatch: interrupted: finishing the current item (Ctrl-C again abandons it)\n');
    } else {
      abandonPartials();
      stderr.write('\nbatch: abandoned the current item\n');
      process.exit(130);
    }
  };
  const onTerm = () => {
    abandonPartials();
    stderr.write('\nbatch: terminated: abandoned the current item\n');
    process.exit(143);
  };
  process.on('SIGINT', onInt);
  process.on('SIGTERM', onTerm);
  let model: SamUnet | null = null;
  try {
    const todo = o.resume ? mine.filter((it) => !isDone(it)) : mine;
    if (todo.length) model = await deps.loadModel(o.weights!, o.variant, o.precision);
    const handle = model ? itemHandler(model) : async () => undefined;
    const fatal = (e: unknown) => (e as Error)?.name === 'GpuDeviceLostError';
    const s = await runBatch(mine, handle, { resume: !!o.resume, reporter, signal: ac.signal, fatal });
    stderr.write(summaryText(s, o.shard) + '\n');
    return s.interrupted ? 130 : s.failed.length || s.notRun ? 1 : 0;
  } finally {
    model?.destroy();
    process.off('SIGINT', onInt);
    process.off('SIGTERM', onTerm);
  }
}

// Deno bench runner (navigator.gpu, wgpu): npx deno run -A bench/deno.mjs '<json options>'
import { benchMain } from './common.mjs';

const opts = JSON.parse(Deno.args[0] ?? '{}');
const report = await benchMain(opts, (s) => console.log(s));
report.runtime = `deno ${Deno.version.deno}`;
console.log('REPORT ' + JSON.stringify(report));
Deno.exit(0);

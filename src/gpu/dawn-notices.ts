// Node only (the CLI). Dawn's Vulkan backend clamps two limits of every adapter whose driver reports
// more than 16 dynamic buffers per pipeline layout (lavapipe: 1,000,000) and says so, from native
// code straight to file descriptor 2, when requestAdapter() first finds the adapter:
//   Warning: maxDynamicUniformBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
//   Warning: maxDynamicStorageBuffersPerPipelineLayout artificially reduced from 1000000 to 16 to fit dynamic offset allocation limit.
// (dawn/native/Limits.cpp; dawn::WarningLog has no runtime switch.) Which limits requestDevice asks
// for does not matter: they print before any device exists. JavaScript cannot catch a native write
// to fd 2, so the CLI runs its work in a child process whose stderr it copies without those lines.
import { spawn } from 'node:child_process';
import { constants } from 'node:os';

/** One of Dawn's two notices, as a whole line. */
export const DAWN_LIMIT_NOTICE = /^Warning: maxDynamic(?:Uniform|Storage)BuffersPerPipelineLayout artificially reduced from \d+ to \d+ to fit dynamic offset allocation limit\.\r?$/;
const NOTICE_START = 'Warning: maxDynamic';

/**
 * Copies text to `write` without the lines that are Dawn notices. Text arrives in chunks cut
 * anywhere; a partial line is held back only while it may still become a notice, so progress output
 * without a newline passes at once.
 */
export class NoticeFilter {
  private held = '';
  private atLineStart = true;

  constructor(private readonly write: (text: string) => void) {}

  push(chunk: string): void {
    const text = this.held + chunk;
    this.held = '';
    let out = '';
    let start = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', start)) {
      const line = text.slice(start, nl);
      if (!(this.atLineStart && DAWN_LIMIT_NOTICE.test(line))) out += text.slice(start, nl + 1);
      start = nl + 1;
      this.atLineStart = true;
    }
    const rest = text.slice(start);
    const mayBeNotice = this.atLineStart && (rest.length < NOTICE_START.length ? NOTICE_START.startsWith(rest) : rest.startsWith(NOTICE_START));
    if (rest && mayBeNotice) {
      this.held = rest;
    } else if (rest) {
      out += rest;
      this.atLineStart = false;
    }
    if (out) this.write(out);
  }

  /** Writes what is held back (the stream ended without a newline). */
  end(): void {
    if (this.held && !DAWN_LIMIT_NOTICE.test(this.held)) this.write(this.held);
    this.held = '';
  }
}

const CHILD_ENV = 'SAM_UNET_DAWN_FILTERED';

/**
 * Runs this script again in a child process with the same arguments, stdin and stdout, copying its
 * stderr here without Dawn's notices, and resolves to the exit code to leave with. In that child
 * (or when `disabled`) it resolves to null at once: do the work there.
 */
export function relaunchWithoutDawnNotices(disabled = false): Promise<number | null> {
  if (disabled || process.env[CHILD_ENV] === '1') return Promise.resolve(null);
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...process.execArgv, ...process.argv.slice(1)], {
      stdio: ['inherit', 'inherit', 'pipe'],
      env: { ...process.env, [CHILD_ENV]: '1' },
    });
    const filter = new NoticeFilter((s) => process.stderr.write(s));
    child.stderr.setEncoding('utf8');
    child.stderr.on('data', (s: string) => filter.push(s));
    const forward = (signal: NodeJS.Signals) => () => child.kill(signal);
    const signals = (['SIGINT', 'SIGTERM', 'SIGHUP'] as const).map((s) => [s, forward(s)] as const);
    for (const [s, f] of signals) process.on(s, f);
    child.on('error', reject);
    child.on('close', (code, signal) => {
      for (const [s, f] of signals) process.off(s, f);
      filter.end();
      // Killed by a signal: the shell convention 128 + its number.
      resolve(code ?? 128 + ((signal && constants.signals[signal]) || 1));
    });
  });
}

import { spawn } from 'node:child_process';

export interface RunResult {
  code: number;
  stdout: Buffer;
  stderr: string;
}

export interface RunOptions {
  input?: Buffer | string;
  /**
   * Close stdin only once this settles (input is written at once). ctr 1.6 loses an EOF that
   * comes before its NewTask returns (cmd/ctr/commands/tasks/tasks_unix.go sets the CloseIO
   * closer after NewTask), and the container then waits for stdin forever.
   */
  endInputAfter?: Promise<unknown>;
  timeoutMs?: number;
  env?: NodeJS.ProcessEnv;
}

/** Run a command to its end, with a time limit; never rejects for a non-zero exit. */
export function run(file: string, args: string[], opts: RunOptions = {}): Promise<RunResult> {
  const timeoutMs = opts.timeoutMs ?? 60000;
  return new Promise((resolve, reject) => {
    const child = spawn(file, args, { stdio: ['pipe', 'pipe', 'pipe'], env: opts.env ?? process.env });
    const out: Buffer[] = [];
    let err = '';
    child.stdout.on('data', (d: Buffer) => out.push(d));
    child.stderr.on('data', (d: Buffer) => (err += d));
    child.stdin.on('error', () => undefined);
    if (opts.input !== undefined) child.stdin.write(opts.input);
    if (opts.endInputAfter) opts.endInputAfter.then(() => child.stdin.end(), () => child.stdin.end());
    else child.stdin.end();
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${file} ${args.join(' ')} timed out after ${timeoutMs} ms; stderr: ${err}`));
    }, timeoutMs);
    child.once('error', reject);
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout: Buffer.concat(out), stderr: err });
    });
  });
}

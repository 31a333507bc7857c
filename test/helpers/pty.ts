import { spawn } from 'node:child_process';
import { CTR_ENV } from './host';

/**
 * Run a command under a pseudo-terminal of `rows` x `cols` (python3's pty module), as a person
 * at a terminal would: `input` is typed after `delayMs`; resolves with what the terminal showed.
 */
export function runInPty(argv: string[], opts: { input?: string; delayMs?: number; rows?: number; cols?: number; timeoutMs?: number } = {}): Promise<{ code: number; output: string }> {
  const script = `
import pty, sys, os, fcntl, termios, struct, time, select
rows, cols, delay, data = int(sys.argv[1]), int(sys.argv[2]), float(sys.argv[3]), sys.argv[4].encode()
pid, fd = pty.fork()
if pid == 0:
    fcntl.ioctl(0, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
    os.execvp(sys.argv[5], sys.argv[5:])
out, sent, start = b"", False, time.time()
while True:
    if not sent and data and time.time() - start > delay:
        os.write(fd, data); sent = True
    r, _, _ = select.select([fd], [], [], 0.05)
    if r:
        try: d = os.read(fd, 4096)
        except OSError: break
        if not d: break
        out += d
_, st = os.waitpid(pid, 0)
sys.stdout.write(out.decode(errors="replace"))
sys.exit(os.waitstatus_to_exitcode(st))
`;
  return new Promise((resolve, reject) => {
    const child = spawn('python3', ['-c', script, String(opts.rows ?? 24), String(opts.cols ?? 80), String((opts.delayMs ?? 0) / 1000), opts.input ?? '', ...argv], { env: CTR_ENV });
    let output = '';
    child.stdout.on('data', (d) => (output += d));
    child.stderr.on('data', (d) => (output += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`${argv.join(' ')} under a pty timed out; saw: ${output}`));
    }, opts.timeoutMs ?? 30000);
    child.once('close', (code) => {
      clearTimeout(timer);
      resolve({ code: code ?? 1, output });
    });
  });
}

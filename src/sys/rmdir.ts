import { rmdirSync } from 'node:fs';

const pause = (ms: number) => new Promise<void>((r) => setTimeout(r, ms));

/**
 * Remove an empty directory that the kernel may still hold busy for a moment (a cgroup whose last
 * processes are still being reaped answers EBUSY): EBUSY is tried again every 20 ms, `tries`
 * times, on timers (the event loop runs on). Resolves once it is gone (ENOENT counts as gone);
 * rejects with the last error otherwise.
 */
export async function rmdirRetrying(dir: string, tries = 50, sleep: (ms: number) => Promise<unknown> = pause): Promise<void> {
  for (let i = 0; ; i++) {
    try {
      rmdirSync(dir);
      return;
    } catch (err) {
      const code = (err as NodeJS.ErrnoException)?.code;
      if (code === 'ENOENT') return;
      if (code !== 'EBUSY' || i >= tries) throw err;
      await sleep(20);
    }
  }
}

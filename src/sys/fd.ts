import { closeSync } from 'node:fs';

/** Close an fd we own, if any; already closed is fine (teardown paths must never throw). */
export function closeQuietly(fd: number | null | undefined): void {
  if (fd === null || fd === undefined || fd < 0) return;
  try {
    closeSync(fd);
  } catch {
    // already closed
  }
}

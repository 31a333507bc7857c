import { readFile } from 'node:fs/promises';
import { internal, notFound } from '../errors';

/**
 * The pid runc wrote to --pid-file (go-runc ReadPidFile). runc itself writes it atomically
 * (temp file + rename), but a runtime that writes in place can be caught between open and
 * write: an empty file is read again, a few times, before it counts as broken.
 */
export async function readPidFile(file: string, opts: { attempts?: number; delayMs?: number } = {}): Promise<number> {
  const attempts = opts.attempts ?? 20;
  const delayMs = opts.delayMs ?? 5;
  let text = '';
  for (let i = 0; i < attempts; i++) {
    try {
      text = await readFile(file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') throw notFound(`pid file ${file} does not exist`);
      throw internal(`cannot read pid file ${file}: ${(err as Error).message}`, err);
    }
    if (/^\s*[1-9][0-9]*\s*$/.test(text)) return parseInt(text, 10);
    if (text.trim() !== '') break; // not a number, and not on its way to one
    await new Promise((r) => setTimeout(r, delayMs));
  }
  throw internal(`bad pid file ${file}: ${JSON.stringify(text.slice(0, 32))}`);
}

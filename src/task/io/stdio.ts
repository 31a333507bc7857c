import { unimplemented } from '../../errors';

/** The stdio a process was created with, as containerd names it (CreateTaskRequest 5-7, 4). */
export interface Stdio {
  stdin: string;
  stdout: string;
  stderr: string;
  terminal: boolean;
}

export type StdioTarget =
  | { kind: 'none' }
  | { kind: 'fifo'; path: string }
  | { kind: 'file'; path: string }
  | { kind: 'binary'; path: string; args: Record<string, string> };

/**
 * What a stdio string names: '' is none, a plain path is a FIFO containerd created,
 * file:///path appends to a file, binary:///path?k=v starts a logging binary
 * (containerd's cio.LogFile / cio.BinaryIO and runtime/v2/logging).
 */
export function parseStdioUri(value: string): StdioTarget {
  if (!value) return { kind: 'none' };
  if (!/^[a-z][a-z0-9+.-]*:\/\//i.test(value)) return { kind: 'fifo', path: value };
  const url = new URL(value);
  const args: Record<string, string> = {};
  url.searchParams.forEach((v, k) => (args[k] = v));
  switch (url.protocol) {
    case 'fifo:':
      return { kind: 'fifo', path: decodeURIComponent(url.pathname) };
    case 'file:':
      return { kind: 'file', path: decodeURIComponent(url.pathname) };
    case 'binary:':
      return { kind: 'binary', path: decodeURIComponent(url.pathname), args };
    default:
      throw unimplemented(`stdio ${JSON.stringify(value)}: scheme ${url.protocol} is not supported (expected a fifo path, file:// or binary://)`);
  }
}

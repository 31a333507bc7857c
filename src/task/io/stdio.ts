import { invalidArgument, unimplemented } from '../../errors';

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

const EXPECTED = 'expected a fifo path, file:///path or binary:///path?key=value';

/**
 * What a stdio string names: '' is none, a plain path is a FIFO containerd created,
 * file:///path appends to a file, binary:///path?k=v starts a logging binary
 * (containerd's cio.LogFile / cio.BinaryIO and runtime/v2/logging). `name` says which stdio it
 * is in an error.
 *
 * The URI is split by hand, as Go's url.Parse does it (the Go shim's process/io.go createIO reads
 * u.Path, NewBinaryCmd u.Query()): WHATWG's URL would fold `%2e%2e` into a parent step before
 * anyone could refuse it, and throws bare TypeErrors. Path and query are percent-decoded
 * strictly; a malformed escape or host is InvalidArgument, where Go's url.Parse fails too.
 */
export function parseStdioUri(value: string, name = 'stdio'): StdioTarget {
  if (!value) return { kind: 'none' };
  const m = /^([a-z][a-z0-9+.-]*):\/\/([^/?#]*)([^?#]*)(?:\?([^#]*))?(?:#.*)?$/is.exec(value);
  if (!m) return { kind: 'fifo', path: value };
  const [, scheme, authority, rawPath, query] = m;
  const bad = (why: string) => invalidArgument(`${name} ${JSON.stringify(value)}: ${why} (${EXPECTED})`);
  // Go's url.Parse refuses control characters anywhere in a URL.
  if (/[\x00-\x1f\x7f]/.test(value)) throw bad('it holds a control character');
  // Go's url.Parse: a host in brackets must close them (an IPv6 literal), a bracket elsewhere is
  // refused. The host itself is ignored, as the Go shim ignores it.
  const host = authority.slice(authority.lastIndexOf('@') + 1);
  if (host.startsWith('[') ? !/^\[[^[\]]*\](:\d*)?$/.test(host) : /[[\]]/.test(host)) throw bad(`malformed host ${JSON.stringify(host)}`);
  const unescape = (s: string) => {
    const escape = /%(?![0-9a-f]{2})/i.exec(s);
    if (escape) throw bad(`malformed percent escape ${JSON.stringify(s.slice(escape.index, escape.index + 3))}`);
    try {
      return decodeURIComponent(s);
    } catch {
      throw bad(`its percent escapes are not UTF-8`);
    }
  };
  unescape(authority);
  const path = unescape(rawPath);
  switch (scheme.toLowerCase()) {
    case 'fifo':
      return { kind: 'fifo', path };
    case 'file':
      return { kind: 'file', path };
    case 'binary': {
      // The first value of a key is its arg, as NewBinaryCmd takes vs[0]; `+` is a space.
      const args = new Map<string, string>();
      for (const pair of (query ?? '').split('&')) {
        if (!pair) continue;
        const eq = pair.indexOf('=');
        const [k, v] = (eq < 0 ? [pair, ''] : [pair.slice(0, eq), pair.slice(eq + 1)]).map((s) => unescape(s.replace(/\+/g, ' ')));
        if (!args.has(k)) args.set(k, v);
      }
      return { kind: 'binary', path, args: Object.fromEntries(args) };
    }
    default:
      throw unimplemented(`${name} ${JSON.stringify(value)}: scheme ${scheme.toLowerCase()}: is not supported (${EXPECTED})`);
  }
}

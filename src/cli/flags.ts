/**
 * Command-line flags the way containerd calls a shim: Go's flag package syntax (`-name value`,
 * `-name=value`, `--name`, bare booleans), flags before the action. Our own small parser:
 * yargs costs ~70 ms of start-up on every `start` and `delete` (see bench/), and reads
 * `-namespace` as eight short flags.
 */

export interface Flags {
  namespace: string;
  id: string;
  address: string;
  publishBinary: string;
  bundle: string;
  socket: string;
  /** serve: also serve /metrics over HTTP here (our config's metrics_address, passed on by start) */
  metricsAddress: string;
  debug: boolean;
  version: boolean;
  /** -info: print the RuntimeInfo protobuf and exit (containerd 2.x pkg/shim infoFlag) */
  info: boolean;
  action: '' | 'start' | 'delete';
}

/** Flag name -> [field, takes a value]. Names and meanings from runtime/v2/shim/shim.go parseFlags. */
const spec: Record<string, [keyof Flags, boolean]> = {
  namespace: ['namespace', true],
  id: ['id', true],
  address: ['address', true],
  'publish-binary': ['publishBinary', true],
  bundle: ['bundle', true],
  socket: ['socket', true],
  'metrics-address': ['metricsAddress', true],
  debug: ['debug', false],
  v: ['version', false],
  info: ['info', false],
};

export class UsageError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'UsageError';
  }
}

/**
 * Reads the flag at argv[i] (Go's flag syntax) into `into` by `table`; returns the index of its
 * last token (its value's, when the value is the next argument).
 */
export function readFlag<K extends string>(argv: string[], i: number, table: Record<string, [K, boolean]>, into: Record<string, string | boolean>): number {
  const body = argv[i].replace(/^--?/, '');
  const eq = body.indexOf('=');
  const name = eq >= 0 ? body.slice(0, eq) : body;
  const entry = table[name];
  if (!entry) throw new UsageError(`flag provided but not defined: -${name} (known: ${Object.keys(table).map((k) => '-' + k).join(' ')})`);
  const [field, takesValue] = entry;
  if (takesValue) {
    if (eq >= 0) into[field] = body.slice(eq + 1);
    else if (i + 1 < argv.length) into[field] = argv[++i];
    else throw new UsageError(`flag needs an argument: -${name}`);
    return i;
  }
  const raw = eq >= 0 ? body.slice(eq + 1) : 'true';
  if (raw !== 'true' && raw !== 'false' && raw !== '1' && raw !== '0') {
    throw new UsageError(`invalid boolean value ${JSON.stringify(raw)} for -${name}: expected true or false`);
  }
  into[field] = raw === 'true' || raw === '1';
  return i;
}

export function parseFlags(argv: string[]): Flags {
  const flags: Flags = {
    namespace: '',
    id: '',
    address: '',
    publishBinary: 'containerd',
    bundle: '',
    socket: '',
    metricsAddress: '',
    debug: false,
    version: false,
    info: false,
    action: '',
  };
  let i = 0;
  for (; i < argv.length; i++) {
    const arg = argv[i];
    if (arg === '--') {
      i++;
      break;
    }
    if (!arg.startsWith('-') || arg === '-') break;
    i = readFlag(argv, i, spec, flags as unknown as Record<string, string | boolean>);
  }
  const rest = argv.slice(i);
  if (rest.length > 1) throw new UsageError(`unexpected arguments after ${rest[0]}: ${rest.slice(1).join(' ')}`);
  const action = rest[0] ?? '';
  if (action !== '' && action !== 'start' && action !== 'delete') {
    throw new UsageError(`unknown action ${JSON.stringify(action)}: expected start, delete, or none to serve`);
  }
  flags.action = action;
  return flags;
}

// Bundles the shim into files: dist/shim.js (flags, -v, start, delete: the per-container
// paths, kept small so they parse fast) and dist/serve.js (the serving process: RxJS, pino,
// protobufjs, the task service), loaded only by the serving process.
// koffi stays external: esbuild cannot bundle its native loader.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['koffi'], legalComments: 'none', logLevel: 'warning' };

await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/shim.js', external: ['koffi', './serve', './runtime-options', './debug'] });
await build({ ...common, entryPoints: ['src/cli/serve.ts'], outfile: 'dist/serve.js' });
// `debug` (cli/debug.ts), for people at a shell: never on start's or delete's path.
await build({ ...common, entryPoints: ['src/cli/debug.ts'], outfile: 'dist/debug.js' });
// start's runtime options (protobufjs + TOML), only when containerd sends some.
await build({ ...common, entryPoints: ['src/cli/runtime-options.ts'], outfile: 'dist/runtime-options.js' });

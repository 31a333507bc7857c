// Bundles the shim into two files: dist/shim.js (flags, -v, start, delete: the per-container
// paths, kept small so they parse fast) and dist/serve.js (the serving process: RxJS, pino,
// protobufjs, the task service), loaded only by the serving process.
// koffi stays external: esbuild cannot bundle its native loader.
import { build } from 'esbuild';

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['koffi'], legalComments: 'none', logLevel: 'warning' };

await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/shim.js', external: ['koffi', './serve', './runtime-options', './install'] });
await build({ ...common, entryPoints: ['src/cli/serve.ts'], outfile: 'dist/serve.js' });
// start's runtime options (protobufjs + TOML), only when containerd sends some.
await build({ ...common, entryPoints: ['src/cli/runtime-options.ts'], outfile: 'dist/runtime-options.js' });
// install / uninstall (the node installer), only for those actions.
await build({ ...common, entryPoints: ['src/cli/install/index.ts'], outfile: 'dist/install.js' });

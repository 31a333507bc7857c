// Bundles the shim into files: dist/containerd-shim-rx-v2.js (flags, -v, start, delete: the per-container
// paths, kept small so they parse fast) and dist/serve.js (the serving process: RxJS, pino,
// protobufjs, the task service), loaded only by the serving process.
// koffi stays external: esbuild cannot bundle its native loader.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { build } from 'esbuild';

// -v and -info's version facts, as constants in the bundles (src/cli/version.ts RX_BUILD).
const version = JSON.parse(readFileSync('package.json', 'utf8')).version;
let revision = 'unknown';
try {
  revision = execFileSync('git', ['rev-parse', 'HEAD'], { stdio: ['ignore', 'pipe', 'ignore'] }).toString().trim();
} catch {
  // not a git checkout (a tarball): unknown
}

const common = { bundle: true, platform: 'node', target: 'node20', format: 'cjs', external: ['koffi'], legalComments: 'none', logLevel: 'warning', define: { RX_BUILD: JSON.stringify({ version, revision }) } };

await build({ ...common, entryPoints: ['src/cli/main.ts'], outfile: 'dist/containerd-shim-rx-v2.js', external: ['koffi', './serve', './runtime-options', './install', './debug'] });
await build({ ...common, entryPoints: ['src/cli/serve.ts'], outfile: 'dist/serve.js' });
// `debug` (cli/debug.ts), for people at a shell: never on start's or delete's path.
await build({ ...common, entryPoints: ['src/cli/debug.ts'], outfile: 'dist/debug.js' });
// start's runtime options (protobufjs + TOML), only when containerd sends some.
await build({ ...common, entryPoints: ['src/cli/runtime-options.ts'], outfile: 'dist/runtime-options.js' });
// install / uninstall (the node installer), only for those actions.
await build({ ...common, entryPoints: ['src/cli/install/index.ts'], outfile: 'dist/install.js' });
// The single executable's script (scripts/package.mjs): everything in one file, koffi's JS
// included (its native part is an asset; its static require of @koromix packages fails over).
await build({ ...common, entryPoints: ['src/cli/sea-main.ts'], outfile: 'dist/sea/main.js', external: ['@koromix/*'], target: 'node22' });

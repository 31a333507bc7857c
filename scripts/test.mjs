// npm test after the build: unit and marble tests once, then the whole e2e suite against each
// containerd (RX_CONTAINERD, test/helpers/host.ts): 2.3, the first-class host, then 1.6. Every run
// goes to its end whatever the one before did; the exit code is non-zero when any failed. The last
// lines are one node test runner summary of all runs together, each run's own line before it.
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';

// Files that drive a containerd of their own choosing (containerd2.test: 2.3.7 by path) run once,
// in the 2.3 run; every other e2e file runs on both.
const PINNED_TO_2_3 = ['containerd2.test.js'];
const FALLBACK_FILES = ['cli.test.js', 'lifecycle.test.js', 'exec.test.js', 'grouping.test.js', 'cri.test.js'];
const e2e = (skip = []) => readdirSync('dist/test/e2e').filter((f) => f.endsWith('.test.js') && !skip.includes(f)).sort().map((f) => `dist/test/e2e/${f}`);
const runs = [
  { name: 'unit + marbles', args: ['--test', 'dist/test/unit/', 'dist/test/marbles/'], env: {} },
  { name: 'e2e on containerd 2.3', args: ['--test', '--test-concurrency=1', ...e2e()], env: { RX_CONTAINERD: '2.3' } },
  { name: 'e2e on containerd 1.6', args: ['--test', '--test-concurrency=1', ...e2e(PINNED_TO_2_3)], env: { RX_CONTAINERD: '1.6' } },
  // The runs above take the launcher's first choice (bin/containerd-shim-rx-v2: Bun for the
  // actions, the packaged Node.js serving). Its fallback, every path on the node running this
  // (the machine's), gets the files that cover start, serve, delete and grouping. Its containerds
  // start at a soft RLIMIT_NOFILE of 1024, as under containerd 2.x's systemd unit, so these
  // paths also run runc through prlimit (src/sys/nofile.ts).
  {
    name: 'e2e on containerd 2.3, every shim path on the machine\'s node (the launcher\'s fallback), containerd at 1024 open files soft',
    args: ['--test', '--test-concurrency=1', ...FALLBACK_FILES.map((f) => `dist/test/e2e/${f}`)],
    env: { RX_CONTAINERD: '2.3', SHIM_RX_ACTION_RUNTIME: process.execPath, SHIM_RX_SERVE_RUNTIME: process.execPath, RX_CONTAINERD_NOFILE: '1024:' },
  },
];
const KEYS = ['tests', 'suites', 'pass', 'fail', 'cancelled', 'skipped', 'todo', 'duration_ms'];
// The summary lines of both reporters: tap's `# pass 3`, spec's `ℹ pass 3`.
const SUMMARY = new RegExp(`^(?:#|\u2139) (${KEYS.join('|')}) ([\\d.]+)$`);

function runOne(run) {
  return new Promise((resolve) => {
    const started = Date.now();
    const child = spawn(process.execPath, run.args, { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...run.env } });
    const totals = {};
    let partial = '';
    child.stdout.on('data', (d) => {
      process.stdout.write(d);
      const lines = (partial + d).split('\n');
      partial = lines.pop();
      for (const line of lines) {
        const m = SUMMARY.exec(line.trim());
        if (m) totals[m[1]] = Number(m[2]);
      }
    });
    child.once('close', (code, signal) => resolve({ ...run, code: code ?? 1, signal, totals, secs: (Date.now() - started) / 1000 }));
  });
}

const t0 = Date.now();
const results = [];
for (const run of runs) {
  console.log(`# ===== ${run.name}: ${Object.entries(run.env).map(([k, v]) => `${k}=${v} `).join('')}node ${run.args.join(' ')}`);
  results.push(await runOne(run));
}
const sum = Object.fromEntries(KEYS.map((k) => [k, results.reduce((n, r) => n + (r.totals[k] ?? 0), 0)]));
sum.duration_ms = Date.now() - t0;
const failed = results.filter((r) => r.code !== 0);
console.log('# ===== all runs');
for (const r of results) {
  const t = r.totals;
  console.log(`# ${r.name}: exit ${r.signal ?? r.code}, tests ${t.tests ?? '?'}, pass ${t.pass ?? '?'}, fail ${t.fail ?? '?'}, ${r.secs.toFixed(0)} s`);
}
// A run that died before its summary (or failed outside any test) still fails the whole.
if (failed.length && sum.fail === 0) sum.fail = failed.length;
for (const k of KEYS) console.log(`# ${k} ${sum[k]}`);
process.exitCode = failed.length ? 1 : 0;

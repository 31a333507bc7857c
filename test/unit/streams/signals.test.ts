import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { EventEmitter } from 'node:events';
import path from 'node:path';
import { createSignals$, SHIM_SIGNALS } from '../../../src/streams/signals$';

test('signals$ carries SIGUSR1 with the others, by name', () => {
  const src = new EventEmitter();
  const seen: string[] = [];
  const sub = createSignals$(src).subscribe((s) => seen.push(s));
  for (const s of ['SIGUSR1', 'SIGTERM', 'SIGUSR2']) src.emit(s);
  sub.unsubscribe();
  assert.deepEqual(seen, ['SIGUSR1', 'SIGTERM']);
  assert.ok(SHIM_SIGNALS.includes('SIGUSR1'));
});

test('a process holding signals$ lives through SIGUSR1 and sees it', () => {
  const mod = path.resolve(__dirname, '../../../src/streams/signals$');
  const script = `
    const { createSignals$ } = require(${JSON.stringify(mod)});
    const sub = createSignals$().subscribe((s) => { console.log(s); sub.unsubscribe(); });
    process.kill(process.pid, 'SIGUSR1');
    setTimeout(() => console.log('alive'), 200);
  `;
  assert.equal(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' }), 'SIGUSR1\nalive\n');
});

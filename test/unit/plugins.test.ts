import { test } from 'node:test';
import assert from 'node:assert/strict';
import { lastValueFrom, toArray } from 'rxjs';
import { dependencyOrder, pluginLoads$, PluginLoadError, SkipPlugin, type Registration } from '../../src/plugins';
import { silentLogger } from '../../src/log';

const reg = (type: string, id: string, requires: string[] = [], init: Registration['init'] = () => id): Registration => ({
  type,
  id,
  requires,
  init,
});

test('plugins load in dependency order: the task service after the publisher and shutdown it requires', async () => {
  const order: string[] = [];
  const regs = [
    reg('ttrpc', 'task', ['event', 'internal'], (loaded) => {
      order.push('task');
      assert.equal(loaded.get('event'), 'publisher', 'task sees the publisher loaded before it');
      return 'task';
    }),
    reg('event', 'publisher', [], () => (order.push('publisher'), 'publisher')),
    reg('internal', 'shutdown', [], () => (order.push('shutdown'), 'shutdown')),
  ];
  const results = await lastValueFrom(pluginLoads$(regs, silentLogger()).pipe(toArray()));
  assert.deepEqual(order, ['publisher', 'shutdown', 'task']);
  assert.deepEqual(results.map((r) => r.uri), ['event.publisher', 'internal.shutdown', 'ttrpc.task']);
});

test('dependency order is stable: plugins with no requirement between them keep registration order', () => {
  const regs = [reg('b', 'second', ['a']), reg('c', 'third'), reg('a', 'first')];
  assert.deepEqual(dependencyOrder(regs).map((r) => r.id), ['first', 'second', 'third']);
});

test('a plugin that asks to be skipped is reported as skipped and the rest still load', async () => {
  const regs = [reg('a', 'skipper', [], () => { throw new SkipPlugin('not on this platform'); }), reg('b', 'next')];
  const results = await lastValueFrom(pluginLoads$(regs, silentLogger()).pipe(toArray()));
  assert.deepEqual(results, [
    { uri: 'a.skipper', type: 'a', skipped: 'not on this platform' },
    { uri: 'b.next', type: 'b', instance: 'next' },
  ]);
});

test('a failed load stops start-up with the plugin name', async () => {
  const later = { loaded: false };
  const regs = [reg('a', 'broken', [], () => { throw new Error('boom'); }), reg('b', 'later', ['a'], () => (later.loaded = true))];
  await assert.rejects(lastValueFrom(pluginLoads$(regs, silentLogger())), (err: unknown) => {
    assert.ok(err instanceof PluginLoadError);
    assert.equal(err.plugin, 'a.broken');
    assert.match(err.message, /failed to load plugin a\.broken: boom/);
    return true;
  });
  assert.equal(later.loaded, false, 'nothing loads after a failure');
});

test('a requirement nobody provides, or a cycle, is refused before anything loads', () => {
  assert.throws(() => dependencyOrder([reg('a', 'x', ['missing'])]), /requires missing, which no plugin provides/);
  assert.throws(() => dependencyOrder([reg('a', 'x', ['b']), reg('b', 'y', ['a'])]), /dependency cycle/);
});

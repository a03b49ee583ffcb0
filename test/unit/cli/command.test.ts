// The CLI's flag parser (src/cli/commands/command.ts): values, repeats, switches that never take a value.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { parseFlags } from '../../../src/cli/commands/command.ts';
import { RlmeshError } from '../../../src/errors.ts';

test('flags take the next word or =value; repeats collect; other words are positional', () => {
  const { flags, positional } = parseFlags(['a.yaml', '--configs', 'x', '--configs=y', '--target', '0.5', 'b.yaml'], ['configs', 'target']);
  assert.deepEqual(flags, { configs: ['x', 'y'], target: '0.5' });
  assert.deepEqual(positional, ['a.yaml', 'b.yaml']);
  assert.deepEqual(parseFlags(['--target'], ['target']).flags, { target: true }, 'a flag with nothing after it is bare');
});

test('a switch never takes the next word: `serve --spawn-actors gateway` keeps gateway as the actor', () => {
  const { flags, positional } = parseFlags(['--spawn-actors', 'gateway', '--port', '0'], ['port'], ['spawn-actors']);
  assert.deepEqual(flags, { 'spawn-actors': true, port: '0' });
  assert.deepEqual(positional, ['gateway']);
  assert.deepEqual(parseFlags(['--json', 'a.yaml', 'b.yaml'], [], ['json']).positional, ['a.yaml', 'b.yaml']);
  assert.deepEqual(parseFlags(['--json', '--json'], [], ['json']).flags, { json: true }, 'a repeated switch is still on');
});

test('an unknown flag and a switch given a value are refused naming the flag', () => {
  const named = (field: string, re: RegExp) => (e: unknown) => e instanceof RlmeshError && e.field === field && re.test(e.message);
  assert.throws(() => parseFlags(['--jsn'], ['port'], ['json']), named('--jsn', /unknown flag; allowed: --port, --json/));
  assert.throws(() => parseFlags(['--json=yes'], [], ['json']), named('--json', /takes no value, got "yes"/));
});

import test from 'ava';
import { parseArgs, parseIntArg, UsageError } from '../../../src/cli/args.js';
import { splitCommandPath } from '../../../src/cli/main.js';
import { commands } from '../../../src/cli/commands/index.js';

const flags = {
  sector: { type: 'string', description: '' },
  json: { type: 'boolean', description: '' },
  tag: { type: 'string', description: '', repeated: true },
} as const;

test('parses --flag value, --flag=value, booleans, repeated flags and positionals', (t) => {
  const r = parseArgs(['--sector', '3', 'a.car', '--json', '--tag=x', '--tag', 'y'], flags, [{ name: 'FILE' }]);
  t.is(r.flags.sector, '3');
  t.true(r.flags.json);
  t.deepEqual(r.flags.tag, ['x', 'y']);
  t.is(r.positionals.FILE, 'a.car');
  t.false(r.help);
});

test('treats everything after -- as positional', (t) => {
  const r = parseArgs(['--', '--json'], flags, [{ name: 'FILE' }]);
  t.is(r.positionals.FILE, '--json');
  t.false(r.flags.json);
});

test('rejects an unknown flag naming it', (t) => {
  const err = t.throws(() => parseArgs(['--sectr', '3'], flags, []), { instanceOf: UsageError });
  t.regex(err!.message, /--sectr/);
});

test('rejects a missing flag value, a valued switch and a repeated single flag', (t) => {
  t.throws(() => parseArgs(['--sector'], flags, []), { message: /--sector needs a value/ });
  t.throws(() => parseArgs(['--json=yes'], flags, []), { message: /switch/ });
  t.throws(() => parseArgs(['--sector', '1', '--sector', '2'], flags, []), { message: /more than once/ });
});

test('rejects missing and extra positionals, but not when --help is asked', (t) => {
  t.throws(() => parseArgs([], flags, [{ name: 'FILE' }]), { message: /missing argument FILE/ });
  t.throws(() => parseArgs(['a', 'b'], flags, [{ name: 'FILE' }]), { message: /unexpected argument "b"/ });
  t.true(parseArgs(['--help'], flags, [{ name: 'FILE' }]).help);
});

test('collects a variadic positional into rest', (t) => {
  const r = parseArgs(['a:1', 'b:2'], flags, [{ name: 'PIECES', variadic: true, required: false }]);
  t.deepEqual(r.rest, ['a:1', 'b:2']);
});

test('parses integer arguments and names the bad one', (t) => {
  t.is(parseIntArg('42', 'SECTOR'), 42);
  t.throws(() => parseIntArg('-1', 'SECTOR'), { message: /SECTOR must be a non-negative integer/ });
  t.throws(() => parseIntArg('1e3', 'OFFSET'), { message: /OFFSET/ });
});

test('finds the command path among flags placed before it', (t) => {
  t.deepEqual(splitCommandPath(['--repo', '/r', 'pieces', 'add', 'f'], commands), { path: ['pieces', 'add'], rest: ['--repo', '/r', 'f'] });
  t.deepEqual(splitCommandPath(['sectors', 'status', '3', '--json'], commands).path, ['sectors', 'status']);
});

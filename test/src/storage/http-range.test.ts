/**
 * The shared `Range` header parser against a table of inputs: each RFC 9110 §14.1 form, the
 * clamps, what is unsatisfiable (416) and what is malformed, and the outcomes each server maps.
 */
import test from 'ava';
import { parseRangeHeader, type RangeRequest, unsatisfiedRange } from '../../../src/storage/http-range.js';

const SIZE = 100;
const table: [string | undefined, number, RangeRequest['kind'], Partial<Record<string, unknown>>?][] = [
  [undefined, SIZE, 'absent'],
  ['bytes=0-0', SIZE, 'range', { start: 0, end: 0 }],
  ['bytes=0-99', SIZE, 'range', { start: 0, end: 99 }],
  ['bytes=10-', SIZE, 'range', { start: 10, end: 99 }],
  ['bytes=90-500', SIZE, 'range', { start: 90, end: 99 }],
  ['bytes=99-99999999999999999999999', SIZE, 'range', { start: 99, end: 99 }],
  ['bytes=-30', SIZE, 'range', { start: 70, end: 99 }],
  ['bytes=-300', SIZE, 'range', { start: 0, end: 99 }],
  ['Bytes = 5-6', SIZE, 'range', { start: 5, end: 6 }],
  ['bytes= 5 - 6 ', SIZE, 'range', { start: 5, end: 6 }],
  ['bytes=5-6,', SIZE, 'range', { start: 5, end: 6 }],
  ['bytes=200-300, 5-6', SIZE, 'range', { start: 5, end: 6 }],
  ['bytes=0-5, 10-20', SIZE, 'multiple', { ranges: [{ start: 0, end: 5 }, { start: 10, end: 20 }] }],
  ['bytes=-1,0-0', SIZE, 'multiple', { ranges: [{ start: 99, end: 99 }, { start: 0, end: 0 }] }],
  ['bytes=100-', SIZE, 'unsatisfiable'],
  ['bytes=100-200', SIZE, 'unsatisfiable'],
  ['bytes=99999999999999999999999-', SIZE, 'unsatisfiable'],
  ['bytes=-0', SIZE, 'unsatisfiable'],
  ['bytes=0-', 0, 'unsatisfiable'],
  ['bytes=-5', 0, 'unsatisfiable'],
  ['bytes=200-, 300-400', SIZE, 'unsatisfiable'],
  ['bytes=9-3', SIZE, 'malformed'],
  ['bytes=1-2-3', SIZE, 'malformed'],
  ['bytes=-', SIZE, 'malformed'],
  ['bytes=abc', SIZE, 'malformed'],
  ['bytes=-5x', SIZE, 'malformed'],
  ['bytes=+5-6', SIZE, 'malformed'],
  ['bytes=', SIZE, 'malformed'],
  ['bytes=,', SIZE, 'malformed'],
  ['bytes=0-5, x', SIZE, 'malformed'],
  ['bytes', SIZE, 'malformed'],
  ['nonsense', SIZE, 'malformed'],
  ['items=0-5', SIZE, 'other-unit', { unit: 'items' }],
];

for (const [header, size, kind, fields] of table) {
  test(`Range ${JSON.stringify(header)} of ${size} bytes is ${kind}${fields ? ` ${JSON.stringify(fields)}` : ''}`, (t) => {
    const got = parseRangeHeader(header, size);
    t.is(got.kind, kind);
    if (fields) t.like(got, fields);
  });
}

test('a malformed range names what is wrong with it', (t) => {
  t.like(parseRangeHeader('bytes=9-3', SIZE), { kind: 'malformed', reason: '"9-3" ends before it starts' });
  t.like(parseRangeHeader('bytes=abc', SIZE), { kind: 'malformed', reason: '"abc" is not first-last, first- or -suffix' });
  t.like(parseRangeHeader('bytes', SIZE), { kind: 'malformed', reason: 'no "=" between the unit and the ranges' });
});

test('the Content-Range of a 416 gives the size and no range', (t) => {
  t.is(unsatisfiedRange(10_000), 'bytes */10000');
});

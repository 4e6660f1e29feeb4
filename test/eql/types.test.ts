import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import type { FieldTypeMap } from '../../src/eql/types.js';
import type { EventRecord, RuleMatch } from '../../src/engine/events.js';
import { QueryEvaluator } from '../../src/engine/evaluator.js';
import { MappingFileError } from '../../src/errors.js';
import { fieldTypesFromDocument } from '../../src/eql/mapping-types.js';

const TYPES: FieldTypeMap = new Map([
  ['@timestamp', { type: 'date' }],
  ['t', { type: 'date_nanos' }],
  ['v', { type: 'version' }],
  ['ip', { type: 'ip' }],
  ['n', { type: 'long' }],
  ['s', { type: 'keyword', nullValue: 'NULL' }],
  ['k', { type: 'keyword' }],
]);

function accepts(cond: string, doc: Record<string, unknown>, types: FieldTypeMap | null = TYPES): boolean {
  const q = compileEql(`process where ${cond}`, { fieldTypes: types ?? undefined });
  if (q.kind !== 'event') throw new Error('not an event query');
  return q.stage.matches({ event: { category: 'process' }, ...doc });
}

// Comparisons by the mapping's type, as Elasticsearch compares (date, version, ip, null_value).
const cases: [string, Record<string, unknown>, boolean][] = [
  ['@timestamp == "2017-08-30T20:47:33Z"', { '@timestamp': '2017-08-30T20:47:33.000Z' }, true],
  ['@timestamp == "2017-08-30T20:47:33Z"', { '@timestamp': 1504126053000 }, true],
  ['@timestamp == "2017-08-30T20:47:33Z"', { '@timestamp': '2017-08-30T22:47:33+02:00' }, true],
  ['@timestamp != "2017-08-30T20:47:33Z"', { '@timestamp': '2017-08-30T20:47:34Z' }, true],
  ['@timestamp < "2017-08-30T20:47:33.5Z"', { '@timestamp': '2017-08-30T20:47:33Z' }, true],
  ['@timestamp >= "2017-08-31"', { '@timestamp': '2017-08-30T23:59:59Z' }, false],
  ['@timestamp == 1504126053000', { '@timestamp': '2017-08-30T20:47:33Z' }, true],
  ['t > "2017-08-30T20:47:33.000000001Z"', { t: '1504126053000.000002' }, true],
  ['v > "1.9.0"', { v: '1.10.0' }, true],
  ['v < "1.9.0"', { v: '1.10.0' }, false],
  ['v < "1.0.0"', { v: '1.0.0-alpha' }, true],
  ['v in ("2.0.0", "1.10.0")', { v: '1.10.0' }, true],
  ['ip == "10.0.0.1"', { ip: '::ffff:10.0.0.1' }, true],
  ['ip == "2001:db8::1"', { ip: '2001:DB8:0:0:0:0:0:1' }, true],
  ['ip < "10.0.0.10"', { ip: '10.0.0.9' }, true],
  ['ip in ("10.0.0.1", "10.0.0.2")', { ip: '::ffff:10.0.0.2' }, true],
  ['ip : "10.0.0.1"', { ip: '::FFFF:10.0.0.1' }, true],
  ['ip : ("10.0.0.9", "::1")', { ip: '0:0:0:0:0:0:0:1' }, true],
  ['@timestamp : "2017-08-30T20:47:33Z"', { '@timestamp': 1504126053000 }, true],
  ['v : "1.10.0"', { v: '1.10.0' }, true],
  ['v : "1.1*"', { v: '1.10.0' }, true], // a wildcard: matched on the text, as before
  ['s == "NULL"', { s: null }, true],
  ['s == "NULL"', {}, false],
  ['s == null', { s: null }, false],
  ['s != null', { s: null }, true],
  ['n == 5', { n: '5' }, true],
  // A literal that is not a value of the type is compared as before (no error at execution).
  ['ip == "not an ip"', { ip: 'not an ip' }, true],
];

describe('typed comparisons from the mapping', () => {
  for (const [cond, doc, expected] of cases) {
    test(`${cond} on ${JSON.stringify(doc)} is ${expected}`, () => {
      assert.equal(accepts(cond, doc), expected);
    });
  }

  test('without types, values compare by their JSON type (what test-rule does without --mapping)', () => {
    assert.equal(accepts('@timestamp == "2017-08-30T20:47:33Z"', { '@timestamp': '2017-08-30T20:47:33.000Z' }, null), false);
    assert.equal(accepts('v > "1.9.0"', { v: '1.10.0' }, null), false);
    assert.equal(accepts('ip == "10.0.0.1"', { ip: '::ffff:10.0.0.1' }, null), false);
  });

  test('join keys are normalised by type: two formats of one date, of one address, a number and its string join', () => {
    const run = (q: string, events: EventRecord[]) => {
      const out: RuleMatch[] = [];
      const e = new QueryEvaluator(compileEql(q, { fieldTypes: TYPES }), (m) => out.push(m));
      for (const x of events) e.push(x);
      e.flush();
      return out.map((m) => [m.events.map((x) => x.id), m.joinKeys]);
    };
    const ev = (id: string, ts: number, source: Record<string, unknown>): EventRecord => ({ index: 'i', id, timestamp: ts, source });
    assert.deepEqual(run('sequence by t [a where true] [b where true]', [
      ev('a', 1, { event: { category: 'a' }, t: '2017-08-30T20:47:33Z' }), ev('b', 2, { event: { category: 'b' }, t: 1504126053000 }),
    ]), [[['a', 'b'], ['1504126053000']]]);
    assert.deepEqual(run('sequence by ip [a where true] [b where true]', [
      ev('a', 1, { event: { category: 'a' }, ip: '::ffff:10.0.0.1' }), ev('b', 2, { event: { category: 'b' }, ip: '10.0.0.1' }),
    ]), [[['a', 'b'], ['10.0.0.1']]]);
    assert.deepEqual(run('sample by n [a where true] [b where true]', [
      ev('a', 1, { event: { category: 'a' }, n: '7' }), ev('b', 2, { event: { category: 'b' }, n: 7 }),
    ]), [[['a', 'b'], [7]]]);
    assert.deepEqual(run('sequence by k [a where true] [b where true]', [
      ev('a', 1, { event: { category: 'a' }, k: 7 }), ev('b', 2, { event: { category: 'b' }, k: '7' }),
    ]), [[['a', 'b'], ['7']]]);
  });
});

describe('field types from a mapping file', () => {
  test('GET _mapping output: objects, multi-fields, aliases, null_value; conflicting indices drop the type', () => {
    const types = fieldTypesFromDocument({
      'logs-a': { mappings: { properties: {
        '@timestamp': { type: 'date' },
        host: { properties: { ip: { type: 'ip' }, name: { type: 'text', fields: { keyword: { type: 'keyword', null_value: 'none' } } } } },
        event: { properties: { category: { type: 'alias', path: 'event_type' } } },
        event_type: { type: 'keyword' },
        x: { type: 'long' },
      } } },
      'logs-b': { mappings: { properties: { x: { type: 'keyword' }, v: { type: 'version' } } } },
    }, 'm.json');
    assert.deepEqual(Object.fromEntries(types), {
      '@timestamp': { type: 'date' }, 'host.ip': { type: 'ip' }, 'host.name': { type: 'text' },
      'host.name.keyword': { type: 'keyword', nullValue: 'none' }, event_type: { type: 'keyword' },
      'event.category': { type: 'keyword' }, v: { type: 'version' },
    });
  });

  test('{"mappings": ...}, {"properties": ...} and a _field_caps response', () => {
    assert.deepEqual(Object.fromEntries(fieldTypesFromDocument({ mappings: { properties: { a: { type: 'ip' } } } }, 'm')), { a: { type: 'ip' } });
    assert.deepEqual(Object.fromEntries(fieldTypesFromDocument({ properties: { a: { type: 'date_nanos' } } }, 'm')), { a: { type: 'date_nanos' } });
    const caps = { indices: ['a', 'b'], fields: { ip: { ip: { type: 'ip' } }, x: { long: { type: 'long' }, keyword: { type: 'keyword' } }, y: { version: { type: 'version' }, unmapped: { type: 'unmapped' } } } };
    assert.deepEqual(Object.fromEntries(fieldTypesFromDocument(caps, 'm')), { ip: { type: 'ip' }, y: { type: 'version' } });
  });

  test('date formats: read from the mapping, added up across indices; a format Lookout cannot read is refused by name', () => {
    const types = fieldTypesFromDocument({
      a: { mappings: { properties: { d: { type: 'date', format: 'dd-MM-yyyy' } } } },
      b: { mappings: { properties: { d: { type: 'date', format: 'yyyy-MM-dd||epoch_millis' } } } },
    }, 'm.json');
    assert.deepEqual(types.get('d'), { type: 'date', format: 'dd-MM-yyyy||yyyy-MM-dd||epoch_millis' });
    const q = compileEql('process where d == "17-12-2022"', { fieldTypes: types });
    if (q.kind !== 'event') throw new Error('not an event query');
    for (const d of ['17-12-2022', '2022-12-17', 1671235200000]) assert.equal(q.stage.matches({ event: { category: 'process' }, d }), true, String(d));
    assert.equal(q.stage.matches({ event: { category: 'process' }, d: '2022-12-18' }), false);
    assert.throws(() => fieldTypesFromDocument({ properties: { d: { type: 'date', format: 'EEE, dd MMM yyyy' } } }, 'm.json'),
      /m\.json: field d: date format "EEE, dd MMM yyyy" is not one Lookout reads/);
  });

  test('a document that is not a mapping is refused naming the file and field', () => {
    assert.throws(() => fieldTypesFromDocument([1], 'm.json'), (e: unknown) => e instanceof MappingFileError && /^m\.json: expected a JSON object/.test(e.message));
    assert.throws(() => fieldTypesFromDocument({ foo: 1 }, 'm.json'), /m\.json: no "properties" found/);
    assert.throws(() => fieldTypesFromDocument({ properties: { a: 3 } }, 'm.json'), /m\.json: field a: expected an object/);
    assert.throws(() => fieldTypesFromDocument({ properties: { a: { type: 'alias' } } }, 'm.json'), /field a: an alias needs a "path"/);
  });
});

import assert from 'node:assert/strict';
import { mkdtemp, readdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Readable } from 'node:stream';
import { describe, test } from 'node:test';
import { gzipSync } from 'node:zlib';
import { generateDataset } from '../../src/demo/generate.js';
import { readEvents } from '../../src/cli/events-file.js';
import { OutOfOrderError } from '../../src/errors.js';
import { runCli } from '../helpers/cli.js';
import { shippedRule, SHIPPED_RULE_FILE } from '../helpers/rules.js';

const NOW = '2026-11-25T00:00:00Z';

async function dataset(seed: number) {
  const dir = await mkdtemp(join(tmpdir(), 'lookout-in-'));
  const data = generateDataset({ seed, start: 0, end: 3_600_000, noiseEvents: 1500, attacks: 7, hosts: 20 });
  // In time order, as a sorted export gives them (the generator does not order them).
  const events = [...data.events].sort((a, b) => Date.parse(String(a.source['@timestamp'])) - Date.parse(String(b.source['@timestamp'])));
  const lines = events.map((e) => JSON.stringify({ _index: e.index, _id: e.id, _source: e.source }));
  return { dir, data, lines };
}

function ids(stdout: string): string[] {
  return stdout.trim().split('\n').filter(Boolean).map((l) => JSON.parse(l)._id).sort();
}

/** A fixed permutation (seeded), so the shuffled file is the same on every run. */
function shuffled<T>(items: readonly T[], seed: number): T[] {
  const out = [...items];
  let s = seed;
  for (let i = out.length - 1; i > 0; i--) {
    s = (s * 1103515245 + 12345) % 2147483648;
    const j = s % (i + 1);
    [out[i], out[j]] = [out[j], out[i]];
  }
  return out;
}

describe('test-rule input: files, gzip, standard input, order', () => {
  test('a gzip file and standard input give the same alerts as the plain file', async () => {
    const { dir, data, lines } = await dataset(21);
    const plain = join(dir, 'events.ndjson');
    const gz = join(dir, 'events.ndjson.gz');
    await writeFile(plain, lines.join('\n') + '\n');
    await writeFile(gz, gzipSync(lines.join('\n') + '\n'));
    const a = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', plain, '--now', NOW]);
    const b = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', gz, '--now', NOW]);
    const c = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', '-', '--now', NOW], {}, lines.join('\n'));
    for (const r of [a, b, c]) {
      assert.equal(r.code, 0, r.stderr);
      assert.doesNotMatch(r.stderr, /not in time order/);
    }
    assert.equal(ids(a.stdout).length, data.attacks.length);
    assert.deepEqual(ids(b.stdout), ids(a.stdout));
    assert.deepEqual(ids(c.stdout), ids(a.stdout));
    const m = /(\d+) event\(s\), 7 match\(es\), 7 alert\(s\); (\d+) line\(s\) passed over unparsed/.exec(b.stderr);
    assert.ok(m, b.stderr);
    assert.equal(Number(m[1]) + Number(m[2]), lines.length);
  });

  test('a file out of time order is sorted (said on stderr) and gives the sorted file\'s alerts', async () => {
    const { dir, lines } = await dataset(22);
    const sortedFile = join(dir, 'sorted.ndjson');
    const mixed = join(dir, 'mixed.ndjson');
    await writeFile(sortedFile, lines.join('\n'));
    await writeFile(mixed, ['not json', ...shuffled(lines, 7)].join('\n'));
    const a = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', sortedFile, '--now', NOW]);
    const b = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', mixed, '--now', NOW, '--parse-all']);
    assert.equal(b.code, 0, b.stderr);
    assert.match(b.stderr, /mixed\.ndjson:\d+: event at .* comes after one at .*: the input is not in time order; reading it again through an external sort/);
    assert.deepEqual(ids(b.stdout), ids(a.stdout));
    // The bad line is reported once, though the file is read twice.
    assert.equal(b.stderr.match(/mixed\.ndjson:1: not JSON/g)?.length, 1, b.stderr);
    assert.match(b.stderr, /; 1 line\(s\) skipped/);
  });

  test('lines passed over unparsed change nothing: the same alerts as --parse-all, for the EQL and the Sigma rule', async () => {
    const { dir, lines } = await dataset(24);
    // Sigma reconnaissance events in Winlogbeat's layout among the ECS ones: 31 computers.
    const sigma = Array.from({ length: 31 }, (_, i) => JSON.stringify({ _index: 'winlogbeat-2026.11.25', _id: `w${i}`,
      _source: { '@timestamp': new Date(1_800_000 + i * 10_000).toISOString(), winlog: { channel: 'Security', event_id: 4688, computer_name: `WS${i}`, event_data: { NewProcessName: 'C:\\Windows\\System32\\wsmprovhost.exe', TargetUserName: 'alice' } } } }));
    const file = join(dir, 'all.ndjson');
    // Some values spelled with JSON escapes (still the same strings): those lines must be parsed.
    const escaped = lines.map((l) => l.replace('winrshost.exe', 'winrshost\\u002eexe').replace('"ingress"', '"ingr\\u0065ss"'));
    assert.ok(escaped.some((l, i) => l !== lines[i]));
    await writeFile(file, [...escaped, ...sigma].sort((a, b) => Date.parse(JSON.parse(a)._source['@timestamp']) - Date.parse(JSON.parse(b)._source['@timestamp'])).join('\n'));
    const sigmaRule = SHIPPED_RULE_FILE.replace('windows/lateral_movement_incoming_winrm_shell_execution.toml', 'sigma/win_security_winrm_listening_service_reconnaissance.yml');
    // A Sigma rule's query also reads the indices none of its pipelines covers (to report their
    // events), so it asks nothing of a line's text: every line is parsed.
    for (const [rule, alerts, passesOver] of [[SHIPPED_RULE_FILE, 7, true], [sigmaRule, 1, false]] as const) {
      const fast = await runCli(['test-rule', rule, '--events', file, '--now', NOW]);
      const all = await runCli(['test-rule', rule, '--events', file, '--now', NOW, '--parse-all']);
      assert.equal(fast.code, 0, fast.stderr);
      assert.equal(fast.stdout, all.stdout);
      assert.equal(ids(fast.stdout).length, alerts);
      assert.equal(/line\(s\) passed over unparsed/.test(fast.stderr), passesOver, fast.stderr);
    }
  });

  test('standard input out of order is refused with the fix', async () => {
    const { lines } = await dataset(23);
    const r = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', '-'], {}, shuffled(lines, 3).join('\n'));
    assert.equal(r.code, 1);
    assert.match(r.stderr, /lookout: -:\d+: event at .* the input is not in time order; standard input can be read only once: write it to a file and pass the file/);
    assert.doesNotMatch(r.stderr, /unexpected error/);
  });

  test('a missing file and a broken gzip file are named errors, not unexpected ones', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-in-'));
    const missing = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', join(dir, 'nope.ndjson')]);
    assert.equal(missing.code, 1);
    assert.match(missing.stderr, /lookout: cannot read --events .*nope\.ndjson: ENOENT/);
    const broken = join(dir, 'broken.gz');
    await writeFile(broken, Buffer.concat([gzipSync('{"@timestamp": "2026-01-01T00:00:00Z"}\n'.repeat(50)).subarray(0, 30), Buffer.from('garbage')]));
    const r = await runCli(['test-rule', SHIPPED_RULE_FILE, '--events', broken]);
    assert.equal(r.code, 1);
    assert.match(r.stderr, /lookout: cannot read the events input: /);
    assert.doesNotMatch(r.stderr, /unexpected error/);
  });

  test('the external sort spills runs and merges them in (timestamp, line) order, ties in file order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'lookout-in-'));
    const file = join(dir, 'ties.ndjson');
    // 1,000 events over 37 distinct timestamps, in a scrambled order: many ties across runs.
    const events = shuffled(Array.from({ length: 1000 }, (_, i) => i), 11).map((i) => ({ '@timestamp': new Date(Date.UTC(2026, 0, 1) + (i % 37) * 1000).toISOString(), n: i }));
    await writeFile(file, events.map((e) => JSON.stringify(e)).join('\n'));
    const rule = await shippedRule();
    const expected = events.map((e, i) => ({ ts: Date.parse(e['@timestamp']), line: i + 1 })).sort((a, b) => a.ts - b.ts || a.line - b.line).map((e) => `line-${e.line}`);
    await assert.rejects(async () => {
      for await (const page of readEvents(file, rule, { includes: ['*'], onProblem: assert.fail })) void page;
    }, OutOfOrderError);
    const before = await readdir(tmpdir());
    const got: string[] = [];
    let pages = 0;
    for await (const page of readEvents(file, rule, { includes: ['*'], onProblem: assert.fail, sort: true, runSize: 64, pageSize: 100 })) {
      pages++;
      assert.ok(page.length <= 100);
      got.push(...page.map((e) => e.id));
    }
    assert.deepEqual(got, expected);
    assert.equal(pages, 10);
    // The temporary runs are gone.
    assert.deepEqual((await readdir(tmpdir())).filter((f) => f.startsWith('lookout-sort-') && !before.includes(f)), []);
  });

  test('lines split across chunks anywhere, inside a UTF-8 character too, read as from one chunk', async () => {
    const rule = await shippedRule();
    const docs = ['Straße ✓ 日本', 'plain', 'a\u00e9b', 'x'.repeat(300), '€'];
    const text = docs.map((s, i) => JSON.stringify({ '@timestamp': new Date(Date.UTC(2026, 0, 1) + i * 1000).toISOString(), s })).join('\n\n').replace('aéb', 'a\\u00e9b') + '\n{"@timestamp":"2026-01-01T00:01:00Z","s":"last, no newline"}';
    const bytes = Buffer.from(text, 'utf8');
    const read = async (chunks: Buffer[]) => {
      const out: unknown[] = [];
      for await (const page of readEvents('-', rule, { includes: ['*'], onProblem: assert.fail, stdin: Readable.from(chunks) })) out.push(...page.map((e) => [e.id, e.source]));
      return out;
    };
    const whole = await read([bytes]);
    assert.equal(whole.length, docs.length + 1);
    assert.deepEqual((whole[0] as [string, { s: string }])[1].s, docs[0]);
    for (const size of [1, 2, 3, 7, 64]) {
      const chunks = Array.from({ length: Math.ceil(bytes.length / size) }, (_, i) => bytes.subarray(i * size, (i + 1) * size));
      assert.deepEqual(await read(chunks), whole, `chunks of ${size} bytes`);
    }
  });
});

/**
 * Routing in a shared read: each event reaches only the rules with a stage for its category, and
 * among those only the rules that can use it (guards: each stage's conjuncts, shared by key).
 */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import fc from 'fast-check';
import { compileEql, type CompiledEql } from '../../src/eql/compile.js';
import { EventRouter } from '../../src/engine/route.js';
import type { EventGuard, StreamedQuery } from '../../src/rules/language.js';
import type { Rule } from '../../src/rules/model.js';
import { shippedRule } from '../helpers/rules.js';

describe('event routing', () => {
  test('by category, with `any` stages and other category fields', async () => {
    const base = await shippedRule();
    const rule = (ruleId: string, query: string, categoryField?: string): Rule =>
      ({ ...base, ruleId, query, compiled: compileEql(query, { categoryField }) });
    const rules = [
      rule('seq', 'sequence by host.id [network where true] [process where true]'),
      rule('proc', 'process where true'),
      rule('any', 'any where true'),
      rule('file-until', 'sequence by host.id [file where true] [file where true] until [process where true]'),
      rule('custom', 'process where true', 'custom.kind'),
    ];
    const router = new EventRouter(rules.map((r) => ({ target: r.ruleId, rule: r })));
    const to = (doc: unknown) => [...router.route(doc)].sort();
    assert.deepEqual(to({ event: { category: ['network'] } }), ['any', 'seq']);
    assert.deepEqual(to({ event: { category: 'process' } }), ['any', 'file-until', 'proc', 'seq']);
    assert.deepEqual(to({ event: { category: ['file'] } }), ['any', 'file-until']);
    assert.deepEqual(to({ event: { category: ['registry'] } }), ['any']);
    assert.deepEqual(to({}), ['any']);
    assert.deepEqual(to({ event: { category: ['network', 'file'] } }), ['any', 'file-until', 'seq']);
    assert.deepEqual(to({ event: { category: ['registry'] }, custom: { kind: 'process' } }), ['any', 'custom']);
  });

  test('a rule takes an event only if one of its stages (until, missing ones included) can match it', async () => {
    const base = await shippedRule();
    const queries: Record<string, string> = {
      winrm: base.query,
      linux: 'process where host.os.type == "linux" and event.type == "start" and process.name in ("sh", "bash")',
      windows: 'process where host.os.type == "windows" and event.type == "start" and process.name : ("cmd.exe", "pwsh*")',
      either: 'process where host.os.type == "windows" and (process.name : "cmd.exe" or process.parent.name : "*.exe")',
      negated: 'network where not host.os.type == "linux" and destination.port in (5985, 5986)',
      until: 'sequence by host.id [network where destination.port == 22] [network where destination.port == 23] until [process where process.name == "sh"]',
      missing: 'sequence by host.id with maxspan=1m [process where process.name == "a"] ![network where destination.port == 5985] [process where process.name == "b"]',
      any: 'any where host.os.type == "linux"',
      fn: 'process where length(process.name) > 6 and startsWith~(process.name, "CMD")',
      // Literal guards, decided per field in one lookup (route.ts): case, arrays, numbers, dotted keys.
      exactName: 'process where process.name == "cmd.exe" and process.parent.name == "init"',
      foldedName: 'process where process.name : ("CMD.EXE", "sh") and process.parent.name like~ "WINRSHOST.exe"',
      inFolded: 'process where process.name in~ ("Bash", "\u0130x") and host.os.type in ("linux", "windows")',
      likeName: 'process where process.name like "CMD.EXE" and process.parent.name : "init"',
      numberText: 'process where process.name == "4" and event.type : "START"',
    };
    const rules = Object.entries(queries).map(([ruleId, query]): Rule => ({ ...base, ruleId, query, compiled: compileEql(query) }));
    const router = new EventRouter(rules.map((r) => ({ target: r.ruleId, rule: r })));
    const stagesOf = (q: CompiledEql) => (q.kind === 'event' ? [q.stage] : q.kind === 'sample' ? q.stages : [...q.stages, ...(q.until ? [q.until] : [])]);
    const doc = fc.record({
      event: fc.record({ category: fc.constantFrom('process', 'network', ['network', 'process'], 'file'), type: fc.constantFrom('start', ['start', 'end'], 'end') }),
      host: fc.record({ os: fc.record({ type: fc.constantFrom('linux', 'windows', 'macos') }), id: fc.constantFrom('h1', 'h2') }),
      process: fc.record({
        pid: fc.constantFrom(4, 8),
        name: fc.constantFrom('sh', 'bash', 'BASH', 'cmd.exe', 'CMD.EXE', 'Cmd.exe', 'pwsh.exe', 'a', 'b', 'winrm.exe', 4, '4', ['x', 'cmd.exe'], [4, 'sh'], '\u0130x', 'i\u0307x', '\u0130X'),
        parent: fc.record({ name: fc.constantFrom('winrshost.exe', 'explorer.exe', 'init') }, { requiredKeys: [] }),
        executable: fc.constantFrom('C:\\Windows\\System32\\conhost.exe', 'C:\\x.exe'),
      }, { requiredKeys: ['name'] }),
      destination: fc.record({ port: fc.constantFrom(22, 23, 5985, 5986, 443) }),
      network: fc.record({ direction: fc.constantFrom('ingress', 'egress') }),
      source: fc.record({ ip: fc.constantFrom('10.0.0.1', '127.0.0.1') }),
      'process.parent.name': fc.constantFrom('init', 'WinRSHost.exe'),
    }, { requiredKeys: ['event'] });
    fc.assert(fc.property(doc, (d) => {
      const expected = rules.filter((r) => stagesOf(r.compiled as CompiledEql).some((s) => s.matches(d))).map((r) => r.ruleId).sort();
      assert.deepEqual([...router.route(d)].sort(), expected);
    }), { numRuns: 3000 });
  });

  test('a guard shared by rules runs once per event; a guard that throws lets the event through', async () => {
    const base = await shippedRule();
    let calls = 0;
    const shared: EventGuard = { key: 'shared', test: () => (calls++, false) };
    const boom: EventGuard = { key: 'boom', test: () => { throw new Error('strange document'); } };
    const withGuards = (ruleId: string, guards: EventGuard[][]): Rule =>
      ({ ...base, ruleId, compiled: { ...(base.compiled as StreamedQuery), routing: null, guards } });
    const router = new EventRouter([
      withGuards('a', [[shared]]), withGuards('b', [[boom, shared], [shared]]), withGuards('c', [[boom]]), withGuards('d', []),
    ].map((r) => ({ target: r.ruleId, rule: r })));
    assert.deepEqual(router.route({}), ['c']);
    assert.equal(calls, 1);
    assert.deepEqual(router.route({}), ['c']);
    assert.equal(calls, 2);
  });
});

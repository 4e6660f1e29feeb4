/** Routing in a shared read: each event reaches only the rules with a stage for its category. */
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { compileEql } from '../../src/eql/compile.js';
import { EventRouter } from '../../src/engine/route.js';
import type { Rule } from '../../src/rules/model.js';
import { shippedRule } from '../helpers/rules.js';

describe('event routing', () => {
  test('by category, with `any` stages and other category fields', async () => {
    const base = await shippedRule();
    const rule = (ruleId: string, query: string, categoryField?: string): Rule =>
      ({ ...base, ruleId, query, compiled: compileEql(query, { categoryField }) });
    const rules = [
      base, // network then process
      rule('proc', 'process where process.name == "cmd.exe"'),
      rule('any', 'any where host.id == "x"'),
      rule('file-until', 'sequence by host.id [file where true] [file where true] until [process where true]'),
      rule('custom', 'process where true', 'custom.kind'),
    ];
    const router = new EventRouter(rules.map((r) => ({ target: r.ruleId, rule: r })));
    const to = (doc: unknown) => [...router.route(doc)].sort();
    assert.deepEqual(to({ event: { category: ['network'] } }), ['any', base.ruleId].sort());
    assert.deepEqual(to({ event: { category: 'process' } }), ['any', base.ruleId, 'file-until', 'proc'].sort());
    assert.deepEqual(to({ event: { category: ['file'] } }), ['any', 'file-until']);
    assert.deepEqual(to({ event: { category: ['registry'] } }), ['any']);
    assert.deepEqual(to({}), ['any']);
    assert.deepEqual(to({ event: { category: ['network', 'file'] } }), ['any', base.ruleId, 'file-until'].sort());
    assert.deepEqual(to({ event: { category: ['registry'] }, custom: { kind: 'process' } }), ['any', 'custom']);
  });
});

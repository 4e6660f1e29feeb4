/**
 * STATS and INLINE STATS: aggregate calls become slots evaluated per group; the aggregate
 * expressions (`SUM(x) / COUNT(*)`) are evaluated over the slots when the group is emitted. A row
 * whose BY key is multi-valued goes into the group of each value. At most `maxGroups` groups.
 */
import { EsqlRuntimeError } from '../errors.js';
import { AGGREGATES, type Accumulator } from './aggregates.js';
import type { Call, Command, Field } from './ast.js';
import type { Evaluator } from './expressions.js';
import { key } from './functions.js';
import { type BuildContext, type Operator, verification } from './operators.js';
import { type Row, type Scalar, toList, type Value } from './values.js';

interface Slot {
  readonly name: string;
  readonly fn: (typeof AGGREGATES)[string];
  readonly args: Evaluator[];
  readonly constants: Value[];
  readonly filter?: Evaluator;
}

export function buildStats(c: Extract<Command, { kind: 'stats' }>, build: BuildContext): Operator {
  const { compiler, source, lines, doubles, bounds } = build;
  const slots: Slot[] = [];
  const inner = compiler();
  let currentFilter: Evaluator | undefined;
  const slotFor = (call: Call): string => {
    const fn = AGGREGATES[call.name];
    if (call.star && !fn.star) throw verification(lines, call.start, `${call.name}(*) is not allowed`);
    const n = call.star ? 0 : call.args.length;
    if (n < fn.min || n > fn.max) throw verification(lines, call.start, `${call.name} takes ${fn.min === fn.max ? fn.min : `${fn.min} to ${fn.max}`} arguments, got ${n}`);
    const constants = call.args.map((a) => (a.kind === 'literal' && !Array.isArray(a.value) ? (a.value as Value) : null));
    if (call.name === 'TOP' && (constants[1] === null || constants[2] === null)) throw verification(lines, call.start, 'TOP needs a constant limit and order');
    for (const a of call.args) {
      if (a.kind === 'call' && AGGREGATES[a.name]) throw verification(lines, a.start, `aggregate ${a.name} inside aggregate ${call.name} is not allowed`);
    }
    const name = `\u0000agg${slots.length}`;
    slots.push({ name, fn, args: call.args.map((a) => inner.compile(a)), constants, filter: currentFilter });
    return name;
  };
  const outer = compiler(slotFor);
  const groups = c.groups.map((g: Field) => {
    if (g.expr.kind === 'call' && AGGREGATES[g.expr.name]) throw verification(lines, g.start, `aggregate ${g.expr.name} cannot be a BY group`);
    return { name: g.name, f: inner.compile(g.expr) };
  });
  const aggregates = c.aggregates.map((a) => {
    currentFilter = a.filter ? inner.compile(a.filter) : undefined;
    const before = slots.length;
    const f = outer.compile(a.expr);
    currentFilter = undefined;
    if (slots.length === before && !c.inline) {
      // `STATS x = field`: no aggregate function; Elasticsearch refuses it.
      throw verification(lines, a.start, `expected an aggregate function in STATS: ${source.slice(a.expr.start, a.expr.end)}`);
    }
    if (outer.isDouble(a.expr)) doubles.add(a.name);
    return { name: a.name, f };
  });
  const maxGroups = bounds.maxGroups ?? Infinity;
  type Group = { keys: Value[]; accs: Accumulator[] };
  const table = new Map<string, Group>();
  const buffered: { row: Row; keys: string[] }[] = [];
  const keyCombos = (row: Row): Value[][] => {
    const single = groups.map((g) => g.f(row));
    if (!single.some((v) => Array.isArray(v))) return [single];
    let combos: Value[][] = [[]];
    for (const v of single) {
      const values = toList(v);
      const choices: Value[] = values.length === 0 ? [null] : [...values];
      combos = combos.flatMap((prefix) => choices.map((v) => [...prefix, v]));
    }
    return combos;
  };
  const groupKey = (values: Value[]) => values.map((v) => (v === null ? 'null' : key(v as Scalar))).join('\u0001');
  const add = (row: Row): string[] => {
    const ks: string[] = [];
    for (const combo of keyCombos(row)) {
      const k = groupKey(combo);
      ks.push(k);
      let g = table.get(k);
      if (!g) {
        if (table.size >= maxGroups) throw new EsqlRuntimeError(`STATS has more than ${maxGroups} groups (the bound set for this run)`);
        g = { keys: combo, accs: slots.map((s) => s.fn.create(s.constants)) };
        table.set(k, g);
        if (bounds.groupCounter) bounds.groupCounter.max = Math.max(bounds.groupCounter.max, table.size);
      }
      slots.forEach((s, i) => {
        if (s.filter && s.filter(row) !== true) return;
        g.accs[i].add(s.args.map((a) => a(row)));
      });
    }
    return ks;
  };
  const resultRow = (g: Group): Row => {
    const slotRow: Row = new Map();
    slots.forEach((s, i) => slotRow.set(s.name, g.accs[i].result()));
    const out: Row = new Map();
    for (const a of aggregates) out.set(a.name, a.f(slotRow));
    groups.forEach((gr, i) => {
      out.delete(gr.name);
      out.set(gr.name, g.keys[i]);
    });
    return out;
  };
  if (c.inline) {
    return {
      push: (r) => {
        buffered.push({ row: r, keys: add(r) });
      },
      finish: (emit) => {
        const results = new Map<string, Row>();
        for (const [k, g] of table) results.set(k, resultRow(g));
        for (const { row, keys } of buffered) {
          for (const k of keys) {
            const out = new Map(row);
            for (const [name, v] of results.get(k) ?? []) {
              out.delete(name);
              out.set(name, v);
            }
            emit(out);
          }
        }
        buffered.length = 0;
      },
    };
  }
  return {
    push: (r) => {
      add(r);
    },
    finish: (emit) => {
      if (table.size === 0 && groups.length === 0) {
        const g = { keys: [], accs: slots.map((s) => s.fn.create(s.constants)) };
        emit(resultRow(g));
        return;
      }
      for (const g of table.values()) emit(resultRow(g));
      table.clear();
    },
  };
}

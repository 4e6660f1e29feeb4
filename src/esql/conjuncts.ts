/**
 * The WHERE conjuncts that filter events as they come from the source, in a structured form
 * that pushdown.ts turns into query DSL where the fields' types give an exact form.
 */
import type { Expr, Query } from './ast.js';
import { compileDissect, compileGrok } from './grok.js';

/** A leading WHERE conjunct in a structured form (pushdown.ts decides which have an exact DSL form). */
export type PushdownCondition =
  | { readonly kind: 'eq'; readonly field: string; readonly values: readonly (string | number | boolean)[] }
  | { readonly kind: 'range'; readonly field: string; readonly op: '<' | '<=' | '>' | '>='; readonly value: string | number }
  | { readonly kind: 'exists'; readonly field: string; readonly negated: boolean }
  | { readonly kind: 'like'; readonly field: string; readonly pattern: string }
  | { readonly kind: 'kql'; readonly query: string }
  | { readonly kind: 'and' | 'or'; readonly operands: readonly PushdownCondition[] }
  | { readonly kind: 'not'; readonly operand: PushdownCondition }
  | { readonly kind: 'other'; readonly text: string };

export interface LeadingConjunct {
  /** The conjunct's text in the query. */
  readonly text: string;
  readonly condition: PushdownCondition;
}


export function leadingConjuncts(query: Query, source: string): LeadingConjunct[] {
  const out: LeadingConjunct[] = [];
  const made = new Set<string>();
  for (const c of query.commands.slice(1)) {
    switch (c.kind) {
      case 'where':
        for (const e of conjuncts(c.condition)) {
          if (fieldRefs(e).every((f) => !made.has(f))) out.push({ text: source.slice(e.start, e.end), condition: toPushdown(e, source) });
        }
        break;
      case 'eval':
        for (const f of c.fields) made.add(f.name);
        break;
      case 'grok':
        for (const col of compileGrok(c.pattern).columns) made.add(col.name);
        break;
      case 'dissect':
        for (const col of compileDissect(c.pattern, c.appendSeparator).columns) made.add(col);
        break;
      case 'rename':
        for (const { from, to } of c.pairs) {
          made.add(to);
          made.add(from);
        }
        break;
      case 'keep':
      case 'drop':
      case 'sort':
        break;
      default:
        return out;
    }
  }
  return out;
}

function fieldRefs(e: Expr): string[] {
  switch (e.kind) {
    case 'field': return [e.name];
    case 'literal': case 'timespan': case 'map': return [];
    case 'call': return e.args.flatMap(fieldRefs);
    case 'compare': case 'arith': case 'and': case 'or': return [...fieldRefs(e.left), ...fieldRefs(e.right)];
    case 'not': case 'neg': case 'isnull': case 'cast': return fieldRefs(e.operand);
    case 'like': return fieldRefs(e.value);
    case 'in': return [...fieldRefs(e.value), ...e.list.flatMap(fieldRefs)];
  }
}

function conjuncts(e: Expr): Expr[] {
  return e.kind === 'and' ? [...conjuncts(e.left), ...conjuncts(e.right)] : [e];
}

function literalValue(e: Expr): string | number | boolean | null | undefined {
  if (e.kind !== 'literal' || Array.isArray(e.value)) return undefined;
  return e.value as string | number | boolean | null;
}

/** The structured form of a leading WHERE conjunct; `other` when it has no simple shape. */
export function toPushdown(e: Expr, source: string): PushdownCondition {
  const other: PushdownCondition = { kind: 'other', text: source.slice(e.start, e.end) };
  switch (e.kind) {
    case 'and':
    case 'or': {
      const flat = (x: Expr): Expr[] => (x.kind === e.kind ? [...flat((x as { left: Expr }).left), ...flat((x as { right: Expr }).right)] : [x]);
      return { kind: e.kind, operands: flat(e).map((x) => toPushdown(x, source)) };
    }
    case 'not':
      return { kind: 'not', operand: toPushdown(e.operand, source) };
    case 'compare': {
      let field = e.left;
      let value = e.right;
      let op = e.op;
      if (field.kind !== 'field') {
        [field, value] = [e.right, e.left];
        const flip: Record<string, string> = { '<': '>', '<=': '>=', '>': '<', '>=': '<=' };
        op = (flip[op] ?? op) as typeof op;
      }
      const v = literalValue(value);
      if (field.kind !== 'field' || v === undefined || v === null) return other;
      if (op === '==') return { kind: 'eq', field: field.name, values: [v] };
      if (op === '!=') return { kind: 'not', operand: { kind: 'eq', field: field.name, values: [v] } };
      if (typeof v === 'boolean') return other;
      return { kind: 'range', field: field.name, op: op as '<', value: v };
    }
    case 'in': {
      if (e.value.kind !== 'field') return other;
      const values = e.list.map(literalValue);
      if (values.some((v) => v === undefined || v === null)) return other;
      const eq: PushdownCondition = { kind: 'eq', field: e.value.name, values: values as (string | number | boolean)[] };
      return e.negated ? { kind: 'not', operand: eq } : eq;
    }
    case 'isnull':
      return e.operand.kind === 'field' ? { kind: 'exists', field: e.operand.name, negated: !e.negated } : other;
    case 'like': {
      if (e.regex || e.value.kind !== 'field') return other;
      const name = e.value.name;
      const likes: PushdownCondition[] = e.patterns.map((pattern) => ({ kind: 'like', field: name, pattern }));
      const any: PushdownCondition = likes.length === 1 ? likes[0] : { kind: 'or', operands: likes };
      return e.negated ? { kind: 'not', operand: any } : any;
    }
    case 'call': {
      const arg = e.args[0];
      if (e.name === 'KQL' && arg?.kind === 'literal' && typeof arg.value === 'string') return { kind: 'kql', query: arg.value };
      return other;
    }
    default:
      return other;
  }
}

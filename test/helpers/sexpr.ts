/** Compact printing of EQL syntax trees for table tests: `(== process.pid 4)`. */
import type { Expr, Query } from '../../src/eql/ast.js';

export function sexpr(e: Expr): string {
  switch (e.kind) {
    case 'literal':
      return typeof e.value === 'string' ? JSON.stringify(e.value) : String(e.value);
    case 'field':
      return `${e.optional ? '?' : ''}${e.path}`;
    case 'compare':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'match':
      return `(${e.op}${e.op !== ':' && e.caseInsensitive ? '~' : ''} ${sexpr(e.value)} ${e.patterns.map(sexpr).join(' ')})`;
    case 'in':
      return `(${e.negated ? 'not-in' : 'in'}${e.caseInsensitive ? '~' : ''} ${sexpr(e.value)} ${e.list.map(sexpr).join(' ')})`;
    case 'and':
    case 'or':
      return `(${e.kind} ${e.operands.map(sexpr).join(' ')})`;
    case 'not':
      return `(not ${sexpr(e.operand)})`;
    case 'neg':
      return `(- ${sexpr(e.operand)})`;
    case 'arith':
      return `(${e.op} ${sexpr(e.left)} ${sexpr(e.right)})`;
    case 'call':
      return `(${e.name}${e.caseInsensitive ? '~' : ''} ${e.args.map(sexpr).join(' ')})`;
  }
}

export function showQuery(q: Query): string {
  if (q.kind === 'query') return `${q.query.category ?? 'any'} where ${sexpr(q.query.condition)}`;
  if (q.kind === 'sample') return `sample by ${q.by.map((f) => f.path).join(',')} ${q.stages.map((s) => `[${s.query.category} ${sexpr(s.query.condition)}]`).join(' ')}`;
  const by = q.by.length ? ` by ${q.by.map((f) => f.path).join(',')}` : '';
  const span = q.maxspanMs !== null ? ` maxspan=${q.maxspanMs}ms` : '';
  const stages = q.stages
    .map((s) => `${s.missing ? '!' : ''}[${s.query.category ?? 'any'} ${sexpr(s.query.condition)}]${s.by.length ? ` by ${s.by.map((f) => f.path).join(',')}` : ''}${s.runs > 1 ? ` runs=${s.runs}` : ''}`)
    .join(' ');
  const until = q.until ? ` until [${q.until.query.category} ${sexpr(q.until.query.condition)}]` : '';
  return `sequence${by}${span} ${stages}${until}`;
}

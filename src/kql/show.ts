/** A compact s-expression of a KQL tree, for tests and messages: `(or (is f "a") (not (is f "b")))`. */
import type { KqlNode, Value } from './ast.js';

function showValue(v: Value): string {
  if (v.parts.length > 1) return `(wildcard ${v.parts.map((p) => JSON.stringify(p)).join(' ')})`;
  if (v.literal === null || typeof v.literal === 'boolean') return String(v.literal);
  return JSON.stringify(v.literal);
}

export function showKql(n: KqlNode): string {
  switch (n.kind) {
    case 'match_all':
      return '(match_all)';
    case 'is':
      return `(is ${n.field === null ? '-' : showValue(n.field)} ${showValue(n.value)})`;
    case 'range':
      return `(${n.op} ${showValue(n.field)} ${showValue(n.value)})`;
    case 'not':
      return `(not ${showKql(n.child)})`;
    case 'nested':
      return `(nested ${showValue(n.path)} ${showKql(n.query)})`;
    default:
      return `(${n.kind} ${n.children.map(showKql).join(' ')})`;
  }
}

/**
 * The pipeline's operators, one per command after FROM. Streaming operators (WHERE, EVAL, KEEP,
 * DROP, RENAME, GROK, DISSECT, MV_EXPAND, LIMIT) pass rows on as they come; SORT holds them
 * (only the top ones when a LIMIT follows) and STATS groups them (stats.ts). The schema tracks
 * which columns exist once a STATS has fixed them, for "Unknown column" errors.
 */
import { EsqlVerificationError } from '../errors.js';
import type { LineIndex } from '../eql/locations.js';
import type { Call, Command } from './ast.js';
import type { ExprCompiler } from './expressions.js';
import { compileDissect, compileGrok } from './grok.js';
import { PatternError } from './regex.js';
import { buildStats } from './stats.js';
import { compareScalars, type Row, type Scalar, toList, type Value } from './values.js';

export interface Operator {
  push(row: Row, emit: (r: Row) => void): void;
  finish(emit: (r: Row) => void): void;
  /** Set by LIMIT when full. */
  full?: () => boolean;
}

export function verification(lines: LineIndex, offset: number, reason: string): EsqlVerificationError {
  const { line, column } = lines.lineColumn(offset);
  return new EsqlVerificationError(reason, line, column);
}

function namePattern(p: string): (name: string) => boolean {
  if (!p.includes('*')) return (n) => n === p;
  const re = new RegExp(`^${p.split('*').map((s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')).join('.*')}$`);
  return (n) => re.test(n);
}

export type CompilerFactory = (aggregateSlot?: (c: Call) => string) => ExprCompiler;

/** The columns a row has: unknown (null) until a STATS fixes them, as without a mapping Lookout cannot list source columns. */
export interface Schema {
  known: Set<string> | null;
}

export function updateSchema(schema: Schema, c: Command): void {
  if (c.kind === 'stats' && !c.inline) {
    schema.known = new Set([...c.aggregates.map((a) => a.name), ...c.groups.map((g) => g.name)]);
    return;
  }
  const known = schema.known;
  if (!known) return;
  switch (c.kind) {
    case 'stats':
      for (const a of c.aggregates) known.add(a.name);
      break;
    case 'eval':
      for (const f of c.fields) known.add(f.name);
      break;
    case 'grok':
      for (const col of compileGrok(c.pattern).columns) known.add(col.name);
      break;
    case 'dissect':
      for (const col of compileDissect(c.pattern, c.appendSeparator).columns) known.add(col);
      break;
    case 'rename':
      for (const { from, to } of c.pairs) {
        known.delete(from);
        known.add(to);
      }
      break;
    case 'keep': {
      const tests = c.patterns.map(namePattern);
      schema.known = new Set([...known].filter((k) => tests.some((t) => t(k))));
      break;
    }
    case 'drop': {
      const tests = c.patterns.map(namePattern);
      for (const k of [...known]) if (tests.some((t) => t(k))) known.delete(k);
      break;
    }
    default:
      break;
  }
}

function streaming(op: Operator): Operator {
  return Object.assign(op, { streaming: true });
}

/** What building each command's operator shares: expression compilers, the query text, and the run's bounds. */
export interface BuildContext {
  readonly compiler: CompilerFactory;
  /** The query text and its line index, for messages with positions. */
  readonly source: string;
  readonly lines: LineIndex;
  /** Columns holding doubles so far (EVAL and STATS change it as commands are built). */
  readonly doubles: Set<string>;
  readonly bounds: { readonly maxGroups?: number; readonly groupCounter?: { max: number } };
}

export function buildOperator(c: Command, next: Command | undefined, build: BuildContext): Operator {
  const { compiler, lines, doubles } = build;
  const noop = () => undefined;
  switch (c.kind) {
    case 'where': {
      const f = compiler().compile(c.condition);
      return streaming({ push: (r, emit) => { if (f(r) === true) emit(r); }, finish: noop });
    }
    case 'eval': {
      const cc = compiler();
      const fields = c.fields.map((fd) => {
        const f = cc.compile(fd.expr);
        cc.declare(fd.name);
        if (cc.isDouble(fd.expr)) doubles.add(fd.name);
        else doubles.delete(fd.name);
        return { name: fd.name, f };
      });
      return streaming({
        push: (r, emit) => {
          const out = new Map(r);
          for (const { name, f } of fields) {
            const v = f(out);
            out.delete(name);
            out.set(name, v);
          }
          emit(out);
        },
        finish: noop,
      });
    }
    case 'keep':
    case 'drop': {
      const tests = c.patterns.map(namePattern);
      if (c.kind === 'drop') return streaming({ push: (r, emit) => emit(new Map([...r].filter(([k]) => !tests.some((t) => t(k))))), finish: noop });
      // Each column goes to the pattern that claims it with the highest precedence: an exact name,
      // then a partial wildcard, then `*`; the rightmost among equals. Columns come out in pattern order.
      const rank = c.patterns.map((p) => (!p.includes('*') ? 3 : p === '*' ? 1 : 2));
      return streaming({
        push: (r, emit) => {
          const buckets: [string, Value][][] = c.patterns.map(() => []);
          for (const [k, v] of r) {
            let best = -1;
            tests.forEach((t, i) => { if (t(k) && (best < 0 || rank[i] >= rank[best])) best = i; });
            if (best >= 0) buckets[best].push([k, v]);
          }
          // A column named exactly but missing is null, as a mapped but absent field would be.
          c.patterns.forEach((p, i) => { if (rank[i] === 3 && buckets[i].length === 0) buckets[i].push([p, null]); });
          emit(new Map(buckets.flat()));
        },
        finish: noop,
      });
    }
    case 'rename':
      return streaming({
        push: (r, emit) => {
          let out: Row = r;
          for (const { from, to } of c.pairs) {
            const next: Row = new Map();
            for (const [k, v] of out) {
              if (k === to) continue;
              next.set(k === from ? to : k, v);
            }
            out = next;
          }
          emit(out);
        },
        finish: noop,
      });
    case 'grok':
    case 'dissect': {
      const input = compiler().compile(c.input);
      let apply: (t: string) => Map<string, Value>;
      try {
        apply = c.kind === 'grok' ? compileGrok(c.pattern).apply : compileDissect(c.pattern, c.appendSeparator).apply;
      } catch (err) {
        throw verification(lines, c.patternStart, err instanceof PatternError ? err.message : String(err));
      }
      const columns = [...apply('').keys()];
      return streaming({
        push: (r, emit) => {
          const v = input(r);
          const out = new Map(r);
          const parsed = typeof v === 'string' ? apply(v) : null;
          for (const col of columns) {
            out.delete(col);
            out.set(col, parsed?.get(col) ?? null);
          }
          emit(out);
        },
        finish: noop,
      });
    }
    case 'mv_expand': {
      const col = c.column;
      compiler().compile({ kind: 'field', name: col, start: c.start, end: c.end });
      return streaming({
        push: (r, emit) => {
          const values = toList(r.get(col) ?? null);
          if (values.length <= 1) return emit(r);
          for (const v of values) {
            const out = new Map(r);
            out.set(col, v);
            emit(out);
          }
        },
        finish: noop,
      });
    }
    case 'limit': {
      let n = 0;
      return streaming({
        push: (r, emit) => {
          if (n < c.count) {
            n++;
            emit(r);
          }
        },
        finish: noop,
        full: () => n >= c.count,
      });
    }
    case 'sort': {
      const cc = compiler();
      const keys = c.keys.map((k) => ({ f: cc.compile(k.expr), desc: k.descending, nullsFirst: k.nullsFirst }));
      const keep = next?.kind === 'limit' ? next.count : Infinity;
      let rows: { row: Row; keys: (Scalar | null)[]; seq: number }[] = [];
      let seq = 0;
      const cmp = (a: (typeof rows)[0], b: (typeof rows)[0]): number => {
        for (let i = 0; i < keys.length; i++) {
          const x = a.keys[i];
          const y = b.keys[i];
          if (x === null || y === null) {
            if (x === y) continue;
            return (x === null) === keys[i].nullsFirst ? -1 : 1;
          }
          const d = compareScalars(x, y);
          if (d !== 0) return keys[i].desc ? -d : d;
        }
        return a.seq - b.seq;
      };
      return {
        push: (r) => {
          const ks = keys.map(({ f, desc }) => {
            const list = toList(f(r));
            if (list.length === 0) return null;
            return list.reduce((m, x) => (compareScalars(x, m) * (desc ? -1 : 1) > 0 ? x : m));
          });
          rows.push({ row: r, keys: ks, seq: seq++ });
          if (rows.length > 2 * keep + 1024) rows = rows.sort(cmp).slice(0, keep);
        },
        finish: (emit) => {
          for (const x of rows.sort(cmp).slice(0, keep)) emit(x.row);
          rows = [];
        },
      };
    }
    case 'stats':
      return buildStats(c, build);
    case 'from':
    case 'unsupported':
      throw verification(lines, c.start, `not supported: ${c.kind === 'from' ? 'FROM after the first command' : c.name}`);
  }
}

/**
 * STATS aggregate functions. Each keeps state per group: a count or running value, or for
 * VALUES and COUNT_DISTINCT the set of distinct values (exact; Elasticsearch's COUNT_DISTINCT is
 * a HyperLogLog++ estimate above its precision threshold, 3000 by default, so counts above it can
 * differ). Multi-valued inputs contribute each of their values, as in Elasticsearch.
 */
import { key } from './functions.js';
import { compareScalars, mv, type Scalar, toList, type Value } from './values.js';

export interface Accumulator {
  add(args: readonly Value[]): void;
  result(): Value;
}

export interface AggregateFunction {
  readonly min: number;
  readonly max: number;
  readonly double?: boolean;
  /** `COUNT(*)`. */
  readonly star?: boolean;
  create(constants: readonly Value[]): Accumulator;
}

function extreme(sign: 1 | -1): AggregateFunction {
  return {
    min: 1, max: 1,
    create: () => {
      let best: Scalar | null = null;
      return {
        add: ([v]) => {
          for (const x of toList(v)) if (best === null || sign * compareScalars(x, best) > 0) best = x;
        },
        result: () => best,
      };
    },
  };
}

/** Distinct values: primitives keyed by themselves (so "1" and 1 differ), others by their type-tagged key. */
function distinct(): { add(v: Value): void; size(): number; values(): Scalar[] } {
  const primitives = new Set<string | number | boolean>();
  const others = new Map<string, Scalar>();
  const one = (x: Scalar) => {
    if (typeof x === 'object') {
      const k = key(x);
      if (!others.has(k)) others.set(k, x);
    } else primitives.add(x);
  };
  return {
    add(v: Value) {
      if (v === null) return;
      if (Array.isArray(v)) for (const x of v as readonly Scalar[]) one(x);
      else one(v as Scalar);
    },
    size: () => primitives.size + others.size,
    values: () => [...primitives, ...others.values()],
  };
}

function firstLast(last: boolean): AggregateFunction {
  return {
    min: 2, max: 2,
    create: () => {
      let best: { sort: Scalar; value: Value } | null = null;
      return {
        add: ([v, s]) => {
          const sorts = toList(s);
          if (sorts.length === 0) return;
          const sort = sorts.reduce((m, x) => (compareScalars(x, m) * (last ? 1 : -1) > 0 ? x : m));
          if (best === null || compareScalars(sort, best.sort) * (last ? 1 : -1) > 0) best = { sort, value: v };
        },
        result: () => best?.value ?? null,
      };
    },
  };
}

export const AGGREGATES: Readonly<Record<string, AggregateFunction>> = {
  COUNT: {
    min: 0, max: 1, star: true,
    create: () => {
      let n = 0;
      return { add: (args) => { n += args.length === 0 ? 1 : toList(args[0]).length; }, result: () => n };
    },
  },
  COUNT_DISTINCT: {
    min: 1, max: 2,
    create: () => {
      const d = distinct();
      return { add: ([v]) => d.add(v), result: () => d.size() };
    },
  },
  VALUES: {
    min: 1, max: 1,
    create: () => {
      const d = distinct();
      return { add: ([v]) => d.add(v), result: () => mv(d.values().sort(compareScalars)) };
    },
  },
  MAX: extreme(1),
  MIN: extreme(-1),
  SUM: {
    min: 1, max: 1,
    create: () => {
      let sum: number | null = null;
      return { add: ([v]) => { for (const x of toList(v)) sum = (sum ?? 0) + Number(x); }, result: () => sum };
    },
  },
  AVG: {
    min: 1, max: 1, double: true,
    create: () => {
      let sum = 0;
      let n = 0;
      return {
        add: ([v]) => { for (const x of toList(v)) { sum += Number(x); n++; } },
        result: () => (n === 0 ? null : sum / n),
      };
    },
  },
  TOP: {
    min: 3, max: 3,
    create: ([, limit, order]) => {
      const n = Number(limit);
      const desc = String(order).toLowerCase() === 'desc';
      let kept: Scalar[] = [];
      return {
        add: ([v]) => {
          kept.push(...toList(v));
          if (kept.length > 4 * n + 16) kept = kept.sort((a, b) => (desc ? -1 : 1) * compareScalars(a, b)).slice(0, n);
        },
        result: () => mv(kept.sort((a, b) => (desc ? -1 : 1) * compareScalars(a, b)).slice(0, n)),
      };
    },
  },
  FIRST: firstLast(false),
  LAST: firstLast(true),
};

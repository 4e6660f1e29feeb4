/**
 * EQL functions, after Elasticsearch's EqlFunctionRegistry and their processors. Values are
 * strings, numbers, booleans or null; a null argument gives null unless the function says
 * otherwise. Names are case-insensitive; `~` (case-insensitive) exists only for between,
 * endsWith, indexOf, startsWith and stringContains. Integer division truncates and `%` keeps
 * the sign of the dividend (Java's), as in Elasticsearch.
 */
export type Value = string | number | boolean | null;

export interface FunctionSpec {
  readonly name: string;
  readonly minArgs: number;
  readonly maxArgs: number;
  readonly caseAware: boolean;
  /** `ci` is true for the `~` form. */
  readonly fn: (args: readonly Value[], ci: boolean) => Value;
}

const isInt = (n: number) => Number.isInteger(n);

function str(v: Value): string | null {
  if (v === null) return null;
  return typeof v === 'string' ? v : String(v);
}

function num(v: Value): number | null {
  if (typeof v === 'number') return v;
  return null;
}

function arith(op: (a: number, b: number) => number | null) {
  return (args: readonly Value[]): Value => {
    const a = num(args[0]);
    const b = num(args[1]);
    if (a === null || b === null) return null;
    return op(a, b);
  };
}

function fold(ci: boolean, s: string): string {
  return ci ? s.toLowerCase() : s;
}

function ipv4ToBigInt(ip: string): bigint | null {
  const m = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/.exec(ip);
  if (!m) return null;
  let v = 0n;
  for (let i = 1; i <= 4; i++) {
    const o = Number(m[i]);
    if (o > 255) return null;
    v = (v << 8n) | BigInt(o);
  }
  return v;
}

function ipv6ToBigInt(ip: string): bigint | null {
  let text = ip;
  const tail: number[] = [];
  const embedded = /^(.*:)(\d{1,3}(?:\.\d{1,3}){3})$/.exec(text);
  if (embedded) {
    const n = ipv4ToBigInt(embedded[2]);
    if (n === null) return null;
    tail.push(Number(n >> 16n), Number(n & 0xffffn));
    text = embedded[1].endsWith('::') ? embedded[1] : embedded[1].slice(0, -1);
  }
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const parse = (s: string) => (s === '' ? [] : s.split(':').map((h) => (/^[0-9a-fA-F]{1,4}$/.test(h) ? parseInt(h, 16) : NaN)));
  const head = parse(halves[0]);
  const rest = halves.length === 2 ? parse(halves[1]) : [];
  const fill = halves.length === 2 ? 8 - head.length - rest.length - tail.length : 0;
  if (fill < 0) return null;
  const groups = [...head, ...new Array<number>(fill).fill(0), ...rest, ...tail];
  if (groups.length !== 8 || groups.some((g) => Number.isNaN(g))) return null;
  return groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n);
}

/** Parses an IP to (value, bits); IPv4-mapped IPv6 counts as IPv4. */
export function parseIp(ip: string): { value: bigint; bits: 32 | 128 } | null {
  const v4 = ipv4ToBigInt(ip);
  if (v4 !== null) return { value: v4, bits: 32 };
  const v6 = ipv6ToBigInt(ip.replace(/^\[|\]$/g, '').split('%')[0]);
  if (v6 === null) return null;
  if (v6 >> 32n === 0xffffn) return { value: v6 & 0xffffffffn, bits: 32 };
  return { value: v6, bits: 128 };
}

export function cidrContains(ip: string, cidr: string): boolean {
  const [base, lenText] = cidr.split('/');
  const addr = parseIp(ip);
  const net = parseIp(base);
  if (!addr || !net || addr.bits !== net.bits) return false;
  const len = lenText === undefined ? net.bits : Number(lenText);
  if (!Number.isInteger(len) || len < 0 || len > net.bits) return false;
  const shift = BigInt(net.bits - len);
  return addr.value >> shift === net.value >> shift;
}

function substringPy(s: string, start: number, end?: number): string {
  const n = s.length;
  const norm = (i: number) => (i < 0 ? Math.max(0, n + i) : Math.min(i, n));
  const a = norm(start);
  const b = end === undefined ? n : norm(end);
  return a >= b ? '' : s.slice(a, b);
}

const specs: FunctionSpec[] = [
  { name: 'add', minArgs: 2, maxArgs: 2, caseAware: false, fn: arith((a, b) => a + b) },
  { name: 'subtract', minArgs: 2, maxArgs: 2, caseAware: false, fn: arith((a, b) => a - b) },
  { name: 'multiply', minArgs: 2, maxArgs: 2, caseAware: false, fn: arith((a, b) => a * b) },
  { name: 'divide', minArgs: 2, maxArgs: 2, caseAware: false, fn: arith((a, b) => (b === 0 ? null : isInt(a) && isInt(b) ? Math.trunc(a / b) : a / b)) },
  { name: 'modulo', minArgs: 2, maxArgs: 2, caseAware: false, fn: arith((a, b) => (b === 0 ? null : a % b)) },
  {
    name: 'between', minArgs: 3, maxArgs: 4, caseAware: true,
    fn: ([source, left, right, greedy], ci) => {
      const s = str(source);
      const l = str(left);
      const r = str(right);
      if (s === null || l === null || r === null) return null;
      const hay = fold(ci, s);
      const start = hay.indexOf(fold(ci, l));
      if (start < 0) return '';
      const from = start + l.length;
      const end = greedy === true ? hay.lastIndexOf(fold(ci, r)) : hay.indexOf(fold(ci, r), from);
      if (end < from) return '';
      return s.slice(from, end);
    },
  },
  {
    name: 'cidrmatch', minArgs: 2, maxArgs: Number.POSITIVE_INFINITY, caseAware: false,
    fn: ([ip, ...blocks]) => {
      const s = str(ip);
      if (s === null) return null;
      return blocks.some((b) => typeof b === 'string' && cidrContains(s, b));
    },
  },
  {
    name: 'concat', minArgs: 1, maxArgs: Number.POSITIVE_INFINITY, caseAware: false,
    fn: (args) => (args.some((a) => a === null) ? null : args.map((a) => str(a)).join('')),
  },
  {
    name: 'endswith', minArgs: 2, maxArgs: 2, caseAware: true,
    fn: ([s, x], ci) => (str(s) === null || str(x) === null ? null : fold(ci, str(s)!).endsWith(fold(ci, str(x)!))),
  },
  {
    name: 'startswith', minArgs: 2, maxArgs: 2, caseAware: true,
    fn: ([s, x], ci) => (str(s) === null || str(x) === null ? null : fold(ci, str(s)!).startsWith(fold(ci, str(x)!))),
  },
  {
    name: 'stringcontains', minArgs: 2, maxArgs: 2, caseAware: true,
    fn: ([s, x], ci) => (str(s) === null || str(x) === null ? null : fold(ci, str(s)!).includes(fold(ci, str(x)!))),
  },
  {
    name: 'indexof', minArgs: 2, maxArgs: 3, caseAware: true,
    fn: ([s, x, start], ci) => {
      const a = str(s);
      const b = str(x);
      if (a === null || b === null) return null;
      const from = typeof start === 'number' ? Math.max(0, Math.trunc(start)) : 0;
      const i = fold(ci, a).indexOf(fold(ci, b), from);
      return i < 0 ? null : i;
    },
  },
  { name: 'length', minArgs: 1, maxArgs: 1, caseAware: false, fn: ([s]) => (str(s) === null ? null : str(s)!.length) },
  {
    name: 'number', minArgs: 1, maxArgs: 2, caseAware: false,
    fn: ([s, base]) => {
      if (typeof s === 'number') return s;
      const t = str(s);
      if (t === null) return null;
      const text = t.trim();
      let radix = typeof base === 'number' ? base : 10;
      let digits = text;
      const neg = digits.startsWith('-');
      if (neg || digits.startsWith('+')) digits = digits.slice(1);
      if (/^0x/i.test(digits) && (base === undefined || base === null || radix === 16)) {
        radix = 16;
        digits = digits.slice(2);
      }
      if (radix === 10) {
        const n = Number(text);
        return text !== '' && Number.isFinite(n) ? n : null;
      }
      if (!Number.isInteger(radix) || radix < 2 || radix > 36) return null;
      const valid = new RegExp(`^[${'0123456789abcdefghijklmnopqrstuvwxyz'.slice(0, radix)}]+$`, 'i');
      if (!valid.test(digits)) return null;
      const n = parseInt(digits, radix);
      return neg ? -n : n;
    },
  },
  { name: 'string', minArgs: 1, maxArgs: 1, caseAware: false, fn: ([v]) => str(v) },
  {
    name: 'substring', minArgs: 2, maxArgs: 3, caseAware: false,
    fn: ([s, start, end]) => {
      const t = str(s);
      if (t === null || typeof start !== 'number') return null;
      return substringPy(t, Math.trunc(start), typeof end === 'number' ? Math.trunc(end) : undefined);
    },
  },
];

export const FUNCTIONS: ReadonlyMap<string, FunctionSpec> = new Map(specs.map((s) => [s.name, s]));

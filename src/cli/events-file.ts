/**
 * Reads events for `lookout test-rule` as a stream: NDJSON, each line an event document or a
 * search hit (`_index`, `_id`, `_source`), from a file, a gzip file (told by its first bytes, not
 * its name) or standard input (`-`). Events go to the engine page by page in time order, so
 * memory is bounded by what the rule holds open (partial sequences, correlation windows), not
 * by the input's size.
 *
 * Order is checked as the input is read. Input in time order (what a sorted export gives) is
 * read once. The first event older than the one before it stops that pass with
 * OutOfOrderError; the command then reads a file again through an external sort (the engine
 * starts again too): sorted runs of at most `runSize` events spilled to temporary files, merged
 * by (timestamp, line), so ties keep the file's order. Standard input cannot be read twice: the
 * command refuses it with the fix.
 *
 * A line that is not JSON or has no usable timestamp is reported with its line number and
 * skipped (for a sample query, which has no time order, an event without a timestamp is kept,
 * at time 0, and told to `onUntimed`). With a line test, lines that hold none of the strings the rule's query requires are
 * passed over unparsed (and counted): parsing is most of the cost. Each event is reduced to the fields an execution fetches (see planRead).
 */
import { isAscii } from 'node:buffer';
import { once } from 'node:events';
import { createReadStream, createWriteStream, type WriteStream } from 'node:fs';
import { mkdtemp, open, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createGunzip } from 'node:zlib';
import { parseEventTime, type EventRecord } from '../engine/events.js';
import { compileGetter } from '../eql/fields.js';
import { EventsInputError, OutOfOrderError } from '../errors.js';
import type { Rule } from '../rules/model.js';
import type { LineTest } from '../search/line-prefilter.js';
import { filterSource } from '../search/source-filter.js';

export interface ReadOptions {
  /** The `_source` fields an execution would fetch, applied to each event. */
  readonly includes: readonly string[];
  /** Told about each line that is skipped (with its `file:line`). */
  readonly onProblem: (message: string) => void;
  /** Sample queries: told about each event kept without a usable timestamp. */
  readonly onUntimed?: (message: string) => void;
  /** Events per page handed to the engine. Default 1,000. */
  readonly pageSize?: number;
  /** Events held in memory per sorted run when the input has to be sorted. Default 50,000. */
  readonly runSize?: number;
  /** Lines it refuses are passed over unparsed (search/line-prefilter.ts) and counted here. */
  readonly lineTest?: { readonly test: LineTest; passedOver: number };
  /** Standard input, for '-' (default process.stdin). */
  readonly stdin?: NodeJS.ReadableStream;
}

interface Numbered extends EventRecord {
  readonly line: number;
}

/**
 * Pages of events in time order from `path` ('-' for standard input). Without `sort`, the one-pass
 * read, which fails with OutOfOrderError at the first event older than its predecessor (the
 * caller starts again with `sort`, see `problemsAfter`); with `sort`, the external sort.
 */
export function readEvents(path: string, rule: Rule, options: ReadOptions & { readonly sort?: boolean }): AsyncGenerator<EventRecord[]> {
  return options.sort ? sorted(path, rule, options) : inOrder(path, rule, options);
}

/** For the second pass: reports only the problems of lines after `line` (the first pass told the rest). */
export function problemsAfter(line: number, report: (message: string) => void): (message: string) => void {
  return (message) => {
    const m = /:(\d+): /.exec(message);
    if (!m || Number(m[1]) > line) report(message);
  };
}

/** The one-pass read: fails with OutOfOrderError at the first event older than its predecessor. */
async function* inOrder(path: string, rule: Rule, options: ReadOptions): AsyncGenerator<EventRecord[]> {
  const pageSize = options.pageSize ?? 1000;
  let page: EventRecord[] = [];
  let last = -Infinity;
  let lastNanos = 0;
  for await (const batch of parsedLines(path, rule, options)) {
    for (const event of batch) {
      const nanos = event.nanos ?? 0;
      if (event.timestamp < last || (event.timestamp === last && nanos < lastNanos)) throw new OutOfOrderError(path, event.line, event.timestamp, last);
      last = event.timestamp;
      lastNanos = nanos;
      page.push(event);
      if (page.length >= pageSize) {
        yield page;
        page = [];
      }
    }
  }
  if (page.length > 0) yield page;
}

/** The external sort: sorted runs in temporary files, merged; a single run never touches disk. */
async function* sorted(path: string, rule: Rule, options: ReadOptions): AsyncGenerator<EventRecord[]> {
  const runSize = options.runSize ?? 50_000;
  const pageSize = options.pageSize ?? 1000;
  const dir = await mkdtemp(join(tmpdir(), 'lookout-sort-'));
  try {
    const runs: string[] = [];
    let buffer: Numbered[] = [];
    const spill = async () => {
      buffer.sort(byTime);
      const file = join(dir, `run-${runs.length}.ndjson`);
      await writeLines(file, buffer.map((e) => JSON.stringify([e.timestamp, e.nanos ?? 0, e.line, e.index, e.id, e.source])));
      runs.push(file);
      buffer = [];
    };
    for await (const batch of parsedLines(path, rule, options)) {
      for (const event of batch) {
        buffer.push(event);
        if (buffer.length >= runSize) await spill();
      }
    }
    if (runs.length === 0) {
      buffer.sort(byTime);
      for (let i = 0; i < buffer.length; i += pageSize) yield buffer.slice(i, i + pageSize);
      return;
    }
    if (buffer.length > 0) await spill();
    yield* merge(runs.map(readRun), pageSize);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

function byTime(a: Numbered, b: Numbered): number {
  return a.timestamp - b.timestamp || (a.nanos ?? 0) - (b.nanos ?? 0) || a.line - b.line;
}

async function writeLines(file: string, lines: readonly string[]): Promise<void> {
  const out: WriteStream = createWriteStream(file);
  const chunk = 1000;
  for (let i = 0; i < lines.length; i += chunk) {
    if (!out.write(`${lines.slice(i, i + chunk).join('\n')}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'close');
}

async function* readRun(file: string): AsyncGenerator<Numbered> {
  for await (const { lines } of splitLines(createReadStream(file))) {
    for (const text of lines) {
      const [timestamp, nanos, line, index, id, source] = JSON.parse(text) as [number, number, number, string, string, Record<string, unknown>];
      yield { timestamp, ...(nanos ? { nanos } : {}), line, index, id, source };
    }
  }
}

/** k-way merge of sorted runs by (timestamp, line), with a binary heap over the runs' heads. */
async function* merge(runs: AsyncGenerator<Numbered>[], pageSize: number): AsyncGenerator<EventRecord[]> {
  const heap: { event: Numbered; run: AsyncGenerator<Numbered> }[] = [];
  const less = (i: number, j: number) => byTime(heap[i].event, heap[j].event) < 0;
  const swap = (i: number, j: number) => ([heap[i], heap[j]] = [heap[j], heap[i]]);
  const up = (i: number) => {
    while (i > 0 && less(i, (i - 1) >> 1)) {
      swap(i, (i - 1) >> 1);
      i = (i - 1) >> 1;
    }
  };
  const down = (i: number) => {
    for (;;) {
      const l = 2 * i + 1;
      const r = l + 1;
      let m = i;
      if (l < heap.length && less(l, m)) m = l;
      if (r < heap.length && less(r, m)) m = r;
      if (m === i) return;
      swap(i, m);
      i = m;
    }
  };
  for (const run of runs) {
    const first = await run.next();
    if (!first.done) {
      heap.push({ event: first.value, run });
      up(heap.length - 1);
    }
  }
  let page: EventRecord[] = [];
  while (heap.length > 0) {
    const top = heap[0];
    page.push(top.event);
    if (page.length >= pageSize) {
      yield page;
      page = [];
    }
    const next = await top.run.next();
    if (next.done) {
      const tail = heap.pop()!;
      if (heap.length > 0) {
        heap[0] = tail;
        down(0);
      }
    } else {
      top.event = next.value;
      down(0);
    }
  }
  if (page.length > 0) yield page;
}

/** The input's lines parsed into events, a batch per chunk read; bad lines reported and skipped. */
async function* parsedLines(path: string, rule: Rule, options: ReadOptions): AsyncGenerator<Numbered[]> {
  const getTs = compileGetter(rule.timestampField);
  const getFallback = compileGetter('@timestamp');
  const name = path === '-' ? 'stdin' : path;
  const prefilter = options.lineTest;
  const timeless = rule.compiled.kind === 'sample';
  for await (const { lines, first, plain } of splitLines(await openInput(path, options.stdin))) {
    const batch: Numbered[] = [];
    for (let i = 0; i < lines.length; i++) {
      const text = lines[i];
      const line = first + i;
      if (text.trim() === '') continue;
      if (prefilter && !prefilter.test(text, plain)) {
        prefilter.passedOver++;
        continue;
      }
      const where = `${name}:${line}`;
      let value: unknown;
      try {
        value = JSON.parse(text);
      } catch (err) {
        options.onProblem(`${where}: not JSON (${(err as Error).message})`);
        continue;
      }
      if (!value || typeof value !== 'object' || Array.isArray(value)) {
        options.onProblem(`${where}: expected a JSON object`);
        continue;
      }
      const obj = value as Record<string, unknown>;
      const isHit = '_source' in obj;
      const source = (isHit ? obj._source : obj) as Record<string, unknown>;
      if (!source || typeof source !== 'object' || Array.isArray(source)) {
        options.onProblem(`${where}: _source is not an object`);
        continue;
      }
      const raw = getTs(source)[0];
      let ts = parseEventTime(raw);
      if (ts === undefined && rule.timestampFallback) ts = parseEventTime(getFallback(source)[0]);
      if (ts === undefined) {
        const why = `${where}: no usable ${rule.timestampField}${raw === undefined ? '' : ` (${JSON.stringify(raw)} is not a date Elasticsearch's default format reads)`}`;
        // A sample has no time order, and Elasticsearch samples events whatever their timestamp.
        if (!timeless) {
          options.onProblem(why);
          continue;
        }
        options.onUntimed?.(why);
        ts = { ms: 0, nanos: 0 };
      }
      batch.push({
        index: isHit && typeof obj._index === 'string' ? obj._index : 'events',
        id: isHit && typeof obj._id === 'string' ? obj._id : `line-${line}`,
        timestamp: ts.ms,
        ...(ts.nanos ? { nanos: ts.nanos } : {}),
        source: filterSource(source, options.includes),
        line,
      });
    }
    if (batch.length > 0) yield batch;
  }
}

/** A file (gunzipped when it starts with gzip's magic bytes) or standard input. */
async function openInput(path: string, stdin: NodeJS.ReadableStream = process.stdin): Promise<NodeJS.ReadableStream> {
  if (path === '-') return stdin;
  let gzip: boolean;
  try {
    const handle = await open(path, 'r');
    try {
      const { bytesRead, buffer } = await handle.read(Buffer.alloc(2), 0, 2, 0);
      gzip = bytesRead === 2 && buffer[0] === 0x1f && buffer[1] === 0x8b;
    } finally {
      await handle.close();
    }
  } catch (err) {
    throw new EventsInputError(`cannot read --events ${path}: ${(err as NodeJS.ErrnoException).code ?? (err as Error).message}`, { cause: err });
  }
  const file = createReadStream(path, { highWaterMark: 1 << 20 });
  if (!gzip) return file;
  const gunzip = createGunzip();
  file.on('error', (err) => gunzip.destroy(err));
  return file.pipe(gunzip);
}

/**
 * Lines of a byte stream, a batch per chunk, with the 1-based number of the batch's first line.
 * A batch is split at its last newline on the bytes (a newline byte is never inside a UTF-8
 * sequence), so each decodes whole: as latin1 when it is ASCII (no UTF-8 decoding to do), as
 * UTF-8 otherwise. `plain`: the batch is ASCII without `\u` or `\/` escapes, which spares the
 * line test its per-line checks for them.
 */
async function* splitLines(input: AsyncIterable<Buffer | string>): AsyncGenerator<{ lines: string[]; first: number; plain: boolean }> {
  let rest: Buffer | undefined;
  let line = 1;
  try {
    for await (const chunk of input) {
      const bytes = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
      const end = bytes.lastIndexOf(0x0a);
      if (end < 0) {
        rest = rest ? Buffer.concat([rest, bytes]) : bytes;
        continue;
      }
      // The line begun in the previous chunk is joined on its own (a copy of one line, not of the chunk).
      const start = rest ? bytes.indexOf(0x0a) + 1 : 0;
      const head = rest ? Buffer.concat([rest, bytes.subarray(0, start - 1)]) : undefined;
      const body = bytes.subarray(start, end);
      rest = end + 1 < bytes.length ? Buffer.from(bytes.subarray(end + 1)) : undefined;
      const ascii = isAscii(body) && (!head || isAscii(head));
      const lines = start <= end ? body.toString(ascii ? 'latin1' : 'utf8').split('\n') : [];
      if (head) lines.unshift(head.toString(ascii ? 'latin1' : 'utf8'));
      const plain = ascii && !hasEscape(body) && (!head || !hasEscape(head));
      yield { lines, first: line, plain };
      line += lines.length;
    }
  } catch (err) {
    throw new EventsInputError(`cannot read the events input: ${(err as Error).message}`, { cause: err });
  }
  if (rest && rest.length > 0) yield { lines: [rest.toString('utf8')], first: line, plain: false };
}

function hasEscape(bytes: Buffer): boolean {
  return bytes.indexOf('\\u') >= 0 || bytes.indexOf('\\/') >= 0;
}

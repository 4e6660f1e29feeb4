/**
 * Wildcard patterns (`*` any run, `?` one character; a backslash is a literal character, as in
 * EQL) matched without backtracking: the pattern splits at `*` into segments; the first is
 * anchored at the start, the last at the end, and the middle ones are found leftmost in order.
 * Leftmost-greedy placement is exact for patterns made of `*` and `?`, and costs at most
 * O(text × pattern), so `*a*a*a*a*b` on a 100 kB string stays fast.
 */

export type StringTest = (text: string) => boolean;

export function hasWildcard(pattern: string): boolean {
  return pattern.includes('*') || pattern.includes('?');
}

/** Compiles a pattern; with `caseInsensitive` both sides are lower-cased (the caller lower-cases the text). */
export function compileWildcard(pattern: string): StringTest {
  if (!hasWildcard(pattern)) return (text) => text === pattern;
  const segments = pattern.split('*');
  const noQuestion = !pattern.includes('?');
  if (noQuestion && segments.length === 2) {
    const [head, tail] = segments;
    if (tail === '') return (text) => text.startsWith(head);
    if (head === '') return (text) => text.endsWith(tail);
    return (text) => text.length >= head.length + tail.length && text.startsWith(head) && text.endsWith(tail);
  }
  if (noQuestion && segments.length === 3 && segments[0] === '' && segments[2] === '') {
    const mid = segments[1];
    return (text) => text.includes(mid);
  }
  return (text) => matchSegments(segments, text);
}

function segmentAt(segment: string, text: string, at: number): boolean {
  if (at + segment.length > text.length) return false;
  for (let i = 0; i < segment.length; i++) {
    const p = segment.charCodeAt(i);
    if (p !== 63 /* ? */ && p !== text.charCodeAt(at + i)) return false;
  }
  return true;
}

function findSegment(segment: string, text: string, from: number, limit: number): number {
  if (!segment.includes('?')) {
    const i = text.indexOf(segment, from);
    return i >= 0 && i + segment.length <= limit ? i : -1;
  }
  for (let at = from; at + segment.length <= limit; at++) {
    if (segmentAt(segment, text, at)) return at;
  }
  return -1;
}

function matchSegments(segments: readonly string[], text: string): boolean {
  if (segments.length === 1) return text.length === segments[0].length && segmentAt(segments[0], text, 0);
  const first = segments[0];
  const last = segments[segments.length - 1];
  if (first.length + last.length > text.length) return false;
  if (!segmentAt(first, text, 0)) return false;
  const tailStart = text.length - last.length;
  if (!segmentAt(last, text, tailStart)) return false;
  let pos = first.length;
  for (let i = 1; i < segments.length - 1; i++) {
    const seg = segments[i];
    if (seg === '') continue;
    const found = findSegment(seg, text, pos, tailStart);
    if (found < 0) return false;
    pos = found + seg.length;
  }
  return true;
}

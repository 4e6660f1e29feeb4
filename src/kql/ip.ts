/**
 * IP addresses as Elasticsearch's `ip` field holds them: 16 bytes, IPv4 as IPv4-mapped IPv6
 * (so `1.2.3.4` equals `::ffff:1.2.3.4`), compared byte by byte; a CIDR block (`10.0.0.0/8`)
 * is a range of them, as a term query on an ip field takes it.
 */

export type Ip = Uint8Array;

function parseV4(text: string): number[] | null {
  const parts = text.split('.');
  if (parts.length !== 4) return null;
  const out: number[] = [];
  for (const p of parts) {
    if (!/^\d{1,3}$/.test(p)) return null;
    const n = Number(p);
    if (n > 255) return null;
    out.push(n);
  }
  return out;
}

export function parseIp(text: string): Ip | null {
  const v4 = parseV4(text);
  if (v4) return Uint8Array.from([0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff, ...v4]);
  if (!text.includes(':')) return null;
  const halves = text.split('::');
  if (halves.length > 2) return null;
  const groups = (h: string): number[] | null => {
    if (h === '') return [];
    const out: number[] = [];
    const items = h.split(':');
    for (let i = 0; i < items.length; i++) {
      const item = items[i];
      if (i === items.length - 1 && item.includes('.')) {
        const tail = parseV4(item);
        if (!tail) return null;
        out.push((tail[0] << 8) | tail[1], (tail[2] << 8) | tail[3]);
      } else {
        if (!/^[0-9a-fA-F]{1,4}$/.test(item)) return null;
        out.push(parseInt(item, 16));
      }
    }
    return out;
  };
  const head = groups(halves[0]);
  const tail = halves.length === 2 ? groups(halves[1]) : [];
  if (!head || !tail) return null;
  const missing = 8 - head.length - tail.length;
  if (halves.length === 2 ? missing < 1 : missing !== 0) return null;
  const all = [...head, ...new Array<number>(missing).fill(0), ...tail];
  const out = new Uint8Array(16);
  all.forEach((g, i) => {
    out[2 * i] = g >> 8;
    out[2 * i + 1] = g & 0xff;
  });
  return out;
}

export function compareIp(a: Ip, b: Ip): number {
  for (let i = 0; i < 16; i++) if (a[i] !== b[i]) return a[i] - b[i];
  return 0;
}

/** A CIDR block as its first and last address; null when malformed. */
export function parseCidr(text: string): { readonly first: Ip; readonly last: Ip } | null {
  const slash = text.lastIndexOf('/');
  if (slash < 0) return null;
  const addr = parseIp(text.slice(0, slash));
  const bitsText = text.slice(slash + 1);
  if (!addr || !/^\d{1,3}$/.test(bitsText)) return null;
  const isV4 = parseV4(text.slice(0, slash)) !== null;
  const bits = Number(bitsText) + (isV4 ? 96 : 0);
  if (bits > 128 || (isV4 && bits - 96 > 32)) return null;
  const first = new Uint8Array(16);
  const last = new Uint8Array(16);
  for (let i = 0; i < 16; i++) {
    const keep = Math.max(0, Math.min(8, bits - 8 * i));
    const mask = keep === 0 ? 0 : (0xff << (8 - keep)) & 0xff;
    first[i] = addr[i] & mask;
    last[i] = (addr[i] & mask) | (~mask & 0xff);
  }
  return { first, last };
}

/**
 * A seeded generator of ECS events shaped like Elastic Defend and Sysmon-through-winlogbeat
 * documents: benign WinRM administration, unrelated noise, and planted WinRM remote-shell
 * executions (the attack of the rule's validation: Invoke-Command running a command on a
 * target). Used by the demo, the tests and the benchmarks; the same seed gives the same data.
 */

export interface GeneratedEvent {
  readonly index: string;
  readonly id: string;
  readonly source: Record<string, unknown>;
}

export interface PlantedAttack {
  readonly hostId: string;
  readonly hostName: string;
  readonly sourceIp: string;
  readonly child: string;
  readonly severity: 'medium' | 'high';
}

export interface Dataset {
  readonly events: GeneratedEvent[];
  readonly attacks: PlantedAttack[];
}

export interface EventIndices {
  readonly defendProcess: string;
  readonly defendNetwork: string;
  readonly winlogbeat: string;
}

export const DEMO_INDICES: EventIndices = {
  defendProcess: 'logs-endpoint.events.process-lookout.demo',
  defendNetwork: 'logs-endpoint.events.network-lookout.demo',
  winlogbeat: 'winlogbeat-lookout-demo',
};

/** mulberry32: small, fast, good enough for test data. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export interface GenerateOptions {
  readonly seed: number;
  /** Epoch ms of the first and last event. */
  readonly start: number;
  readonly end: number;
  readonly noiseEvents: number;
  readonly attacks: number;
  readonly hosts?: number;
  /** Prefix of document ids, so several data sets can share indices. */
  readonly idPrefix?: string;
  readonly indices?: Partial<EventIndices>;
}

const NOISE_PROCESSES = ['svchost.exe', 'chrome.exe', 'explorer.exe', 'OUTLOOK.EXE', 'teams.exe', 'msedge.exe', 'taskhostw.exe', 'SearchIndexer.exe'];
const ATTACK_CHILDREN: readonly [string, string][] = [
  ['whoami.exe', 'whoami'],
  ['ipconfig.exe', 'ipconfig /all'],
  ['cmd.exe', 'cmd.exe /c net group "Domain Admins" /domain'],
  ['powershell.exe', 'powershell.exe -nop -enc SQBFAFgA'],
  ['net.exe', 'net user'],
  ['mimikatz.exe', 'mimikatz.exe "sekurlsa::logonpasswords" exit'],
];
const SENSITIVE = new Set(['cmd.exe', 'powershell.exe', 'pwsh.exe', 'mimikatz.exe']);

export function generateDataset(o: GenerateOptions): Dataset {
  return { events: [...generateEvents(o)], attacks: plantedAttacks(o) };
}

/** The attacks `generateEvents` plants, known without generating anything. */
export function plantedAttacks(o: GenerateOptions): PlantedAttack[] {
  const prefix = o.idPrefix ?? 'ev';
  return Array.from({ length: o.attacks }, (_, i) => {
    const child = ATTACK_CHILDREN[i % ATTACK_CHILDREN.length][0];
    return { hostId: `victim-${prefix}-${i}`, hostName: attackHostName(i), sourceIp: attackSource(i), child, severity: SENSITIVE.has(child) ? 'high' : 'medium' };
  });
}

const attackHostName = (i: number) => `target${(i + 1).toString().padStart(2, '0')}.corp.example`;
const attackSource = (i: number) => `10.0.5.${(i % 200) + 10}`;

/**
 * The events of a data set one by one (noise in random time order, then the attacks), so that
 * ten million of them can be indexed without holding them: the same seed gives the same events.
 */
export function* generateEvents(o: GenerateOptions): Generator<GeneratedEvent> {
  const rand = rng(o.seed);
  const idx = { ...DEMO_INDICES, ...o.indices };
  const hostCount = o.hosts ?? 50;
  const prefix = o.idPrefix ?? 'ev';
  let n = 0;
  const id = () => `${prefix}-${(n++).toString(36).padStart(7, '0')}`;
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(rand() * xs.length)];
  // Host ids carry the prefix, so data sets loaded side by side never join on a host.
  const host = (i: number) => ({ id: `${prefix}-host-${i.toString().padStart(4, '0')}`, name: `ws${i.toString().padStart(4, '0')}.corp.example`, os: { type: 'windows', family: 'windows' } });
  const at = (ms: number) => new Date(Math.round(ms)).toISOString();
  const span = Math.max(1, o.end - o.start);

  const defendNetwork = (ts: number, h: ReturnType<typeof host>, src: string, port: number, pid = 4) => ({
    index: idx.defendNetwork, id: id(),
    source: {
      '@timestamp': at(ts), event: { category: ['network'], type: ['start'], action: 'connection_accepted', kind: 'event' },
      host: h, process: { pid, name: pid === 4 ? 'System' : 'svchost.exe', executable: pid === 4 ? 'System' : 'C:\\Windows\\System32\\svchost.exe' },
      network: { direction: 'ingress', transport: 'tcp', protocol: 'http' }, source: { ip: src, port: 49152 + Math.floor(rand() * 10000) },
      destination: { ip: '10.0.1.20', port }, agent: { type: 'endpoint' },
    },
  });
  const defendProcess = (ts: number, h: ReturnType<typeof host>, name: string, cmd: string, parent: string, user = 'svc_admin') => ({
    index: idx.defendProcess, id: id(),
    source: {
      '@timestamp': at(ts), event: { category: ['process'], type: ['start'], action: 'start', kind: 'event' },
      host: h, user: { name: user, domain: 'CORP' },
      process: {
        pid: 1000 + Math.floor(rand() * 60000), name, executable: `C:\\Windows\\System32\\${name}`, command_line: cmd,
        parent: { name: parent, pid: 3000 + Math.floor(rand() * 1000), executable: `C:\\Windows\\System32\\${parent}` },
      },
      agent: { type: 'endpoint' },
    },
  });
  const sysmonNetwork = (ts: number, h: ReturnType<typeof host>, src: string, port: number) => ({
    index: idx.winlogbeat, id: id(),
    source: {
      '@timestamp': at(ts), event: { category: ['network'], type: ['connection', 'start', 'protocol'], code: '3', kind: 'event', module: 'sysmon' },
      host: h, process: { pid: 4, name: 'System', executable: 'System' },
      network: { direction: 'ingress', transport: 'tcp', protocol: 'http' }, source: { ip: src, port: 50000 + Math.floor(rand() * 9000) },
      destination: { ip: '10.0.2.30', port }, winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: 3, computer_name: h.name },
      agent: { type: 'winlogbeat' },
    },
  });
  const sysmonProcess = (ts: number, h: ReturnType<typeof host>, name: string, cmd: string, parent: string, user = 'admin') => ({
    index: idx.winlogbeat, id: id(),
    source: {
      '@timestamp': at(ts), event: { category: ['process'], type: ['start', 'process_start'], code: '1', kind: 'event', module: 'sysmon' },
      host: h, user: { name: user, domain: 'CORP' },
      process: { pid: 2000 + Math.floor(rand() * 50000), name, executable: `C:\\Windows\\System32\\${name}`, command_line: cmd, parent: { name: parent, executable: `C:\\Windows\\System32\\${parent}` } },
      winlog: { channel: 'Microsoft-Windows-Sysmon/Operational', event_id: 1, computer_name: h.name }, agent: { type: 'winlogbeat' },
    },
  });

  // Near-misses of one kind stay on their own hosts, so that, say, a loopback connection's
  // winrshost child never pairs with another host's benign remote connection by chance.
  const third = Math.max(1, Math.floor(hostCount / 3));
  const poolHost = (pool: number) => host(pool * third + Math.floor(rand() * third));
  for (let i = 0; i < o.noiseEvents; i++) {
    const ts = o.start + rand() * span;
    const h = host(Math.floor(rand() * hostCount));
    const r = rand();
    if (r < 0.45) yield (defendProcess(ts, h, pick(NOISE_PROCESSES), `${pick(NOISE_PROCESSES)} --type=renderer`, 'explorer.exe', 'alice'));
    else if (r < 0.75) yield (defendNetwork(ts, h, `10.0.${Math.floor(rand() * 250)}.${Math.floor(rand() * 250)}`, pick([443, 80, 445, 135, 3389]), 1234));
    else if (r < 0.85) yield (sysmonProcess(ts, h, pick(NOISE_PROCESSES), 'C:\\Windows\\system32\\svchost.exe -k netsvcs', 'services.exe', 'SYSTEM'));
    else if (r < 0.9) {
      // Benign administration: PowerShell remoting runs under wsmprovhost.exe, not winrshost.exe.
      const admin = poolHost(0);
      yield (defendNetwork(ts, admin, '10.0.0.10', 5985));
      yield (defendProcess(ts + 1500, admin, 'powershell.exe', 'powershell.exe -Command Get-Service', 'wsmprovhost.exe'));
    } else if (r < 0.93) {
      // Local WinRM (loopback v4 and v6): excluded by the rule.
      const local = poolHost(1);
      yield (defendNetwork(ts, local, rand() < 0.5 ? '127.0.0.1' : '::1', 5985));
      yield (defendProcess(ts + 1000, local, 'hostname.exe', 'hostname', 'winrshost.exe'));
    } else if (r < 0.96) {
      // The console host a remote shell always starts: excluded by path.
      const shell = poolHost(2);
      yield (defendNetwork(ts, shell, '10.0.0.10', 5986));
      yield (defendProcess(ts + 800, shell, 'conhost.exe', 'conhost.exe 0xffffffff -ForceV1', 'winrshost.exe'));
    } else {
      yield (sysmonNetwork(ts, h, `10.0.3.${Math.floor(rand() * 250)}`, 445));
    }
  }

  for (let i = 0; i < o.attacks; i++) {
    // Each attack on its own host id, so sequences never share a key.
    const h = { ...host(hostCount + i), id: `victim-${prefix}-${i}`, name: attackHostName(i) };
    const ts = o.start + ((i + 0.5) / Math.max(1, o.attacks)) * span * 0.98;
    const [child, cmd] = ATTACK_CHILDREN[i % ATTACK_CHILDREN.length];
    const src = attackSource(i);
    if (i % 3 === 2) {
      yield (sysmonNetwork(ts, h, src, 5985));
      yield (sysmonProcess(ts + 4000, h, child, cmd, 'winrshost.exe', 'eve'));
    } else {
      yield (defendNetwork(ts, h, src, i % 2 === 0 ? 5985 : 5986));
      yield (defendProcess(ts + 700, h, 'conhost.exe', 'conhost.exe 0xffffffff -ForceV1', 'winrshost.exe', 'eve'));
      yield (defendProcess(ts + 2000, h, child, cmd, 'winrshost.exe', 'eve'));
    }
  }
}

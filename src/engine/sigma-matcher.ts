/**
 * Runs a compiled Sigma rule over ordered events: each event is routed by its index to a
 * pipeline, tested against the rule's detections there, and either alerts on its own or feeds
 * the correlation. The pipelines' index patterns are tested against every name the event's
 * index answers to (a data stream's backing index answers to the stream, an index to its
 * aliases: search/index-names.ts). An event that fits no pipeline is handed to `onUnrouted`,
 * which counts and reports it: it is never dropped silently.
 */
import { namesFromIndex, type IndexNames } from '../search/index-names.js';
import type { CompiledSigma, SigmaRoute } from '../sigma/compiled.js';
import { Correlator } from './correlation.js';
import type { EventRecord, RuleMatch } from './events.js';

export class SigmaMatcher {
  private readonly correlator: Correlator | null;
  private readonly routeCache = new Map<string, SigmaRoute | null>();

  constructor(
    private readonly rule: CompiledSigma,
    emitFrom = Number.NEGATIVE_INFINITY,
    private readonly names: IndexNames = namesFromIndex,
    private readonly onUnrouted: (index: string) => void = () => undefined,
  ) {
    this.correlator = rule.correlation ? new Correlator(rule.correlation, emitFrom) : null;
  }

  get openPartials(): number {
    return this.correlator?.openGroups ?? 0;
  }

  private route(index: string): SigmaRoute | null {
    let r = this.routeCache.get(index);
    if (r === undefined) {
      const names = this.names(index);
      r = this.rule.routes.find((x) => x.indexTests.some((t) => names.some((n) => t(n)))) ?? null;
      this.routeCache.set(index, r);
    }
    return r;
  }

  push(event: EventRecord, emit: (m: RuleMatch) => void): void {
    const route = this.route(event.index);
    if (!route) {
      this.onUnrouted(event.index);
      return;
    }
    const matched: string[] = [];
    for (const [name, detection] of route.detections) if (detection.matches(event.source)) matched.push(name);
    if (matched.length === 0) return;
    if (matched.some((n) => this.rule.standalone.includes(n))) emit({ events: [event], joinKeys: [] });
    if (!this.correlator) return;
    const name = matched[0];
    const group = (route.groupBy.get(name) ?? []).map((g) => g(event.source)[0] ?? null);
    const value = route.value.get(name)?.(event.source)[0];
    this.correlator.push({ event, matched, group, value }, emit);
  }
}

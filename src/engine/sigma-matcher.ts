/**
 * Runs a compiled Sigma rule over ordered events: each event is routed by its index to a
 * pipeline, tested against the rule's detections there, and either alerts on its own or feeds
 * the correlation.
 */
import type { CompiledSigma, SigmaRoute } from '../sigma/compiled.js';
import { Correlator } from './correlation.js';
import type { EventRecord, RuleMatch } from './events.js';

export class SigmaMatcher {
  private readonly correlator: Correlator | null;
  private readonly routeCache = new Map<string, SigmaRoute | null>();

  constructor(private readonly rule: CompiledSigma, emitFrom = Number.NEGATIVE_INFINITY) {
    this.correlator = rule.correlation ? new Correlator(rule.correlation, emitFrom) : null;
  }

  get openPartials(): number {
    return this.correlator?.openGroups ?? 0;
  }

  private route(index: string): SigmaRoute | null {
    let r = this.routeCache.get(index);
    if (r === undefined) {
      r = this.rule.routes.find((x) => x.indexTests.some((t) => t(index))) ?? null;
      this.routeCache.set(index, r);
    }
    return r;
  }

  push(event: EventRecord, emit: (m: RuleMatch) => void): void {
    const route = this.route(event.index);
    if (!route) return;
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

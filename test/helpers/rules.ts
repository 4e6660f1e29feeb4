/** The shipped rule, and copies of it pointed at test indices. */
import { fileURLToPath } from 'node:url';
import { loadRules } from '../../src/rules/load.js';
import type { Rule } from '../../src/rules/model.js';

export const REPO = fileURLToPath(new URL('../../', import.meta.url));
export const SHIPPED_RULE_FILE = `${REPO}rules/windows/lateral_movement_incoming_winrm_shell_execution.toml`;

export async function shippedRule(overrides: Partial<Rule> = {}): Promise<Rule> {
  const set = await loadRules([SHIPPED_RULE_FILE]);
  if (set.rules.length !== 1) throw new Error(`shipped rule did not load: ${set.errors.map((e) => e.message).join('; ')}`);
  return Object.freeze({ ...set.rules[0], ...overrides });
}

/**
 * Loads every rule under the given files and folders. One bad rule never stops the others:
 * problems are collected per file and returned beside the rules that loaded, and rules of
 * types Lookout does not run are listed as skipped with the reason. A rule with `enabled = false`
 * loads like any other (its exceptions attached, its errors reported) and is returned apart, in
 * `disabled`: Kibana keeps such rules and does not schedule them, and neither does Lookout.
 */
import { readdir, readFile, stat } from 'node:fs/promises';
import { dirname, extname, join } from 'node:path';
import { errorMessage, RuleLoadError } from '../errors.js';
import { loadElasticToml } from './elastic-toml.js';
import { loadKibanaNdjson, type LineOutcome } from './kibana-ndjson.js';
import { SigmaLoader } from '../sigma/load.js';
import { loadPipelines, type PipelineSet } from '../sigma/pipeline.js';
import type { Rule, SkippedRule } from './model.js';
import { attachExceptions, EXCEPTIONS_FILE, readKibanaExceptions, readNativeExceptions, type ExceptionList, type NativeExceptions } from '../exceptions/index.js';

export interface RuleSet {
  /** The enabled rules: what the scheduler runs. */
  readonly rules: readonly Rule[];
  /** Rules that loaded but say `enabled = false`: valid, never scheduled. */
  readonly disabled: readonly Rule[];
  readonly skipped: readonly SkippedRule[];
  readonly errors: readonly RuleLoadError[];
}

type Loader = (file: string, text: string) => LineOutcome[];

export interface LoadOptions {
  /** Sigma field mapping pipelines; default: the files in mappings/sigma. */
  readonly sigmaPipelines?: PipelineSet | string;
  /** Folder of value list files (`<list.id>.txt`); default: `value_lists` beside the file that uses the list. */
  readonly valueListsDir?: string;
}

/** Rule file kinds by extension: Elastic's detection-rules TOML, Kibana's NDJSON export, Sigma YAML. */
function loaders(options: LoadOptions): Readonly<Record<string, Loader>> {
  let sigma: SigmaLoader | undefined;
  const sigmaLoad: Loader = (file, text) => {
    if (!sigma) {
      const p = options.sigmaPipelines;
      sigma = new SigmaLoader(typeof p === 'object' ? p : loadPipelines(p));
    }
    return sigma.load(file, text);
  };
  return {
    '.toml': (file, text) => [loadElasticToml(file, text)],
    '.ndjson': loadKibanaNdjson,
    '.yml': sigmaLoad,
    '.yaml': sigmaLoad,
  };
}

const EXTENSIONS = new Set(['.toml', '.ndjson', '.yml', '.yaml']);

async function listRuleFiles(path: string, errors: RuleLoadError[]): Promise<string[]> {
  let info;
  try {
    info = await stat(path);
  } catch (err) {
    errors.push(new RuleLoadError(path, `cannot read: ${errorMessage(err)}`, { cause: err }));
    return [];
  }
  if (!info.isDirectory()) return [path];
  const entries = await readdir(path, { withFileTypes: true });
  const out: string[] = [];
  for (const entry of entries.sort((a, b) => a.name.localeCompare(b.name))) {
    const full = join(path, entry.name);
    if (entry.isDirectory()) out.push(...(await listRuleFiles(full, errors)));
    else if (EXTENSIONS.has(extname(entry.name))) out.push(full);
  }
  return out;
}

export async function loadRules(paths: readonly string[], options: LoadOptions = {}): Promise<RuleSet> {
  const LOADERS = loaders(options);
  const errors: RuleLoadError[] = [];
  const rules: Rule[] = [];
  const skipped: SkippedRule[] = [];
  const seen = new Map<string, string>();
  const kibana = new Map<string, readonly ExceptionList[]>();
  const native: NativeExceptions[] = [];
  let walkedTree = false;
  for (const root of paths) {
    const files = await listRuleFiles(root, errors);
    const isDir = files.length !== 1 || files[0] !== root;
    walkedTree ||= isDir;
    // A single rule file also picks up the exceptions files beside it.
    if (!isDir) files.push(...(await readdir(dirname(root)).catch(() => [])).filter((f) => EXCEPTIONS_FILE.test(f)).sort().map((f) => join(dirname(root), f)));
    for (const file of files) {
      if (EXCEPTIONS_FILE.test(file)) {
        try {
          native.push(readNativeExceptions(file, await readFile(file, 'utf8')));
        } catch (err) {
          errors.push(err instanceof RuleLoadError ? err : new RuleLoadError(file, errorMessage(err), { cause: err }));
        }
        continue;
      }
      const loader = LOADERS[extname(file)];
      if (!loader) {
        errors.push(new RuleLoadError(file, `unknown rule file type '${extname(file)}'; expected .toml, .ndjson, .yml or .yaml`));
        continue;
      }
      let outcomes: LineOutcome[];
      try {
        const text = await readFile(file, 'utf8');
        outcomes = loader(file, text);
        if (extname(file) === '.ndjson') {
          const found = readKibanaExceptions(file, text);
          kibana.set(file, found.lists);
          errors.push(...found.errors);
        }
      } catch (err) {
        errors.push(err instanceof RuleLoadError ? err : new RuleLoadError(file, errorMessage(err), { cause: err }));
        continue;
      }
      for (const outcome of outcomes) {
        if ('error' in outcome) {
          errors.push(outcome.error);
          continue;
        }
        if ('skipped' in outcome) {
          skipped.push(outcome.skipped);
          continue;
        }
        const rule = outcome.rule;
        const other = seen.get(rule.ruleId);
        if (other) {
          errors.push(new RuleLoadError(file, `rule_id ${rule.ruleId} is already used by ${other}`));
          continue;
        }
        seen.set(rule.ruleId, file);
        rules.push(rule);
      }
    }
  }
  const attached = await attachExceptions(rules, {
    kibana, native, valueListsDir: options.valueListsDir, knownRuleIds: walkedTree ? new Set([...seen.keys(), ...skipped.flatMap((s) => (s.ruleId ? [s.ruleId] : []))]) : undefined,
  });
  errors.push(...attached.errors);
  return { rules: attached.rules.filter((r) => r.enabled), disabled: attached.rules.filter((r) => !r.enabled), skipped, errors };
}

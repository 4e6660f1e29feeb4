/** The JSON files in `mappings/`, read from the package root (works from src/ and dist/). */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export function readMapping(name: 'alerts-template.json' | 'state-template.json' | 'ecs-events-template.json'): Record<string, unknown> {
  const path = fileURLToPath(new URL(`../../mappings/${name}`, import.meta.url));
  const json = JSON.parse(readFileSync(path, 'utf8')) as Record<string, unknown>;
  delete json._comment;
  return json;
}

#!/usr/bin/env node
// The `lookout` command. `npm run build` (run by `npm install`, prepare) compiles the TypeScript
// sources to dist/ with tsc, then bundles the command line into dist/bundle/ with esbuild
// (scripts/bundle.mjs): one file per command instead of hundreds of modules, which is most of
// a short command's start-up. When tsc has run after the bundle was made (`npx tsc` alone), the
// bundle may be stale, so the command runs tsc's dist/cli/main.js instead: slower, never old code.
import { statSync } from 'node:fs';

const mtime = (path) => statSync(new URL(path, import.meta.url), { throwIfNoEntry: false })?.mtimeMs;
const bundled = mtime('../dist/bundle/main.js');
const compiled = mtime('../dist/cli/main.js');
const entry = bundled !== undefined && (compiled === undefined || bundled >= compiled) ? '../dist/bundle/main.js' : '../dist/cli/main.js';
const { main } = await import(entry);

const code = await main(process.argv.slice(2), { stdout: process.stdout, stderr: process.stderr, env: process.env });
process.exitCode = code;

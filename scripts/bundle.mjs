// `npm run build`, second step: bundles the command line (src/cli/main.ts and everything it
// imports, dependencies included) with esbuild into dist/bundle/, which bin/lookout.js loads.
// Why: Node 20 resolves, reads and compiles each ES module file on its own, and start-up was
// mostly that (about 150 ms of `lookout validate` went to loading dist/'s and the packages'
// hundreds of files). The bundle is ES modules with code splitting, so each command's
// `await import(...)` in cli/main.ts stays a separate chunk, loaded only by that command.
// Not minified: a stack trace names the functions and the chunk keeps `// src/...` comments;
// the linked source maps (dist/bundle/*.js.map) map it back to src/ under
// `NODE_OPTIONS=--enable-source-maps`. tsc's dist/ (the library and scripts/demo) is unchanged.
//
// Paths read relative to a module (new URL('../../mappings/...', import.meta.url)) stay right:
// dist/bundle/ is as deep under the repository as dist/config/ and dist/sigma/ were.
import { build } from 'esbuild';
import { rm } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outdir = join(root, 'dist', 'bundle');
// Chunk names carry a content hash: remove the previous build's.
await rm(outdir, { recursive: true, force: true });
await build({
  absWorkingDir: root,
  entryPoints: { main: 'src/cli/main.ts' },
  outdir,
  bundle: true,
  splitting: true,
  format: 'esm',
  platform: 'node',
  target: 'node20',
  sourcemap: 'linked',
  // The bundled CommonJS packages (the Elasticsearch client, winston, ...) call require() for
  // Node's modules; an ES module has no require, so each chunk makes one.
  banner: { js: "import { createRequire as __lookoutCreateRequire } from 'node:module'; const require = __lookoutCreateRequire(import.meta.url);" },
  logLevel: 'warning',
});

// `npm run build`: bundles every scripts/NAME.ts with esbuild into
// dist/NAME.mjs, one self-contained file per script (ESM, Node 20): its
// shebang is `#!/usr/bin/env node`, its header comment stays at the top, and
// everything it imports (lib/, zx) is inside, so `node NAME.mjs` works when
// the file is copied alone into an empty folder.
//
// zx is imported lazily (`await import('zx/core')`) on the one path that
// shells out. Without code splitting (one file per script) esbuild inlines
// that module but wraps it in an init function that only runs when the
// import() does, so start-up does not evaluate zx. zx's CommonJS helpers call
// `require('async_hooks')`, which an ESM bundle lacks: a banner defines
// `require` with createRequire(import.meta.url).
//
// Bundles are minified: V8 still has to parse the whole file at start-up,
// and zx (in the scripts that use it) is most of it; minified, handshake-tour
// drops from 880 to 410 KiB. `--no-minify` keeps them readable.
//
//   npm run build                         all scripts
//   npx tsx tools/build.ts echo           only scripts whose name contains "echo"
//   npx tsx tools/build.ts --no-minify    readable bundles
import * as esbuild from 'esbuild';
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPTS = path.join(ROOT, 'scripts');
const DIST = path.join(ROOT, 'dist');

const REQUIRE_SHIM =
  "import { createRequire as __socketLabCreateRequire } from 'node:module';\n" +
  'const require = __socketLabCreateRequire(import.meta.url);\n';

/** The comment block under a script's shebang, kept verbatim. */
export function headerComment(source: string): string {
  const lines = source.split('\n');
  if (lines[0]?.startsWith('#!')) lines.shift();
  const header: string[] = [];
  for (const line of lines) {
    if (!line.startsWith('//')) break;
    header.push(line);
  }
  return header.join('\n');
}

/** Builds one script; returns the bundle's path and size in bytes. */
export async function buildScript(name: string, minify = true): Promise<{ file: string; bytes: number }> {
  const entry = path.join(SCRIPTS, `${name}.ts`);
  const source = fs.readFileSync(entry, 'utf8');
  const result = await esbuild.build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    write: false,
    minify,
    legalComments: 'none',
    logLevel: 'warning',
    outfile: path.join(DIST, `${name}.mjs`),
  });
  // esbuild keeps the entry's own shebang (`npx tsx`); replace it.
  let code = result.outputFiles[0].text.replace(/^#![^\n]*\n/, '');
  const header = headerComment(source);
  code = `#!/usr/bin/env node\n${header ? `${header}\n//\n// Bundled from scripts/${name}.ts by tools/build.ts (npm run build).\n` : ''}${REQUIRE_SHIM}${code}`;
  const file = path.join(DIST, `${name}.mjs`);
  fs.writeFileSync(file, code, { mode: 0o755 });
  fs.chmodSync(file, 0o755);
  return { file, bytes: Buffer.byteLength(code) };
}

/** The script names in scripts/ (NAME for scripts/NAME.ts). */
export function scriptNames(): string[] {
  return fs
    .readdirSync(SCRIPTS)
    .filter((file) => file.endsWith('.ts'))
    .map((file) => file.slice(0, -3))
    .sort();
}

async function main(): Promise<void> {
  const argv = process.argv.slice(2);
  const minify = !argv.includes('--no-minify');
  const filters = argv.filter((arg) => arg !== '--no-minify');
  const names = scriptNames().filter((name) => filters.length === 0 || filters.some((word) => name.includes(word)));
  if (names.length === 0) {
    process.stderr.write(`build: error: no script in scripts/ matches ${filters.join(' ')}\n`);
    process.exitCode = 2;
    return;
  }
  fs.mkdirSync(DIST, { recursive: true });
  const started = performance.now();
  const built = await Promise.all(names.map(async (name) => ({ name, ...(await buildScript(name, minify)) })));
  const ms = performance.now() - started;
  for (const { file, bytes } of built) {
    process.stdout.write(`  ${path.relative(ROOT, file).padEnd(28)} ${(bytes / 1024).toFixed(1).padStart(7)} KiB\n`);
  }
  process.stdout.write(`built ${built.length} bundles in ${Math.round(ms)} ms\n`);
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  main().catch((error) => {
    process.stderr.write(`build: error: ${error instanceof Error ? error.message.split('\n')[0] : String(error)}\n`);
    process.exitCode = 1;
  });
}

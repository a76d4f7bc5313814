// The library's layers, checked on every run: imports point one way only,
//
//   errors  <-  wire  <-  kernel  <-  cli, net, runtime  <-  serve  <-  scripts
//
// lib/errors.ts may be imported from anywhere; lib/wire/ (pure bytes) imports
// only wire and errors; lib/kernel/ (reads what the kernel reports) adds wire;
// the top-level modules add kernel; lib/serve/ (runs servers and clients) may
// import any lib module; nothing in lib/ imports scripts/, tests/ or bench/.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT } from './helpers.ts';

const RANK: Record<string, number> = { errors: 0, wire: 1, kernel: 2, top: 3, serve: 4 };

/** The layer of a lib file, by its path under lib/. */
export function layerOf(libPath: string): string {
  if (libPath === 'errors.ts') return 'errors';
  const folder = libPath.includes('/') ? libPath.split('/')[0] : 'top';
  if (!(folder in RANK)) throw new Error(`lib/${libPath}: a folder outside the layers (${Object.keys(RANK).join(', ')})`);
  return folder;
}

function importsOf(file: string): string[] {
  const text = fs.readFileSync(file, 'utf8');
  const specs: string[] = [];
  for (const m of text.matchAll(/^\s*(?:import|export)\b[^;'"`]*?\bfrom\s*['"]([^'"]+)['"]/gm)) specs.push(m[1]);
  for (const m of text.matchAll(/\bimport\(\s*['"]([^'"]+)['"]\s*\)/g)) specs.push(m[1]);
  return specs.filter((spec) => spec.startsWith('.'));
}

test('lib/ imports point down the layers only', () => {
  const lib = path.join(ROOT, 'lib');
  const problems: string[] = [];
  const files = fs.readdirSync(lib, { recursive: true, encoding: 'utf8' }).filter((f) => f.endsWith('.ts'));
  assert.ok(files.length > 10, 'found the lib files');
  for (const file of files) {
    const from = layerOf(file);
    for (const spec of importsOf(path.join(lib, file))) {
      const target = path.relative(lib, path.resolve(lib, path.dirname(file), spec));
      if (target.startsWith('..')) {
        problems.push(`lib/${file} imports ${spec}, outside lib/`);
        continue;
      }
      const to = layerOf(target);
      if (RANK[to] > RANK[from] || (to === from && from === 'errors' && target !== file)) {
        problems.push(`lib/${file} (${from}) imports lib/${target} (${to}), a layer above it`);
      }
    }
  }
  assert.equal(problems, []);
});

test('the layer rule itself: a wire module importing kernel is refused', () => {
  assert.is(layerOf('wire/address.ts'), 'wire');
  assert.is(layerOf('cli.ts'), 'top');
  assert.is(layerOf('errors.ts'), 'errors');
  assert.ok(RANK[layerOf('kernel/procnet.ts')] > RANK[layerOf('wire/address.ts')]);
  assert.throws(() => layerOf('misc/x.ts'), /outside the layers/);
});

test.run();

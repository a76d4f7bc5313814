// The documentation against the code: README.md stays under 250 lines and
// points only inside the repository; every relative link in README.md and
// docs/ resolves (the file, and the #anchor when it names a heading); and
// every `--flag` a script's page (docs/NAME.md) shows for that script is in
// that script's `--help` (run for real).
//
// A page may mention other scripts' flags (`netstat --port 8001 --explain` on
// the listen-only page), so a page's flags are read only where they belong to
// its script: on a line that invokes it (`scripts/NAME.ts ...`, `socket-lab
// NAME ...`, `dist/NAME.mjs ...`, `$ NAME ...`, up to the next `|`, `&`, `;`
// or another command), in a `Flags:` line, and in a section headed "Flags"
// (the first cell of its table rows, the start of its list items).
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import fs from 'node:fs';
import path from 'node:path';
import { ROOT, runScript } from './helpers.ts';

const README = path.join(ROOT, 'README.md');
const DOCS = path.join(ROOT, 'docs');
const pages = [README, ...fs.readdirSync(DOCS).filter((f) => f.endsWith('.md')).sort().map((f) => path.join(DOCS, f))];
const scripts = fs.readdirSync(path.join(ROOT, 'scripts')).filter((f) => f.endsWith('.ts')).map((f) => f.slice(0, -3));
const rel = (file: string) => path.relative(ROOT, file);

/** The page's lines, each marked whether it sits inside a ``` fence. */
function lines(text: string): Array<{ line: string; n: number; code: boolean }> {
  let fence = false;
  return text.split('\n').map((line, i) => {
    const toggles = /^\s*(```|~~~)/.test(line);
    if (toggles) fence = !fence;
    return { line, n: i + 1, code: fence || toggles };
  });
}

/** GitHub's anchor for a heading: lowercase, punctuation dropped, spaces to hyphens. */
export function slug(heading: string): string {
  return heading
    .trim()
    .toLowerCase()
    .replace(/[^\p{L}\p{N}\s_-]/gu, '')
    .replace(/\s/g, '-');
}

/** The anchors of a markdown file (duplicates numbered as GitHub does). */
function anchors(file: string): Set<string> {
  const seen = new Map<string, number>();
  const out = new Set<string>();
  for (const { line, code } of lines(fs.readFileSync(file, 'utf8'))) {
    const m = !code && /^#{1,6}\s+(.*?)\s*#*\s*$/.exec(line);
    if (!m) continue;
    const base = slug(m[1]);
    const count = seen.get(base) ?? 0;
    seen.set(base, count + 1);
    out.add(count ? `${base}-${count}` : base);
  }
  return out;
}

/** Every markdown link target outside code: `[text](target)`. */
function links(text: string): Array<{ target: string; n: number }> {
  const out: Array<{ target: string; n: number }> = [];
  for (const { line, n, code } of lines(text)) {
    if (code) continue;
    const prose = line.replace(/``[^`]*``|`[^`]*`/g, 'CODE');
    for (const m of prose.matchAll(/\]\(\s*<?([^)\s>]+)>?(?:\s+"[^"]*")?\s*\)/g)) out.push({ target: m[1], n });
  }
  return out;
}

test('README.md is under 250 lines and points only inside the repository', () => {
  const text = fs.readFileSync(README, 'utf8');
  const count = text.split('\n').length - (text.endsWith('\n') ? 1 : 0);
  assert.ok(count < 250, `README.md has ${count} lines; move detail to docs/`);
  assert.not.match(text, /\.\.\/shared\//, 'README.md names ../shared/, which is not part of the repository');
  const outside = links(text).filter((l) => /^[a-z][a-z0-9+.-]*:/i.test(l.target));
  assert.equal(outside.map((l) => `README.md:${l.n}: ${l.target}`), [], 'README.md links outside the repository');
});

test('every relative link in README.md and docs/ resolves (file and #anchor)', () => {
  const broken: string[] = [];
  for (const page of pages) {
    for (const { target, n } of links(fs.readFileSync(page, 'utf8'))) {
      if (/^[a-z][a-z0-9+.-]*:/i.test(target)) continue; // http:, mailto:: not a relative link
      const [file, anchor] = target.split('#');
      const resolved = file ? path.resolve(path.dirname(page), decodeURIComponent(file)) : page;
      const where = `${rel(page)}:${n}: ${target}`;
      if (!resolved.startsWith(ROOT)) broken.push(`${where} (outside the repository)`);
      else if (!fs.existsSync(resolved)) broken.push(`${where} (no such file)`);
      else if (anchor && resolved.endsWith('.md') && !anchors(resolved).has(anchor)) broken.push(`${where} (no such heading)`);
    }
  }
  assert.equal(broken, []);
});

const FLAG = /(?<![\w-])--[a-z][a-z0-9-]*/g;

/** The flags a page shows for its own script NAME (see the header). */
export function pageFlags(text: string, name: string): Map<string, number> {
  const found = new Map<string, number>();
  const add = (segment: string, n: number) => {
    for (const m of segment.matchAll(FLAG)) if (!found.has(m[0])) found.set(m[0], n);
  };
  const esc = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
  const anyScript = scripts.map(esc).join('|');
  const invoke = new RegExp(
    `(?:scripts/${esc(name)}\\.ts|dist/${esc(name)}\\.mjs|\\./${esc(name)}\\.mjs|\\bsocket-lab ${esc(name)}|^\\$ ${esc(name)})(?=[\\s\`]|$)`,
    'g',
  );
  // ` -- `: what follows is another command's argv (`syscalls -- echo-server --port 0`).
  const stop = new RegExp(`[|;&\`]|\\s--(?=\\s)|scripts/(?:${anyScript})\\.ts|dist/(?:${anyScript})\\.mjs|socket-lab (?:${anyScript})\\b`);
  let flagsLevel = 0;
  for (const { line, n } of lines(text)) {
    const heading = /^(#{1,6})\s+(.*)$/.exec(line);
    if (heading) {
      const level = heading[1].length;
      if (flagsLevel && level <= flagsLevel) flagsLevel = 0;
      if (/^flags\b/i.test(heading[2].replace(/`/g, ''))) flagsLevel = level;
      continue;
    }
    for (const m of line.matchAll(invoke)) {
      const rest = line.slice(m.index! + m[0].length);
      const end = rest.search(stop);
      add(end === -1 ? rest : rest.slice(0, end), n);
    }
    if (/^\s*Flags:/.test(line)) add(line.replace(/Exit codes.*$/, ''), n);
    if (flagsLevel) {
      const cell = /^\s*\|([^|]*)\|/.exec(line);
      if (cell) add(cell[1], n);
      const item = /^\s*[-*]\s+((?:`[^`]*`[\s,/or]*)+)/.exec(line);
      if (item) add(item[1], n);
    }
  }
  return found;
}

test('pageFlags reads only the flags that belong to the page\'s script', () => {
  const page = [
    '$ npx tsx scripts/listen-only.ts --port 8001 --backlog 2 & npx tsx scripts/netstat.ts --port 8001 --explain',
    'then `socket-lab listen-only --for 1` | grep --color x',
    'like `netstat --watch` does',
    'Flags: `--allow CIDR`, `-h/--help`. Exit codes: see --nothing',
    '## Flags',
    '| `--max-conns N` | like echo-server\'s --quiet |',
    '- `--hex`: as with client --timeout',
    '## Other',
    '| `--not-this` | x |',
  ].join('\n');
  assert.equal([...pageFlags(page, 'listen-only').keys()].sort(), ['--allow', '--backlog', '--for', '--help', '--hex', '--max-conns', '--port']);
});

test('every --flag a script\'s page shows is in that script\'s --help', async () => {
  const checked = pages.map((p) => path.basename(p, '.md')).filter((name) => scripts.includes(name));
  assert.ok(checked.length >= 3, `pages for scripts: ${checked.join(', ')}`);
  const helps = await Promise.all(checked.map((name) => runScript(name, ['--help'], { deadlineMs: 30000 })));
  const missing: string[] = [];
  for (const [i, name] of checked.entries()) {
    assert.is(helps[i].code, 0, `${name} --help: ${helps[i].stderr}`);
    const known = new Set([...helps[i].stdout.matchAll(FLAG)].map((m) => m[0]));
    known.add('--help');
    for (const [flag, n] of pageFlags(fs.readFileSync(path.join(DOCS, `${name}.md`), 'utf8'), name)) {
      if (!known.has(flag)) missing.push(`docs/${name}.md:${n}: ${flag} is not in ${name} --help`);
    }
  }
  assert.equal(missing, []);
});

test('the README\'s script table has one line per script, linking its page', () => {
  const text = fs.readFileSync(README, 'utf8');
  const rows = text.split('\n').filter((l) => /^\| \[`[\w-]+`\]\(docs\/[\w-]+\.md\)/.test(l));
  const named = rows.map((l) => /^\| \[`([\w-]+)`\]\(docs\/([\w-]+)\.md\)/.exec(l)!).map((m) => (assert.is(m[1], m[2]), m[1]));
  for (const name of scripts) assert.ok(named.includes(name), `README.md's script table has no row for ${name}`);
});

test.run();

// `npm run bench`: runs every benchmark in bench/ one after another (they
// share two cores, so never in parallel), then gathers their figures into
// bench/results/all.json so two runs can be compared.
//
//   npm run bench                 everything
//   npm run bench -- echo         only benchmarks whose name contains a word
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const benches = readdirSync(dir)
  .filter((name) => name.endsWith('.ts') && name !== 'run.ts' && !name.startsWith('_'))
  .filter((name) => filters.length === 0 || filters.some((word) => name.includes(word)))
  .sort();

mkdirSync(`${dir}results`, { recursive: true });
const all: Record<string, unknown> = { date: new Date().toISOString(), node: process.version };
let failed = 0;
for (const file of benches) {
  const name = file.replace(/\.ts$/, '');
  console.log(`\n=== bench/${file}`);
  const run = spawnSync(process.execPath, ['--import', 'tsx', `${dir}${file}`], { stdio: 'inherit', timeout: 20 * 60_000 });
  if (run.status !== 0) {
    failed++;
    console.log(`bench/${file} failed (exit ${run.status ?? run.signal})`);
  }
  const result = `${dir}results/${name}.json`;
  if (existsSync(result)) all[name] = JSON.parse(readFileSync(result, 'utf8'));
}
writeFileSync(`${dir}results/all.json`, JSON.stringify(all, null, 2) + '\n');
console.log(`\nfigures written to bench/results/all.json`);
if (failed) process.exitCode = 1;

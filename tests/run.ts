// Runs every tests/*.test.ts file (uvu suites) in its own process, one after
// another, each under a deadline, and fails if any file fails or hangs.
// A separate process per file keeps one file's leftovers from another.
//
//   npm test                    all files
//   npm test -- echo address    only files whose name contains a word
import { spawn } from 'node:child_process';
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

const dir = fileURLToPath(new URL('.', import.meta.url));
const filters = process.argv.slice(2);
const files = readdirSync(dir)
  .filter((name) => name.endsWith('.test.ts'))
  .filter((name) => filters.length === 0 || filters.some((word) => name.includes(word)))
  .sort();
const PER_FILE_DEADLINE_MS = Number(process.env.TEST_FILE_DEADLINE_MS ?? 240_000);

const failed: string[] = [];
const started = Date.now();
for (const file of files) {
  const t0 = Date.now();
  const child = spawn(process.execPath, ['--import', 'tsx', `${dir}${file}`], { stdio: 'inherit' });
  const timer = setTimeout(() => {
    console.error(`\n${file}: still running after ${PER_FILE_DEADLINE_MS / 1000} s, killed`);
    child.kill('SIGKILL');
  }, PER_FILE_DEADLINE_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  console.log(`  ${code === 0 ? 'ok  ' : 'FAIL'} ${file} (${((Date.now() - t0) / 1000).toFixed(1)} s)`);
  if (code !== 0) failed.push(file);
}
console.log(`\n${files.length - failed.length}/${files.length} test files passed in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (failed.length) {
  console.log(`failed: ${failed.join(', ')}`);
  process.exitCode = 1;
}

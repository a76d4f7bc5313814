// Runs every tests/*.test.ts file (uvu suites) in its own process, one after
// another, each under a deadline, and ends with one line that counts test
// cases across all files, the form CI services read:
//
//   412 passed, 0 failed, 3 skipped
//
// The counts are uvu's own (its Total/Passed/Skipped block, summed). A file
// that crashes, exits non-zero or is killed at its deadline counts as at least
// one failed case, and its name is printed above the closing line. A separate
// process per file keeps one file's leftovers from another.
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

interface FileResult {
  total: number;
  passed: number;
  skipped: number;
  sawSummary: boolean;
}

/** uvu's closing block (`Total: / Passed: / Skipped:`), summed if printed more than once. */
function parseUvuSummary(output: string): FileResult {
  const plain = output.replace(/\x1b\[[0-9;]*m/g, '');
  const result: FileResult = { total: 0, passed: 0, skipped: 0, sawSummary: false };
  for (const match of plain.matchAll(/Total:\s+(\d+)\s+Passed:\s+(\d+)\s+Skipped:\s+(\d+)/g)) {
    result.total += Number(match[1]);
    result.passed += Number(match[2]);
    result.skipped += Number(match[3]);
    result.sawSummary = true;
  }
  return result;
}

async function runFile(file: string): Promise<{ result: FileResult; code: number | null; timedOut: boolean }> {
  const child = spawn(process.execPath, ['--import', 'tsx', `${dir}${file}`], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  let output = '';
  child.stdout.setEncoding('utf8');
  child.stdout.on('data', (chunk: string) => {
    output += chunk;
    process.stdout.write(chunk);
  });
  let timedOut = false;
  const timer = setTimeout(() => {
    timedOut = true;
    console.error(`\n${file}: still running after ${PER_FILE_DEADLINE_MS / 1000} s, killed`);
    child.kill('SIGKILL');
  }, PER_FILE_DEADLINE_MS);
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  clearTimeout(timer);
  return { result: parseUvuSummary(output), code, timedOut };
}

let passed = 0;
let failed = 0;
let skipped = 0;
const failedFiles: string[] = [];
const started = Date.now();
for (const file of files) {
  const t0 = Date.now();
  const { result, code, timedOut } = await runFile(file);
  let fileFailed = result.total - result.passed;
  // A crash, a hang or an error after the last test is a failure uvu did not count.
  if ((code !== 0 || timedOut || !result.sawSummary) && fileFailed === 0) fileFailed = 1;
  passed += result.passed;
  failed += fileFailed;
  skipped += result.skipped;
  const verdict = fileFailed ? 'FAIL' : 'ok  ';
  const why = timedOut ? ', killed at its deadline' : !result.sawSummary ? ', no uvu summary' : '';
  console.log(`  ${verdict} ${file} (${((Date.now() - t0) / 1000).toFixed(1)} s${why})`);
  if (fileFailed) failedFiles.push(file);
}
console.log(`\n${files.length} test files in ${((Date.now() - started) / 1000).toFixed(0)} s`);
if (failedFiles.length) {
  console.log(`failed: ${failedFiles.join(', ')}`);
  process.exitCode = 1;
}
console.log(`${passed} passed, ${failed} failed, ${skipped} skipped`);

#!/usr/bin/env node
// socket-lab: every tool of the kit as one command, `socket-lab TOOL [ARGS...]`
// (package.json "bin"), so `npx socket-lab netstat --explain` works in a clone
// and `socket-lab netstat --explain` after `npm install -g socket-lab-*.tgz`.
//
//   socket-lab --help                 the tools, one line each
//   socket-lab echo-server --port 0   a tool with its own flags (TOOL --help)
//
// Where the tools come from:
// - a clone (scripts/ is here): scripts/TOOL.ts from source through tsx's
//   loader, registered in this process, so a change to a script shows at once;
// - an installed package (no scripts/): dist/TOOL.mjs, the esbuild bundles
//   that `npm pack` builds (the "prepack" script), which need only Node 20.
// Either way the tool runs in this very process (process.argv as if it had
// been started directly), so signals, exit codes and stdio are its own.
//
// Plain JavaScript on purpose: an installed package has no tsx to run a .ts
// launcher with. Exit codes: 0 success, 1 runtime failure, 2 usage error.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const ROOT = fileURLToPath(new URL('..', import.meta.url));
const SCRIPTS = path.join(ROOT, 'scripts');
const DIST = path.join(ROOT, 'dist');

/** One line per tool for `socket-lab --help`, in the order of the lesson. */
const ABOUT = {
  endian: "this host's byte order, found with the union trick",
  hton: 'htons/htonl, inet_pton and struct sockaddr_in, byte by byte',
  'echo-server': 'a server that writes back what it reads (TCP, UDP, Unix)',
  client: 'a client like nc -N: the terminal to a socket and back',
  'talk-server': 'two terminals talking over one connection',
  'listen-only': 'listen() without accept(): the accept queue fills',
  netstat: "the kernel's socket tables with owners, like netstat -tunap",
  'handshake-tour': 'the handshake-without-accept lesson in one command',
  'syn-queue': 'connections held in the half-open queue (SYN_RECV), then let through',
  'close-tour': 'the four-way close step by step: FIN_WAIT2, CLOSE_WAIT, TIME_WAIT, reset',
  syscalls: 'the system calls a tool really makes, as the lesson\'s C does',
  'http-hello': 'B/S: a browser is one more TCP client',
  'socket-view': "a live web page of this host's sockets and queues",
};

/** @param {string} dir @param {string} ext @returns {string[]} */
function namesIn(dir, ext) {
  if (!fs.existsSync(dir)) return [];
  return fs.readdirSync(dir).filter((f) => f.endsWith(ext)).map((f) => f.slice(0, -ext.length));
}

/** The tools here: from source in a clone, else the bundles. @returns {{ names: string[], source: boolean }} */
function tools() {
  const source = namesIn(SCRIPTS, '.ts');
  if (source.length) return { names: source, source: true };
  return { names: namesIn(DIST, '.mjs').filter((n) => n !== 'socket-lab'), source: false };
}

/** A tool's line: ABOUT, else the first sentence of its header comment. @param {string} name @param {string} file */
function about(name, file) {
  if (name in ABOUT) return ABOUT[/** @type {keyof typeof ABOUT} */ (name)];
  const header = fs.readFileSync(file, 'utf8').slice(0, 4000).split('\n').filter((l) => l.startsWith('// ')).map((l) => l.slice(3));
  const text = header.join(' ').replace(new RegExp(`^${name}: `), '');
  return (/^(.*?[.?!])(\s|$)/.exec(text)?.[1] ?? text).slice(0, 80);
}

function usage() {
  const { names, source } = tools();
  const order = Object.keys(ABOUT);
  const rank = (/** @type {string} */ n) => (order.includes(n) ? order.indexOf(n) : order.length);
  const sorted = [...names].sort((a, b) => rank(a) - rank(b) || a.localeCompare(b));
  const width = Math.max(...sorted.map((n) => n.length));
  const lines = sorted.map((n) => `  ${n.padEnd(width)}  ${about(n, source ? path.join(SCRIPTS, `${n}.ts`) : path.join(DIST, `${n}.mjs`))}`);
  return [
    'usage: socket-lab TOOL [ARGS...]',
    '',
    "Runs one of socket-lab's tools; each answers `socket-lab TOOL --help`.",
    '',
    'Tools:',
    ...lines,
    '',
    'Exit codes: 0 success, 1 runtime failure, 2 usage error.',
    '',
  ].join('\n');
}

/** @param {string} message */
function usageError(message) {
  process.stderr.write(`socket-lab: error: ${message}\n`);
  process.exitCode = 2;
}

async function main() {
  const [tool, ...args] = process.argv.slice(2);
  if (tool === '--help' || tool === '-h' || tool === 'help') {
    process.stdout.write(usage());
    return;
  }
  if (tool === undefined) return usageError('no tool given; usage: socket-lab TOOL [ARGS...] (socket-lab --help lists the tools)');
  const { names, source } = tools();
  if (!names.includes(tool)) {
    const what = tool.startsWith('-') ? `unknown option ${tool}` : `unknown tool ${JSON.stringify(tool)}`;
    return usageError(`${what}; socket-lab --help lists the tools`);
  }
  let file = path.join(DIST, `${tool}.mjs`);
  if (source) {
    file = path.join(SCRIPTS, `${tool}.ts`);
    try {
      const { register } = await import('tsx/esm/api');
      register();
      // A tool that starts itself or a sibling again (the namespace tools
      // re-run under unshare, handshake-tour runs listen-only) passes on
      // process.execArgv: make it carry the loader, as `node --import tsx` would.
      process.execArgv.push('--import', import.meta.resolve('tsx'));
    } catch (error) {
      if (/** @type {{ code?: string }} */ (error).code !== 'ERR_MODULE_NOT_FOUND') throw error;
      process.stderr.write('socket-lab: error: tsx is not installed in this clone (ERR_MODULE_NOT_FOUND); run npm install first\n');
      process.exitCode = 1;
      return;
    }
  }
  process.argv = [process.argv[0], file, ...args];
  await import(pathToFileURL(file).href);
}

await main();

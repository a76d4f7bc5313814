// The command-line plumbing every script shares, written once (as UNP wraps
// each system call once in lib/wrapsock.c): strict flags, --help, value
// validation, errno in words, and a main() runner that turns an error into
// one line on stderr and an exit code.
//
// Exit codes: 0 success, 1 a runtime failure, 2 a usage error.
import { parseArgs, type ParseArgsConfig } from 'node:util';
import { NOT_AN_ADDRESS, parseAddress, splitEndpoint } from './wire/address.ts';
import { EXIT_FAILURE, EXIT_USAGE, Failure, UsageError, describeError, errorCode } from './errors.ts';

/** The exit-code paragraph every `--help` ends with (kept for scripts not yet moved to exitCodesHelp). */
export const EXIT_CODES_HELP = exitCodesHelp({ server: true });

export interface ExitCodesFor {
  /** A server or watcher that runs until Ctrl-C/SIGTERM and then exits 0. */
  server?: boolean;
  /** What exit 1 means for this script (default: generic runtime failures). */
  failures?: string;
  /** Extra lines placed after 0 (e.g. `130  stopped with Ctrl-C`). */
  extra?: string[];
}

/**
 * The exit-code block for one script's `--help`: only the lines that apply
 * to it (endian has no server to stop, no port in use).
 * @example exitCodesHelp({ server: true }) // 'Exit codes:\n  0  success (...'
 */
export function exitCodesHelp({ server = false, failures, extra = [] }: ExitCodesFor = {}): string {
  const lines = ['Exit codes:'];
  if (server) {
    lines.push(
      '  0  success, and when stopped with Ctrl-C or SIGTERM (run through npx or',
      '     npm start, npm reports 130 for Ctrl-C and 143 for SIGTERM itself)',
    );
  } else {
    lines.push('  0  success');
  }
  for (const line of extra) lines.push(`  ${line}`);
  lines.push(`  1  ${failures ?? (server ? 'a runtime failure (port in use, permission denied, stdout full, ...)' : 'a runtime failure (stdout full, ...)')}`);
  lines.push('  2  a usage error (unknown flag, bad value)');
  return lines.join('\n');
}

type Options = NonNullable<ParseArgsConfig['options']>;

export interface CliSpec<O extends Options> {
  /** Script name used in messages, e.g. `echo-server`. */
  name: string;
  /** Full `--help` text (usage line, flags, exit codes). */
  help: string;
  options: O;
  /** Most positional arguments accepted (default 0). */
  maxPositionals?: number;
}

/**
 * Parses argv strictly. `--help` prints the help text and returns null (the
 * caller then returns, exit 0). Every mistake becomes a UsageError.
 *
 * @example
 * const args = parseCli({ name: 'endian', help, options: { json: { type: 'boolean' } } });
 * if (!args) return;
 */
export function parseCli<O extends Options>(
  spec: CliSpec<O>,
  argv: string[] = process.argv.slice(2),
) {
  const options = { ...spec.options, help: { type: 'boolean', short: 'h' } } as O & {
    help: { type: 'boolean'; short: 'h' };
  };
  // `--port -1`: a negative number is the option's value (parseArgs takes it
  // for an option and says "needs a value"), so its parser can say the range.
  const args: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = /^--([^=]+)$/.exec(argv[i])?.[1];
    const next = argv[i + 1];
    if (name !== undefined && options[name]?.type === 'string' && next !== undefined && /^-\d/.test(next)) {
      args.push(`--${name}=${next}`);
      i++;
    } else {
      args.push(argv[i]);
    }
  }
  let parsed;
  try {
    parsed = parseArgs({ args, options, strict: true, allowPositionals: true });
  } catch (error) {
    throw new UsageError(describeParseError(error));
  }
  if ((parsed.values as { help?: boolean }).help) {
    process.stdout.write(spec.help.endsWith('\n') ? spec.help : spec.help + '\n');
    return null;
  }
  const max = spec.maxPositionals ?? 0;
  if (parsed.positionals.length > max) {
    const extra = parsed.positionals[max];
    throw new UsageError(
      max === 0
        ? `unexpected argument ${JSON.stringify(extra)}; this script takes flags only (see --help)`
        : `too many arguments: ${JSON.stringify(extra)} (at most ${max}; see --help)`,
    );
  }
  return parsed;
}

// parseArgs's own messages are paragraphs; keep the fact and point at --help.
function describeParseError(error: unknown): string {
  const err = error as { code?: string; message?: string };
  const message = String(err.message ?? error);
  const option = /'(-[^']*)'/.exec(message)?.[1] ?? '';
  switch (err.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${option}; see --help`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return message.includes('does not take an argument')
        ? `option ${option.split(' ')[0]} takes no value; see --help`
        : `option ${option.split(' ')[0]} needs a value; see --help`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return `unexpected argument; see --help`;
    default:
      return `${message.split('\n')[0]}; see --help`;
  }
}

function quote(text: string): string {
  return JSON.stringify(text);
}

/**
 * A TCP/UDP port: decimal 0-65535, nothing else (no `+1`, `1e3`, `0x1f41`).
 * @example parsePort('8001', '--port') // 8001
 */
export function parsePort(text: string, flag = '--port'): number {
  if (!/^\d{1,5}$/.test(text) || Number(text) > 65535) {
    throw new UsageError(`${flag} ${quote(text)}: expected an integer 0-65535`);
  }
  return Number(text);
}

/**
 * A decimal number within [min, max]; `integer` rejects fractions.
 * @example parseNumber('2.5', '--idle-timeout', { min: 0 }) // 2.5
 */
export function parseNumber(
  text: string,
  flag: string,
  { min = 0, max = Number.MAX_SAFE_INTEGER, integer = false } = {},
): number {
  const pattern = integer ? /^\d{1,16}$/ : /^\d{1,16}(\.\d{1,9})?$/;
  const value = Number(text);
  if (!pattern.test(text) || value < min || value > max) {
    const kind = integer ? 'an integer' : 'a number';
    const range = max === Number.MAX_SAFE_INTEGER ? `>= ${min}` : `${min}-${max}`;
    throw new UsageError(`${flag} ${quote(text)}: expected ${kind} ${range}`);
  }
  return value;
}

const HOSTNAME = /^(?=.{1,253}$)[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?(?:\.[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*\.?$/;

/**
 * A host to bind or connect to: a numeric IPv4/IPv6 address exactly as
 * `inet_pton` accepts it (brackets around IPv6 allowed), or a DNS name left
 * for the system resolver. Lenient `inet_aton` forms such as `127.1` are
 * refused: they look like names to some tools and like addresses to others.
 * @example parseHost('[::1]') // '::1'
 */
export function parseHost(text: string, flag = '--host'): string {
  const parsed = parseAddress(text);
  if (!('error' in parsed)) return parsed.address;
  // All-numeric dotted text that is not a valid address is a typo, not a name.
  const numeric = /^[\s\p{Nd}.]+$/u.test(text) || /^0x/i.test(text) || text.includes(':') || text.startsWith('[');
  if (!numeric && HOSTNAME.test(text)) return text;
  const why = numeric && parsed.error !== NOT_AN_ADDRESS ? `; ${parsed.error}` : '';
  throw new UsageError(
    `${flag} ${quote(text)}: expected an IPv4 address (127.0.0.1), an IPv6 address (::1) or a host name${why}`,
  );
}

/**
 * A client's HOST [PORT], or both in one argument (HOST:PORT, [IPV6]:PORT);
 * a bare IPv6 address (::1) stays a host: its colons are not a port
 * separator. Each part is checked as parseHost and parsePort check it.
 * @example parseHostPort(['127.0.0.1:8001'], { host: '127.0.0.1', port: 8001 }) // { host: '127.0.0.1', port: 8001 }
 */
export function parseHostPort(positionals: string[], defaults: { host: string; port: number }): { host: string; port: number } {
  let [hostText, portText] = positionals;
  if (hostText !== undefined && portText === undefined) {
    const split = splitEndpoint(hostText);
    if (split) {
      if (split.address === '') throw new UsageError(`HOST:PORT ${quote(hostText)}: the host is missing`);
      [hostText, portText] = [split.address, split.port];
    }
  }
  return {
    host: parseHost(hostText ?? defaults.host, 'HOST'),
    port: parsePort(portText ?? String(defaults.port), 'PORT'),
  };
}

/** Writes `NAME: error: MESSAGE` on stderr. */
export function printError(name: string, message: string): void {
  process.stderr.write(`${name}: error: ${message}\n`);
}

/**
 * Runs a script's main function: a UsageError exits 2, a Failure (or any
 * errno error) exits 1, each as one line on stderr. Uses process.exitCode
 * rather than process.exit() so pending output is flushed. The guard lasts
 * the process's whole life: an error in a later callback (a shutdown that
 * fails, a rejected promise nobody awaited) is reported the same way, and
 * stdout is watched once for every script: a closed one (`| head -1`) ends
 * the script quietly with 0, a full one (`> /dev/full`) is one line, exit 1.
 */
export async function runMain(name: string, main: () => unknown): Promise<void> {
  guardProcess(name);
  try {
    await main();
  } catch (error) {
    process.exitCode = reportError(name, error);
  }
}

let guarded = false;
function guardProcess(name: string): void {
  if (guarded) return;
  guarded = true;
  const fatal = (error: unknown) => {
    process.exitCode = reportError(name, error);
    process.exit();
  };
  process.on('unhandledRejection', fatal);
  process.on('uncaughtException', fatal);
  for (const stream of [process.stdout, process.stderr]) {
    stream.on?.('error', (error: unknown) => {
      if (outputCode !== undefined) return; // once: later writes fail the same way
      const code = errorCode(error);
      // The reader went away (head, less + q): nothing more to say, exit 0 as head expects.
      if (code === 'EPIPE') outputCode = 0;
      else {
        outputCode = EXIT_FAILURE;
        const words = code === 'ENOSPC' ? 'no space left on device (ENOSPC)' : describeError(error);
        if (stream === process.stdout) printError(name, `stdout: ${words}`);
      }
      const exitCode = outputCode;
      process.on('exit', () => {
        process.exitCode = exitCode;
      });
      // A script that started servers or children stops them its own way first.
      if (process.listenerCount('SIGTERM') > 0) {
        setTimeout(() => process.exit(exitCode), 3000).unref();
        process.emit('SIGTERM', 'SIGTERM');
      } else {
        process.exit(exitCode);
      }
    });
  }
}

let outputCode: number | undefined;

/**
 * The exit code stdout's failure decided (0 when the reader closed it, 1
 * when it was full), or undefined while stdout works. A script's own
 * signal handler uses it instead of 130/143 when it is stopping for that.
 */
export function outputClosedCode(): number | undefined {
  return outputCode;
}

/** Prints an error the way runMain does and returns the exit code for it. */
export function reportError(name: string, error: unknown): number {
  if (error instanceof UsageError) {
    printError(name, error.message);
    return EXIT_USAGE;
  }
  if (error instanceof Failure || errorCode(error)) {
    printError(name, error instanceof Failure ? error.message : describeError(error));
    return EXIT_FAILURE;
  }
  // A bug, not a user mistake: still one line, the stack only on request.
  printError(name, `internal error: ${describeError(error)}`);
  if (process.env.SOCKET_LAB_DEBUG) process.stderr.write(`${(error as Error)?.stack}\n`);
  return EXIT_FAILURE;
}

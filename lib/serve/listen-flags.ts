// The flags every server shares, parsed and documented once: where to listen (--host,
// --port, or --unix PATH) and who may connect (--allow, --deny); and the
// listen() where they point.
import fs from 'node:fs';
import type net from 'node:net';
import { parseHost, parsePort } from '../cli.ts';
import { announceListening, listenTcp, listenUnix } from '../net.ts';
import { UsageError } from '../errors.ts';
import { ACL_OPTIONS, AccessList } from './acl.ts';

/** parseCli definitions of --host, --port, --allow and --deny. */
export const LISTEN_OPTIONS = {
  host: { type: 'string' },
  port: { type: 'string' },
  ...ACL_OPTIONS,
} as const;

/**
 * The --host and --port lines of a server's --help, the same words in every
 * server; `column` is where the descriptions start (as aclHelp's).
 */
export function listenHelp(defaultPort: number, column = 24): string {
  const pad = (flag: string) => `  ${flag}`.padEnd(column);
  const more = ' '.repeat(column);
  return [
    `${pad('--host HOST')}address to listen on (default 127.0.0.1; 0.0.0.0 = INADDR_ANY,`,
    `${more}:: = the IPv6 any-address)`,
    `${pad('--port PORT')}port to listen on (default ${defaultPort}; 0 = any free port, printed)`,
  ].join('\n');
}

/** The --unix line of a server's --help. */
export function unixHelp(column = 24): string {
  return `${'  --unix PATH'.padEnd(column)}listen on a Unix stream socket at PATH (removed on exit)`;
}

/** The --unix PATH definition, for servers that also listen on a Unix socket. */
export const UNIX_OPTION = { unix: { type: 'string' } } as const;

export interface ListenFlags {
  host?: string;
  port?: string;
  unix?: string;
  allow?: string[];
  deny?: string[];
}

export interface ListenTarget {
  host: string;
  port: number;
  /** The Unix socket path, when --unix was given (then host and port are unused). */
  unix: string | undefined;
  /** null: everyone may connect. */
  acl: AccessList | null;
}

/**
 * Validates the shared server flags: host (default 127.0.0.1), port, a
 * --unix PATH that excludes --host/--port and the address filters, and the
 * access list. Every mistake is a UsageError (exit 2).
 * @example parseListenFlags({ port: '0' }, 8001) // { host: '127.0.0.1', port: 0, unix: undefined, acl: null }
 */
export function parseListenFlags(flags: ListenFlags, defaultPort: number): ListenTarget {
  const host = parseHost(flags.host ?? '127.0.0.1');
  const port = parsePort(flags.port ?? String(defaultPort));
  if (flags.unix !== undefined) {
    if (flags.host !== undefined || flags.port !== undefined) {
      throw new UsageError('--unix PATH replaces --host and --port; give one or the other');
    }
    if (flags.unix === '') throw new UsageError('--unix "": expected a socket path');
    if (flags.allow || flags.deny) {
      throw new UsageError(
        '--allow/--deny filter IP addresses and Unix socket peers have none; use the file permissions of --unix PATH instead',
      );
    }
  }
  return { host, port, unix: flags.unix, acl: AccessList.fromFlags(flags.allow, flags.deny) };
}

/**
 * Listens where the flags point (TCP HOST:PORT with `backlog`, or the Unix
 * PATH), prints the `listening on` line, and returns what to do once the
 * server has closed (remove the socket file).
 */
export async function listenAsFlagsSay(server: net.Server, target: ListenTarget, backlog?: number): Promise<() => void> {
  const path = target.unix;
  if (path === undefined) {
    announceListening(await listenTcp(server, { host: target.host, port: target.port, backlog }), 'tcp');
    return () => {};
  }
  announceListening(await listenUnix(server, path), 'unix');
  return () => fs.rmSync(path, { force: true }); // Node unlinks it on close; make sure
}

// What can go wrong, in one place every layer may import: the two kinds of
// error a script reports (a usage mistake, exit 2; a runtime failure, exit 1)
// and errno codes in words. No I/O here; lib/cli.ts prints them.

/** A mistake in how the script was called: exit code 2. */
export class UsageError extends Error {
  override name = 'UsageError';
}

/** A runtime failure the user can act on (port in use, refused...): exit code 1. */
export class Failure extends Error {
  override name = 'Failure';
}

export const EXIT_FAILURE = 1;
export const EXIT_USAGE = 2;

const ERRNO_WORDS: Record<string, string> = {
  EADDRINUSE: 'address already in use',
  EADDRNOTAVAIL: 'address not available on this host',
  EACCES: 'permission denied',
  EPERM: 'operation not permitted',
  ECONNREFUSED: 'connection refused',
  ECONNRESET: 'connection reset by peer',
  ECONNABORTED: 'connection aborted',
  EPIPE: 'broken pipe',
  ETIMEDOUT: 'timed out',
  EHOSTUNREACH: 'host unreachable',
  ENETUNREACH: 'network unreachable',
  ENOTFOUND: 'host not found',
  EAI_AGAIN: 'temporary failure in name resolution',
  EAI_NONAME: 'host not found',
  EMFILE: 'too many open files',
  ENFILE: 'too many open files in system',
  ENOENT: 'no such file or directory',
  ENOTDIR: 'not a directory',
  EISDIR: 'is a directory',
  ENOTSOCK: 'not a socket',
  EINVAL: 'invalid argument',
  EAFNOSUPPORT: 'address family not supported',
  EMSGSIZE: 'message too long',
  ENAMETOOLONG: 'name too long',
};

/**
 * An errno-style error in words: `address already in use (EADDRINUSE)`.
 * Falls back to the error's own message.
 */
export function describeError(error: unknown): string {
  const err = error as { code?: unknown; message?: unknown };
  const code = typeof err?.code === 'string' ? err.code : undefined;
  if (code && ERRNO_WORDS[code]) return `${ERRNO_WORDS[code]} (${code})`;
  const message = typeof err?.message === 'string' ? err.message : String(error);
  return code && !message.includes(code) ? `${message} (${code})` : message;
}

/** The errno code of an error, if it has one. */
export function errorCode(error: unknown): string | undefined {
  const code = (error as { code?: unknown } | null)?.code;
  return typeof code === 'string' ? code : undefined;
}

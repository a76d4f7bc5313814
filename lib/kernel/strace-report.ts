// How `syscalls` reports a trace: each shown call as its lines of text (the
// call, the lesson's call beside it, the details below), the JSON record of a
// call, the --json document and the summary at the end. Pure: the calls come
// from lib/kernel/strace.ts, the tracing from lib/trace.ts.
import { describeError } from '../errors.ts';
import { describeCall, formatSummaryRow, summarize, type StraceCall } from './strace.ts';

/** Printed under the heading with --all: why the event loop's calls are there. */
export const EPOLL_NOTE =
  'epoll: Node never blocks in accept() or read() as the lesson\'s loop does: every socket is ' +
  'O_NONBLOCK and registered with epoll_ctl, and the one thread sleeps in epoll_wait until some ' +
  'socket is ready, then calls accept4/read until EAGAIN; one loop serves every connection.';

/**
 * A failed call's errno in words (lib/errors.ts's, else strace's own text).
 * @example errnoWords(call) // 'connection refused (ECONNREFUSED)'
 */
export function errnoWords(call: StraceCall): string | undefined {
  if (!call.errno) return undefined;
  const known = describeError({ code: call.errno });
  return known === call.errno ? `${(call.errnoText ?? '').toLowerCase()} (${call.errno})` : known;
}

/**
 * One call as text: `[pid N] ` when another process than the traced one
 * made it, the call, `    // ` and the lesson's call, then each detail
 * indented four; every line ends with a newline.
 */
export function callText(call: StraceCall, fromMain: boolean): string {
  const said = describeCall(call);
  const who = fromMain ? '' : `[pid ${call.pid}] `;
  let text = `${who}${said.line}${said.lesson ? `    // ${said.lesson}` : ''}\n`;
  for (const detail of said.details) text += `    ${detail}\n`;
  return text;
}

const socketOf = (fd: NonNullable<StraceCall['fd']>) => ({ proto: fd.proto, local: fd.local ?? null, remote: fd.remote ?? null });

/** One call in the --json document. */
export function callRecord(call: StraceCall) {
  return {
    pid: call.pid,
    name: call.name,
    fd: call.fd?.fd ?? null,
    socket: call.fd?.proto ? socketOf(call.fd) : null,
    args: call.args,
    ...(call.sockaddr ? { sockaddr: call.sockaddr } : {}),
    ...(call.data !== undefined ? { data: call.data, truncated: call.truncated === true } : {}),
    result: call.result,
    ...(call.resultFd?.proto ? { newSocket: { fd: call.resultFd.fd, ...socketOf(call.resultFd) } } : {}),
    errno: call.errno ?? null,
    error: errnoWords(call) ?? null,
  };
}

/** The --json document: the command, its exit code, every call, the summary. */
export function traceDocument(command: string[], exitCode: number, calls: StraceCall[]): string {
  const doc = { command, exitCode, calls: calls.map(callRecord), summary: summarize(calls) };
  return JSON.stringify(doc, null, 2) + '\n';
}

/**
 * The summary at the end of a text trace.
 * @example summaryText(0, []) // 'summary (exit code 0): no socket calls\n'
 */
export function summaryText(exitCode: number, calls: StraceCall[]): string {
  const summary = summarize(calls);
  let text = `summary (exit code ${exitCode}):${summary.length === 0 ? ' no socket calls' : ''}\n`;
  for (const row of summary) text += `  ${formatSummaryRow(row)}\n`;
  return text;
}

// What the end of a client's relay means for its user: the one line on
// stderr and the exit code (a thrown Failure is exit 1), as nc would tell a
// refused, reset, silent or stuck connection apart.
import { Failure, describeError } from '../errors.ts';
import type { DatagramRelayResult, RelayResult } from './relay.ts';

/** Throws the Failure a finished TCP/Unix relay to `peer` ended in, if any. */
export function checkStreamOutcome(result: RelayResult, peer: string, timeoutSeconds: number): void {
  if (result.stalled === 'silent') {
    throw new Failure(`connection to ${peer}: no data from the server for ${timeoutSeconds} s after the end of input (ETIMEDOUT); try --timeout`);
  }
  if (result.stalled === 'not reading') {
    throw new Failure(`connection to ${peer}: the server has not read what was sent for ${timeoutSeconds} s (ETIMEDOUT); try --timeout`);
  }
  if (result.error && !result.outputClosed) {
    throw new Failure(`connection to ${peer}: ${describeError(result.error)}`);
  }
}

/**
 * Throws the Failure a finished UDP relay to `endpoint` ended in (an ICMP
 * port unreachable, or no reply at all); returns a note when only some
 * datagrams went unanswered, else null.
 */
export function checkDatagramOutcome(result: DatagramRelayResult, endpoint: string, timeoutSeconds: number): string | null {
  if (result.error) {
    const refused = (result.error as { code?: string }).code === 'ECONNREFUSED';
    throw new Failure(
      `no UDP server at ${endpoint}: ${describeError(result.error)}` + (refused ? '; an ICMP port unreachable came back' : ''),
    );
  }
  if (result.outputClosed) return null;
  if (result.datagramsSent > 0 && result.repliesReceived === 0) {
    throw new Failure(`no reply from ${endpoint} (udp) within ${timeoutSeconds} s (ETIMEDOUT); is a UDP server running there?`);
  }
  if (result.repliesReceived < result.datagramsSent) {
    return `${result.datagramsSent - result.repliesReceived} of ${result.datagramsSent} datagrams got no reply within ${timeoutSeconds} s`;
  }
  return null;
}

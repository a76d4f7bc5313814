// When the kernel re-sends an unanswered SYN (connect()) or SYN-ACK (the
// half-open queue), computed from this system's own settings in
// /proc/sys/net/ipv4 rather than quoted from memory: tcp_syn_retries,
// tcp_syn_linear_timeouts (Linux 6.5+; absent before) and tcp_synack_retries.
import { readProcText } from './procfile.ts';

/** The retry settings of this network namespace; `linear` is 0 where the kernel has no such setting. */
export interface RetrySettings {
  synRetries: number;
  synLinearTimeouts: number;
  synAckRetries: number;
}

/** Linux's defaults (include/net/tcp.h), for a /proc without the files. */
export const DEFAULT_RETRIES: RetrySettings = { synRetries: 6, synLinearTimeouts: 0, synAckRetries: 5 };

/**
 * Reads tcp_syn_retries, tcp_syn_linear_timeouts and tcp_synack_retries; a
 * missing file gives the default (linear timeouts: 0, as on kernels before
 * they existed); other errors are thrown.
 * @example readRetrySettings() // { synRetries: 6, synLinearTimeouts: 4, synAckRetries: 5 }
 */
export function readRetrySettings(procRoot = '/proc'): RetrySettings {
  const read = (name: string, fallback: number) => {
    const text = readProcText(`${procRoot}/sys/net/ipv4/${name}`);
    if (text === null) return fallback;
    const value = Number(text.trim());
    return Number.isInteger(value) && value >= 0 ? value : fallback;
  };
  return {
    synRetries: read('tcp_syn_retries', DEFAULT_RETRIES.synRetries),
    synLinearTimeouts: read('tcp_syn_linear_timeouts', DEFAULT_RETRIES.synLinearTimeouts),
    synAckRetries: read('tcp_synack_retries', DEFAULT_RETRIES.synAckRetries),
  };
}

/** Seconds after the first SYN (or SYN-ACK) at which each re-send goes out, and when the kernel gives up. */
export interface RetrySchedule {
  resends: number[];
  giveUp: number;
}

const INITIAL_RTO = 1; // s, TCP_TIMEOUT_INIT
const MAX_RTO = 120; // s, TCP_RTO_MAX

/**
 * connect()'s SYN re-sends: the timeout starts at 1 s and stays there for the
 * first `linear` re-sends (tcp_syn_linear_timeouts), then doubles up to
 * 120 s; after `retries + linear` re-sends the next expiry ends connect()
 * with ETIMEDOUT (tcp_write_timeout()). These are the nominal times: long
 * timers fire a little late (the timer wheel rounds a 32 s timer up by up
 * to ~4 s), so 68 and 134 s are what tcpdump shows for 67 and 131 here.
 * @example synRetrySchedule(6, 4) // { resends: [1, 2, 3, 4, 5, 7, 11, 19, 35, 67], giveUp: 131 }
 * @example synRetrySchedule(6, 0) // { resends: [1, 3, 7, 15, 31, 63], giveUp: 127 }
 */
export function synRetrySchedule(retries: number, linear: number): RetrySchedule {
  return schedule(retries + linear, linear);
}

/**
 * The listener's SYN-ACK re-sends for a half-open connection: 1 s, doubling,
 * `tcp_synack_retries` times; at the next expiry the request is dropped
 * without telling the client.
 * @example synAckSchedule(5) // { resends: [1, 3, 7, 15, 31], giveUp: 63 }
 */
export function synAckSchedule(retries: number): RetrySchedule {
  return schedule(retries, 0);
}

function schedule(count: number, linear: number): RetrySchedule {
  const resends: number[] = [];
  let rto = INITIAL_RTO;
  let at = 0;
  for (let k = 1; k <= count; k++) {
    at += rto;
    resends.push(at);
    if (k > linear) rto = Math.min(rto * 2, MAX_RTO);
  }
  return { resends, giveUp: at + rto };
}

/**
 * The SYN schedule as one clause for the lesson.
 * @example describeSynRetries({ synRetries: 6, synLinearTimeouts: 4, synAckRetries: 5 })
 * // 'at about 1, 2, 3, 4, 5, 7, 11, 19, 35, 67 s, then connect() fails with ETIMEDOUT at about 131 s (tcp_syn_retries 6, tcp_syn_linear_timeouts 4)'
 */
export function describeSynRetries(settings: RetrySettings): string {
  const { resends, giveUp } = synRetrySchedule(settings.synRetries, settings.synLinearTimeouts);
  return (
    `at about ${resends.join(', ')} s, then connect() fails with ETIMEDOUT at about ${giveUp} s ` +
    `(tcp_syn_retries ${settings.synRetries}, tcp_syn_linear_timeouts ${settings.synLinearTimeouts})`
  );
}

/**
 * The SYN-ACK schedule as one clause.
 * @example describeSynAckRetries({ synRetries: 6, synLinearTimeouts: 4, synAckRetries: 5 })
 * // 'at about 1, 3, 7, 15, 31 s, and drops the request at about 63 s (tcp_synack_retries 5)'
 */
export function describeSynAckRetries(settings: RetrySettings): string {
  const { resends, giveUp } = synAckSchedule(settings.synAckRetries);
  return `at about ${resends.join(', ')} s, and drops the request at about ${giveUp} s (tcp_synack_retries ${settings.synAckRetries})`;
}

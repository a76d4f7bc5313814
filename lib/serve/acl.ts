// Access lists for the servers: `--allow CIDR` and `--deny CIDR`, repeatable,
// IPv4 and IPv6, as Ncat's --allow/--deny and tcpd's hosts.allow/hosts.deny
// offer. The rules live in two node:net BlockLists (one for each verdict);
// the decision is made once per TCP connection at accept() and once per UDP
// datagram, and only when a list was given.
//
// Semantics (documented in every server's --help):
// - no rules: everyone is allowed;
// - only --deny: everyone is allowed except the denied ranges;
// - any --allow: default deny, only the allowed ranges get in;
// - a peer matching both an --allow and a --deny is denied (--deny wins).
// An IPv4-mapped IPv6 peer (::ffff:127.0.0.1, what a dual-stack `::` listener
// sees for an IPv4 client) is matched as the IPv4 address it carries, so
// `--allow 127.0.0.0/8` works on any listener.
import net from 'node:net';
import { AF_INET, AF_INET6, NOT_AN_ADDRESS, inetNtop, parseAddress, stripBrackets, unmapIPv4 } from '../wire/address.ts';
import { UsageError } from '../errors.ts';

/** One parsed rule: `ADDRESS/PREFIX` (a bare address is /32 or /128). */
export interface Cidr {
  address: string;
  prefix: number;
  family: 'ipv4' | 'ipv6';
}

/**
 * Parses `ADDR[/LEN]` exactly as inet_pton reads ADDR (no `127.1`, no zone);
 * LEN is decimal 0-32 (IPv4) or 0-128 (IPv6). Host bits below LEN are
 * ignored, as in `ip route` (10.1.2.3/8 means 10.0.0.0/8).
 * Throws a UsageError naming the flag and the input.
 * @example parseCidr('10.0.0.0/8') // { address: '10.0.0.0', prefix: 8, family: 'ipv4' }
 */
export function parseCidr(text: string, flag = '--allow'): Cidr {
  const fail = (why: string) =>
    new UsageError(`${flag} ${JSON.stringify(text)}: ${why}; expected ADDRESS or ADDRESS/PREFIX (10.0.0.0/8, ::1, fd00::/8)`);
  if (text.length > 64) throw fail('too long');
  const slash = text.indexOf('/');
  const addressText = slash === -1 ? text : text.slice(0, slash);
  const parsed = parseAddress(addressText);
  if ('error' in parsed) {
    throw fail(parsed.error === NOT_AN_ADDRESS ? parsed.error : `${NOT_AN_ADDRESS}; ${parsed.error}`);
  }
  const { bytes } = parsed;
  const family = parsed.family === AF_INET ? 'ipv4' : 'ipv6';
  const max = family === 'ipv4' ? 32 : 128;
  let prefix = max;
  if (slash !== -1) {
    const prefixText = text.slice(slash + 1);
    if (!/^\d{1,3}$/.test(prefixText) || Number(prefixText) > max) throw fail(`the prefix length must be 0-${max}`);
    prefix = Number(prefixText);
  }
  // A mapped IPv4 rule (::ffff:10.0.0.0/104) is the IPv4 rule it spells.
  const mapped = family === 'ipv6' ? unmapIPv4(bytes) : null;
  if (mapped && prefix >= 96) return { address: inetNtop(AF_INET, mapped), prefix: prefix - 96, family: 'ipv4' };
  return { address: inetNtop(family === 'ipv4' ? AF_INET : AF_INET6, bytes), prefix, family };
}

/**
 * A peer address as the list matches it: IPv4 dotted, IPv6 as inet_ntop
 * prints it, an IPv4-mapped IPv6 address as its IPv4 address. Null when the
 * text is not a numeric address (a closed socket reports undefined).
 * @example peerAddress('::ffff:127.0.0.1') // { address: '127.0.0.1', family: 'ipv4' }
 */
export function peerAddress(text: string | undefined): { address: string; family: 'ipv4' | 'ipv6' } | null {
  if (!text) return null;
  if (stripBrackets(text).bracketed) return null;
  const parsed = parseAddress(text);
  if ('error' in parsed) return null;
  if (parsed.family === AF_INET) return { address: text, family: 'ipv4' };
  const mapped = unmapIPv4(parsed.bytes);
  return mapped ? { address: inetNtop(AF_INET, mapped), family: 'ipv4' } : { address: text, family: 'ipv6' };
}

/**
 * The access list of one server. `allows(peer)` is the whole decision.
 *
 * @example
 * const acl = AccessList.fromFlags(['127.0.0.0/8'], ['127.0.0.2']);
 * acl.allows('127.0.0.1') // true
 * acl.allows('::ffff:127.0.0.2') // false (--deny wins)
 * acl.allows('10.0.0.1') // false (an --allow was given: default deny)
 */
export class AccessList {
  readonly allowRules: readonly Cidr[];
  readonly denyRules: readonly Cidr[];
  private readonly allow = new net.BlockList();
  private readonly deny = new net.BlockList();

  constructor(allow: readonly Cidr[], deny: readonly Cidr[]) {
    this.allowRules = allow;
    this.denyRules = deny;
    for (const rule of allow) this.allow.addSubnet(rule.address, rule.prefix, rule.family);
    for (const rule of deny) this.deny.addSubnet(rule.address, rule.prefix, rule.family);
  }

  /**
   * From the repeated `--allow` / `--deny` flag values; null when both are
   * empty (no list: everyone allowed, and nothing to check per connection).
   */
  static fromFlags(allow: readonly string[] = [], deny: readonly string[] = []): AccessList | null {
    if (allow.length === 0 && deny.length === 0) return null;
    return new AccessList(
      allow.map((text) => parseCidr(text, '--allow')),
      deny.map((text) => parseCidr(text, '--deny')),
    );
  }

  /** Whether a peer may talk to the server (see the semantics above). */
  allows(address: string | undefined): boolean {
    const peer = peerAddress(address);
    if (!peer) return false; // no address to judge (the socket is already gone)
    if (this.deny.check(peer.address, peer.family)) return false;
    if (this.allowRules.length === 0) return true;
    return this.allow.check(peer.address, peer.family);
  }

  /** The rules in words, for a startup line: `allow 127.0.0.0/8; deny 127.0.0.2/32`. */
  describe(): string {
    const words = (verb: string, rules: readonly Cidr[]) => rules.map((r) => `${verb} ${r.address}/${r.prefix}`);
    const parts = [...words('allow', this.allowRules), ...words('deny', this.denyRules)];
    if (this.allowRules.length > 0) parts.push('deny everyone else');
    return parts.join('; ');
  }
}

/**
 * The --help lines for --allow/--deny, with descriptions starting at
 * `column` (to line up with the rest of a script's help).
 */
export function aclHelp(column = 24): string {
  const pad = (flag: string) => `  ${flag}`.padEnd(column);
  const more = ' '.repeat(column);
  return [
    `${pad('--allow CIDR')}accept only peers in CIDR (IPv4 or IPv6, e.g. 127.0.0.0/8,`,
    `${more}::1, fd00::/8); repeatable; any --allow denies everyone else`,
    `${pad('--deny CIDR')}refuse peers in CIDR; repeatable; --deny wins over --allow.`,
    `${more}IPv4-mapped peers (::ffff:1.2.3.4) match IPv4 rules`,
  ].join('\n');
}

/** The flag definitions for parseCli. */
export const ACL_OPTIONS = {
  allow: { type: 'string', multiple: true },
  deny: { type: 'string', multiple: true },
} as const;

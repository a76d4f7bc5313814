// Why inet_pton refused an address text, in words that say what is wrong and
// where, the way Go's net/netip does
// (`ParseAddr("192.168.1.01"): IPv4 field has octet with leading zero`).
//
// This module never decides whether a text is an address: lib/wire/address.ts
// does that with its glibc-exact inetPton, and asks here only after a refusal.
// So the words can be a plain, readable reading of the rules (split on dots
// and colons) without any risk to the 100% agreement with glibc; where this
// reading finds nothing wrong, the caller falls back to a general sentence.
//
// Positions are 1-based, counted in the text the user typed (`at`: how many
// characters came before the address, e.g. a `[`).

const DIGIT = /^[0-9]$/;
const HEX = /^[0-9A-Fa-f]$/;

function quote(text: string): string {
  return JSON.stringify(text);
}

/** The first character outside `allowed`, as `unexpected character "x" at position N`. */
function badCharacter(text: string, allowed: RegExp, at: number): string | null {
  let position = at;
  for (const char of text) {
    position++;
    if (!allowed.test(char)) return `unexpected character ${quote(char)} at position ${position}`;
  }
  return null;
}

/**
 * What is wrong with a dotted IPv4 text that inet_pton(AF_INET) refused, or
 * null when this reading finds nothing.
 * @example explainIPv4('192.168.1.01') // 'IPv4 field has octet with leading zero (field 4, "01")'
 */
export function explainIPv4(text: string, at = 0): string | null {
  if (text === '') return 'empty address';
  const bad = badCharacter(text, /^[0-9.]$/, at);
  if (bad) return bad;
  const fields = text.split('.');
  if (fields.length > 4) return `IPv4 address too long: ${fields.length} fields, needs 4`;
  for (const [i, field] of fields.entries()) {
    const which = `field ${i + 1}`;
    if (field === '') return `IPv4 field must have at least one digit (${which})`;
    if (field.length > 1 && field[0] === '0') return `IPv4 field has octet with leading zero (${which}, ${quote(field)})`;
    if (Number(field) > 255) return `IPv4 field has value >255 (${which}, ${quote(field)})`;
  }
  if (fields.length < 4) {
    return `IPv4 address too short: ${fields.length} field${fields.length === 1 ? '' : 's'}, needs 4`;
  }
  return null;
}

/**
 * What is wrong with an IPv6 text that inet_pton(AF_INET6) refused, or null
 * when this reading finds nothing.
 * @example explainIPv6('1::2::3') // 'multiple :: in address'
 */
export function explainIPv6(text: string, at = 0): string | null {
  if (text === '') return 'empty address';
  const zone = text.indexOf('%');
  if (zone !== -1) return `IPv6 zone id ${quote(text.slice(zone))} is not accepted (inet_pton takes none)`;
  const bad = badCharacter(text, /^[0-9A-Fa-f:.]$/, at);
  if (bad) return bad;
  const triple = text.indexOf(':::');
  if (triple !== -1) return `each colon-separated field must have at least one digit (at position ${at + triple + 3})`;
  const halves = text.split('::');
  if (halves.length > 2) return 'multiple :: in address';
  const compressed = halves.length === 2;
  let groups = 0;
  let offset = at;
  for (const [h, half] of halves.entries()) {
    const fields = half === '' ? [] : half.split(':');
    for (const [i, field] of fields.entries()) {
      const last = h === halves.length - 1 && i === fields.length - 1;
      if (field === '') return `each colon-separated field must have at least one digit (at position ${offset + 1})`;
      if (field.includes('.')) {
        if (!last) return `an embedded IPv4 address must be the last field (at position ${offset + 1})`;
        const why = explainIPv4(field, offset);
        if (why) return `embedded IPv4 address: ${why}`;
        groups += 2;
      } else {
        if (field.length > 4) return `IPv6 field has more than 4 hex digits (${quote(field)} at position ${offset + 1})`;
        if (![...field].every((c) => HEX.test(c))) return `unexpected character in IPv6 field ${quote(field)}`;
        groups += 1;
      }
      offset += field.length + 1;
    }
    offset += 1; // the second ':' of '::'
  }
  if (compressed && groups > 7) return `IPv6 address too long: ${groups} fields and a :: (which stands for at least one zero field)`;
  if (!compressed && groups > 8) return `IPv6 address too long: ${groups} fields, at most 8`;
  if (!compressed && groups < 8) return `IPv6 address too short: ${groups} field${groups === 1 ? '' : 's'}, needs 8 or a ::`;
  return null;
}

/**
 * What is wrong with a text that is neither an IPv4 nor an IPv6 address,
 * dispatching on the first telling character as netip does (`:` means IPv6,
 * else `.` or a digit means IPv4); null for text that is no address at all
 * (a name, or nothing).
 * @example explainAddress('fe80::1%eth0') // 'IPv6 zone id "%eth0" is not accepted (inet_pton takes none)'
 */
export function explainAddress(text: string, at = 0): string | null {
  if (text === '') return null;
  if (text.includes(':')) return explainIPv6(text, at);
  if (text.includes('.') || DIGIT.test(text[0])) return explainIPv4(text, at);
  return null;
}

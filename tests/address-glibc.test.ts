// Differential test: lib/address.ts against glibc itself. python3's
// socket.inet_pton / inet_ntop / inet_aton call glibc directly, so one
// python3 process receives every generated input as one JSON batch on stdin
// and answers with glibc's verdicts on stdout. Agreement must be 100%.
//
// Inputs: random and mutated address strings biased toward the edges
// (leading zeros, 255/256, hex and octal inet_aton parts, `::` placement,
// dotted IPv4 tails, zone ids, whitespace, non-ASCII digits, NUL), and random
// 16-byte arrays biased toward zero runs and the ::ffff:a.b.c.d and
// ::a.b.c.d forms for inet_ntop.
//
// The seed is printed; rerun one with SEED=N npx tsx tests/run.ts address-glibc
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import { needs, seededRandom } from './helpers.ts';
import { spawnSync } from 'node:child_process';
import { AF_INET, AF_INET6, inetAton, inetNtop, inetPton } from '../lib/wire/address.ts';

const STRINGS = Number(process.env.DIFF_STRINGS ?? 15000);
const ARRAYS = Number(process.env.DIFF_ARRAYS ?? 12000);
const SEED = Number(process.env.SEED ?? Math.floor(Math.random() * 2 ** 31));

const random = seededRandom(SEED);
const int = (n: number) => Math.floor(random() * n);
const pick = <T>(items: readonly T[]): T => items[int(items.length)];
const chance = (p: number) => random() < p;

const ODD_CHARS = [
  '0', '1', '9', 'a', 'f', 'F', 'g', 'x', 'X', '.', ':', '::', '%', ' ', '\t', '\n', '\v', '\f', '\r',
  '[', ']', '/', '-', '+', '_', '\0', '\u00a0', '\u0660', '\uff11', '\u2028', 'é', '\u{1F600}', '\u0085',
];
const HEX = '0123456789abcdefABCDEF';

function octetText(): string {
  const value = pick([0, 1, 9, 10, 99, 100, 127, 192, 199, 200, 249, 250, 255, 255, 256, 260, 300, 999, 1000, int(256), int(256)]);
  const text = String(value);
  if (chance(0.08)) return '0' + text; // a leading zero
  if (chance(0.03)) return '00';
  return text;
}

function ipv4Dotted(): string {
  if (chance(0.4)) return Array.from({ length: 4 }, () => String(pick([0, 1, 10, 127, 255, int(256)]))).join('.');
  const parts = chance(0.85) ? 4 : pick([1, 2, 3, 5, 6]);
  return Array.from({ length: parts }, octetText).join('.');
}

// The classic inet_aton forms: 1-4 parts, each decimal, octal or hex, with
// values around each part's limit.
function atonForm(): string {
  const parts = 1 + int(4);
  const limits = [0xffffffff, 0xffffff, 0xffff, 0xff];
  const out: string[] = [];
  for (let i = 0; i < parts; i++) {
    const last = i === parts - 1;
    const limit = last ? limits[parts - 1] : 0xff;
    let value = pick([0, 1, 7, 8, 255, 256, limit, limit + 1, int(limit + 1), int(limit + 1), 0x7f, 0xffff, 0x10000, 0xffffffff, 0x100000000]);
    if (chance(0.02)) value = Number.MAX_SAFE_INTEGER;
    let text: string;
    const base = pick(['dec', 'dec', 'oct', 'hex', 'HEX']);
    if (base === 'oct') text = '0' + value.toString(8);
    else if (base === 'hex') text = '0x' + value.toString(16);
    else if (base === 'HEX') text = '0X' + value.toString(16).toUpperCase();
    else text = String(value);
    if (chance(0.03)) text = pick(['0x', '0X', '08', '09', '0x0x1', '00x1', '0xg', '99999999999999999999999', '18446744073709551615', '18446744073709551616', '4294967296', '0x' + 'f'.repeat(17)]);
    if (chance(0.03)) text = text.replace(/^0x/, '0x000');
    out.push(text);
  }
  let text = out.join('.');
  if (chance(0.1)) text += pick([' ', '\t', '\n', ' junk', '\tjunk', '.', '..', 'x', ' 1.2.3.4', '\v', '\r', '\f', '\u00a0']);
  if (chance(0.03)) text = pick([' ', '\t', '.', '+', '-']) + text;
  return text;
}

function hexGroup(value: number): string {
  let text = value.toString(16);
  if (chance(0.15)) text = text.padStart(pick([2, 3, 4, 5]), '0');
  if (chance(0.15)) text = text.toUpperCase();
  return text;
}

function groupValue(): number {
  return pick([0, 0, 0, 0, 1, 0xffff, 0xfe80, 0x2001, 0xdb8, 0x64, 0xff9b, int(0x10000), int(16), 0x10000]);
}

function ipv6Text(): string {
  const form = int(10);
  if (form <= 2) {
    const text = inetNtop(AF_INET6, biasedBytes16());
    return chance(0.3) ? text.toUpperCase() : text;
  }
  // Groups with one `::` somewhere (or none), sometimes a dotted tail.
  const tail = chance(0.25);
  let groups = tail ? pick([2, 4, 5, 6, 6, 6, 7]) : pick([2, 3, 6, 7, 8, 8, 8, 9]);
  const words = Array.from({ length: groups }, () => hexGroup(groupValue()));
  if (tail) words.push(pick([ipv4Dotted(), '1.2.3.4', '255.255.255.255', '0.0.0.0', '1.2.3', '01.2.3.4']));
  groups = words.length;
  if (chance(0.6)) {
    const at = int(groups + 1);
    const drop = int(Math.min(4, groups - at) + 1);
    words.splice(at, drop, at === 0 || at + drop >= groups ? ':' : '');
  }
  let text = words.join(':').replace(/:{3,}/g, '::');
  if (chance(0.05)) text += pick(['%eth0', '%1', '%', '/64']);
  if (chance(0.03)) text = `[${text}]`;
  if (chance(0.05)) text = pick([':', '::', ':::']) + text;
  if (chance(0.05)) text += pick([':', '::']);
  return text;
}

function randomString(): string {
  const alphabet = chance(0.5) ? '0123456789.' : chance(0.5) ? '0123456789abcdefABCDEFxX:.' : null;
  const length = int(24);
  let text = '';
  for (let i = 0; i < length; i++) text += alphabet ? alphabet[int(alphabet.length)] : pick(ODD_CHARS);
  return text;
}

function mutate(text: string): string {
  const chars = Array.from(text); // code points: mutations never split a surrogate pair
  const edits = 1 + int(3);
  for (let e = 0; e < edits; e++) {
    const at = int(chars.length + 1);
    switch (int(7)) {
      case 0: chars.splice(at, 0, pick(ODD_CHARS)); break;
      case 1: chars.splice(at, 1); break;
      case 2: chars.splice(at, 1, pick(ODD_CHARS)); break;
      case 3: chars.splice(at, 0, HEX[int(HEX.length)]); break;
      case 4: chars.splice(at, 0, ...chars.slice(int(chars.length), int(chars.length + 1))); break;
      case 5: chars.length = at; break;
      default: if (at + 1 < chars.length) [chars[at], chars[at + 1]] = [chars[at + 1], chars[at]];
    }
  }
  return chars.join('');
}

function generateString(): string {
  const base = pick([ipv4Dotted, ipv4Dotted, atonForm, atonForm, ipv6Text, ipv6Text, ipv6Text, randomString])();
  return chance(0.35) ? mutate(base) : base;
}

// 16 bytes as 8 words, biased toward zero runs and the special prefixes.
function biasedBytes16(): Uint8Array {
  const words = Array.from({ length: 8 }, () => (chance(0.5) ? 0 : pick([1, 0xffff, int(16), int(0x100), int(0x10000), int(0x10000)])));
  switch (int(10)) {
    case 0: words.fill(0, 0, 5); words[5] = 0xffff; break; // ::ffff:a.b.c.d
    case 1: words.fill(0, 0, 6); break; // ::a.b.c.d, ::2, ::
    case 2: words.fill(0, 0, 6); words[6] = 0; break; // ::N
    case 3: words.fill(0, 0, 4); words[4] = 0xffff; words[5] = 0; break; // ::ffff:0:a.b.c.d (not special)
    case 4: words.fill(0, 0, 5); words[5] = pick([0xfffe, 0xffff, 1]); words[6] = 0; break;
    case 5: words[0] = 0x64; words[1] = 0xff9b; words.fill(0, 2, 6); break;
    default:
  }
  const bytes = new Uint8Array(16);
  words.forEach((word, i) => {
    bytes[2 * i] = word >> 8;
    bytes[2 * i + 1] = word & 0xff;
  });
  return bytes;
}

const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/;
const hex = (bytes: Uint8Array | null) => (bytes ? Buffer.from(bytes).toString('hex') : null);

const ORACLE = `
import json, socket, sys
req = json.loads(sys.stdin.buffer.read().decode('utf-8'))
def guard(f, *a):
    try:
        r = f(*a)
        return r.hex() if isinstance(r, bytes) else r
    except (OSError, ValueError):
        return None
out = {
    'pton4': [guard(socket.inet_pton, socket.AF_INET, s) for s in req['strings']],
    'pton6': [guard(socket.inet_pton, socket.AF_INET6, s) for s in req['strings']],
    'aton': [guard(socket.inet_aton, s) for s in req['strings']],
    'ntop4': [guard(socket.inet_ntop, socket.AF_INET, bytes.fromhex(h)) for h in req['bytes4']],
    'ntop6': [guard(socket.inet_ntop, socket.AF_INET6, bytes.fromhex(h)) for h in req['bytes16']],
}
sys.stdout.write(json.dumps(out))
`;

function hasPython(): boolean {
  return spawnSync('python3', ['-c', 'import socket'], { stdio: 'ignore' }).status === 0;
}

const glibcTest = needs(test, 'python3', hasPython() ? undefined : 'python3 is not installed, so there is no glibc oracle to compare with');
{
  // Fixed inputs first (the documented edges), then the random batch.
  const fixed = [
    '', '0.0.0.0', '255.255.255.255', '256.0.0.0', '01.2.3.4', '1.2.3.04', '1.2.3', '1.2.3.4.5', ' 1.2.3.4',
    '1.2.3.4 ', '1.2.3.4 junk', '127.1', '0x7f.1', '017.0.0.1', '4294967295', '4294967296', '0x', '0x.1',
    '1.2.3.4\0', '1.2.3.4 \0x', '::', '::1', '1::', ':1::', '1::2::3', '1:2:3:4:5:6:7::', '::1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9', '::1.2.3.4', '::ffff:1.2.3.4', '1:2:3:4:5:6:1.2.3.4', '1:2:3:4:5:6:7:1.2.3.4',
    'fe80::1%eth0', '02001:db8::1', '2001:DB8::1', ':::', '1:::2', '::1.2.3', '::1.2.3.4.5', '1.2.3.4::',
    '::01.2.3.4', '[::1]', '1:2:3:4:5:6:7:', ':1:2:3:4:5:6:7', '١.٢.٣.٤', '１.２.３.４',
  ];
  const strings = [...fixed];
  while (strings.length < STRINGS + fixed.length) {
    const text = generateString();
    if (!LONE_SURROGATE.test(text)) strings.push(text);
  }
  const bytes16: Uint8Array[] = [];
  for (let i = 0; i < ARRAYS; i++) bytes16.push(biasedBytes16());
  for (let i = 0; i < 256; i++) bytes16.push(Uint8Array.from({ length: 16 }, () => int(256))); // plain random
  const bytes4 = Array.from({ length: 2000 }, () => Uint8Array.from({ length: 4 }, () => pick([0, 255, int(256)])));

  const request = JSON.stringify({ strings, bytes4: bytes4.map(hex), bytes16: bytes16.map(hex) });
  let oracle: Record<'pton4' | 'pton6' | 'aton' | 'ntop4' | 'ntop6', Array<string | null>>;

  test.before(() => {
    const result = spawnSync('python3', ['-c', ORACLE], {
      input: request,
      maxBuffer: 256 * 1024 * 1024,
      timeout: 60_000,
      env: { ...process.env, PYTHONIOENCODING: 'utf-8' },
    });
    if (result.status !== 0) throw new Error(`python3 oracle failed: ${result.error ?? result.stderr}`);
    oracle = JSON.parse(result.stdout.toString('utf8'));
    const accepted = (list: Array<string | null>) => list.filter((x) => x !== null).length;
    console.log(
      `address-glibc: seed ${SEED}; ${strings.length} strings x inet_pton(AF_INET), inet_pton(AF_INET6), inet_aton ` +
        `(glibc accepted ${accepted(oracle.pton4)} / ${accepted(oracle.pton6)} / ${accepted(oracle.aton)}); ` +
        `${bytes16.length} inet_ntop(AF_INET6) and ${bytes4.length} inet_ntop(AF_INET) byte arrays`,
    );
  });

  function compare(name: string, inputs: unknown[], ours: (i: number) => string | null, theirs: Array<string | null>) {
    const mismatches: string[] = [];
    for (let i = 0; i < inputs.length; i++) {
      const got = ours(i);
      if (got !== theirs[i]) mismatches.push(`${JSON.stringify(inputs[i])}: ours ${got}, glibc ${theirs[i]}`);
    }
    console.log(`  ${name}: ${inputs.length - mismatches.length}/${inputs.length} agree`);
    assert.is(mismatches.length, 0, `${name} disagrees with glibc (seed ${SEED}) on ${mismatches.length}:\n${mismatches.slice(0, 20).join('\n')}`);
  }

  glibcTest('inet_pton(AF_INET) agrees with glibc', () => {
    compare('inet_pton(AF_INET)', strings, (i) => hex(inetPton(AF_INET, strings[i])), oracle.pton4);
  });

  glibcTest('inet_pton(AF_INET6) agrees with glibc', () => {
    compare('inet_pton(AF_INET6)', strings, (i) => hex(inetPton(AF_INET6, strings[i])), oracle.pton6);
  });

  glibcTest('inet_aton agrees with glibc', () => {
    compare('inet_aton', strings, (i) => hex(inetAton(strings[i])), oracle.aton);
  });

  glibcTest('inet_ntop(AF_INET6) agrees with glibc', () => {
    compare('inet_ntop(AF_INET6)', bytes16.map(hex), (i) => inetNtop(AF_INET6, bytes16[i]), oracle.ntop6);
  });

  glibcTest('inet_ntop(AF_INET) agrees with glibc', () => {
    compare('inet_ntop(AF_INET)', bytes4.map(hex), (i) => inetNtop(AF_INET, bytes4[i]), oracle.ntop4);
  });

  glibcTest('inet_ntop text parses back to the same bytes', () => {
    for (const bytes of bytes16) {
      assert.equal(hex(inetPton(AF_INET6, inetNtop(AF_INET6, bytes))), hex(bytes));
    }
  });
}

test.run();

// lib/kernel/strace.ts on lines captured from `strace -f -qq -yy -s 64` of
// Node 20's echo server on this machine (strace 6.1): parsing, joining
// unfinished/resumed halves, the filter that keeps the program's sockets and
// drops the runtime's plumbing, the C-style description and the summary.
import { test } from 'uvu';
import * as assert from 'uvu/assert';
import {
  SocketFilter,
  StraceParser,
  describeCall,
  formatSummaryRow,
  parseCallLine,
  parseFd,
  parseSockaddr,
  splitArgs,
  summarize,
  unescapeC,
  type StraceCall,
} from '../lib/kernel/strace.ts';

const ECHO = `20729 socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 19<UNIX-STREAM:[43898]>
20729 connect(19<UNIX-STREAM:[43898]>, {sa_family=AF_UNIX, sun_path="/tmp/tsx-0/20725.pipe"}, 110) = -1 ENOENT (No such file or directory)
20729 read(17<anon_inode:[eventfd]>, "\\1\\0\\0\\0\\0\\0\\0\\0", 1024) = 8
20729 close(19<UNIX-STREAM:[43898]>)    = 0
20729 socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 19<TCP:[45251]>
20729 setsockopt(19<TCP:[45251]>, SOL_SOCKET, SO_REUSEADDR, [1], 4) = 0
20729 bind(19<TCP:[45251]>, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0
20729 listen(19<TCP:[127.0.0.1:37737]>, 511) = 0
20729 getsockname(19<TCP:[127.0.0.1:37737]>,  <unfinished ...>
20751 write(24<anon_inode:[eventfd]>, "\\1\\0\\0\\0\\0\\0\\0\\0", 8) = 8
20729 <... getsockname resumed>{sa_family=AF_INET, sin_port=htons(37737), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0
20729 write(2</tmp/sc/err.txt>, "listening on 127.0.0.1:37737 (tcp)\\n", 35) = 35
20729 epoll_ctl(14<anon_inode:[eventpoll]>, EPOLL_CTL_ADD, 19<TCP:[127.0.0.1:37737]>, {events=EPOLLIN, data={u32=19, u64=19}}) = 0
20729 epoll_pwait(14<anon_inode:[eventpoll]>, [{events=EPOLLIN, data={u32=19, u64=19}}], 1024, -1, NULL, 8) = 1
20729 accept4(19<TCP:[127.0.0.1:37737]>, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>
20729 setsockopt(20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>, SOL_TCP, TCP_NODELAY, [1], 4) = 0
20729 getpeername(20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>, {sa_family=AF_INET, sin_port=htons(49640), sin_addr=inet_addr("127.0.0.1")}, [128 => 16]) = 0
20729 read(20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>, "hello\\n", 65536) = 6
20729 write(20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>, "hello\\n", 6) = 6
20729 read(20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>, "", 65536) = 0
20729 shutdown(20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>, SHUT_WR) = 0
20729 epoll_ctl(14<anon_inode:[eventpoll]>, EPOLL_CTL_DEL, 20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>, 0x7ffffaa1c664) = 0
20729 close(20<TCP:[127.0.0.1:37737->127.0.0.1:49640]>) = 0
20729 close(20</dev/null<char 1:3>>)    = 0
--- SIGTERM {si_signo=SIGTERM, si_code=SI_USER, si_pid=1, si_uid=0} ---`;

function run(text: string, { epoll = false, args = [] as string[] } = {}): StraceCall[] {
  const parser = new StraceParser();
  const filter = new SocketFilter(args);
  const shown: StraceCall[] = [];
  for (const line of text.split('\n')) {
    const call = parser.push(line);
    if (call) shown.push(...filter.accept(call, { epoll }));
  }
  return shown;
}

test('the echo server trace: only the TCP socket calls, in order, the tsx IPC socket dropped', () => {
  const names = run(ECHO).map((c) => `${c.name}:${c.fd?.fd ?? c.resultFd?.fd}`);
  assert.equal(names, [
    'socket:19', 'setsockopt:19', 'bind:19', 'listen:19', 'getsockname:19', 'accept4:19', 'setsockopt:20',
    'getpeername:20', 'read:20', 'write:20', 'read:20', 'shutdown:20', 'close:20',
  ]);
});

test('--all adds epoll_ctl and epoll_pwait on those sockets only', () => {
  const names = run(ECHO, { epoll: true }).filter((c) => c.name.startsWith('epoll')).map((c) => c.name);
  assert.equal(names, ['epoll_ctl', 'epoll_pwait', 'epoll_ctl']);
});

test('describeCall: fds without annotations, the sockaddr_in bytes, the four-tuple, the data', () => {
  const calls = run(ECHO);
  const bind = describeCall(calls[2]);
  assert.is(bind.line, 'bind(19, {sa_family=AF_INET, sin_port=htons(0), sin_addr=inet_addr("127.0.0.1")}, 16) = 0');
  assert.ok(bind.details[0].endsWith('02 00 00 00 7f 00 00 01 00 00 00 00 00 00 00 00'), bind.details[0]);
  assert.match(bind.lesson!, /bind\(sockfd/);
  const name = describeCall(calls[4]);
  assert.is(calls[4].sockaddr?.port, 37737);
  assert.ok(name.details[0].endsWith('02 00 93 69 7f 00 00 01 00 00 00 00 00 00 00 00'), name.details[0]); // htons(37737) = 93 69
  assert.is(describeCall(calls[3]).line, 'listen(19, 511) = 0');
  const accept = describeCall(calls[5]);
  assert.is(accept.line, 'accept4(19, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 20');
  assert.is(accept.details[0], 'new socket 20: 127.0.0.1:37737 <- 127.0.0.1:49640 (the client)');
  assert.is(calls[8].data, 'hello\n');
  assert.is(describeCall(calls[8]).line, 'read(20, "hello\\n", 65536) = 6');
  assert.match(describeCall(calls[10]).details.join(' '), /EOF/);
  assert.match(describeCall(calls[6]).lesson!, /Nagle/);
});

test('unfinished and resumed halves join into one call', () => {
  const parser = new StraceParser();
  assert.is(parser.push('7 read(20<TCP:[127.0.0.1:1->127.0.0.1:2]>,  <unfinished ...>'), null);
  assert.is(parser.push('8 write(3<pipe:[1]>, "x", 1 <unfinished ...>'), null);
  const read = parser.push('7 <... read resumed>"ab", 65536) = 2')!;
  assert.equal(read.args, ['20', '"ab"', '65536']);
  const write = parser.push('8 <... write resumed>)              = 1')!;
  assert.equal(write.args, ['3', '"x"', '1']);
  assert.is(write.result, 1);
});

test('errors: the errno and strace\'s words', () => {
  const call = parseCallLine('5 connect(21<TCP:[9]>, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)')!;
  assert.is(call.result, -1);
  assert.is(call.errno, 'ECONNREFUSED');
  assert.is(call.errnoText, 'Connection refused');
  assert.is(describeCall(call).line, 'connect(21, {sa_family=AF_INET, sin_port=htons(1), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 ECONNREFUSED (Connection refused)');
  const inProgress = parseCallLine('5 connect(21<TCP:[9]>, {sa_family=AF_INET, sin_port=htons(8001), sin_addr=inet_addr("127.0.0.1")}, 16) = -1 EINPROGRESS (Operation now in progress)')!;
  assert.is(inProgress.errno, 'EINPROGRESS');
});

test('UDP: recvmsg and sendmsg with the sender in msg_name', () => {
  const calls = run(`9 socket(AF_INET, SOCK_DGRAM|SOCK_CLOEXEC|SOCK_NONBLOCK, IPPROTO_IP) = 18<UDP:[1]>
9 recvmsg(18<UDP:[127.0.0.1:57937]>, {msg_name={sa_family=AF_INET, sin_port=htons(39310), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=128 => 16, msg_iov=[{iov_base="hi\\n", iov_len=65536}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 3
9 sendmsg(18<UDP:[127.0.0.1:57937]>, {msg_name={sa_family=AF_INET, sin_port=htons(39310), sin_addr=inet_addr("127.0.0.1")}, msg_namelen=16, msg_iov=[{iov_base="hi\\n", iov_len=3}], msg_iovlen=1, msg_controllen=0, msg_flags=0}, 0) = 3
9 recvmsg(18<UDP:[127.0.0.1:57937]>, {msg_namelen=128}, 0) = -1 EAGAIN (Resource temporarily unavailable)`);
  assert.equal(calls.map((c) => c.name), ['socket', 'recvmsg', 'sendmsg', 'recvmsg']);
  assert.is(calls[1].sockaddr?.port, 39310);
  assert.is(calls[1].data, 'hi\n');
  assert.is(calls[3].errno, 'EAGAIN');
  assert.equal(summarize(calls).map(formatSummaryRow), ['socket ×1', 'recvmsg ×2, 3 bytes (1 EAGAIN)', 'sendmsg ×1, 3 bytes']);
});

test('a Unix socket on a path in the arguments is shown, with the calls made before its bind', () => {
  const trace = `4 socket(AF_UNIX, SOCK_STREAM|SOCK_CLOEXEC|SOCK_NONBLOCK, 0) = 22<UNIX-STREAM:[100]>
4 bind(22<UNIX-STREAM:[100]>, {sa_family=AF_UNIX, sun_path="/tmp/x.sock"}, 110) = 0
4 listen(22<UNIX-STREAM:[100,"/tmp/x.sock"]>, 511) = 0
4 accept4(22<UNIX-STREAM:[100,"/tmp/x.sock"]>, NULL, NULL, SOCK_CLOEXEC|SOCK_NONBLOCK) = 23<UNIX-STREAM:[101->102,"/tmp/x.sock"]>
4 read(23<UNIX-STREAM:[101->102,"/tmp/x.sock"]>, "hi", 65536) = 2
4 socketpair(AF_UNIX, SOCK_STREAM, 0, [24<UNIX-STREAM:[103]>, 25<UNIX-STREAM:[104]>]) = 0
4 write(24<UNIX-STREAM:[103->104]>, "x", 1) = 1`;
  assert.equal(run(trace, { args: ['--unix', '/tmp/x.sock'] }).map((c) => c.name), ['socket', 'bind', 'listen', 'accept4', 'read']);
  assert.equal(run(trace).map((c) => c.name), [], 'without the path in the arguments: plumbing');
});

test('splitArgs, parseFd, parseSockaddr, unescapeC', () => {
  assert.equal(splitArgs('19<TCP:[1.2.3.4:5->6.7.8.9:10]>, {a=1, b=[2, 3]}, "x, y", 16'), [
    '19<TCP:[1.2.3.4:5->6.7.8.9:10]>', '{a=1, b=[2, 3]}', '"x, y"', '16',
  ]);
  assert.equal(parseFd('20<TCPv6:[[::1]:8001->[::1]:5000]>'), {
    fd: 20, what: 'TCPv6:[[::1]:8001->[::1]:5000]', proto: 'TCPv6', local: '[::1]:8001', remote: '[::1]:5000',
  });
  const v6 = parseSockaddr('{sa_family=AF_INET6, sin6_port=htons(8001), sin6_flowinfo=htonl(0), inet_pton(AF_INET6, "::1", &sin6_addr), sin6_scope_id=0}');
  assert.is(v6.port, 8001);
  assert.is(v6.address, '::1');
  // sin6_family, sin6_port, sin6_flowinfo, sin6_addr (::1), sin6_scope_id: 28 bytes.
  assert.is(v6.bytes, '0a 00 1f 41 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 00 01 00 00 00 00');
  assert.equal([...unescapeC('a\\n\\0\\33\\x7f\\"\\\\')], [97, 10, 0, 27, 127, 34, 92]);
  const cut = parseCallLine('3 read(20<TCP:[1.2.3.4:5->6.7.8.9:10]>, "0123456789"..., 65536) = 100')!;
  assert.is(cut.truncated, true);
  assert.is(cut.data, '0123456789');
});

test('formatSummaryRow: thousands separators', () => {
  assert.is(formatSummaryRow({ name: 'read', count: 12, bytes: 1204, errors: {} }), 'read ×12, 1,204 bytes');
  assert.is(formatSummaryRow({ name: 'accept4', count: 3, errors: {} }), 'accept4 ×3');
  assert.is(formatSummaryRow({ name: 'connect', count: 1, errors: { EINPROGRESS: 1 } }), 'connect ×1 (1 EINPROGRESS)');
});

test.run();

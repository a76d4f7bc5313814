// The page socket-view serves at /: one HTML document with its CSS and
// script inline (no external resource, so it works offline and from a
// copied bundle). The script opens /events with the page's own query
// (?port=8001) and redraws listener cards (half-open queue, accept queue,
// accepted, client twins), the lane of other TCP states with their
// explanation, a compact UDP/Unix table and the timeline, newest first.

const STYLE = `
body { font-family: system-ui, sans-serif; margin: 1em; background: #fafafa; color: #222; }
h1 { font-size: 1.3em; margin: 0 0 .3em; } h2 { font-size: 1.05em; margin: 1em 0 .4em; }
form { margin: .4em 0 1em; } form input { width: 8em; } #status { color: #666; font-size: .9em; }
#listeners { display: flex; flex-wrap: wrap; gap: 1em; }
.card { background: #fff; border: 1px solid #ccc; border-radius: 6px; padding: .6em .8em; min-width: 22em; max-width: 40em; }
.card h3 { margin: 0 0 .3em; font-size: 1em; font-family: monospace; }
.queue { margin: .3em 0; } .queue b { display: inline-block; min-width: 12em; }
.queue ul { margin: .2em 0 .2em 1.2em; padding: 0; font-family: monospace; font-size: .9em; }
.half-open b { color: #b36b00; } .accept-queue b { color: #b00020; } .accepted b { color: #1b5e20; }
.twin { color: #555; }
table { border-collapse: collapse; font-family: monospace; font-size: .85em; background: #fff; }
td, th { border: 1px solid #ddd; padding: .15em .5em; text-align: left; vertical-align: top; }
td.explain { font-family: system-ui, sans-serif; max-width: 50em; }
#timeline { font-family: monospace; font-size: .9em; max-height: 24em; overflow-y: auto; background: #fff; border: 1px solid #ddd; padding: .4em .6em .4em 2.6em; }
.muted { color: #888; }
`;

// Runs in the browser: no imports, plain DOM, textContent only (no HTML from data).
const SCRIPT = `
const params = new URLSearchParams(location.search);
for (const name of ['port', 'state', 'program']) {
  const input = document.querySelector('[name=' + name + ']');
  if (input && params.get(name)) input.value = params.get(name);
}
const el = (tag, props, ...children) => {
  const node = document.createElement(tag);
  const { dataset, ...rest } = props || {};
  Object.assign(node, rest);
  if (dataset) Object.assign(node.dataset, dataset);
  for (const child of children) node.append(child);
  return node;
};
const ep = (a, p) => (a === null ? '*' : a.includes(':') ? '[' + a + ']' : a) + ':' + (p === null ? '*' : p);
const owners = (row) => row.owners && row.owners.length ? row.owners.map((o) => o.pid + '/' + o.program).join(',') : '-';
const isTcp = (row) => row.proto === 'tcp' || row.proto === 'tcp6';
const sameHost = (listener, row) =>
  listener.localAddress === '0.0.0.0' || listener.localAddress === '::' || listener.localAddress === row.localAddress ||
  (listener.localAddress === '::' && row.localAddress.startsWith('::ffff:'));

function draw(doc) {
  const rows = doc.rows;
  const tcp = rows.filter(isTcp);
  const listeners = tcp.filter((r) => r.state === 'LISTEN');
  const byTuple = new Map(tcp.map((r) => [ep(r.localAddress, r.localPort) + '>' + ep(r.remoteAddress, r.remotePort), r]));
  const twin = (r) => byTuple.get(ep(r.remoteAddress, r.remotePort) + '>' + ep(r.localAddress, r.localPort));
  const used = new Set();
  const cards = [];
  for (const l of listeners) {
    const mine = tcp.filter((r) => r !== l && r.localPort === l.localPort && r.state !== 'LISTEN' && r.proto === l.proto && sameHost(l, r));
    const half = mine.filter((r) => r.state === 'SYN_RECV');
    const queued = mine.filter((r) => r.state === 'ESTABLISHED' && r.inode === 0);
    const accepted = mine.filter((r) => r.state === 'ESTABLISHED' && r.inode !== 0);
    for (const r of [...half, ...queued, ...accepted]) { used.add(r); const t = twin(r); if (t) used.add(t); }
    const item = (r, extra) => {
      const t = twin(r);
      return el('li', {}, ep(r.remoteAddress, r.remotePort) + (extra ? ' ' + extra : ''),
        t ? el('span', { className: 'twin', textContent: '  ⇄ client ' + owners(t) + (t.state !== 'ESTABLISHED' ? ' ' + t.state : '') }) : '');
    };
    const section = (cls, title, count, list) => el('div', { className: 'queue ' + cls },
      el('b', {}, title + ': '), el('span', { className: 'count', textContent: String(count) }), el('ul', {}, ...list));
    cards.push(el('div', { className: 'card', dataset: { port: String(l.localPort) } },
      el('h3', {}, ep(l.localAddress, l.localPort) + ' (' + l.proto + ')'),
      el('div', {}, 'owner ' + owners(l) + ' · backlog ' + (l.sendQ === null ? '?' : l.sendQ) + ' · kernel accept queue ' + l.recvQ),
      section('half-open', 'half-open (SYN_RECV)', half.length, half.map((r) => item(r, r.timerSeconds !== null ? '(SYN-ACK again in ' + r.timerSeconds + ' s)' : ''))),
      section('accept-queue', 'accept queue', queued.length, queued.map((r) => item(r, r.recvQ ? '(' + r.recvQ + ' bytes waiting)' : '(0 bytes)'))),
      section('accepted', 'accepted', accepted.length, accepted.map((r) => item(r, 'by ' + owners(r) + (r.recvQ ? ' (' + r.recvQ + ' bytes unread)' : ''))))));
  }
  document.getElementById('listeners').replaceChildren(...(cards.length ? cards : [el('p', { className: 'muted' }, 'no TCP listener matches')]));

  const lane = tcp.filter((r) => !used.has(r) && r.state !== 'LISTEN');
  const laneRows = lane.slice(0, 300).map((r) => el('tr', { dataset: { state: r.state } },
    el('td', {}, r.state), el('td', {}, ep(r.localAddress, r.localPort) + ' -> ' + ep(r.remoteAddress, r.remotePort)),
    el('td', {}, owners(r)),
    el('td', { className: 'explain' }, doc.explanations[r.localAddress + ':' + r.localPort + '>' + r.remoteAddress + ':' + r.remotePort] || '')));
  document.getElementById('lane').replaceChildren(...(laneRows.length ? laneRows : [el('tr', {}, el('td', { className: 'muted', colSpan: 4 }, 'none'))]));

  const other = rows.filter((r) => !isTcp(r)).slice(0, 200).map((r) => el('tr', {},
    el('td', {}, r.proto), el('td', {}, r.state), el('td', {}, r.proto === 'unix' ? (r.localAddress || '(unnamed)') : ep(r.localAddress, r.localPort)),
    el('td', {}, r.proto === 'unix' ? '' : ep(r.remoteAddress, r.remotePort)), el('td', {}, String(r.recvQ ?? '-')), el('td', {}, owners(r))));
  document.getElementById('other').replaceChildren(...other);
  document.getElementById('other-count').textContent = String(rows.length - tcp.length);

  document.getElementById('timeline').replaceChildren(...doc.timeline.map((e) =>
    el('li', { dataset: { kind: e.kind } }, new Date(e.time).toTimeString().slice(0, 8) + '  ' + e.text)));
  document.getElementById('status').textContent = 'live · ' + (doc.total > rows.length ? 'showing ' + rows.length + ' of ' + doc.total + ' sockets (filter by port to see one server whole)' : rows.length + ' sockets') + ' · updated ' +
    new Date(doc.time).toTimeString().slice(0, 8) + ' · /proc read ' + doc.reads + ' times, every ' + doc.intervalMs + ' ms';
}

const source = new EventSource('/events' + location.search);
source.addEventListener('snapshot', (message) => draw(JSON.parse(message.data)));
source.onerror = () => { document.getElementById('status').textContent = 'disconnected; retrying…'; };
`;

/** The whole page, the same for every request (filters are read from the URL by the script). */
export function renderViewPage(): string {
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<link rel="icon" href="data:,">
<title>socket-view: socket-lab</title>
<style>${STYLE}</style>
</head>
<body>
<h1>socket-view: this host's sockets, live</h1>
<p>Read from <code>/proc/net</code> by the server, sent to this page over Server-Sent Events (B/S: the browser is one more client).</p>
<form method="get" action="/">
port <input name="port" inputmode="numeric"> state <input name="state"> program <input name="program">
<button type="submit">filter</button> <a href="/">all</a>
</form>
<div id="status">connecting…</div>
<h2>TCP listeners</h2>
<div id="listeners"></div>
<h2>Other TCP sockets</h2>
<table><thead><tr><th>state</th><th>connection</th><th>owner</th><th>what it means</th></tr></thead><tbody id="lane"></tbody></table>
<h2>Timeline (newest first)</h2>
<ol id="timeline"></ol>
<h2>UDP and Unix sockets (<span id="other-count">0</span>)</h2>
<table><thead><tr><th>proto</th><th>state</th><th>local</th><th>remote</th><th>recv-q</th><th>owner</th></tr></thead><tbody id="other"></tbody></table>
<script>${SCRIPT}</script>
</body>
</html>
`;
}

// The two children the inspector benchmarks share, as plain CommonJS for
// `node -e`: a server that accepts and holds every connection, and a client
// process that opens N connections in batches of 200 and prints `done bad`;
// both stop (the clients with a reset, so no TIME_WAIT is left) when their
// stdin ends.
export const SERVER = `const net=require('net');const held=[];const s=net.createServer(c=>{c.on('error',()=>{});held.push(c)});
s.listen({port:0,host:'127.0.0.1',backlog:4096},()=>console.log(s.address().port));process.stdin.resume();process.stdin.on('end',()=>process.exit(0));`;
export const CLIENTS = `const net=require('net');const [port,n]=process.argv.slice(-2).map(Number);const held=[];let done=0,bad=0;
function one(){return new Promise(r=>{const c=net.connect(port,'127.0.0.1');c.on('connect',()=>{held.push(c);done++;r()});c.on('error',()=>{bad++;r()})})}
(async()=>{for(let i=0;i<n;i+=200){const batch=[];for(let j=i;j<Math.min(n,i+200);j++)batch.push(one());await Promise.all(batch)}console.log(done+' '+bad)})();
process.stdin.resume();process.stdin.on('end',()=>{for(const c of held)c.resetAndDestroy();setTimeout(()=>process.exit(0),200)});`;


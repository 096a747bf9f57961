// A client in its own process for tests that stop the gateway's process: on each connection
// (argv: port and path pairs, `PORT:METHOD:PATH`) it sends one request and waits for its
// answer, prints "answered", waits a second, then sends `GET path` on each again and prints
// the second answers' status lines (or the socket's error code) as one JSON array.
import net from 'node:net';

const STATUS = /HTTP\/1\.1 (\d{3})/g;

function connection(spec) {
  const [port, method, path] = spec.split(':');
  const s = net.connect(Number(port), '127.0.0.1');
  const request = (m) => s.write(`${m} ${path} HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n`);
  let text = '';
  const waiting = [];
  const settle = (value) => waiting.shift()?.(value);
  s.on('data', (c) => {
    const before = (text.match(STATUS) ?? []).length;
    text += c.toString('latin1');
    const statuses = [...text.matchAll(STATUS)].map((m) => m[1]);
    if (statuses.length > before) settle(`HTTP ${statuses.at(-1)}`);
  });
  s.on('error', (e) => settle(`error ${e.code}`));
  s.on('close', () => settle('closed'));
  const answer = () => new Promise((resolve) => waiting.push(resolve));
  const ask = (m) => {
    const answered = answer();
    request(m);
    return answered;
  };
  return { first: () => ask(method), again: () => ask('GET') };
}

const conns = process.argv.slice(2).map(connection);
const firsts = await Promise.all(conns.map((c) => c.first()));
process.stdout.write(`answered ${JSON.stringify(firsts)}\n`);
await new Promise((r) => setTimeout(r, 1000));
process.stdout.write(`${JSON.stringify(await Promise.all(conns.map((c) => c.again())))}\n`);
process.exit(0);

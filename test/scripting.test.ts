// Any endpoint and one-shot scripting, against a `ws` echo server started here: it answers each message
// with "TYPE:payload" (the same frame type), so a test can see what was sent and how.

import t from 'tap';
import type { AddressInfo } from 'node:net';
import { WebSocketServer } from 'ws';
import { runClient, runInProcess, startEchoServer } from './support/helpers.ts';
import { startFakeServer } from './support/fake-server.ts';

t.test('any path and query arrive unchanged; any other path means both; --role and -c', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const run = runInProcess([`${echo.url}/chat/room?id=7&x=%20`], { input: 'hi\n' });
  t.equal(await run.exit, 0, run.stderr());
  t.same(echo.requests, ['/chat/room?id=7&x=%20']);
  t.equal(echo.received[0]?.data.toString(), 'hi', 'both: stdin is sent');
  const consumer = runInProcess(['--role', 'consumer', '-w', '0.2', '-c', `${echo.url}/ws`], { input: 'not sent\n' });
  t.equal(await consumer.exit, 0, consumer.stderr());
  t.equal(echo.received.length, 1, '--role consumer sends nothing');
  t.same(echo.requests.at(-1), '/ws', '-c URL');
});

t.test('-x MESSAGE -w 1: the reply is printed, then CLOSE 1000 after the wait', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const run = runClient(['-x', 'hello', '-w', '1', `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), 'text:hello\n');
  t.ok(run.elapsedMs() >= 1000, `kept receiving for the wait (${run.elapsedMs()} ms)`);
});

t.test('-x a -x b --count 2: exits 0 once both replies came, with stdin still open', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const run = runInProcess(['-x', 'a', '-x', 'b', '--count', '2', `${echo.url}/`]); // stdin never ends
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), 'text:a\ntext:b\n');
  t.same(echo.received.map((m) => m.data.toString()), ['a', 'b'], '-x messages in order');
});

t.test('--count 3 -w 0.3 with one reply: exit 1, and says so', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const run = runInProcess(['-x', 'only one', '--count', '3', '-w', '0.3', `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await run.exit, 1);
  t.equal(run.stdout(), 'text:only one\n');
  t.match(run.stderr(), /got 1 of 3 messages/);
});

t.test('echo x | client -w 1 URL: the reply to piped input is printed; -1 stops at the first', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const run = runClient(['-w', '1', `${echo.url}/`], { input: 'x\n' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), 'text:x\n');
  const first = runInProcess(['-1', `${echo.url}/`], { input: 'one\ntwo\n' });
  t.equal(await first.exit, 0);
  t.equal(first.stdout(), 'text:one\n');
});

t.test('-0: NUL-separated messages round-trip with newlines inside', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const run = runInProcess(['-0', '--count', '2', `${echo.url}/`], { input: '{\n  "a": 1\n}\0line two\r\n\0' });
  t.equal(await run.exit, 0, run.stderr());
  t.same(echo.received.map((m) => m.data.toString()), ['{\n  "a": 1\n}', 'line two\r\n']);
  t.equal(run.stdout(), 'text:{\n  "a": 1\n}\0text:line two\r\n\0');
});

t.test('--binary sends BINARY frames; --hex and --base64 print binary replies whole', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const bytes = Buffer.from([0xff, 0x0a, 0x80, 0x41]); // not UTF-8, with a newline inside (-0 keeps it)
  const hex = runInProcess(['-0', '--binary', '--hex', '-1', `${echo.url}/`], { input: Buffer.concat([bytes, Buffer.from([0])]) });
  t.equal(await hex.exit, 0, hex.stderr());
  t.ok(echo.received[0]?.binary, 'a BINARY frame');
  t.ok(echo.received[0]?.data.equals(bytes), 'the exact bytes (no UTF-8 repair)');
  t.equal(hex.stdout(), Buffer.concat([Buffer.from('binary:'), bytes]).toString('hex') + '\0');
  const b64 = runInProcess(['--binary', '--base64', '-1', `${echo.url}/`], { input: 'abc\n' });
  t.equal(await b64.exit, 0);
  t.equal(b64.stdout(), Buffer.from('binary:abc').toString('base64') + '\n');
});

t.test('a refused upgrade shows the start of the body', async (t) => {
  const server = await startFakeServer({ respond: () => 'HTTP/1.1 403 Forbidden\r\nContent-Type: text/plain\r\nContent-Length: 14\r\n\r\ntoken expired\n' });
  t.teardown(() => server.close());
  const run = runInProcess([`ws://127.0.0.1:${server.port}/socket?token=old`], { stdin: 'ignore' });
  t.equal(await run.exit, 1);
  t.equal(run.stderr(), `wsc: connecting to ws://127.0.0.1:${server.port}/socket?token=old\nwsc: server refused the upgrade: HTTP/1.1 403 Forbidden — token expired\n`);
});

t.test('--timestamps: each message and status line starts with the local time; JSON events carry ts', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const clock = /^\d\d:\d\d:\d\d /;
  const plain = runInProcess(['--timestamps', '-x', 'one', '-x', 'two', '--count', '2', `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await plain.exit, 0, plain.stderr());
  const lines = plain.stdout().split('\n').filter(Boolean);
  t.same(lines.map((line) => line.replace(clock, '')), ['text:one', 'text:two'], 'the message after the time');
  t.ok(lines.every((line) => clock.test(line)), `every message line is timed: ${JSON.stringify(lines)}`);
  const status = plain.stderr().split('\n').filter(Boolean);
  t.ok(status.length > 0 && status.every((line) => /^\d\d:\d\d:\d\d wsc: /.test(line)), `every status line is timed: ${JSON.stringify(status)}`);
  const hour = String(new Date().getHours()).padStart(2, '0');
  t.ok(lines[0]!.startsWith(hour) || lines[0]!.startsWith(String((new Date().getHours() + 23) % 24).padStart(2, '0')), 'local time');

  const json = runInProcess(['--timestamps', '--json', '-x', 'three', '--count', '1', `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await json.exit, 0, json.stderr());
  const events = json.stdout().split('\n').filter(Boolean).map((line) => JSON.parse(line) as { type: string; ts?: string });
  t.same(events.map((event) => event.type), ['open', 'message', 'close']);
  for (const event of events) t.match(event.ts, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/, `${event.type}: ts is ISO 8601 with milliseconds`);

  const untimed = runInProcess(['-x', 'four', '--count', '1', `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await untimed.exit, 0);
  t.equal(untimed.stdout(), 'text:four\n', 'without --timestamps, output is exactly as before');
});

t.test('--count N waits for its N messages whatever stdin does: the README recipe with </dev/null', async (t) => {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  wss.on('connection', (ws) => ws.on('message', () => {
    // A price feed: a message every 30 ms once subscribed.
    let sent = 0;
    const timer = setInterval(() => (sent < 12 && ws.readyState === ws.OPEN ? ws.send(`price ${++sent}`) : clearInterval(timer)), 30);
    ws.on('close', () => clearInterval(timer));
  }));
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/stream`;
  const run = runInProcess(['-x', '{"subscribe":"prices"}', '--count', '10', url], { stdin: 'ignore' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), Array.from({ length: 10 }, (_, i) => `price ${i + 1}\n`).join(''), 'all ten, though stdin ended at once');
  const bounded = runInProcess(['-x', '{"subscribe":"prices"}', '--count', '100', '-w', '0.2', url], { stdin: 'ignore' });
  t.equal(await bounded.exit, 1, '-w bounds the wait');
  t.match(bounded.stderr(), /got \d+ of 100 messages/);
});

t.test('-f FILE: the file\'s exact bytes as one message, in order with -x; --binary makes it BINARY; -f - is stdin to its end', async (t) => {
  const { mkdtempSync, rmSync, writeFileSync } = await import('node:fs');
  const { tmpdir } = await import('node:os');
  const { join } = await import('node:path');
  const dir = mkdtempSync(join(tmpdir(), 'wsc-file-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const echo = await startEchoServer(t, { tagged: true });
  writeFileSync(join(dir, 'request.json'), '{\n  "id": 7,\n  "method": "ping"\n}\n');
  const random = Buffer.from(Array.from({ length: 3000 }, (_, i) => (i * 131 + 7) % 256)); // NUL and newline bytes among them
  writeFileSync(join(dir, 'blob.bin'), random);
  const text = runInProcess(['-x', 'first', '-f', join(dir, 'request.json'), '-x', 'last', '--count', '3', `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await text.exit, 0, text.stderr());
  t.same(echo.received.map((m) => [m.binary, m.data.toString()]), [[false, 'first'], [false, '{\n  "id": 7,\n  "method": "ping"\n}\n'], [false, 'last']], 'in order, the file whole with its final newline');
  const binary = runInProcess(['--binary', '-f', join(dir, 'blob.bin'), '--count', '1', `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await binary.exit, 0, binary.stderr());
  t.ok(echo.received[3]?.binary && echo.received[3].data.equals(random), 'one BINARY message of 3,000 exact bytes, not split at NUL or newline');
  const notText = runInProcess(['-f', join(dir, 'blob.bin'), `${echo.url}/`], { stdin: 'ignore' });
  t.equal(await notText.exit, 2);
  t.match(notText.stderr(), /^wsc: --file \S+blob\.bin is not UTF-8 text \(--binary sends it as a BINARY message\)\n/);
  const fromStdin = runInProcess(['-f', '-', '--count', '1', `${echo.url}/`], { input: 'line one\nline two\n' });
  t.equal(await fromStdin.exit, 0, fromStdin.stderr());
  t.equal(echo.received[4]?.data.toString(), 'line one\nline two\n', 'stdin to its end, as one message');
  const stdinNotText = runInProcess(['-f', '-', `${echo.url}/`], { input: Buffer.from([0xff, 0xfe]) });
  t.equal(await stdinNotText.exit, 2);
  t.match(stdinNotText.stderr(), /^wsc: -f -: stdin is not UTF-8 text/);
});

t.test('--count 0: connect, send what -x has, close; -1 after a refused upgrade says only why it was refused', async (t) => {
  const echo = await startEchoServer(t, { tagged: true });
  const zero = runInProcess(['-x', 'ping', '--count', '0', `${echo.url}/`]); // stdin never ends
  t.equal(await zero.exit, 0, zero.stderr());
  t.equal(zero.stdout(), '', 'nothing printed');
  t.same(echo.received.map((m) => m.data.toString()), ['ping']);
  const server = await startFakeServer({ respond: () => 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n' });
  t.teardown(() => server.close());
  const refused = runInProcess(['-1', `ws://127.0.0.1:${server.port}/`], { stdin: 'ignore' });
  t.equal(await refused.exit, 1);
  t.match(refused.stderr(), /server refused the upgrade: HTTP\/1\.1 403 Forbidden\n$/);
  t.notMatch(refused.stderr(), /got 0 of 1/, 'no count line after a failure that says why');
});

t.test('SIGTERM (or Ctrl-C) while connecting ends at once with exit 1: there is nothing to close yet', async (t) => {
  const { createServer } = await import('node:net');
  const silent = createServer((socket) => socket.on('error', () => {})); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  const port = (silent.address() as AddressInfo).port;
  const run = runInProcess([`ws://127.0.0.1:${port}/`], { input: 'queued\n' });
  await run.waitFor('stderr', `connecting to ws://127.0.0.1:${port}/`);
  const before = Date.now();
  run.kill('SIGTERM');
  t.equal(await run.exit, 1);
  t.ok(Date.now() - before < 1000, 'at once, not after the connect timeout');
  t.match(run.stderr(), /wsc: interrupted while connecting\nwsc: 1 input line was not sent\n$/);
});

t.test('--filter REGEX --count 1: send a request, wait for the reply with its id among other traffic, print it, exit 0', async (t) => {
  // A JSON-RPC-like server: a notification stream, and each request answered late, after others' replies.
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  wss.on('connection', (ws) => {
    ws.send('{"method":"notify","params":{"n":1}}');
    ws.send(Buffer.from('binary noise'));
    ws.on('message', (data) => {
      const request = JSON.parse(data.toString()) as { id: number };
      ws.send(`{"id":${request.id + 10},"result":"someone else's"}`);
      ws.send('{"method":"notify","params":{"n":2}}');
      if (request.id !== 99) setTimeout(() => ws.readyState === ws.OPEN && ws.send(`{"id":${request.id},"result":"pong"}`), 50);
    });
  });
  const url = `ws://127.0.0.1:${(wss.address() as AddressInfo).port}/rpc`;
  const run = runInProcess(['-x', '{"id":7,"method":"ping"}', '--filter', '"id":\\s*7\\b', '--count', '1', '-w', '5', url], { stdin: 'ignore' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), '{"id":7,"result":"pong"}\n', 'only the reply: not id 17, not the notifications');

  const flags = runInProcess(['--filter', '/NOTIFY.*"n":2/i', '--count', '1', '-x', '{"id":1}', url], { stdin: 'ignore' });
  t.equal(await flags.exit, 0, flags.stderr());
  t.equal(flags.stdout(), '{"method":"notify","params":{"n":2}}\n', '/REGEX/FLAGS');

  const binary = runInProcess(['--filter', '^\\[binary 12 bytes', '--count', '1', url], { stdin: 'ignore' });
  t.equal(await binary.exit, 0, binary.stderr());
  t.equal(binary.stdout(), '[binary 12 bytes: 62 69 6e 61 72 79 20 6e 6f 69 73 65]\n', 'a binary message: matched on its shown form');

  const never = runInProcess(['-x', '{"id":99}', '--filter', '"id":99\\b', '--count', '1', '-w', '0.3', url], { stdin: 'ignore' });
  t.equal(await never.exit, 1, 'the reply never came within -w');
  t.equal(never.stdout(), '', 'nothing else printed');
  t.match(never.stderr(), /^wsc: got 0 of 1 message$/m, 'one line says so');
});

t.test('--filter: a bad regular expression is a usage error that quotes it', async (t) => {
  for (const pattern of ['"id":(7', '/a(/i', '[z-a]']) {
    const run = runInProcess(['--filter', pattern, 'ws://127.0.0.1:1/']);
    t.equal(await run.exit, 2, pattern);
    t.match(run.stderr(), `wsc: --filter: not a regular expression: '${pattern}' (`, 'quoted, and why');
    t.equal(run.stderr().split('\n').filter(Boolean).length, 2, 'one line, then where to read more');
  }
});

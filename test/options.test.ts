// Liveness, reconnection, URLs and TLS, JSON output and pipelines: the real client against real peers
// started here on 127.0.0.1:0.

import t from 'tap';
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import * as https from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { parseCommandLine, parseTarget, reconnectDelay, VERSION } from '../client.ts';
import { CLIENT, ROOT, delay, runInProcess } from './helpers.ts';
import { OP, binary, close, runAgainstFakeServer, startFakeServer, text } from './fake-server.ts';
import { startChatServer } from './server.ts';

t.test('keepalive: a server that stops answering PINGs is declared dead', async (t) => {
  const result = await runAgainstFakeServer(
    async (session) => {
      // Never answers: only waits until the client gives up and closes TCP.
      await session.waitForEnd(8000);
    },
    ['consumer', '--ping-interval', '0.3', '--ping-timeout', '0.5'],
  );
  t.equal(result.status, 1);
  t.match(result.stderr, /connection dead: no PONG within 0\.5 s/);
  t.ok(result.frames.some((f) => f.opcode === OP.PING), 'the client sent its own PING');
  t.ok(result.run.elapsedMs() < 5000, `gave up in ${result.run.elapsedMs()} ms`);
});

t.test('keepalive: a live server keeps the connection; -P shows the heartbeats', async (t) => {
  const server = await startChatServer({ port: 0, pingInterval: -1 });
  t.teardown(() => server.close());
  const client = runInProcess(['-P', '--ping-interval', '0.2', '--ping-timeout', '0.5', '127.0.0.1', String(server.port), 'consumer']);
  await client.waitFor('stderr', /PONG received[\s\S]*PONG received[\s\S]*PONG received/);
  t.match(client.stderr(), /PING sent \("wsc-1-\d+"\)/);
  t.match(client.stderr(), /PONG received \("wsc-\d+-\d+"\), round trip \d+\.\d ms/, "round-trip time of its own pings");
  t.notMatch(client.stderr(), /connection dead/);
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
});

t.test('reconnect: backoff doubles from about 0.5 s to a 30 s cap, with jitter', async (t) => {
  t.equal(reconnectDelay(0, () => 0.5), 500);
  t.equal(reconnectDelay(1, () => 0.5), 1000);
  t.equal(reconnectDelay(3, () => 0.5), 4000);
  t.equal(reconnectDelay(12, () => 0.5), 30_000);
  t.equal(reconnectDelay(0, () => 0), 375, 'jitter down to 75%');
  t.equal(reconnectDelay(0, () => 1), 625, 'jitter up to 125%');
});

t.test('reconnect: the server is stopped and restarted; lines typed meanwhile arrive once, in order', async (t) => {
  let server = await startChatServer({ port: 0 });
  const port = server.port;
  t.teardown(() => server.close());
  const received: string[] = [];
  const listen = (s: typeof server) => s.wss.on('connection', (ws: WebSocket) => ws.on('message', (data) => received.push(data.toString())));
  listen(server);
  const client = runInProcess(['--reconnect', '127.0.0.1', String(port), 'producer'], { killAfterMs: 30_000 });
  await client.waitFor('stderr', 'connected');
  client.stdin!.write('before\n');
  await delay(300);
  await server.close(); // drops the connection without a CLOSE frame
  await client.waitFor('stderr', /reconnecting in/);
  client.stdin!.write('while down 1\nwhile down 2\n');
  await delay(1200);
  server = await startChatServer({ port });
  listen(server);
  await client.waitFor('stderr', /connected[\s\S]*connected/, 15_000);
  client.stdin!.write('after\n');
  client.stdin!.end();
  t.equal(await client.exit, 0, 'clean close at the end');
  t.same(received, ['before', 'while down 1', 'while down 2', 'after']);
  t.match(client.stderr(), /connection lost \(1006\)/);
});

t.test('reconnect: never after a normal close', async (t) => {
  const result = await runAgainstFakeServer(async (session) => {
    await session.send([close(1000, 'bye')]);
    await session.waitForClose();
    session.end();
  }, ['consumer', '--reconnect']);
  t.equal(result.status, 0);
  t.notMatch(result.stderr, /reconnecting/);
});

t.test('reconnect: after a server CLOSE 1012 (restart), it tries again', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  let connections = 0;
  server.wss.on('connection', (ws: WebSocket) => {
    connections++;
    if (connections === 1) setTimeout(() => ws.close(1012, 'restarting'), 100);
    else ws.send('welcome back');
  });
  const client = runInProcess(['--reconnect', '127.0.0.1', String(server.port), 'consumer']);
  await client.waitFor('stdout', 'welcome back\n', 10_000);
  t.match(client.stderr(), /closed by server: 1012 restarting[\s\S]*reconnecting in/);
  client.kill('SIGINT');
  t.equal(await client.exit, 0);
});

t.test('URLs: ws://HOST:PORT/ROLE works like HOST PORT ROLE; IPv6 literals and default ports parse', async (t) => {
  t.same(parseTarget(['ws://[::1]:8001/both']), { secure: false, host: '::1', port: 8001, role: 'both', path: '/both' });
  t.same(parseTarget(['wss://chat.example.org/consumer']), { secure: true, host: 'chat.example.org', port: 443, role: 'consumer', path: '/consumer' });
  t.same(parseTarget(['ws://example.org/producer']), { secure: false, host: 'example.org', port: 80, role: 'producer', path: '/producer' });
  t.same(parseTarget(['::1', '8001', 'both']), { secure: false, host: '::1', port: 8001, role: 'both', path: '/both' });
  t.same(parseTarget(['ws://example.org/chat/room?id=7']), { secure: false, host: 'example.org', port: 80, role: 'both', path: '/chat/room?id=7' }, 'any other path: both, sent as given');
  t.same(parseTarget(['ws://example.org']), { secure: false, host: 'example.org', port: 80, role: 'both', path: '/' });
  t.throws(() => parseCommandLine(['--insecure', '127.0.0.1', '8001', 'both']), /only to wss:\/\//);
  const server = await startFakeServer({
    script: async (session) => {
      await session.send([text('via url'), close(1000)]);
      await session.waitForClose();
      session.end();
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess([`ws://127.0.0.1:${server.port}/consumer`]);
  t.equal(await client.exit, 0);
  t.equal(client.stdout(), 'via url\n');
  t.match(server.sessions[0]!.request, /^GET \/consumer HTTP\/1\.1\r\nHost: 127\.0\.0\.1:\d+\r\n/);
  const version = runInProcess(['--version']);
  t.equal(await version.exit, 0);
  t.equal(version.stdout(), `wsc ${VERSION}\n`);
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

t.test('wss: certificate verification on by default; --ca trusts a CA; --insecure skips it with a warning', { skip: !hasOpenssl && 'openssl is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsc-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const made = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', '/CN=wsc test', '-addext', 'subjectAltName=IP:127.0.0.1',
    '-keyout', join(dir, 'key.pem'), '-out', join(dir, 'cert.pem')], { stdio: 'ignore' });
  t.equal(made.status, 0, 'test certificate created');
  const httpsServer = https.createServer({ key: readFileSync(join(dir, 'key.pem')), cert: readFileSync(join(dir, 'cert.pem')) });
  const wss = new WebSocketServer({ server: httpsServer });
  wss.on('connection', (ws: WebSocket) => ws.send('secret hello'));
  await new Promise<void>((resolve) => httpsServer.listen(0, '127.0.0.1', resolve));
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    httpsServer.close();
  });
  const url = `wss://127.0.0.1:${(httpsServer.address() as AddressInfo).port}/consumer`;

  const refused = runInProcess([url]);
  t.equal(await refused.exit, 1, 'an untrusted certificate fails');
  t.match(refused.stderr(), /^wsc: cannot connect to 127\.0\.0\.1:\d+: TLS: self[- ]signed certificate\n$/);

  const trusted = runInProcess(['--ca', join(dir, 'cert.pem'), url]);
  await trusted.waitFor('stdout', 'secret hello\n');
  trusted.kill('SIGTERM');
  t.equal(await trusted.exit, 0, '--ca: verified, received, closed cleanly');

  const insecure = runInProcess(['--insecure', url]);
  await insecure.waitFor('stdout', 'secret hello\n');
  t.match(insecure.stderr(), /warning: --insecure/);
  insecure.kill('SIGTERM');
  t.equal(await insecure.exit, 0);
});

t.test('--json: one JSON object per event, parsed back', async (t) => {
  const result = await runAgainstFakeServer(async (session) => {
    await session.send([text('hello "json" ✓'), binary(Buffer.from([0, 1, 254, 255])), close(1001, 'later')]);
    await session.waitForClose();
    session.end();
  }, ['consumer', '--json']);
  t.equal(result.status, 0);
  const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.match(events, [
    { type: 'open', url: /^ws:\/\/127\.0\.0\.1:\d+\/consumer$/ },
    { type: 'message', text: 'hello "json" ✓' },
    { type: 'binary', base64: Buffer.from([0, 1, 254, 255]).toString('base64') },
    { type: 'close', code: 1001, reason: 'later', by: 'server' },
  ]);
  t.equal(events.length, 4);
  const failed = await runAgainstFakeServer(async (session) => {
    await session.send([text('x', { rsv: 2 })]);
    await session.waitForClose();
    session.end();
  }, ['consumer', '--json']);
  t.equal(failed.status, 1);
  t.match(JSON.parse(failed.stdout.trim().split('\n').at(-1)!), { type: 'error', code: 1002, message: /reserved bits/ });
});

t.test('| head -1: the client closes with 1001 and exits quietly when its reader goes away', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const closeCode = new Promise<number>((resolve) => server.wss.on('connection', (ws: WebSocket) => {
    const timer = setInterval(() => ws.send(`message ${Date.now()}`), 20);
    ws.on('close', (code) => {
      clearInterval(timer);
      resolve(code);
    });
  }));
  const command = `"${process.execPath}" --import tsx "${CLIENT}" 127.0.0.1 ${server.port} consumer | head -1; echo "client status \${PIPESTATUS[0]}" >&2`;
  const child = spawn('bash', ['-c', command], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  await new Promise((resolve) => child.on('close', resolve));
  t.match(stdout, /^message \d+\n$/, 'head printed one line');
  t.equal(await closeCode, 1001, 'the server got CLOSE 1001 (going away)');
  t.match(stderr, /client status 0/);
  t.notMatch(stderr, /EPIPE|Error|\n\s+at /, 'no stack trace, no EPIPE noise');
});

t.test('invalid UTF-8 on stdin is sent with U+FFFD replacements, with one warning', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const received: string[] = [];
  server.wss.on('connection', (ws: WebSocket) => ws.on('message', (data) => received.push(data.toString())));
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer'], { input: Buffer.from([0x61, 0xff, 0x62, 0x0a, 0xc0, 0x0a, 0x6f, 0x6b, 0x0a]) });
  t.equal(await client.exit, 0);
  t.same(received, ['a\uFFFDb', '\uFFFD', 'ok']);
  t.equal(client.stderr().match(/not valid UTF-8/g)?.length, 1, 'one warning');
});

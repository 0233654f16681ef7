// wscat's connection options and the protocol window: each option against a real peer started here.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import * as https from 'node:https';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { computeAcceptKey, proxyFromEnvironment, redirectTarget, parseCommandLine } from '../client.ts';
import { runInProcess } from './helpers.ts';
import { OP, close, ping, runAgainstFakeServer, text, validResponse, type FakeSession } from './fake-server.ts';
import { startChatServer, type ChatServer } from './server.ts';

/** The next upgrade request the ws server accepts, with the connection. */
async function nextRequest(server: ChatServer) {
  const { ws, request } = await server.nextConnection();
  return { ws, headers: request.headers, url: request.url ?? '' };
}

async function listen(server: net.Server): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as net.AddressInfo).port;
}

t.test('-H, --auth, -o and -s reach the server in the upgrade request; the chosen subprotocol is reported', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const seen = nextRequest(server);
  const client = runInProcess(['-H', 'X-Token: abc123', '-H', 'Cookie: session=1', '--auth', 'alice:s3cret', '-o', 'https://chat.example.org',
    '-s', 'chat.v2', '-s', 'chat.v1', '127.0.0.1', String(server.port), 'consumer']);
  const { headers, ws } = await seen;
  t.equal(headers['x-token'], 'abc123');
  t.equal(headers.cookie, 'session=1');
  t.equal(headers.authorization, `Basic ${Buffer.from('alice:s3cret').toString('base64')}`);
  t.equal(headers.origin, 'https://chat.example.org');
  t.equal(headers['sec-websocket-protocol'], 'chat.v2, chat.v1');
  t.equal(ws.protocol, 'chat.v2', 'ws picked the first offered');
  await client.waitFor('stderr', 'subprotocol: chat.v2');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
});

t.test('credentials in the URL become Basic authentication', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const seen = nextRequest(server);
  const client = runInProcess([`ws://bob:p%40ss@127.0.0.1:${server.port}/consumer`]);
  t.equal((await seen).headers.authorization, `Basic ${Buffer.from('bob:p@ss').toString('base64')}`);
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
});

t.test('headers the handshake owns cannot be overridden', async (t) => {
  for (const header of ['Upgrade: h2c', 'connection: close', 'Sec-WebSocket-Key: AAAA', 'Sec-WebSocket-Version: 8']) {
    const client = runInProcess(['-H', header, '127.0.0.1', '8001', 'consumer']);
    t.equal(await client.exit, 2, `${header}: usage error`);
    t.match(client.stderr(), new RegExp(`^wsc: --header cannot set ${header.split(':')[0]}: the WebSocket handshake sets it\\n`));
  }
  t.throws(() => parseCommandLine(['-H', 'no colon', '127.0.0.1', '8001', 'both']), /--header must be "NAME: VALUE"/);
});

t.test('subprotocols: one the client did not offer is rejected by name; none chosen is fine', async (t) => {
  const chooses = (protocol: string | null) => (key: string) => validResponse(key, protocol ? [`Sec-WebSocket-Protocol: ${protocol}`] : []);
  const script = async (session: FakeSession) => {
    await session.send([close(1000)]);
    await session.waitForClose(2000).catch(() => {});
    session.end();
  };
  const wrong = await runAgainstFakeServer(script, ['consumer', '-s', 'chat'], { respond: chooses('superchat') });
  t.equal(wrong.status, 1);
  t.match(wrong.stderr, /server chose Sec-WebSocket-Protocol: superchat, which the client did not offer/);
  t.equal(wrong.frames.length, 0, 'nothing sent after a failed handshake');
  const none = await runAgainstFakeServer(script, ['consumer', '-s', 'chat'], { respond: chooses(null) });
  t.equal(none.status, 0);
  t.notMatch(none.stderr, /subprotocol:/);
});

t.test('-L follows a redirect chain, reporting each hop; without -L it says where the server points', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const redirector = http.createServer((request, response) => {
    const hops: Record<string, [number, string]> = {
      '/consumer': [301, '/hop-two'],
      '/hop-two': [307, `http://127.0.0.1:${redirector.port}/hop-three?x=1`],
      '/hop-three?x=1': [308, `ws://127.0.0.1:${server.port}/consumer`],
      '/both': [302, '/both'],
    };
    const [status, location] = hops[request.url ?? ''] ?? [404, ''];
    response.writeHead(status, location ? { Location: location } : {}).end();
  }) as http.Server & { port: number };
  redirector.port = await listen(redirector);
  t.teardown(() => redirector.close());

  const seen = nextRequest(server);
  const followed = runInProcess(['-L', '127.0.0.1', String(redirector.port), 'consumer']);
  (await seen).ws.send('arrived');
  await followed.waitFor('stdout', 'arrived\n');
  followed.kill('SIGTERM');
  t.equal(await followed.exit, 0);
  t.match(followed.stderr(), new RegExp(
    `redirected \\(301\\) to ws://127\\.0\\.0\\.1:${redirector.port}/hop-two\\n` +
    `.*redirected \\(307\\) to ws://127\\.0\\.0\\.1:${redirector.port}/hop-three\\?x=1\\n` +
    `.*redirected \\(308\\) to ws://127\\.0\\.0\\.1:${server.port}/consumer\\n.*connected to ws://127\\.0\\.0\\.1:${server.port}/consumer`, 's'));

  const unfollowed = runInProcess(['127.0.0.1', String(redirector.port), 'consumer']);
  t.equal(await unfollowed.exit, 1);
  t.match(unfollowed.stderr(), /server refused the upgrade: HTTP\/1\.1 301 Moved Permanently\n.*the server redirects to ws:\/\/127\.0\.0\.1:\d+\/hop-two \(use -L to follow redirects\)/s);

  const loop = runInProcess(['-L', '--max-redirects', '3', `ws://127.0.0.1:${redirector.port}/both`]);
  t.equal(await loop.exit, 1);
  t.match(loop.stderr(), /too many redirects/);
});

t.test('-L: a hop to another host does not carry the credentials', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const redirector = http.createServer((request, response) => {
    response.writeHead(302, { Location: `ws://localhost:${server.port}/consumer` }).end();
  });
  const port = await listen(redirector);
  t.teardown(() => redirector.close());
  const seen = nextRequest(server);
  const client = runInProcess(['-L', '--auth', 'alice:s3cret', '-H', 'Cookie: id=7', '-H', 'X-Other: kept', '127.0.0.1', String(port), 'consumer']);
  const { headers } = await seen;
  t.equal(headers.authorization, undefined, 'no Authorization at the other host');
  t.equal(headers.cookie, undefined, 'no Cookie at the other host');
  t.equal(headers['x-other'], 'kept');
  await client.waitFor('stderr', 'credentials are not sent to another host');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
  t.same(redirectTarget({ secure: true, host: 'a.example', port: 443, role: 'both', path: '/both' }, 'http://b.example:8080/x'),
    { secure: false, host: 'b.example', port: 8080, role: 'both', path: '/x' }, 'http maps to ws');
});

/** A small CONNECT proxy: records the CONNECT requests, answers `status`, then pipes bytes both ways. */
async function startProxy(status = '200 Connection Established') {
  const requests: string[] = [];
  const proxy = net.createServer((client) => {
    let head = Buffer.alloc(0);
    client.on('error', () => {});
    const onData = (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) return;
      client.off('data', onData);
      const request = head.subarray(0, end).toString('latin1');
      requests.push(request);
      const [, authority = ''] = /^CONNECT (\S+) HTTP\/1\.1/.exec(request) ?? [];
      const [host, port] = [authority.replace(/:\d+$/, ''), Number(authority.split(':').at(-1))];
      if (!status.startsWith('200') || host !== '127.0.0.1') {
        client.end(`HTTP/1.1 ${status}\r\nProxy-Authenticate: Basic realm="test"\r\nContent-Length: 0\r\n\r\n`);
        return;
      }
      const upstream = net.connect({ host, port }, () => {
        client.write(`HTTP/1.1 ${status}\r\n\r\n`);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.destroy());
    };
    client.on('data', onData);
  });
  const port = await listen(proxy);
  return { port, requests, close: () => proxy.close() };
}

t.test('--proxy tunnels through CONNECT (with Proxy-Authorization); HTTP_PROXY and NO_PROXY are honoured', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const proxy = await startProxy();
  t.teardown(() => proxy.close());

  const seen = nextRequest(server);
  const client = runInProcess(['--proxy', `http://pxuser:pxpass@127.0.0.1:${proxy.port}`, '127.0.0.1', String(server.port), 'consumer']);
  (await seen).ws.send('through the tunnel');
  await client.waitFor('stdout', 'through the tunnel\n');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
  t.match(proxy.requests[0], new RegExp(`^CONNECT 127\\.0\\.0\\.1:${server.port} HTTP/1\\.1\\r\\nHost: 127\\.0\\.0\\.1:${server.port}\\r\\nProxy-Authorization: Basic ${Buffer.from('pxuser:pxpass').toString('base64')}`));

  const viaEnv = runInProcess(['127.0.0.1', String(server.port), 'producer'], { input: 'hi\n', env: { HTTP_PROXY: `http://127.0.0.1:${proxy.port}` } });
  t.equal(await viaEnv.exit, 0);
  t.equal(proxy.requests.length, 2, 'HTTP_PROXY used');
  const bypassed = runInProcess(['127.0.0.1', String(server.port), 'producer'], { input: 'hi\n', env: { HTTP_PROXY: `http://127.0.0.1:${proxy.port}`, NO_PROXY: 'example.org,127.0.0.1' } });
  t.equal(await bypassed.exit, 0);
  t.equal(proxy.requests.length, 2, 'NO_PROXY bypasses the proxy');
  const target = { secure: true, host: 'chat.example.org', port: 443, role: 'both' as const, path: '/both' };
  t.equal(proxyFromEnvironment(target, { https_proxy: 'http://p:3128' }), 'http://p:3128');
  t.equal(proxyFromEnvironment(target, { HTTPS_PROXY: 'http://p:3128', NO_PROXY: '.example.org' }), null);
  t.equal(proxyFromEnvironment(target, { HTTP_PROXY: 'http://p:3128' }), null, 'HTTP_PROXY is for ws:// only');
});

t.test('a proxy that refuses CONNECT: its status line is reported', async (t) => {
  const proxy = await startProxy('407 Proxy Authentication Required');
  t.teardown(() => proxy.close());
  const client = runInProcess(['--proxy', `127.0.0.1:${proxy.port}`, '127.0.0.1', '9', 'consumer']);
  t.equal(await client.exit, 1);
  t.equal(client.stderr(), `wsc: proxy 127.0.0.1:${proxy.port} refused CONNECT to 127.0.0.1:9: HTTP/1.1 407 Proxy Authentication Required\n`);
});

const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

t.test('--cert/--key/--passphrase: a client certificate for a server that requires one; wss through a proxy', { skip: !hasOpenssl && 'openssl is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsc-mtls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const make = (name: string, subject: string, extra: string[] = []) =>
    spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', subject, ...extra, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)], { stdio: 'ignore' }).status;
  t.equal(make('server', '/CN=wsc server', ['-addext', 'subjectAltName=IP:127.0.0.1']), 0);
  t.equal(make('client', '/CN=wsc client'), 0);
  // The same client identity with its key encrypted, for --passphrase.
  t.equal(spawnSync('openssl', ['pkey', '-in', join(dir, 'client.key'), '-aes256', '-passout', 'pass:open sesame', '-out', join(dir, 'client-encrypted.key')], { stdio: 'ignore' }).status, 0);
  const httpsServer = https.createServer({
    key: readFileSync(join(dir, 'server.key')),
    cert: readFileSync(join(dir, 'server.pem')),
    ca: readFileSync(join(dir, 'client.pem')),
    requestCert: true,
    rejectUnauthorized: true,
  });
  const wss = new WebSocketServer({ server: httpsServer });
  wss.on('connection', (ws, request) => ws.send(`hello ${(request.socket as import('node:tls').TLSSocket).getPeerCertificate().subject.CN}`));
  const port = await listen(httpsServer);
  t.teardown(() => {
    for (const c of wss.clients) c.terminate();
    httpsServer.close();
  });
  const url = `wss://127.0.0.1:${port}/consumer`;
  const withCert = runInProcess(['--ca', join(dir, 'server.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key'), url]);
  await withCert.waitFor('stdout', 'hello wsc client\n');
  withCert.kill('SIGTERM');
  t.equal(await withCert.exit, 0);
  const encrypted = runInProcess(['--ca', join(dir, 'server.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-encrypted.key'), '--passphrase', 'open sesame', url]);
  await encrypted.waitFor('stdout', 'hello wsc client\n');
  encrypted.kill('SIGTERM');
  t.equal(await encrypted.exit, 0, '--passphrase unlocks an encrypted key');
  // The same passphrase kept off the command line: in a file, or in the environment.
  writeFileSync(join(dir, 'passphrase'), 'open sesame\n', { mode: 0o600 });
  for (const [how, extra, env] of [
    ['--passphrase-file', ['--passphrase-file', join(dir, 'passphrase')], {}],
    ['WSC_PASSPHRASE', [], { WSC_PASSPHRASE: 'open sesame' }],
  ] as const) {
    const run = runInProcess(['--ca', join(dir, 'server.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client-encrypted.key'), ...extra, url], { env });
    await run.waitFor('stdout', 'hello wsc client\n');
    run.kill('SIGTERM');
    t.equal(await run.exit, 0, `${how} unlocks the key`);
    t.notMatch(run.stderr(), /warning/, `${how}: no warning for a private file`);
  }
  const proxy = await startProxy();
  t.teardown(() => proxy.close());
  const tunnelled = runInProcess(['--proxy', `http://127.0.0.1:${proxy.port}`, '--ca', join(dir, 'server.pem'), '--cert', join(dir, 'client.pem'), '--key', join(dir, 'client.key'), url]);
  await tunnelled.waitFor('stdout', 'hello wsc client\n');
  tunnelled.kill('SIGTERM');
  t.equal(await tunnelled.exit, 0, 'wss through a CONNECT tunnel');
  t.match(proxy.requests[0], `CONNECT 127.0.0.1:${port} HTTP/1.1`);
  const without = runInProcess(['--ca', join(dir, 'server.pem'), url]);
  t.equal(await without.exit, 1, 'refused without a client certificate');
  t.equal(without.stdout(), '');
  const usage = runInProcess(['--cert', join(dir, 'client.pem'), url]);
  t.equal(await usage.exit, 2);
  t.match(usage.stderr(), /--cert and --key go together/);
});

t.test('--slash: /ping, /pong, /close CODE REASON, // escapes; invalid codes refused locally', async (t) => {
  const input = ['//not a command', '/ping hello', '/pong beat', '/close 1005', '/close 999 nope', '/bogus', '/close 4000 custom reason', 'after close'].join('\n') + '\n';
  const result = await runAgainstFakeServer(async (session) => {
    const closeFrame = await session.waitForClose();
    await session.send([close(closeFrame.payload.readUInt16BE(0), 'echo')]);
    session.end();
  }, ['producer', '--slash'], { input });
  const frames = result.frames.map((f) => [f.opcode, f.opcode === OP.CLOSE ? `${f.payload.readUInt16BE(0)} ${f.payload.subarray(2)}` : f.payload.toString()]);
  t.same(frames, [[OP.TEXT, '/not a command'], [OP.PING, 'hello'], [OP.PONG, 'beat'], [OP.CLOSE, '4000 custom reason']]);
  t.match(result.stderr, /\/close: 1005 is not a close code that may be sent/);
  t.match(result.stderr, /\/close: 999 is not a close code that may be sent/);
  t.match(result.stderr, /\/bogus: unknown command/);
  t.match(result.stderr, /1 input line was not sent/, 'the line after /close is reported, not silently lost');
  t.equal(result.status, 1, 'a closure with 4000 is not a normal closure');

  const quit = await runAgainstFakeServer(async (session) => {
    await session.waitForClose();
    await session.send([close(1000)]);
    session.end();
  }, ['producer', '--slash'], { input: '/quit\n' });
  t.same(quit.frames.map((f) => f.opcode), [OP.CLOSE]);
  t.equal(quit.frames[0]!.payload.readUInt16BE(0), 1000);
  t.equal(quit.status, 0);

  const plain = await runAgainstFakeServer(async (session) => {
    await session.waitForClose();
    await session.send([close(1000)]);
    session.end();
  }, ['producer'], { input: '/close\n' });
  t.same(plain.frames.map((f) => [f.opcode, f.payload.toString('hex')]), [[OP.TEXT, Buffer.from('/close').toString('hex')], [OP.CLOSE, '03e8']], 'without --slash, /close is a chat message');
});

t.test('-v shows the handshake and every frame on stderr, line by line, without changing stdout', async (t) => {
  let port = 0;
  const result = await runAgainstFakeServer(async (session) => {
    port = session.socket.localPort!;
    await session.send([text('hi'), ping('p'), close(1000, 'bye')]);
    await session.waitForClose();
    session.end();
  }, ['consumer', '-v']);
  t.equal(result.status, 0);
  t.equal(result.stdout, 'hi\n', 'stdout unchanged');
  const key = /^wsc: > Sec-WebSocket-Key: (\S+)$/m.exec(result.stderr)?.[1] ?? '';
  const accept = computeAcceptKey(key);
  const lines = result.stderr.split('\n').filter((line) => !/connected to|closed by server/.test(line));
  t.same(lines, [
    'wsc: > GET /consumer HTTP/1.1',
    `wsc: > Host: 127.0.0.1:${port}`,
    'wsc: > Upgrade: websocket',
    'wsc: > Connection: Upgrade',
    `wsc: > Sec-WebSocket-Key: ${key}`,
    'wsc: > Sec-WebSocket-Version: 13',
    'wsc: < HTTP/1.1 101 Switching Protocols',
    'wsc: < Upgrade: websocket',
    'wsc: < Connection: Upgrade',
    `wsc: < Sec-WebSocket-Accept: ${accept}`,
    `wsc: Sec-WebSocket-Accept: expected ${accept} (SHA-1 of the key + 258EAFA5-E914-47DA-95CA-C5AB0DC85B11), received ${accept}`,
    'wsc: < TEXT fin=1 rsv=000 len=2 unmasked',
    'wsc: < PING fin=1 rsv=000 len=1 unmasked payload="p"',
    'wsc: > PONG fin=1 rsv=000 len=1 masked payload="p"',
    'wsc: < CLOSE fin=1 rsv=000 len=5 unmasked code=1000 reason="bye"',
    'wsc: > CLOSE fin=1 rsv=000 len=5 masked code=1000 reason="bye"',
    '',
  ]);
});

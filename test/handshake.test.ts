// The opening handshake as the user shapes it: URLs, request headers (-H, --auth, -o), subprotocols,
// redirects (-L), and -v showing it all; against the ws server and the raw-TCP fake server.

import t from 'tap';
import * as http from 'node:http';
import { computeAcceptKey, parseCommandLine, parseTarget, redirectTarget } from '../client.ts';
import { listenOnLoopback, parsedOptions, runInProcess } from './support/helpers.ts';
import { close, ping, runAgainstFakeServer, startFakeServer, text, validResponse, type FakeSession } from './support/fake-server.ts';
import { nextRequest, startChatServer } from './support/server.ts';

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
});

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
  await client.waitFor('stderr', 'connected to');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
});

// What Chrome's and Firefox's "Copy as cURL" give for a WebSocket request, in their own order and quoting
// (Chrome: DevTools' format, cookies as -b, --compressed last; Firefox: devtools/client/shared/curl.js).
const COPIED_FROM_CHROME = `curl 'wss://example.org/socket?v=2' \\
  -H 'Upgrade: websocket' \\
  -H 'Origin: https://example.org' \\
  -H 'Cache-Control: no-cache' \\
  -H 'Accept-Language: en-US,en;q=0.9' \\
  -H 'Pragma: no-cache' \\
  -b 'session=abc123; theme=dark' \\
  -H 'Connection: Upgrade' \\
  -H 'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==' \\
  -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0.0.0 Safari/537.36' \\
  -H 'Sec-WebSocket-Version: 13' \\
  -H 'Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits' \\
  --compressed`;
const COPIED_FROM_FIREFOX = `curl 'wss://example.org/socket?v=2' \\
  -H 'User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:133.0) Gecko/20100101 Firefox/133.0' \\
  -H 'Accept: */*' \\
  -H 'Accept-Language: en-US,en;q=0.5' \\
  -H 'Accept-Encoding: gzip, deflate, br, zstd' \\
  -H 'Sec-WebSocket-Version: 13' \\
  -H 'Origin: https://example.org' \\
  -H 'Sec-WebSocket-Protocol: chat.v2, chat.v1' \\
  -H 'Sec-WebSocket-Extensions: permessage-deflate' \\
  -H 'Sec-WebSocket-Key: x3JJHMbDL1EzLkh9GBhXDw==' \\
  -H 'Connection: keep-alive, Upgrade' \\
  -H 'Cookie: session=abc123; theme=dark' \\
  -H 'Sec-Fetch-Dest: empty' \\
  -H 'Sec-Fetch-Mode: websocket' \\
  -H 'Sec-Fetch-Site: same-origin' \\
  -H 'Pragma: no-cache' \\
  -H 'Cache-Control: no-cache' \\
  -H 'Upgrade: websocket'`;

/** The words of a copied command line, as a POSIX shell splits it (single quotes and line continuations only). */
function shellWords(line: string): string[] {
  return [...line.replace(/\\\n/g, ' ').matchAll(/'([^']*)'|(\S+)/g)].map((match) => match[1] ?? match[2]!);
}

t.test('"Copy as cURL" from Chrome and Firefox, curl replaced by wsc: the handshake\'s own headers replaced, the rest sent', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  for (const [browser, copied] of [['Chrome', COPIED_FROM_CHROME], ['Firefox', COPIED_FROM_FIREFOX]] as const) {
    const args = shellWords(copied).slice(1).map((word) => word.replace('wss://example.org/socket', `ws://127.0.0.1:${server.port}/both`));
    const seen = nextRequest(server);
    const client = runInProcess(['-v', ...args]);
    const refused = client.exit.then(() => Promise.reject(new Error(`${browser}: the client exited before the server accepted: ${client.stderr()}`)));
    const { headers, rawHeaders, url, ws } = await Promise.race([seen, refused]);
    const named = (name: string) => rawHeaders.filter((_, i) => i % 2 === 0 && rawHeaders[i]!.toLowerCase() === name).length;
    t.equal(url, '/both?v=2', `${browser}: the path and query as copied`);
    for (const name of ['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions', 'cookie', 'user-agent', 'origin']) {
      t.equal(named(name), 1, `${browser}: one ${name} header`);
    }
    t.notOk(['dGhlIHNhbXBsZSBub25jZQ==', 'x3JJHMbDL1EzLkh9GBhXDw=='].includes(headers['sec-websocket-key']!), `${browser}: a key of the client's own, not the copied one`);
    t.equal(headers.connection, 'Upgrade', `${browser}: Connection: Upgrade, not the copied value`);
    t.equal(headers.cookie, 'session=abc123; theme=dark', `${browser}: the cookies`);
    t.match(headers['user-agent'], browser === 'Chrome' ? /Chrome\/131/ : /Firefox\/133/, `${browser}: its User-Agent`);
    t.equal(headers.origin, 'https://example.org');
    t.equal(headers['accept-language'], browser === 'Chrome' ? 'en-US,en;q=0.9' : 'en-US,en;q=0.5', `${browser}: other headers as copied`);
    if (browser === 'Firefox') t.equal(headers['sec-websocket-protocol'], 'chat.v2, chat.v1', 'Sec-WebSocket-Protocol: offered, as -s would');
    ws.send('hello');
    await client.waitFor('stdout', 'hello\n');
    client.kill('SIGTERM');
    t.equal(await client.exit, 0, `${browser}: runs as copied`);
    const replaced = client.stderr().match(/^wsc: -H .*: replaced by the client's own$/gm) ?? [];
    t.equal(replaced.length, 1, `${browser}: -v says once that the handshake headers were replaced`);
    t.match(replaced[0], /Upgrade.*Sec-WebSocket-Key.*Sec-WebSocket-Version|Sec-WebSocket-Version.*Sec-WebSocket-Key.*Upgrade/);
  }
});

t.test('-b, -A, -e, -k and --compressed do what they do in curl; a header with a line break or a bad name is still refused', async (t) => {
  const parsed = parsedOptions(['-b', 'a=1; b=2', '-H', 'Cookie: c=3', '-b', 'd=4', '-A', 'agent/1', '-e', 'https://example.org/app',
    '-k', '--compressed', 'wss://example.org/']);
  t.same(parsed.headers.filter(([name]) => name === 'Cookie'), [['Cookie', 'c=3; a=1; b=2; d=4']], 'one Cookie header: -H\'s, then -b\'s');
  t.same(parsed.headers.find(([name]) => name === 'User-Agent'), ['User-Agent', 'agent/1']);
  t.same(parsed.headers.find(([name]) => name === 'Referer'), ['Referer', 'https://example.org/app']);
  t.equal(parsed.tls.insecure, true, '-k is --insecure');
  t.same(parsedOptions(['-H', 'User-Agent: mine', '-A', 'other', 'ws://h/']).headers, [['User-Agent', 'mine']], '-H User-Agent wins over -A');
  t.equal(parsedOptions(['-v', 'ws://h/']).verbose, true, 'no replaced header: nothing to say');
  for (const [args, message] of [
    [['-b', 'cookies.txt'], /--cookie takes NAME=VALUE pairs/],
    [['-H', 'X-Bad Name: 1'], /--header must be "NAME: VALUE"/],
    [['-H', 'no colon'], /--header must be "NAME: VALUE"/],
    [['-H', 'X-Split: a\r\nInjected: 1'], /--header value must be one line/],
    [['-A', 'agent\nX: 1'], /value must be one line/],
  ] as const) {
    const client = runInProcess([...args, '127.0.0.1', '8001', 'consumer']);
    t.equal(await client.exit, 2, `${args.join(' ')}: usage error`);
    t.match(client.stderr(), message);
  }
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
  redirector.port = await listenOnLoopback(redirector);
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
  const port = await listenOnLoopback(redirector);
  t.teardown(() => redirector.close());
  const seen = nextRequest(server);
  const client = runInProcess(['-L', '--auth', 'alice:s3cret', '-H', 'Cookie: id=7', '-b', 'sid=9', '-H', 'X-Other: kept', '127.0.0.1', String(port), 'consumer']);
  const { headers } = await seen;
  t.equal(headers.authorization, undefined, 'no Authorization at the other host');
  t.equal(headers.cookie, undefined, 'no Cookie at the other host');
  t.equal(headers['x-other'], 'kept');
  await client.waitFor('stderr', 'connected to');
  t.match(client.stderr(), 'credentials are not sent to another host');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
  t.same(redirectTarget({ secure: true, host: 'a.example', port: 443, role: 'both', path: '/both' }, 'http://b.example:8080/x'),
    { secure: false, host: 'b.example', port: 8080, role: 'both', path: '/x' }, 'http maps to ws');
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
  const lines = result.stderr.split('\n').filter((line) => !/connecting to|connected to|closed by server/.test(line));
  t.same(lines, [
    'wsc: > GET /consumer HTTP/1.1',
    `wsc: > Host: 127.0.0.1:${port}`,
    'wsc: > Upgrade: websocket',
    'wsc: > Connection: Upgrade',
    `wsc: > Sec-WebSocket-Key: ${key}`,
    'wsc: > Sec-WebSocket-Version: 13',
    'wsc: > Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits',
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

// Proxies: an HTTP CONNECT tunnel and SOCKS5 (socks5://, socks5h://, with and without a user name and
// password), from --proxy or the environment (HTTP_PROXY, HTTPS_PROXY, ALL_PROXY, NO_PROXY).

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { proxyFromEnvironment } from '../client.ts';
import { hasOpenssl, listenOnLoopback, runInProcess, startTlsServer } from './support/helpers.ts';
import { nextRequest, startChatServer } from './support/server.ts';
import { startSocksServer } from './support/socks-server.ts';

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
  const port = await listenOnLoopback(proxy);
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
  t.equal(client.stderr(), `wsc: connecting to ws://127.0.0.1:9/consumer through HTTP proxy 127.0.0.1:${proxy.port}\n` +
    `wsc: proxy 127.0.0.1:${proxy.port} refused CONNECT to 127.0.0.1:9: HTTP/1.1 407 Proxy Authentication Required\n`);
});

t.test('wss:// through a CONNECT tunnel: TLS end to end, the proxy sees only the CONNECT', { skip: !hasOpenssl && 'openssl is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsc-proxy-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { url, ca, port } = await startTlsServer(t, dir);
  const proxy = await startProxy();
  t.teardown(() => proxy.close());
  const tunnelled = runInProcess(['--proxy', `http://127.0.0.1:${proxy.port}`, '--ca', ca, url]);
  await tunnelled.waitFor('stdout', 'hello\n');
  tunnelled.kill('SIGTERM');
  t.equal(await tunnelled.exit, 0, 'verified through the tunnel');
  t.match(proxy.requests[0], `CONNECT 127.0.0.1:${port} HTTP/1.1`);
});

// ---- SOCKS5

t.test('socks5h://: the proxy resolves the name (ATYP 3), ws:// and a real exchange through it', async (t) => {
  const server = await startChatServer({ port: 0, host: '127.0.0.1' });
  t.teardown(() => server.close());
  const socks = await startSocksServer();
  t.teardown(() => socks.close());
  const seen = nextRequest(server);
  const client = runInProcess(['--proxy', `socks5h://127.0.0.1:${socks.port}`, `ws://localhost:${server.port}/consumer`]);
  const { ws, headers } = await seen;
  ws.send('through socks');
  await client.waitFor('stdout', 'through socks\n');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
  t.same(socks.requests, [{ type: 'domain', host: 'localhost', port: server.port, user: null }], 'the name went to the proxy');
  t.same(socks.greetings, [[0x00]], 'no authentication offered without credentials');
  t.equal(headers.host, `localhost:${server.port}`);
});

t.test('socks5://: the client resolves the name and sends the address (ATYP 1); ALL_PROXY is read, NO_PROXY honoured', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const socks = await startSocksServer();
  t.teardown(() => socks.close());
  const direct = runInProcess(['--proxy', `socks5://127.0.0.1:${socks.port}`, `ws://localhost:${server.port}/producer`], { input: 'hi\n' });
  t.equal(await direct.exit, 0, direct.stderr());
  t.same(socks.requests.at(-1), { type: 'ipv4', host: '127.0.0.1', port: server.port, user: null }, 'an address, not the name');
  const fromEnv = runInProcess([`ws://127.0.0.1:${server.port}/producer`], { input: 'hi\n', env: { ALL_PROXY: `socks5h://127.0.0.1:${socks.port}` } });
  t.equal(await fromEnv.exit, 0, fromEnv.stderr());
  t.equal(socks.requests.length, 2, 'ALL_PROXY used for ws://');
  const bypassed = runInProcess([`ws://127.0.0.1:${server.port}/producer`], { input: 'hi\n', env: { all_proxy: `socks5h://127.0.0.1:${socks.port}`, NO_PROXY: '127.0.0.1' } });
  t.equal(await bypassed.exit, 0);
  t.equal(socks.requests.length, 2, 'NO_PROXY bypasses it');
  const target = { secure: true, host: 'chat.example.org', port: 443, role: 'both' as const, path: '/both' };
  t.equal(proxyFromEnvironment(target, { ALL_PROXY: 'socks5h://p:1080', HTTPS_PROXY: 'http://q:3128' }), 'http://q:3128', 'the scheme\'s own variable first');
});

t.test('SOCKS5 with a user name and password (RFC 1929); kept out of status lines and -v', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const socks = await startSocksServer({ credentials: { user: 'alice', password: 'socks-s3cret' } });
  t.teardown(() => socks.close());
  const client = runInProcess(['-v', '--proxy', `socks5h://alice:socks-s3cret@127.0.0.1:${socks.port}`, `ws://127.0.0.1:${server.port}/producer`], { input: 'hi\n' });
  t.equal(await client.exit, 0, client.stderr());
  t.same(socks.greetings, [[0x00, 0x02]], 'both methods offered');
  t.equal(socks.requests[0]?.user, 'alice');
  t.notMatch(client.stderr(), /socks-s3cret/, 'the password is nowhere in stderr');
  t.match(client.stderr(), `via SOCKS5H proxy 127.0.0.1:${socks.port}: CONNECT 127.0.0.1:${server.port}`);

  const wrong = runInProcess(['--proxy', `socks5h://alice:wrong-pass@127.0.0.1:${socks.port}`, `ws://127.0.0.1:${server.port}/producer`], { stdin: 'ignore' });
  t.equal(await wrong.exit, 1);
  t.equal(wrong.stderr(), `wsc: connecting to ws://127.0.0.1:${server.port}/producer through SOCKS5H proxy 127.0.0.1:${socks.port}\n` +
    `wsc: proxy 127.0.0.1:${socks.port}: the proxy refused the user name and password (SOCKS5 authentication status 1)\n`);
  const none = runInProcess(['--proxy', `socks5h://127.0.0.1:${socks.port}`, `ws://127.0.0.1:${server.port}/producer`], { stdin: 'ignore' });
  t.equal(await none.exit, 1);
  t.match(none.stderr(), /the proxy accepts none of the offered ways to authenticate/);
});

t.test('a SOCKS5 proxy that refuses: each reply code is one line', async (t) => {
  for (const [code, words] of [[1, 'general failure'], [2, 'connection not allowed by the proxy\'s rules'], [3, 'network unreachable'], [4, 'host unreachable'], [5, 'connection refused'], [6, 'TTL expired'], [7, 'command not supported'], [8, 'address type not supported']] as const) {
    const socks = await startSocksServer({ refuse: code });
    const client = runInProcess(['--proxy', `socks5h://127.0.0.1:${socks.port}`, 'ws://far.example:8001/consumer'], { stdin: 'ignore' });
    t.equal(await client.exit, 1, `reply ${code}: exit 1`);
    t.equal(client.stderr(), `wsc: connecting to ws://far.example:8001/consumer through SOCKS5H proxy 127.0.0.1:${socks.port}\n` +
      `wsc: proxy 127.0.0.1:${socks.port}: ${words} (SOCKS5 reply ${code})\n`, `reply ${code}: one line`);
    await socks.close();
  }
});

t.test('wss:// through SOCKS5: TLS end to end, verified against --ca', { skip: !hasOpenssl && 'openssl is not installed' }, async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsc-socks-tls-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const { url, ca, port } = await startTlsServer(t, dir);
  const socks = await startSocksServer();
  t.teardown(() => socks.close());
  const client = runInProcess(['--proxy', `socks5h://127.0.0.1:${socks.port}`, '--ca', ca, url]);
  await client.waitFor('stdout', 'hello\n');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
  t.same(socks.requests, [{ type: 'ipv4', host: '127.0.0.1', port, user: null }]);
});

t.test('a strict SOCKS5 proxy: RFC 1929\'s version byte is checked; a reply whose bound address is IPv6 or a name is read to its end', async (t) => {
  const server = await startChatServer({ port: 0, echo: true });
  t.teardown(() => server.close());
  for (const bound of ['ipv4', 'ipv6', 'domain'] as const) {
    const socks = await startSocksServer({ credentials: { user: 'alice', password: 'pw-1929' }, bound });
    const client = runInProcess(['--proxy', `socks5h://alice:pw-1929@127.0.0.1:${socks.port}`, '--count', '1', `ws://127.0.0.1:${server.port}/both`], { input: `through ${bound}\n` });
    t.equal(await client.exit, 0, `bound address ${bound}: ${client.stderr()}`);
    // A wrong length for the bound address would eat the 101's first bytes, or leave some of the reply before it.
    t.equal(client.stdout(), `through ${bound}\n`, `bound address ${bound}: the upgrade after the reply is intact`);
    t.equal(socks.requests[0]?.user, 'alice', 'the proxy took the credentials');
    await socks.close();
  }
});

t.test('SOCKS5 replies that say the destination cannot be reached are retried under --reconnect; the others are not', async (t) => {
  const retried = new Set([1, 3, 4, 5, 6]);
  for (const code of [1, 2, 3, 4, 5, 6, 7, 8]) {
    const socks = await startSocksServer({ refuse: code });
    const client = runInProcess(['--reconnect', '--proxy', `socks5h://127.0.0.1:${socks.port}`, 'ws://far.example:8001/consumer'], { stdin: 'ignore' });
    if (retried.has(code)) {
      await client.waitFor('stderr', 'reconnecting in');
      client.kill('SIGINT');
    }
    t.equal(await client.exit, 1, `reply ${code}: exit 1`);
    t.equal(/reconnecting in/.test(client.stderr()), retried.has(code), `reply ${code}: ${retried.has(code) ? 'retried' : 'not retried'}`);
    await socks.close();
  }
});

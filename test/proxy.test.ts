// Proxies: an HTTP CONNECT tunnel from --proxy or the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY).

import t from 'tap';
import { mkdtempSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { proxyFromEnvironment } from '../client.ts';
import { hasOpenssl, listenOnLoopback, runInProcess, startTlsServer } from './helpers.ts';
import { startChatServer, type ChatServer } from './server.ts';

/** The next upgrade request the ws server accepts, with the connection. */
async function nextRequest(server: ChatServer) {
  const { ws, request } = await server.nextConnection();
  return { ws, headers: request.headers, url: request.url ?? '' };
}

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
  t.equal(client.stderr(), `wsc: proxy 127.0.0.1:${proxy.port} refused CONNECT to 127.0.0.1:9: HTTP/1.1 407 Proxy Authentication Required\n`);
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

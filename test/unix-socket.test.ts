// Unix sockets: --unix-socket PATH (curl's option) and ws+unix:///path:/request (ws's URL form), against a
// ws server listening on a socket file made here.

import t from 'tap';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import * as http from 'node:http';
import type { IncomingMessage } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { WebSocketServer, type WebSocket } from 'ws';
import { runInProcess } from './support/helpers.ts';

const dir = mkdtempSync(join(tmpdir(), 'wsc-unix-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A ws echo server on a unix socket: it answers each message with "echo: TEXT" and records each request. */
async function startUnixServer(t: { teardown(fn: () => unknown): void }, name: string) {
  const path = join(dir, name);
  const httpServer = http.createServer();
  const wss = new WebSocketServer({ server: httpServer });
  const requests: IncomingMessage[] = [];
  wss.on('connection', (ws: WebSocket, request) => {
    requests.push(request);
    ws.on('message', (data) => ws.send(`echo: ${data.toString()}`));
  });
  await new Promise<void>((resolve) => httpServer.listen(path, resolve));
  t.teardown(() => {
    for (const client of wss.clients) client.terminate();
    httpServer.close();
  });
  return { path, requests };
}

t.test('--unix-socket PATH: the URL\'s path, query and host go in the request; messages both ways', async (t) => {
  const server = await startUnixServer(t, 'a.sock');
  const run = runInProcess(['--unix-socket', server.path, '-1', 'ws://localhost/chat/room?id=7'], { input: 'hello over a socket file\n' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), 'echo: hello over a socket file\n');
  t.equal(server.requests[0]?.url, '/chat/room?id=7');
  t.equal(server.requests[0]?.headers.host, 'localhost', 'Host: the URL\'s host (its default port left out, as curl sends it)');
  t.match(run.stderr(), `connected to ws+unix://${server.path}:/chat/room?id=7`);
});

t.test('ws+unix:///path:/request: the socket, the request path and its role in one URL; Host: localhost', async (t) => {
  const server = await startUnixServer(t, 'b.sock');
  const run = runInProcess(['-x', 'ping', '-1', `ws+unix://${server.path}:/both?x=1`], { stdin: 'ignore' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), 'echo: ping\n');
  t.equal(server.requests[0]?.url, '/both?x=1');
  t.equal(server.requests[0]?.headers.host, 'localhost');
  const consumer = runInProcess(['-w', '0.1', `ws+unix://${server.path}:/consumer`], { input: 'not sent\n' });
  t.equal(await consumer.exit, 0, consumer.stderr());
  t.equal(server.requests[1]?.url, '/consumer');
  t.equal(consumer.stdout(), '', 'the path named the role: a consumer sends nothing');
});

t.test('a missing or refused socket: one line naming the path, exit 1', async (t) => {
  const missing = join(dir, 'missing.sock');
  const gone = runInProcess(['--unix-socket', missing, 'ws://localhost/'], { stdin: 'ignore' });
  t.equal(await gone.exit, 1);
  t.equal(gone.stderr(), `wsc: connecting to ws+unix://${missing}:/\nwsc: cannot connect to unix socket ${missing}: no such socket\n`);
  const notASocket = join(dir, 'plain-file');
  writeFileSync(notASocket, '');
  const refused = runInProcess([`ws+unix://${notASocket}:/`], { stdin: 'ignore' });
  t.equal(await refused.exit, 1);
  t.equal(refused.stderr(), `wsc: connecting to ws+unix://${notASocket}:/\nwsc: cannot connect to unix socket ${notASocket}: connection refused\n`);
});

// Liveness: the client's own keepalive (PING, and the PONG it waits for) and --reconnect, against real
// peers started here on 127.0.0.1:0.

import t from 'tap';
import type { WebSocket } from 'ws';
import { reconnectDelay } from '../client.ts';
import { delay, runInProcess } from './support/helpers.ts';
import { OP, close, ping, runAgainstFakeServer, validResponse } from './support/fake-server.ts';
import { startChatServer } from './support/server.ts';

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

t.test('-P says when a PING gets no PONG: one that arrives after the client\'s CLOSE', async (t) => {
  // The first PING comes in the same write as the 101, so it is answered before the queued /quit is read.
  const result = await runAgainstFakeServer(async (session) => {
    await session.waitForClose();
    await session.send([ping('after'), close(1000)]);
    session.end();
  }, ['-P', '--slash', 'producer'], { input: '/quit\n', respond: (key) => Buffer.concat([Buffer.from(validResponse(key)), ping('before')]) });
  t.equal(result.status, 0);
  t.match(result.stderr, 'PING received (6 bytes), PONG sent');
  t.match(result.stderr, 'PING received (5 bytes), no PONG (the client is closing)');
  t.same(result.frames.filter((f) => f.opcode === OP.PONG).map((f) => f.payload.toString()), ['before'], 'and none was sent');
});

t.test('reconnect: the -x messages go at every OPEN (the subscription is renewed); stdin lines go once', async (t) => {
  let server = await startChatServer({ port: 0 });
  const port = server.port;
  t.teardown(() => server.close());
  const received: string[][] = [];
  const listen = (s: typeof server) => s.wss.on('connection', (ws: WebSocket) => {
    const messages: string[] = [];
    received.push(messages);
    ws.on('message', (data) => messages.push(data.toString()));
  });
  listen(server);
  const client = runInProcess(['--reconnect', '-x', 'subscribe prices', `ws://127.0.0.1:${port}/both`], { killAfterMs: 30_000 });
  await client.waitFor('stderr', 'connected');
  client.stdin!.write('typed once\n');
  await delay(300);
  await server.close();
  await client.waitFor('stderr', /reconnecting in/);
  server = await startChatServer({ port });
  listen(server);
  await client.waitFor('stderr', /connected[\s\S]*connected/, 15_000);
  await delay(200);
  client.kill('SIGINT');
  t.equal(await client.exit, 0);
  t.same(received, [['subscribe prices', 'typed once'], ['subscribe prices']], '-x on both connections, the line on the first only');
});

t.test('reconnect: input that ended while the server was down is kept and retried until it is sent; the user\'s quit ends that', async (t) => {
  const freePort = async () => {
    const probe = await startChatServer({ port: 0 });
    await probe.close();
    return probe.port;
  };
  const port = await freePort();
  const client = runInProcess(['--reconnect', '127.0.0.1', String(port), 'producer'], { input: '1\n2\n3\n', killAfterMs: 30_000 });
  await client.waitFor('stderr', /reconnecting in [\d.]+ s \(attempt 1, 3 lines queued\)/);
  const server = await startChatServer({ port });
  t.teardown(() => server.close());
  const received: string[] = [];
  server.wss.on('connection', (ws: WebSocket) => ws.on('message', (data) => received.push(data.toString())));
  t.equal(await client.exit, 0, `sent, then closed normally: ${client.stderr()}`);
  t.same(received, ['1', '2', '3']);
  t.notMatch(client.stderr(), /not sent/);

  const quitter = runInProcess(['--reconnect', '127.0.0.1', String(await freePort()), 'producer'], { input: 'a\nb\n', killAfterMs: 30_000 });
  await quitter.waitFor('stderr', 'reconnecting in');
  quitter.kill('SIGINT');
  t.equal(await quitter.exit, 1, 'the user quit: no more retries');
  t.match(quitter.stderr(), /wsc: 2 input lines were not sent\n$/);
});

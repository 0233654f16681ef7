// The real client process against the real `ws`-based chat server, both started here on 127.0.0.1:0.

import t from 'tap';
import * as net from 'node:net';
import { runClient, delay } from './support/helpers.ts';
import { startChatServer, type ChatServer } from './support/server.ts';
import { OP, close, startFakeServer, validResponse } from './support/fake-server.ts';

/** The server side of the next connection on `path`. */
const nextConnection = async (server: ChatServer, path: string) => (await server.nextConnection(path)).ws;

t.test('a consumer prints what a producer sends, one line per message, nothing else on stdout', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const consumer = runClient(['127.0.0.1', String(server.port), 'consumer']);
  await consumer.waitFor('stderr', 'connected to ws://127.0.0.1');
  const producer = runClient(['127.0.0.1', String(server.port), 'producer'], { input: 'hello there\nsecond line ✓\r\nno newline at end' });
  t.equal(await producer.exit, 0, 'producer exits 0 after a clean close');
  t.equal(producer.stdout(), '', 'a producer prints nothing on stdout');
  await consumer.waitFor('stdout', 'no newline at end\n');
  t.equal(consumer.stdout(), 'hello there\nsecond line ✓\nno newline at end\n');
  consumer.child.kill('SIGTERM');
  t.equal(await consumer.exit, 0);
});

t.test('both: sends and receives at once', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const alice = runClient(['127.0.0.1', String(server.port), 'both']);
  const bob = runClient(['127.0.0.1', String(server.port), 'both']);
  await alice.waitFor('stderr', 'connected');
  await bob.waitFor('stderr', 'connected');
  for (let i = 0; i < 50; i++) {
    alice.child.stdin!.write(`alice ${i}\n`);
    bob.child.stdin!.write(`bob ${i}\n`);
  }
  await alice.waitFor('stdout', 'bob 49\n');
  await bob.waitFor('stdout', 'alice 49\n');
  t.equal(alice.stdout(), Array.from({ length: 50 }, (_, i) => `bob ${i}\n`).join(''), 'alice got all of bob, in order, and not her own');
  t.equal(bob.stdout(), Array.from({ length: 50 }, (_, i) => `alice ${i}\n`).join(''));
  alice.child.stdin!.end();
  bob.child.stdin!.end();
  t.equal(await alice.exit, 0);
  t.equal(await bob.exit, 0);
});

t.test('a server PING with a payload gets a PONG with the same payload', async (t) => {
  const server = await startChatServer({ port: 0, pingInterval: -1 });
  t.teardown(() => server.close());
  const serverSide = nextConnection(server, '/consumer');
  const client = runClient(['127.0.0.1', String(server.port), 'consumer']);
  const ws = await serverSide;
  const payload = Buffer.from([0, 1, 2, 0xff, 0xfe, 0x80, ...Buffer.from('ping payload')]);
  const pong = new Promise<Buffer>((resolve) => ws.once('pong', resolve));
  ws.ping(payload);
  t.equal((await pong).toString('hex'), payload.toString('hex'));
  client.child.kill('SIGTERM');
  t.equal(await client.exit, 0);
});

t.test('a server CLOSE is echoed with the same code, reported, and the client exits 0', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const serverSide = nextConnection(server, '/consumer');
  const client = runClient(['127.0.0.1', String(server.port), 'consumer']);
  const ws = await serverSide;
  const closed = new Promise<[number, string]>((resolve) => ws.once('close', (code, reason) => resolve([code, reason.toString()])));
  ws.close(1000, 'server going down');
  t.same(await closed, [1000, 'server going down'], 'the server received the echo');
  t.equal(await client.exit, 0);
  t.match(client.stderr(), /closed by server: 1000 server going down/);
  t.equal(client.stdout(), '');
});

t.test('a server CLOSE with an error code: echoed, exit 1', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const serverSide = nextConnection(server, '/consumer');
  const client = runClient(['127.0.0.1', String(server.port), 'consumer']);
  const ws = await serverSide;
  const closed = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  ws.close(1011, 'internal error');
  t.equal(await closed, 1011);
  t.equal(await client.exit, 1);
  t.match(client.stderr(), /closed by server: 1011 internal error/);
});

t.test('10,000 piped lines all reach the server in order, then a clean close and exit 0', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const serverSide = nextConnection(server, '/producer');
  const lines = Array.from({ length: 10_000 }, (_, i) => `line ${i} ${'x'.repeat(i % 50)}`);
  const client = runClient(['127.0.0.1', String(server.port), 'producer'], { input: lines.join('\n') + '\n' });
  const ws = await serverSide;
  const received: string[] = [];
  ws.on('message', (data) => received.push(data.toString()));
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  t.equal(await client.exit, 0);
  t.equal(await closeCode, 1000);
  t.equal(received.length, 10_000, 'every line arrived');
  t.ok(received.every((line, i) => line === lines[i]), 'in order and intact');
});

t.test('a consumer keeps running when stdin is /dev/null or a pipe that ends', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  for (const [name, stdin] of [['/dev/null', { stdin: 'ignore' as const }], ['a pipe that ends', { input: '' }]] as const) {
    const serverSide = nextConnection(server, '/consumer');
    const client = runClient(['127.0.0.1', String(server.port), 'consumer'], stdin);
    const ws = await serverSide;
    await delay(300); // long after stdin's EOF
    ws.send(`still here (${name})`);
    await client.waitFor('stdout', `still here (${name})\n`);
    client.child.kill('SIGINT');
    t.equal(await client.exit, 0, `${name}: closed by the user, not by the EOF`);
  }
});

t.test('SIGINT sends CLOSE 1000, waits for the answer, exits 0; lines piped before it are delivered', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const serverSide = nextConnection(server, '/producer');
  const client = runClient(['127.0.0.1', String(server.port), 'producer']);
  const ws = await serverSide;
  const received: string[] = [];
  ws.on('message', (data) => received.push(data.toString()));
  const closeCode = new Promise<number>((resolve) => ws.once('close', (code) => resolve(code)));
  await client.waitFor('stderr', 'connected');
  client.child.stdin!.write('before the interrupt\n');
  await delay(200);
  client.child.kill('SIGINT');
  t.equal(await closeCode, 1000, 'the server got CLOSE 1000');
  t.equal(await client.exit, 0);
  t.same(received, ['before the interrupt']);
});

t.test('lines piped before the connection opens are queued, not dropped', async (t) => {
  // A server that accepts TCP at once but answers the upgrade only later: stdin has ended by then.
  let framesBeforeOpen = -1;
  const server = await startFakeServer({
    respond: () => null,
    script: async (session) => {
      await delay(500);
      framesBeforeOpen = session.frames.length;
      session.socket.write(validResponse(session.key));
      await session.waitForClose();
      await session.send(close(1000));
      session.end();
    },
  });
  t.teardown(() => server.close());
  const client = runClient(['127.0.0.1', String(server.port), 'producer'], { input: 'first\nsecond\nthird\n' });
  t.equal(await client.exit, 0);
  t.equal(framesBeforeOpen, 0, 'nothing was sent before the 101');
  const frames = server.sessions[0]!.frames.map((f) => [f.opcode, f.payload.toString('latin1')]);
  t.same(frames, [[OP.TEXT, 'first'], [OP.TEXT, 'second'], [OP.TEXT, 'third'], [OP.CLOSE, '\x03\xe8']], 'the lines in order, then the CLOSE (1000) the EOF asked for');
});

t.test('connection refused: one line naming host and port, exit 1', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const client = runClient(['127.0.0.1', String(port), 'consumer']);
  t.equal(await client.exit, 1);
  t.equal(client.stderr(), `wsc: connecting to ws://127.0.0.1:${port}/consumer\nwsc: cannot connect to 127.0.0.1:${port}: connection refused\n`);
  t.equal(client.stdout(), '');
});

t.test('a usage error from the real process: exit 2, the reason, then where to read more, naming client.ts as run', async (t) => {
  const client = runClient(['127.0.0.1', '8001', 'spectator']);
  t.equal(await client.exit, 2);
  t.equal(client.stderr(), 'wsc: ROLE must be producer, consumer or both, not "spectator"\nTry \'client.ts --help\' for more information.\n');
  t.equal(client.stdout(), '');
});

// What goes to the server from stdin: invalid UTF-8 repaired, --slash commands.

import t from 'tap';
import type { WebSocket } from 'ws';
import { runInProcess } from './helpers.ts';
import { OP, close, runAgainstFakeServer } from './fake-server.ts';
import { startChatServer } from './server.ts';

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

// What goes to the server from stdin: invalid UTF-8 repaired, --slash commands, and lines of any size,
// sent while they arrive as fragmented messages.

import t, { type Test } from 'tap';
import type { Writable } from 'node:stream';
import type { WebSocket } from 'ws';
import { delay, runInProcess } from './support/helpers.ts';
import { OP, close, ping, runAgainstFakeServer, startFakeServer, type ClientFrame, type FakeSession } from './support/fake-server.ts';
import { startChatServer } from './support/server.ts';

/** The chat server, and the text of every message it receives, in order. */
async function startRecordingServer(t: Test) {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const received: string[] = [];
  server.wss.on('connection', (ws: WebSocket) => ws.on('message', (data) => received.push(data.toString())));
  return { server, received };
}

t.test('invalid UTF-8 on stdin is sent with U+FFFD replacements, with one warning', async (t) => {
  const { server, received } = await startRecordingServer(t);
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
  t.equal(result.status, 1, 'a line was not sent');

  // A close the user asked for is no failure: the server's echo of its code ends the run with 0, and is named.
  const asked = await runAgainstFakeServer(async (session) => {
    const closeFrame = await session.waitForClose();
    await session.send([close(closeFrame.payload.readUInt16BE(0), closeFrame.payload.subarray(2).toString())]);
    session.end();
  }, ['producer', '--slash'], { input: '/close 4000 bye\n' });
  t.equal(asked.status, 0, asked.stderr);
  t.match(asked.stderr, /wsc: connection closed: 4000 bye\n/);
  // The server's own 4000 is still the server's code, not an answer: exit 1.
  const theirs = await runAgainstFakeServer(async (session) => {
    await session.send([close(4000, 'theirs')]);
    await session.waitForClose();
    session.end();
  }, ['consumer']);
  t.equal(theirs.status, 1);
  t.match(theirs.stderr, /closed by server: 4000 theirs/);

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

// ---- lines of any size

const MiB = 1024 * 1024;

/** Write `data` to the client's stdin in pieces of `size` bytes, as a pipe delivers it (64 KiB by default). */
async function pipeIn(stdin: Writable, data: Buffer, size = 64 * 1024, pauseMs = 0): Promise<void> {
  for (let at = 0; at < data.length; at += size) {
    if (!stdin.write(data.subarray(at, at + size))) await new Promise((resolve) => stdin.once('drain', resolve));
    if (pauseMs > 0) await delay(pauseMs);
  }
}

/** A fake server that answers the client's CLOSE and records every frame; `script` runs first. */
async function recordingServer(t: Test, script: (session: FakeSession) => Promise<void> = async () => {}) {
  const server = await startFakeServer({
    script: async (session) => {
      await script(session);
      const closeFrame = await session.waitForClose(20_000);
      await session.send(close(closeFrame.payload.length >= 2 ? closeFrame.payload.readUInt16BE(0) : 1000));
      session.end();
    },
  });
  t.teardown(() => server.close());
  return server;
}

/** The client's data frames, and their payloads joined per message. */
function messagesFrom(frames: ClientFrame[]) {
  const data = frames.filter((f) => f.opcode === OP.TEXT || f.opcode === OP.BINARY || f.opcode === OP.CONT);
  const messages: Buffer[] = [];
  let current: Buffer[] = [];
  for (const frame of data) {
    current.push(frame.payload);
    if (frame.fin) {
      messages.push(Buffer.concat(current));
      current = [];
    }
  }
  return { data, messages, unfinished: current.length > 0 };
}

t.test('a line of 5 MiB goes out while it arrives, as fragments of about 1 MiB; short lines stay one frame each', async (t) => {
  const server = await recordingServer(t);
  const long = Buffer.alloc(5 * MiB, 'w');
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  await pipeIn(client.stdin!, Buffer.concat([Buffer.from('short one\n'), long, Buffer.from('\nshort two\n')]));
  client.stdin!.end();
  t.equal(await client.exit, 0, client.stderr());
  const { data, messages } = messagesFrom(server.sessions[0]!.frames);
  t.same(messages.map((m) => m.length), [9, 5 * MiB, 9], 'three messages, in order');
  t.ok(messages[1]!.equals(long), 'the long line intact');
  const fragments = data.slice(1, -1);
  t.same([fragments[0]!.opcode, fragments.at(-1)!.opcode], [OP.TEXT, OP.CONT], 'TEXT first, then CONTINUATION');
  t.same(fragments.map((f) => f.fin), [...fragments.slice(1).map(() => false), true], 'FIN on the last fragment only');
  t.ok(fragments.length >= 5 && fragments.every((f) => f.payload.length <= 1.1 * MiB), `${fragments.length} fragments of at most about 1 MiB`);
  t.same([data[0]!.fin, data.at(-1)!.fin], [true, true], 'the short lines are single frames');
});

t.test('a streamed line is repaired as a whole line would be: a character cut between pieces stays whole; CR LF ends it', async (t) => {
  const server = await recordingServer(t);
  const body = Buffer.concat([Buffer.alloc(MiB + 5, 'a'), Buffer.from('é'), Buffer.alloc(MiB, 'b'), Buffer.from([0xff]), Buffer.alloc(10, 'c'), Buffer.from('\r\n')]);
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  // Pieces cut through the middle of "é" (C3 A9), and between the CR and the LF.
  await pipeIn(client.stdin!, body, MiB + 6);
  client.stdin!.end();
  t.equal(await client.exit, 0, client.stderr());
  const { messages } = messagesFrom(server.sessions[0]!.frames);
  t.equal(messages.length, 1);
  t.equal(messages[0]!.toString('utf8'), `${'a'.repeat(MiB + 5)}é${'b'.repeat(MiB)}\uFFFD${'c'.repeat(10)}`, 'é whole, FF as U+FFFD, no CR');
  t.equal(client.stderr().match(/not valid UTF-8/g)?.length, 1, 'one warning');
});

t.test('a streamed line: a 4-byte character cut after its first, second or third byte between two pieces stays whole', async (t) => {
  const server = await recordingServer(t);
  const piece = MiB + 7;
  const body = Buffer.alloc(3 * piece + 10, 'a');
  const emoji = Buffer.from('😀'); // F0 9F 98 80
  // The cut after piece k falls after k bytes of the k-th emoji.
  for (let k = 1; k <= 3; k++) emoji.copy(body, k * piece - k);
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  await pipeIn(client.stdin!, Buffer.concat([body, Buffer.from('\n')]), piece);
  client.stdin!.end();
  t.equal(await client.exit, 0, client.stderr());
  const { data, messages } = messagesFrom(server.sessions[0]!.frames);
  t.ok(data.length >= 3, `sent in ${data.length} fragments`);
  t.ok(messages[0]!.equals(body), 'every emoji whole: the exact bytes');
  t.notMatch(client.stderr(), /not valid UTF-8/, 'nothing to repair');
});

t.test('--binary -0: a big message goes out in BINARY fragments, byte for byte', async (t) => {
  const server = await recordingServer(t);
  const blob = Buffer.from(Array.from({ length: 3 * MiB }, (_, i) => (i * 7) & 0xff).filter((b) => b !== 0));
  const client = runInProcess(['--binary', '-0', '127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  await pipeIn(client.stdin!, Buffer.concat([blob, Buffer.from([0])]));
  client.stdin!.end();
  t.equal(await client.exit, 0, client.stderr());
  const { data, messages } = messagesFrom(server.sessions[0]!.frames);
  t.equal(data[0]!.opcode, OP.BINARY);
  t.ok(data.length > 1, 'fragmented');
  t.ok(messages[0]!.equals(blob), 'the exact bytes');
});

t.test('a PING between the fragments of a streamed line is answered between them', async (t) => {
  const server = await recordingServer(t, async (session) => {
    await session.waitForFrame((f) => f.opcode === OP.TEXT && !f.fin, 10_000);
    await session.send(ping('mid-message'));
  });
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  await pipeIn(client.stdin!, Buffer.concat([Buffer.alloc(4 * MiB, 'p'), Buffer.from('\n')]), 256 * 1024, 20);
  client.stdin!.end();
  t.equal(await client.exit, 0, client.stderr());
  const frames = server.sessions[0]!.frames;
  const pongAt = frames.findIndex((f) => f.opcode === OP.PONG);
  const lastFragment = frames.findIndex((f) => f.opcode === OP.CONT && f.fin);
  t.ok(pongAt > 0 && pongAt < lastFragment, `the PONG (frame ${pongAt}) went before the last fragment (frame ${lastFragment})`);
  t.equal(frames[pongAt]!.payload.toString(), 'mid-message');
  t.equal(messagesFrom(frames).messages[0]!.length, 4 * MiB, 'the line whole');
});

t.test('Ctrl-C in the middle of a streamed line: CLOSE between its fragments, the line counted as not sent, exit 1', async (t) => {
  const server = await recordingServer(t, async (session) => {
    await session.waitForFrame((f) => f.opcode === OP.TEXT && !f.fin, 10_000);
  });
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  await pipeIn(client.stdin!, Buffer.alloc(2 * MiB, 'i'));
  await delay(100);
  client.kill('SIGINT');
  t.equal(await client.exit, 1, 'a line was lost: exit 1');
  t.match(client.stderr(), 'wsc: 1 input line was not sent');
  const { unfinished } = messagesFrom(server.sessions[0]!.frames);
  t.ok(unfinished, 'the message was never finished');
  t.equal(server.sessions[0]!.frames.at(-1)!.opcode, OP.CLOSE, 'the CLOSE came after its fragments');
});

t.test('the server closes in the middle of a streamed line: it counts as not sent, exit 1 even for a normal closure', async (t) => {
  const server = await startFakeServer({
    script: async (session) => {
      await session.waitForFrame((f) => f.opcode === OP.TEXT && !f.fin, 10_000);
      await session.send(close(1000, 'enough'));
      await session.waitForClose();
      session.end();
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess(['127.0.0.1', String(server.port), 'producer']);
  await client.waitFor('stderr', 'connected');
  void pipeIn(client.stdin!, Buffer.alloc(3 * MiB, 's')).catch(() => {});
  t.equal(await client.exit, 1);
  t.match(client.stderr(), 'closed by server: 1000 enough');
  t.match(client.stderr(), 'wsc: 1 input line was not sent');
  t.ok(messagesFrom(server.sessions[0]!.frames).unfinished, 'no FIN was sent for the line');
});

t.test('LineInput alone: a line lost at its last fragment is counted once, and the line after it still goes', async (t) => {
  const { EventEmitter } = await import('node:events');
  const { PassThrough } = await import('node:stream');
  const { LineInput, Output } = await import('../client.ts');
  const stdin = new PassThrough();
  const stderr: Buffer[] = [];
  const io = { stdin, stdout: new PassThrough(), stderr: new PassThrough().on('data', (chunk: Buffer) => stderr.push(chunk)), env: {}, signals: new EventEmitter() };
  const output = new Output({ separator: 0x0a, quiet: false, json: false, timestamps: false, color: false, binaryEncoding: null, pretty: null, secrets: [] }, io);
  const lines: string[] = [];
  const fragments: boolean[] = [];
  // The owner takes every fragment but the last: the connection closed just before the long line ended.
  const owner = { sendLines: (sent: readonly Buffer[]) => (lines.push(...sent.map(String)), 0), sendFragment: (_: Buffer, { last }: { last: boolean }) => (fragments.push(last), !last), inputEnded() {} };
  const input = new LineInput(io, output, { sends: true, separator: 0x0a, sendBinary: false, execute: [], stdinIsMessage: false, jsonInput: false }, owner);
  input.start(false);
  stdin.write(Buffer.alloc(1_200_000, 'a'));
  stdin.write('the long line ends\nthe next line\n');
  await delay(20);
  t.same(fragments, [false, true], 'the long line went out in two fragments; the second could not');
  t.same(lines, ['the next line'], 'the next line is a line of its own, sent');
  input.stop();
  t.match(Buffer.concat(stderr).toString(), /wsc: 1 input line was not sent/);
});

t.test('--json-input: one compacted message per JSON value, in any layout; each as soon as it is complete', async (t) => {
  const { server, received } = await startRecordingServer(t);
  const stdin = '{\n  "jsonrpc": "2.0",\n  "id": 1,\n  "method": "a"\n}\n{"id":2} {"id":3}[4,\n5]\n"text with\\nnewline" 12345678901234567890 1e400\n';
  const client = runInProcess(['--json-input', '127.0.0.1', String(server.port), 'producer'], { input: stdin });
  t.equal(await client.exit, 0, client.stderr());
  t.same(received, ['{"jsonrpc":"2.0","id":1,"method":"a"}', '{"id":2}', '{"id":3}', '[4,5]', '"text with\\nnewline"', '12345678901234567890', '1e400'],
    'pretty-printed, one per line, run together; numbers exact');

  // Not at EOF: the first value goes while stdin is still open; the second may be larger than one read.
  const live = runInProcess(['--json-input', '127.0.0.1', String(server.port), 'producer']);
  const pipe = live.stdin!;
  pipe.write('{"first":\n');
  await delay(50);
  pipe.write(' true}\n{"second": "');
  await until(() => received.length === 8, 'the first value, stdin still open');
  t.equal(received[7], '{"first":true}');
  const big = 'x'.repeat(3 << 20);
  for (let at = 0; at < big.length; at += 65_536) pipe.write(big.slice(at, at + 65_536));
  pipe.end('"}');
  t.equal(await live.exit, 0, live.stderr());
  t.equal(received.length, 9);
  t.equal(received[8], `{"second":"${big}"}`, 'a 3 MiB value, in 48 reads, whole');
});

t.test('--json-input: a value that is not JSON stops input at its line and column, what came before it sent, exit 1', async (t) => {
  const { server, received } = await startRecordingServer(t);
  const stdin = '{"ok": 1}\n{"ok": 2}\n{\n  "bad": [1,\n   2 x]\n}\n{"never": "sent"}\n';
  const client = runInProcess(['--json-input', '127.0.0.1', String(server.port), 'producer'], { input: stdin });
  t.equal(await client.exit, 1);
  t.same(received, ['{"ok":1}', '{"ok":2}'], 'what came before it, nothing after');
  t.match(client.stderr(), /^wsc: stdin:5:6: 'x' where ',' or '\]' belongs$/m, 'one line: where, and what');
  t.notMatch(client.stderr(), /at |Error/, 'no stack trace');

  const endless = runInProcess(['--json-input', '127.0.0.1', String(server.port), 'producer'], { input: '[1]\n{"never": "ends", "list": [1, 2' });
  t.equal(await endless.exit, 1, 'a value that never ends');
  t.match(endless.stderr(), /^wsc: stdin:2:1: the value that begins here does not end$/m);
  t.equal(received.at(-1), '[1]', 'the value before it was sent');

  const binary = runInProcess(['--json-input', '--binary', '127.0.0.1', String(server.port), 'producer']);
  t.equal(await binary.exit, 2, '--json-input with --binary: a usage error');
  t.match(binary.stderr(), /--json-input .* does not go with --binary/);
});

async function until(test: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  for (const started = Date.now(); !test(); await delay(10)) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
  }
}

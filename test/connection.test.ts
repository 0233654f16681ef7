// The state machine without a socket: bytes in, bytes-to-send and events out.

import t from 'tap';
import { ClientConnection, exitStatusFor, messagesOf, type ProtocolEvent } from '../client.ts';
import { OP, close, cont, parseClientFrames, ping, text, validResponse } from './support/fake-server.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

function openConnection(maxMessageSize?: number) {
  const connection = new ClientConnection({ hostHeader: 'example.com:8001', path: '/both', handshakeKey: KEY, maxMessageSize });
  const request = Buffer.concat(connection.dataToSend()).toString('latin1');
  return { connection, request };
}

const texts = (events: ProtocolEvent[]) => events.flatMap((e) => (e.type === 'text' ? messagesOf(e).map((data) => data.toString()) : []));
const kinds = (events: ProtocolEvent[]) => events.flatMap((e) => (e.type === 'text' || e.type === 'binary' ? messagesOf(e).map(() => e.type) : [e.type]));

const sentFrames = (connection: ClientConnection) => parseClientFrames(Buffer.concat(connection.dataToSend())).frames;

t.test('HANDSHAKING: the request goes out first; no message or CLOSE before OPEN (the shell holds input)', async (t) => {
  const { connection, request } = openConnection();
  t.match(request, /^GET \/both HTTP\/1\.1\r\nHost: example\.com:8001\r\n/);
  t.equal(connection.state, 'HANDSHAKING');
  t.notOk(connection.acceptsMessages);
  t.notOk(connection.sendText(Buffer.from('one')), 'a message before OPEN is refused');
  t.notOk(connection.close(), 'so is a CLOSE');
  t.same(connection.dataToSend(), [], 'nothing sent before OPEN');
  // The 101 arrives split, with a frame right behind the blank line in the same chunk.
  const response = Buffer.from(validResponse(KEY));
  connection.receiveData(response.subarray(0, 20));
  t.equal(connection.state, 'HANDSHAKING');
  connection.receiveData(Buffer.concat([response.subarray(20), text('hi')]));
  t.equal(connection.state, 'OPEN');
  const events = connection.eventsReceived();
  t.same(kinds(events), ['open', 'text']);
  t.same(texts(events), ['hi']);
  t.ok(connection.sendText(Buffer.from('one')));
  t.ok(connection.sendText(Buffer.from('two')));
  t.same(sentFrames(connection).map((f) => f.payload.toString()), ['one', 'two']);
});

t.test('OPEN: PING answered with the same payload, also in the middle of a fragmented message', async (t) => {
  const { connection } = openConnection();
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.eventsReceived();
  connection.receiveData(Buffer.concat([text('hel', { fin: false }), ping('are you there?')]));
  const frames = sentFrames(connection);
  t.same(frames.map((f) => [f.opcode, f.payload.toString()]), [[OP.PONG, 'are you there?']]);
  t.same(connection.eventsReceived().map((e) => e.type), ['ping'], 'no message yet');
  connection.receiveData(cont('lo', {}));
  t.same(texts(connection.eventsReceived()), ['hello']);
});

t.test('while the transport cannot take more, only the latest PING is answered, when writing resumes', async (t) => {
  const { connection } = openConnection();
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.pauseWriting();
  connection.receiveData(Buffer.concat([ping('one'), ping('two')]));
  connection.receiveData(ping('three'));
  t.same(sentFrames(connection), [], 'no PONG queued while paused');
  t.same(connection.eventsReceived().filter((e) => e.type === 'ping').length, 3, 'every PING is still reported');
  connection.resumeWriting();
  t.same(sentFrames(connection).map((f) => [f.opcode, f.payload.toString()]), [[OP.PONG, 'three']]);
  connection.resumeWriting();
  t.same(sentFrames(connection), [], 'answered once');
  // A due PONG goes out before the CLOSE echo, never after it.
  connection.pauseWriting();
  connection.receiveData(Buffer.concat([ping('four'), close(1000)]));
  t.same(sentFrames(connection).map((f) => f.opcode), [OP.PONG, OP.CLOSE]);
  connection.resumeWriting();
  t.same(sentFrames(connection), [], 'nothing after the CLOSE');
});

t.test('a PONG held while writing was paused, then the user quits, then the socket drains: the PONG goes before the CLOSE, nothing after it', async (t) => {
  const { connection } = openConnection();
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.eventsReceived();
  connection.pauseWriting();
  connection.receiveData(ping('held'));
  t.same(connection.eventsReceived().map((e) => (e.type === 'ping' ? e.pong : e.type)), ['later'], 'the PING is reported as answered later');
  t.same(sentFrames(connection), [], 'nothing sent while paused');
  t.ok(connection.close(1000, 'bye'), 'the user quits while the PONG is held');
  connection.receiveData(ping('after the quit'));
  t.same(connection.eventsReceived().map((e) => (e.type === 'ping' ? e.pong : e.type)), ['none'], 'a PING after the CLOSE gets no PONG');
  connection.resumeWriting(); // the socket drains
  t.same(sentFrames(connection).map((f) => [f.opcode, f.payload.toString('latin1')]), [[OP.PONG, 'held'], [OP.CLOSE, '\x03\xe8bye']], 'the held PONG, then the CLOSE');
  connection.resumeWriting();
  t.same(connection.dataToSend(), [], 'nothing after the CLOSE, however often writing resumes');
});

t.test('server CLOSE: echoed with the same payload, then CLOSED; nothing after it is acted on', async (t) => {
  const { connection } = openConnection();
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.receiveData(Buffer.concat([close(1001, 'restart'), text('late'), ping('late')]));
  t.equal(connection.state, 'CLOSED');
  const frames = sentFrames(connection);
  t.same(frames.map((f) => [f.opcode, f.payload.toString('hex')]), [[OP.CLOSE, Buffer.concat([Buffer.from([0x03, 0xe9]), Buffer.from('restart')]).toString('hex')]]);
  t.same(connection.eventsReceived().map((e) => e.type), ['open', 'close']);
  t.equal(exitStatusFor(connection), 0, '1001 is a normal closure');
});

t.test('user quit: CLOSE 1000, CLOSING until the server answers', async (t) => {
  const { connection } = openConnection();
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.sendText(Buffer.from('last'));
  t.ok(connection.close());
  t.equal(connection.state, 'CLOSING');
  const frames = sentFrames(connection);
  t.same(frames.map((f) => f.opcode), [OP.TEXT, OP.CLOSE]);
  t.equal(frames[1]!.payload.readUInt16BE(0), 1000);
  t.notOk(connection.sendText(Buffer.from('too late')), 'no text after CLOSE');
  t.notOk(connection.close(), 'no second CLOSE');
  connection.receiveData(ping('x'));
  t.same(connection.dataToSend(), [], 'no PONG after our CLOSE');
  connection.receiveData(close(1000));
  t.equal(connection.state, 'CLOSED');
  t.same(connection.dataToSend(), [], 'the answer to our CLOSE is not echoed');
  t.equal(exitStatusFor(connection), 0);
});

t.test('protocol errors fail the connection with their close code', async (t) => {
  const cases: [string, Buffer, number][] = [
    ['RSV bit', text('x', { rsv: 4 }), 1002],
    ['reserved opcode', Buffer.from([0x83, 0x00]), 1002],
    ['masked server frame', text('x', { mask: true }), 1002],
    ['continuation without message', cont('x'), 1002],
    ['invalid UTF-8', text(Buffer.from([0xff])), 1007],
    ['oversized', text('x'.repeat(11)), 1009],
  ];
  for (const [name, bytes, code] of cases) {
    const { connection } = openConnection(10);
    connection.receiveData(Buffer.from(validResponse(KEY)));
    connection.receiveData(Buffer.concat([bytes, text('after')]));
    const frames = sentFrames(connection);
    t.equal(frames.length, 1, `${name}: one frame sent`);
    t.equal(frames[0]!.opcode === OP.CLOSE && frames[0]!.payload.readUInt16BE(0), code, `${name}: CLOSE ${code}`);
    t.equal(connection.state, 'CLOSING', `${name}: waits for the server in CLOSING`);
    t.same(texts(connection.eventsReceived()), [], `${name}: nothing after the error is delivered`);
    t.equal(exitStatusFor(connection), 1);
  }
});

t.test('TCP end without CLOSE is a failure; a failed handshake sends nothing', async (t) => {
  const { connection } = openConnection();
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.receiveEof();
  t.equal(connection.state, 'CLOSED');
  t.match(connection.failure?.message, /connection lost \(1006\)/);
  t.equal(exitStatusFor(connection), 1);

  const refused = openConnection().connection;
  refused.receiveData(Buffer.from('HTTP/1.1 403 Forbidden\r\n\r\ntoken\r\n'));
  t.equal(refused.state, 'HANDSHAKING', 'no Content-Length: the body is read until the server closes');
  refused.receiveData(Buffer.from('\x1b[2J  expired'));
  refused.receiveEof();
  t.equal(refused.state, 'CLOSED');
  t.same(refused.dataToSend(), []);
  t.equal(refused.failure?.message, 'server refused the upgrade: HTTP/1.1 403 Forbidden — token [2J expired', 'the start of the body, on one safe line');
  t.equal(refused.failure?.kind, 'handshake');

  const long = openConnection().connection;
  long.receiveData(Buffer.from(`HTTP/1.1 401 Unauthorized\r\nContent-Length: 1000\r\n\r\n${'x'.repeat(300)}`));
  t.equal(long.state, 'CLOSED', 'done after 200 bytes of a longer body');
  t.equal(long.failure?.message, `server refused the upgrade: HTTP/1.1 401 Unauthorized — ${'x'.repeat(200)} …`);
});

t.test('messages of every size, fragmented and chunked at random, come out intact (assembly blocks reused)', async (t) => {
  const { connection } = openConnection(64 * 1024 * 1024);
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.eventsReceived();
  let seed = 42;
  const random = (n: number) => {
    seed = (seed * 1103515245 + 12345) % 2 ** 31;
    return seed % n;
  };
  const expected: string[] = [];
  const wire: Buffer[] = [];
  for (let m = 0; m < 60; m++) {
    const sizeChars = [0, 1, 100, 5000, 70_000, 300_000, 1_500_000][random(7)]!;
    const body = Buffer.from(`message ${m} ✓ `.repeat(Math.ceil(sizeChars / 12)).slice(0, sizeChars));
    const size = body.length;
    expected.push(body.toString());
    const fragments = 1 + random(4);
    for (let f = 0, at = 0; f < fragments; f++) {
      const end = f === fragments - 1 ? size : Math.min(size, at + random(size + 1));
      wire.push(f === 0 ? text(body.subarray(at, end), { fin: fragments === 1 }) : cont(body.subarray(at, end), { fin: f === fragments - 1 }));
      at = end;
    }
  }
  const all = Buffer.concat(wire);
  const received: string[] = [];
  for (let at = 0; at < all.length; ) {
    const n = 1 + random(300_000);
    connection.receiveData(all.subarray(at, at + n));
    at += n;
    // The contract: events are consumed before the next receiveData call.
    received.push(...texts(connection.eventsReceived()));
  }
  t.equal(connection.failure, null, 'no failure');
  t.equal(received.length, expected.length, 'every message arrived');
  t.ok(received.every((text, i) => text === expected[i]), 'every message intact, in order');
  const total = expected.reduce((n, text) => n + Buffer.byteLength(text), 0);
  t.ok(connection.assemblyBytes <= 4 * 1024 * 1024, `assembly stays near the largest message (${connection.assemblyBytes} bytes held for ${total} received)`);
});

t.test('between the fragments of a message still being sent: PING and PONG go (RFC 6455 5.4), a whole message does not', async (t) => {
  const { connection } = openConnection();
  connection.receiveData(Buffer.from(validResponse(KEY)));
  connection.eventsReceived();
  t.ok(connection.sendFragment(Buffer.from('first half, '), { binary: false, last: false }));
  t.ok(connection.sendPing(Buffer.from('keepalive')), 'the keepalive PING is not refused mid-message');
  t.ok(connection.sendPong(Buffer.from('beat')), 'nor an unsolicited PONG');
  t.notOk(connection.sendText(Buffer.from('other')), 'another message would interleave: refused');
  t.ok(connection.sendFragment(Buffer.from('second half'), { binary: false, last: true }));
  t.same(sentFrames(connection).map((f) => [f.opcode, f.fin, f.payload.toString()]), [
    [OP.TEXT, false, 'first half, '],
    [OP.PING, true, 'keepalive'],
    [OP.PONG, true, 'beat'],
    [OP.CONT, true, 'second half'],
  ]);
});

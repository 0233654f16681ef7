// permessage-deflate's data path in-process (the rules and the handshake are in rules-deflate.test.ts):
// compressible messages of every period from 1 to 300 bytes, real JSON and text, every window size, context
// takeover with and without final blocks, back-references reaching exactly 32,768 bytes, the size limit to
// the byte, and the bytes lent to events. Every compressed stream is made by node:zlib (ServerDeflater) or
// written here bit by bit from RFC 1951, and checked by node:zlib's inflateRawSync before it is used.

import t from 'tap';
import { readFileSync } from 'node:fs';
import * as zlib from 'node:zlib';
import { ClientConnection, messagesOf, permessageDeflate, type ProtocolEvent } from '../client.ts';
import { ROOT } from './support/helpers.ts';
import { OP, ServerDeflater, binary, cont, parseClientFrames, text, validResponse } from './support/fake-server.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const RSV1 = 4;

function openDeflate(answer = 'permessage-deflate', maxMessageSize?: number) {
  const connection = new ClientConnection({ hostHeader: 'example.com', path: '/both', handshakeKey: KEY, extensions: [permessageDeflate], maxMessageSize });
  connection.dataToSend();
  connection.receiveData(Buffer.from(validResponse(KEY, [`Sec-WebSocket-Extensions: ${answer}`])));
  connection.eventsReceived();
  return connection;
}

/** Each message of the events, copied (their bytes are only lent until the next receiveData). */
const messages = (events: ProtocolEvent[]) => events.flatMap((e) => (e.type === 'text' || e.type === 'binary' ? messagesOf(e).map((data) => Buffer.from(data)) : []));

/** Feed `wire` in pieces of `chop` bytes (all at once without), collecting the messages. */
function receive(connection: ClientConnection, wire: Buffer, chop = wire.length): Buffer[] {
  const received: Buffer[] = [];
  for (let at = 0; at < wire.length; at += chop) {
    connection.receiveData(Buffer.from(wire.subarray(at, at + chop)));
    received.push(...messages(connection.eventsReceived()));
  }
  return received;
}

/** A seeded generator of bytes from an alphabet (mulberry32). */
function randomText(seed: number, length: number, alphabet = 'abcdefghijklmnopqrstuvwxyz{}":,0123456789 ✓é'): string {
  let state = seed >>> 0;
  let out = '';
  while (out.length < length) {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = Math.imul(state ^ (state >>> 15), 1 | state);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    out += alphabet[((x ^ (x >>> 14)) >>> 0) % alphabet.length];
  }
  return out;
}

t.test('messages of every period from 1 to 300 bytes (back-references that overlap what they copy), with context takeover', async (t) => {
  const deflater = new ServerDeflater();
  const expected = Array.from({ length: 300 }, (_, i) => randomText(i + 1, i + 1).repeat(Math.ceil(2000 / (i + 1))));
  const wire = Buffer.concat(expected.map((message) => text(deflater.compress(message), { rsv: RSV1 })));
  t.ok(wire.length < expected.join('').length / 10, `they compress (${wire.length} bytes on the wire)`);
  for (const chop of [wire.length, 1000, 7]) {
    const connection = openDeflate();
    const received = receive(connection, wire, chop);
    t.equal(connection.failure, null, `no failure (${chop}-byte reads)`);
    t.equal(received.length, 300);
    t.ok(received.every((message, i) => message.toString() === expected[i]), `every message intact, in order (${chop}-byte reads)`);
  }
});

t.test('real text and JSON: this README by paragraphs, and JSON records, each compressed against those before', async (t) => {
  const paragraphs = readFileSync(`${ROOT}/README.md`, 'utf8').split(/\n\n+/).filter((p) => p.length > 0);
  const records = Array.from({ length: 400 }, (_, i) => JSON.stringify({ id: i, user: `user${i % 17}`, text: randomText(i, 20 + (i % 90)), tags: ['a', 'b', String(i % 5)], nested: { depth: [i, [i + 1, [i + 2]]], ok: i % 2 === 0, none: null } }));
  for (const [name, expected] of [['README', paragraphs], ['JSON', records]] as const) {
    const deflater = new ServerDeflater();
    const connection = openDeflate();
    const received = receive(connection, Buffer.concat(expected.map((message) => text(deflater.compress(message), { rsv: RSV1 }))), 4096);
    t.equal(connection.failure, null, name);
    t.same(received.map(String), expected, `${name}: ${expected.length} messages intact`);
  }
});

t.test('every window size the server may agree on (8 to 15), with and without context takeover', async (t) => {
  for (let bits = 8; bits <= 15; bits++) {
    for (const takeover of [true, false]) {
      const deflater = new ServerDeflater({ windowBits: bits, takeover });
      const expected = Array.from({ length: 40 }, (_, i) => `${bits}/${i}: ${randomText(bits, 600)}${'repeat '.repeat(i)}`);
      const connection = openDeflate(`permessage-deflate; server_max_window_bits=${bits}${takeover ? '' : '; server_no_context_takeover'}`);
      const received = receive(connection, Buffer.concat(expected.map((message) => text(deflater.compress(message), { rsv: RSV1 }))), 999);
      t.equal(connection.failure, null, `bits ${bits}, takeover ${takeover}`);
      t.same(received.map(String), expected, `bits ${bits}, takeover ${takeover}: intact`);
    }
  }
});

// ---- DEFLATE written bit by bit (RFC 1951 section 3.2.6, the fixed Huffman codes), for back-references zlib would not choose

class BitWriter {
  private readonly bytes: number[] = [];
  private byte = 0;
  private used = 0;

  /** `count` bits of `value`, least significant first (header fields, extra bits). */
  bits(value: number, count: number): this {
    for (let i = 0; i < count; i++) {
      this.byte |= ((value >> i) & 1) << this.used;
      if (++this.used === 8) [this.bytes[this.bytes.length], this.byte, this.used] = [this.byte, 0, 0];
    }
    return this;
  }

  /** A Huffman code, most significant bit first. */
  code(code: number, length: number): this {
    for (let i = length - 1; i >= 0; i--) this.bits((code >> i) & 1, 1);
    return this;
  }

  /** The fixed code of a literal/length symbol. */
  symbol(symbol: number): this {
    if (symbol < 144) return this.code(0x30 + symbol, 8);
    if (symbol < 256) return this.code(0x190 + symbol - 144, 9);
    if (symbol < 280) return this.code(symbol - 256, 7);
    return this.code(0xc0 + symbol - 280, 8);
  }

  bytesOut(): Buffer {
    return Buffer.from(this.used > 0 ? [...this.bytes, this.byte] : this.bytes);
  }
}

/**
 * A fixed-code block copying 258 bytes from `distance` back (length code 285; distance code 29 is 24577 + 13
 * extra bits), then: with `final`, the end of the stream; without, the sync flush's empty stored block whose
 * LEN and NLEN (the tail) the receiver puts back.
 */
function farCopy(distance: number, final: boolean): Buffer {
  const codes = [[1, 1, 0], [2, 2, 0], [3, 3, 0], [4, 4, 0], [5, 5, 1], [7, 6, 1], [9, 7, 2], [13, 8, 2], [17, 9, 3], [25, 10, 3], [33, 11, 4], [49, 12, 4], [65, 13, 5], [97, 14, 5], [129, 15, 6], [193, 16, 6], [257, 17, 7], [385, 18, 7], [513, 19, 8], [769, 20, 8], [1025, 21, 9], [1537, 22, 9], [2049, 23, 10], [3073, 24, 10], [4097, 25, 11], [6145, 26, 11], [8193, 27, 12], [12289, 28, 12], [16385, 29, 13], [24577, 30, 13]];
  const [base, code, extra] = codes.filter(([from]) => from! <= distance).at(-1)!.map((n, i) => (i === 1 ? n! - 1 : n!)) as [number, number, number];
  const writer = new BitWriter().bits(final ? 1 : 0, 1).bits(1, 2).symbol(285).code(code, 5).bits(distance - base, extra).symbol(256);
  if (!final) writer.bits(0, 3);
  return writer.bytesOut();
}

t.test('back-references reach exactly 32,768 bytes: across messages, and after a message that ended the stream with a final block', async (t) => {
  const history = Buffer.from(randomText(7, 40_000, 'abcdefghijklmnopqrstuvwxyz'), 'latin1').subarray(0, 32_768);
  const expect = history.subarray(0, 258);
  // The oracle: zlib agrees that this block copies the window's first 258 bytes.
  t.same(zlib.inflateRawSync(Buffer.concat([farCopy(32_768, false), Buffer.from([0, 0, 0xff, 0xff])]), { dictionary: history, finishFlush: zlib.constants.Z_SYNC_FLUSH }), expect, 'zlib reads the hand-written block so');

  const deflater = new ServerDeflater();
  const takeover = openDeflate();
  const received = receive(takeover, Buffer.concat([text(deflater.compress(history), { rsv: RSV1 }), text(farCopy(32_768, false), { rsv: RSV1 })]));
  t.equal(takeover.failure, null);
  t.same(received[1], expect, 'the first byte of a 32 KiB window, 32,768 back, with context takeover');

  // A message that ends with a final block (RFC 7692 7.2.3.5) ends zlib's stream: the next starts a new one, with
  // the window as it was. The window here is the last 32 KiB of two messages.
  const [first, second] = [history.subarray(0, 20_000), history.subarray(20_000)];
  const afterFinal = openDeflate();
  const finals = receive(afterFinal, Buffer.concat([text(zlib.deflateRawSync(first), { rsv: RSV1 }), text(zlib.deflateRawSync(second), { rsv: RSV1 }), text(farCopy(32_768, true), { rsv: RSV1 })]));
  t.equal(afterFinal.failure, null);
  t.same(finals.map((m) => m.length), [20_000, 12_768, 258]);
  t.same(finals[2], expect, 'after two final blocks, the new stream starts from the whole window');

  // A window one byte short: 32,767 bytes before it cannot hold a copy from 32,768 back.
  const short = openDeflate();
  receive(short, Buffer.concat([text(zlib.deflateRawSync(history.subarray(1)), { rsv: RSV1 }), text(farCopy(32_768, false), { rsv: RSV1 })]));
  t.same([short.failure?.message, short.failure?.closeCode], ['compressed message does not inflate: invalid distance too far back', 1007]);
  // Without context takeover every message starts with an empty window, even right after a 32 KiB one.
  const fresh = openDeflate('permessage-deflate; server_no_context_takeover');
  receive(fresh, Buffer.concat([text(zlib.deflateRawSync(history, { finishFlush: zlib.constants.Z_SYNC_FLUSH }).subarray(0, -4), { rsv: RSV1 }), text(farCopy(1, false), { rsv: RSV1 })]));
  t.equal(fresh.failure?.closeCode, 1007, 'server_no_context_takeover: nothing to refer back to');
});

t.test('--max-message-size to the byte: a message inflating to the limit arrives, one byte more is 1009, also fragmented', async (t) => {
  const limit = 100_000;
  const atLimit = Buffer.alloc(limit, 'a');
  for (const fragments of [1, 3]) {
    const pieces = (body: Buffer) => Array.from({ length: fragments }, (_, i) => body.subarray(Math.floor((i * body.length) / fragments), Math.floor(((i + 1) * body.length) / fragments)));
    const frames = (body: Buffer) => pieces(new ServerDeflater().compress(body)).map((piece, i) => (i === 0 ? text(piece, { rsv: RSV1, fin: fragments === 1 }) : cont(piece, { fin: i === fragments - 1 })));
    const fits = openDeflate('permessage-deflate', limit);
    const received = receive(fits, Buffer.concat(frames(atLimit)));
    t.equal(fits.failure, null, `${limit} bytes in ${fragments} fragment(s): no failure`);
    t.equal(received[0]?.length, limit);
    const over = openDeflate('permessage-deflate', limit);
    receive(over, Buffer.concat(frames(Buffer.concat([atLimit, Buffer.from('a')]))));
    t.same([over.failure?.message, over.failure?.closeCode], [`message inflates past the limit of ${limit} bytes`, 1009], `${limit + 1} bytes: refused`);
    t.same(parseClientFrames(Buffer.concat(over.dataToSend())).frames.map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[OP.CLOSE, 1009]]);
  }
});

t.test('lent bytes: messages of one read stay intact until the next, however the inflater\'s buffer moves', async (t) => {
  const deflater = new ServerDeflater();
  const connection = openDeflate();
  const sizes = [10, 70_000, 5, 300_000, 64 * 1024, 1];
  const expected = sizes.map((size, i) => Buffer.from(randomText(i, size, 'ab')));
  connection.receiveData(Buffer.concat(expected.map((body) => binary(deflater.compress(body), { rsv: RSV1 }))));
  const events = connection.eventsReceived();
  // Looked at only now, after every message of the read was inflated: none was overwritten by a later one.
  t.same(events.flatMap((e) => (e.type === 'binary' ? messagesOf(e).map((m) => m.toString()) : [])), expected.map(String));
  t.ok(connection.assemblyBytes < 3 * 1024 * 1024, `memory near the largest message (${connection.assemblyBytes} bytes held)`);
});

t.test('a read of many small compressed messages is one event; a bad one in the middle ends it: those before it arrive, none after', async (t) => {
  const deflater = new ServerDeflater();
  const expected = Array.from({ length: 100 }, (_, i) => `{"seq":${i},"price":${100 + i / 4}}`);
  const connection = openDeflate();
  connection.receiveData(Buffer.concat(expected.map((message) => text(deflater.compress(message), { rsv: RSV1 }))));
  const events = connection.eventsReceived();
  t.equal(events.length, 1, 'one event');
  t.same(messages(events).map(String), expected, 'with every message, in order');

  const bad = openDeflate();
  const again = new ServerDeflater();
  const frames = ['one', 'two', Buffer.from([0x61, 0xff]), 'four'].map((message) => text(again.compress(message), { rsv: RSV1 }));
  bad.receiveData(Buffer.concat(frames));
  t.same(messages(bad.eventsReceived()).map(String), ['one', 'two']);
  t.same([bad.failure?.message, bad.failure?.closeCode], ['invalid UTF-8 in a text message', 1007]);
});

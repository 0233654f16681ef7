// Unit tests of the pure codec: frame encoding and incremental decoding, masking, UTF-8, close payloads,
// the accept key and handshake response validation.

import t from 'tap';
import {
  ByteQueue, FrameReader, applyMask, buildHandshakeRequest, computeAcceptKey, encodeClosePayload, encodeFrame,
  ipv6Bytes, isValidCloseCode, parseClosePayload, validateHandshakeResponse, validateUtf8, type FramePiece,
} from '../client.ts';
import { acceptFor, parseClientFrames, validResponse } from './support/fake-server.ts';

const KEY = Buffer.from([0x37, 0xfa, 0x21, 0x3d]);

/** Decode complete frames by feeding the reader the given chunks, assembling each frame's payload. */
function decodeAll(chunks: Buffer[]) {
  const reader = new FrameReader();
  const frames: { opcode: number; fin: boolean; masked: boolean; payload: Buffer }[] = [];
  let current: { opcode: number; fin: boolean; masked: boolean; pieces: Buffer[] } | null = null;
  for (const chunk of chunks) {
    reader.push(chunk);
    for (let piece: FramePiece | null = reader.read(); piece !== null; piece = reader.read()) {
      if (piece.type !== 'payload') {
        current = { opcode: piece.header.opcode, fin: piece.header.fin, masked: piece.header.masked, pieces: [] };
      }
      if (piece.type !== 'header') {
        current!.pieces.push(piece.data);
        if (piece.end) {
          frames.push({ opcode: current!.opcode, fin: current!.fin, masked: current!.masked, payload: Buffer.concat(current!.pieces) });
          current = null;
        }
      }
    }
  }
  return { frames, reader };
}

t.test('encodeFrame length forms at the boundaries, checked by an independent parser', async (t) => {
  for (const [size, headerLength] of [[0, 6], [1, 6], [125, 6], [126, 8], [127, 8], [65535, 8], [65536, 14], [70000, 14]] as const) {
    const payload = Buffer.alloc(size, 'x');
    const encoded = encodeFrame(0x1, payload, KEY);
    t.equal(encoded.length, headerLength + size, `${size}-byte payload: header of ${headerLength} bytes`);
    t.equal(encoded[0], 0x81, 'FIN set, opcode TEXT');
    t.equal(encoded[1]! & 0x80, 0x80, 'MASK bit set');
    const { frames, rest } = parseClientFrames(encoded);
    t.equal(frames.length, 1);
    t.equal(rest.length, 0);
    t.ok(frames[0]!.payload.equals(payload), `${size}-byte payload unmasks to the original`);
  }
});

t.test('masking: the payload on the wire is XORed with the key, and unmasking round-trips', async (t) => {
  const payload = Buffer.from('Hello, WebSocket masking!');
  const encoded = encodeFrame(0x1, payload, KEY);
  t.same([...encoded.subarray(2, 6)], [...KEY], 'mask key follows the length');
  for (let i = 0; i < payload.length; i++) t.equal(encoded[6 + i], payload[i]! ^ KEY[i % 4]!, `byte ${i} masked`);
  t.not(encoded.subarray(6).toString(), payload.toString(), 'masked bytes differ from the plain text');
  const back = Buffer.alloc(payload.length);
  applyMask(encoded.subarray(6), back, 0, KEY);
  t.ok(back.equals(payload));
  // A mask applied from a phase in the middle matches the whole-buffer mask.
  const partial = Buffer.alloc(payload.length - 5);
  applyMask(encoded.subarray(11), partial, 0, KEY, 5);
  t.ok(partial.equals(payload.subarray(5)));
  const { frames } = decodeAll([encoded]);
  t.ok(frames[0]!.masked && frames[0]!.payload.equals(payload), 'the reader unmasks masked frames');
});

t.test('fresh mask keys: two encodings of one payload differ', async (t) => {
  const { randomMaskKey } = await import('../client.ts');
  const a = encodeFrame(0x1, Buffer.from('same'), randomMaskKey());
  const b = encodeFrame(0x1, Buffer.from('same'), randomMaskKey());
  t.not(a.toString('hex'), b.toString('hex'));
});

t.test('the reader decodes a frame cut at every byte position', async (t) => {
  const sizes = [0, 5, 125, 126, 300, 65536];
  for (const size of sizes) {
    const payload = Buffer.from(Array.from({ length: size }, (_, i) => i % 251));
    const wire = Buffer.concat([Buffer.from([0x82, size < 126 ? size : size < 65536 ? 126 : 127])]);
    let header = wire;
    if (size >= 126 && size < 65536) header = Buffer.concat([wire, Buffer.from([size >> 8, size & 0xff])]);
    if (size >= 65536) {
      const len = Buffer.alloc(8);
      len.writeUInt32BE(size, 4);
      header = Buffer.concat([wire, len]);
    }
    const bytes = Buffer.concat([header, payload]);
    const cuts = size > 1000 ? [1, 2, 5, 9, 10, 11, 1000, bytes.length - 1] : Array.from({ length: bytes.length - 1 }, (_, i) => i + 1);
    let good = 0;
    for (const cut of cuts) {
      const { frames, reader } = decodeAll([bytes.subarray(0, cut), bytes.subarray(cut)]);
      if (frames.length === 1 && frames[0]!.opcode === 2 && frames[0]!.payload.equals(payload) && reader.needed === 2) good++;
    }
    t.equal(good, cuts.length, `${size}-byte frame decoded at all ${cuts.length} cut positions`);
  }
});

t.test('the reader decodes several frames in one chunk, and one frame spread over single bytes', async (t) => {
  const one = Buffer.from([0x81, 0x03, 0x61, 0x62, 0x63]);
  const two = Buffer.from([0x89, 0x00]);
  const three = Buffer.from([0x01, 0x01, 0x78]);
  const { frames } = decodeAll([Buffer.concat([one, two, three])]);
  t.same(frames.map((f) => [f.opcode, f.fin, f.payload.toString()]), [[1, true, 'abc'], [9, true, ''], [1, false, 'x']]);
  const bytewise = [...Buffer.concat([one, two])].map((b) => Buffer.from([b]));
  t.same(decodeAll(bytewise).frames.map((f) => f.payload.toString()), ['abc', '']);
});

t.test('the reader tells how many bytes it needs next', async (t) => {
  const reader = new FrameReader();
  t.equal(reader.needed, 2);
  reader.push(Buffer.from([0x81]));
  t.equal(reader.needed, 1);
  reader.push(Buffer.from([126]));
  t.equal(reader.needed, 2, 'a 16-bit length follows');
  reader.push(Buffer.from([0x01, 0x00]));
  t.equal(reader.read()?.type, 'header');
  t.equal(reader.needed, 256, 'the whole payload is outstanding');
});

t.test('a 64-bit length beyond 2^53-1 is reported as Infinity, never allocated', async (t) => {
  const reader = new FrameReader();
  reader.push(Buffer.from([0x82, 127, 0x00, 0x20, 0, 0, 0, 0, 0, 0]));
  const piece = reader.read();
  t.equal(piece?.type, 'header');
  t.equal(piece?.type === 'header' && piece.header.payloadLength, Infinity);
  const exact = new FrameReader();
  exact.push(Buffer.from([0x82, 127, 0x00, 0x1f, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff]));
  const piece2 = exact.read();
  t.equal(piece2?.type === 'header' && piece2.header.payloadLength, Number.MAX_SAFE_INTEGER);
});

t.test('ByteQueue consume() spans chunks and take() never copies', async (t) => {
  const q = new ByteQueue();
  const a = Buffer.from('hello ');
  q.push(a);
  q.push(Buffer.from('world'));
  t.equal(q.byteAt(7), 'o'.charCodeAt(0));
  t.equal(q.consume(8).toString(), 'hello wo');
  t.equal(q.length, 3);
  t.equal(q.take(10).toString(), 'rld');
  const b = Buffer.from('abcdef');
  q.push(b);
  const view = q.take(3);
  t.equal(view.buffer, b.buffer, 'take() returns a view of the received chunk');
});

t.test('UTF-8 validation: valid text split anywhere', async (t) => {
  const samples = ['κόσμε', 'Hello-µ@ßöäüàá-UTF-8!!', '\u{10FFFF}\u{FFFE}\u{FFFF}', '𝄞 music', 'ascii only', '\u0080\u07ff\u0800\uffff\u{10000}'];
  for (const sample of samples) {
    const bytes = Buffer.from(sample, 'utf8');
    for (let cut = 0; cut <= bytes.length; cut++) {
      const state = validateUtf8(validateUtf8(0, bytes.subarray(0, cut)), bytes.subarray(cut));
      if (state !== 0) t.fail(`${JSON.stringify(sample)} cut at ${cut} rejected`);
    }
    t.pass(`${JSON.stringify(sample)} valid at every cut`);
  }
  const big = Buffer.from('é'.repeat(5000) + 'a' + '€'.repeat(3000), 'utf8');
  for (const cut of [1, 2, 3, 4, 299, 300, 301, 4001, big.length - 1]) {
    t.equal(validateUtf8(validateUtf8(0, big.subarray(0, cut)), big.subarray(cut)), 0, `big text cut at ${cut}`);
  }
});

t.test('UTF-8 validation: invalid sequences are rejected, as early as possible', async (t) => {
  const invalid: [string, number[]][] = [
    ['lone continuation', [0x80]],
    ['C0 overlong', [0xc0, 0xaf]],
    ['C1 overlong', [0xc1, 0xbf]],
    ['3-byte overlong', [0xe0, 0x80, 0xaf]],
    ['4-byte overlong', [0xf0, 0x80, 0x80, 0xaf]],
    ['surrogate D800', [0xed, 0xa0, 0x80]],
    ['surrogate DFFF', [0xed, 0xbf, 0xbf]],
    ['above U+10FFFF', [0xf4, 0x90, 0x80, 0x80]],
    ['F5 lead', [0xf5, 0x80, 0x80, 0x80]],
    ['5-byte form', [0xf8, 0x88, 0x80, 0x80, 0x80]],
    ['6-byte form', [0xfc, 0x84, 0x80, 0x80, 0x80, 0x80]],
    ['FE', [0xfe]],
    ['FF', [0xff]],
    ['truncated then ASCII', [0xe2, 0x82, 0x41]],
  ];
  for (const [name, bytes] of invalid) {
    t.equal(validateUtf8(0, Buffer.from(bytes)), -1, `${name} rejected`);
    // Fed one byte at a time, the state turns to reject at the first impossible byte.
    let state = 0;
    for (const b of bytes) state = validateUtf8(state, Buffer.from([b]));
    t.equal(state, -1, `${name} rejected byte by byte`);
  }
  t.equal(validateUtf8(0, Buffer.from([0xce, 0xba, 0xe1])), 0x2_80_bf, 'an incomplete but valid prefix is pending, not rejected');
  // A character begun in one piece and broken at the start of the next stays rejected, whatever follows
  // in that piece (an FF byte once turned the reject state into a pending one again; the fuzz test found it).
  const begun = validateUtf8(0, Buffer.from([0x6b, 0xf1, 0x90, 0xb1]));
  t.equal(validateUtf8(begun, Buffer.from([0x66, 0x61, 0xff, 0xa1, 0x80, 0x80])), -1, 'a piece that breaks a character begun before it');
  const longValidThenBad = Buffer.concat([Buffer.alloc(1000, 0x61), Buffer.from([0xed, 0xa0, 0x80]), Buffer.alloc(10, 0x61)]);
  t.equal(validateUtf8(0, longValidThenBad), -1, 'the bulk path rejects a surrogate in a long chunk');
  const longEndsMidCodePoint = Buffer.concat([Buffer.alloc(1000, 0x61), Buffer.from([0xf0, 0x9f])]);
  t.not(validateUtf8(0, longEndsMidCodePoint), -1, 'the bulk path keeps a code point split at the end');
  t.not(validateUtf8(0, longEndsMidCodePoint), 0);
});

t.test('joinLines: the payloads of a run of frames, each with a newline', async (t) => {
  const { joinLines } = await import('../client.ts');
  const frames = [Buffer.from([0x81, 3]), Buffer.from('abc'), Buffer.from([0x81, 0]), Buffer.from([0x81, 2]), Buffer.from('de')];
  const source = Buffer.concat([Buffer.from('xx'), ...frames]);
  t.equal(joinLines(source, [4, 7, 9, 9, 11, 13]).toString(), 'abc\n\nde\n');
  t.equal(joinLines(source, [4, 7]).toString(), 'abc\n', 'a run of one');
  // Messages side by side (as an extension decodes them into one buffer): no gap to put a separator in.
  const adjacent = Buffer.from('xxonetwothree!');
  t.equal(joinLines(adjacent, [2, 5, 5, 8, 8, 8, 8, 13]).toString(), 'one\ntwo\n\nthree\n');
  t.equal(joinLines(adjacent, [2, 5, 5, 8, 9, 13], 0).toString('latin1'), 'one\0two\0hree\0', 'adjacent and apart, NUL-separated');
  const many = Buffer.alloc(3000, 'a');
  const ranges = Array.from({ length: 1000 }, (_, i) => [3 * i, 3 * i + 3]).flat();
  t.equal(joinLines(many, ranges).toString(), 'aaa\n'.repeat(1000), 'a thousand adjacent messages');
});

t.test('close codes and payloads', async (t) => {
  for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) t.ok(isValidCloseCode(code), `${code} valid`);
  for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) t.notOk(isValidCloseCode(code), `${code} invalid`);
  t.same(parseClosePayload(Buffer.alloc(0)), { code: null, reason: '' });
  t.same(parseClosePayload(encodeClosePayload(1000, 'bye ✓')), { code: 1000, reason: 'bye ✓' });
  t.match(parseClosePayload(Buffer.from([0x03])), { closeCode: 1002 });
  t.match(parseClosePayload(Buffer.from([0x03, 0xed])), { closeCode: 1002 }, '1005 may not be sent');
  t.match(parseClosePayload(Buffer.from([0x03, 0xe8, 0xff])), { closeCode: 1007 });
});

t.test('accept key: RFC 6455 example', async (t) => {
  t.equal(computeAcceptKey('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=');
  t.equal(acceptFor('dGhlIHNhbXBsZSBub25jZQ=='), 's3pPLMBiTxaQ9kYGzzhZRbK+xOo=', 'the test server agrees');
});

t.test('handshake request', async (t) => {
  const request = buildHandshakeRequest({ path: '/consumer', hostHeader: 'localhost:8001', handshakeKey: 'dGhlIHNhbXBsZSBub25jZQ==' });
  t.equal(
    request,
    'GET /consumer HTTP/1.1\r\nHost: localhost:8001\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n' +
      'Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n',
  );
});

t.test('handshake response validation', async (t) => {
  const key = 'dGhlIHNhbXBsZSBub25jZQ==';
  const head = (response: string) => response.replace(/\r\n\r\n$/, '');
  t.match(validateHandshakeResponse(head(validResponse(key)), key), { ok: true });
  t.match(validateHandshakeResponse('HTTP/1.1 101 OK\r\nupgrade: WebSocket\r\nconnection: keep-alive, UPGRADE\r\nsec-websocket-accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=', key), { ok: true }, 'case-insensitive, Connection tokens');
  t.match(validateHandshakeResponse('HTTP/1.1 404 Not Found\r\nContent-Length: 0', key), { ok: false, error: 'server refused the upgrade: HTTP/1.1 404 Not Found' });
  t.match(validateHandshakeResponse('garbage', key), { ok: false, error: /malformed HTTP response/ });
  t.match(validateHandshakeResponse(head(validResponse(key)).replace('Upgrade: websocket', 'Upgrade: h2c'), key), { ok: false, error: /Upgrade header/ });
  t.match(validateHandshakeResponse(head(validResponse(key)).replace('Connection: Upgrade', 'Connection: close'), key), { ok: false, error: /Connection header/ });
  t.match(validateHandshakeResponse(head(validResponse('AAAAAAAAAAAAAAAAAAAAAA==')), key), { ok: false, error: /Sec-WebSocket-Accept/ });
  t.match(validateHandshakeResponse(head(validResponse(key, ['Sec-WebSocket-Extensions: permessage-deflate'])), key), { ok: false, error: /Sec-WebSocket-Extensions/ });
  t.match(validateHandshakeResponse(head(validResponse(key, ['Sec-WebSocket-Protocol: chat'])), key), { ok: false, error: /Sec-WebSocket-Protocol/ });
  t.match(validateHandshakeResponse(head(validResponse(key, ['Sec-WebSocket-Protocol: chat'])), key, { subprotocols: ['chat'] }), { ok: true, subprotocol: 'chat' });
});

t.test('ipv6Bytes: the 16 bytes a SOCKS5 request carries for an IPv6 address', async (t) => {
  t.equal(ipv6Bytes('::1').toString('hex'), '00000000000000000000000000000001');
  t.equal(ipv6Bytes('2001:db8::8a2e:370:7334').toString('hex'), '20010db80000000000008a2e03707334');
  t.equal(ipv6Bytes('fe80::1%eth0').toString('hex'), 'fe800000000000000000000000000001', 'a zone is dropped');
  t.equal(ipv6Bytes('::ffff:192.0.2.128').toString('hex'), '00000000000000000000ffffc0000280', 'an IPv4 tail');
  t.equal(ipv6Bytes('1:2:3:4:5:6:7:8').toString('hex'), '00010002000300040005000600070008');
});

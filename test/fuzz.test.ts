// A seeded property test of the protocol core (ClientConnection), in-process, against a reference decoder
// written here from RFC 6455 section 5 (with its own UTF-8 check from RFC 3629), sharing no code with the
// client.
//
// Valid server streams (text and binary messages, fragmented or not, PINGs and PONGs between fragments, a
// CLOSE at the end) are cut at random points and fed to the client: its events must be exactly the
// reference's, and it must answer each PING and echo the CLOSE. Mutated streams (bits flipped, bytes
// inserted, dropped or overwritten; a frame's opcode, FIN, RSV, mask bit or length changed) must give the
// same events up to the point where the reference fails, then a failure with the reference's close code
// and a CLOSE with it, or the clean close, or (cut short) a lost connection at EOF: never a thrown
// exception, never an event after the failure, never a frame sent after the CLOSE.
//
// A third of the streams agree on permessage-deflate (RFC 7692), sometimes without context takeover, and
// most of their messages are compressed by node:zlib; the reference inflates them with node:zlib's own
// inflateRawSync() as the RFC says (the 00 00 FF FF tail put back), modelling one inflater kept from message
// to message by inflating everything since it started, so the client's driving of zlib is held to zlib's.
//
// Replay a failing case: WSC_FUZZ_SEED=<seed printed> npx tap test/fuzz.test.ts

import t from 'tap';
import * as zlib from 'node:zlib';
import { ClientConnection, messagesOf, permessageDeflate, type ProtocolEvent } from '../client.ts';
import { OP, ServerDeflater, frame, parseClientFrames, validResponse } from './support/fake-server.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';
const CASES = 10_000;

/** mulberry32: a small seeded generator, so a case can be replayed from its seed. */
function generator(seed: number) {
  let state = seed >>> 0;
  const next = () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let x = state;
    x = Math.imul(x ^ (x >>> 15), x | 1);
    x ^= x + Math.imul(x ^ (x >>> 7), x | 61);
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
  const int = (n: number) => Math.floor(next() * n);
  return { next, int, chance: (p: number) => next() < p };
}
type Random = ReturnType<typeof generator>;

function randomBytes(random: Random, n: number): Buffer {
  const bytes = Buffer.allocUnsafe(n);
  for (let i = 0; i < n; i++) bytes[i] = random.int(256);
  return bytes;
}

// ---- generating valid streams

/** Random valid UTF-8 of up to maxChars code points: ASCII, 2-, 3- and 4-byte sequences (no surrogates). */
function randomText(random: Random, maxChars: number): Buffer {
  const n = random.int(maxChars + 1);
  const bytes = Buffer.allocUnsafe(n * 4);
  let at = 0;
  for (let i = 0; i < n; i++) {
    const kind = random.int(10);
    if (kind < 6) {
      bytes[at++] = 0x20 + random.int(0x5f);
    } else if (kind < 8) {
      const c = 0x80 + random.int(0x780);
      bytes[at++] = 0xc0 | (c >> 6);
      bytes[at++] = 0x80 | (c & 0x3f);
    } else if (kind < 9) {
      const c = 0x800 + random.int(0xd000 - 0x800);
      bytes[at++] = 0xe0 | (c >> 12);
      bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[at++] = 0x80 | (c & 0x3f);
    } else {
      const c = 0x10000 + random.int(0xfffff);
      bytes[at++] = 0xf0 | (c >> 18);
      bytes[at++] = 0x80 | ((c >> 12) & 0x3f);
      bytes[at++] = 0x80 | ((c >> 6) & 0x3f);
      bytes[at++] = 0x80 | (c & 0x3f);
    }
  }
  return bytes.subarray(0, at);
}

function randomPayloadSize(random: Random): number {
  if (random.chance(0.0025)) return 65_536 + random.int(10_000); // 64-bit length form (small payloads get it too, see `long`)
  if (random.chance(0.04)) return 126 + random.int(2_000); // 16-bit length form
  return random.int(126);
}

/**
 * One message as frames: cut at random byte positions (UTF-8 sequences, or compressed data, may be split),
 * control frames between. With a deflater, most messages are compressed: RSV1 on the first frame.
 */
function messageFrames(random: Random, deflater: ServerDeflater | null): Buffer[] {
  const isText = random.chance(0.7);
  const plain = isText ? randomText(random, randomPayloadSize(random) >> 1) : randomBytes(random, randomPayloadSize(random));
  const compressed = deflater !== null && random.chance(0.8);
  const payload = compressed ? deflater.compress(plain) : plain;
  const cuts = [...new Set(Array.from({ length: random.int(4) }, () => random.int(payload.length + 1)))].sort((a, b) => a - b);
  const pieces: Buffer[] = [];
  let at = 0;
  for (const cut of [...cuts, payload.length]) {
    pieces.push(payload.subarray(at, cut));
    at = cut;
  }
  const frames: Buffer[] = [];
  pieces.forEach((piece, i) => {
    if (i > 0 && random.chance(0.3)) frames.push(controlFrame(random));
    const rsv = compressed && i === 0 ? 4 : 0;
    frames.push(frame(i === 0 ? (isText ? OP.TEXT : OP.BINARY) : OP.CONT, piece, { fin: i === pieces.length - 1, long: random.chance(0.02), rsv }));
  });
  return frames;
}

function controlFrame(random: Random): Buffer {
  const payload = randomBytes(random, random.int(126));
  return frame(random.chance(0.7) ? OP.PING : OP.PONG, payload);
}

function validStream(random: Random): Buffer {
  const frames: Buffer[] = [];
  const deflate = random.chance(0.33);
  const takeover = random.chance(0.7);
  const deflater = deflate ? new ServerDeflater({ takeover, windowBits: [9, 12, 15][random.int(3)] }) : null;
  for (let n = 1 + random.int(8); n > 0; n--) frames.push(random.chance(0.25) ? controlFrame(random) : Buffer.concat(messageFrames(random, deflater)));
  if (random.chance(0.6)) {
    const code = [1000, 1001, 1003, 1008, 1011, 3000, 4999][random.int(7)]!;
    const reason = randomText(random, 30);
    frames.push(frame(OP.CLOSE, Buffer.concat([Buffer.from([code >> 8, code & 0xff]), reason.subarray(0, 123)])));
  }
  const extensions = deflate ? [`Sec-WebSocket-Extensions: permessage-deflate${takeover ? '' : '; server_no_context_takeover'}`] : [];
  return Buffer.concat([Buffer.from(validResponse(KEY, extensions)), ...frames]);
}

// ---- the independent decoder: what a correct client reports for these bytes, valid or not

type Expected = { type: 'text' | 'binary' | 'ping' | 'pong'; data: string } | { type: 'close'; code: number | null; reason: string };
/** How the bytes end: a failure with its close code, the server's CLOSE, or still open (more bytes could come). */
type Ending = { type: 'failure'; code: number } | { type: 'close' } | { type: 'open' };
type Reference = { events: Expected[]; ending: Ending };

const MAX_MESSAGE = 64 * 1024 * 1024; // the client's default --max-message-size
/** A compressed message's most bytes on the wire: stored blocks add 5 bytes in 65,535 (RFC 1951 3.2.4). */
const MAX_COMPRESSED = MAX_MESSAGE + Math.ceil(MAX_MESSAGE / 65535) * 5 + 64;

const TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);

/**
 * The server's compressed messages inflated the RFC's way, by zlib: each with the tail 00 00 FF FF put back,
 * leniently (data that ends inside a block gives what it holds, as ws and python-websockets take it). With
 * context takeover the inflater is one stream from message to message: each message's output is what the
 * stream inflates past the messages before it. A final block ends the stream; the next message starts a new
 * one from the last 32 KiB inflated. Without takeover, every message starts afresh.
 */
function referenceInflater(takeover: boolean) {
  let input: Buffer[] = [];
  let dictionary: Buffer | undefined;
  let before = 0; // bytes the current stream gave for the messages before
  let history = Buffer.alloc(0); // the last 32 KiB inflated
  return (compressed: Buffer): Buffer | null => {
    if (!takeover) input = [];
    input.push(compressed, TAIL);
    let result: { buffer: Buffer; engine: { bytesWritten: number } };
    try {
      const all = Buffer.concat(input);
      result = zlib.inflateRawSync(all, { info: true, finishFlush: zlib.constants.Z_SYNC_FLUSH, ...(takeover && dictionary ? { dictionary } : {}) }) as unknown as typeof result;
      const output = result.buffer.subarray(takeover ? before : 0);
      before = result.buffer.length;
      history = Buffer.concat([history, output]).subarray(-32768);
      if (takeover && result.engine.bytesWritten < all.length) {
        // A final block: the stream is over, and the next message starts a new one with the window.
        [input, dictionary, before] = [[], history.length > 0 ? Buffer.from(history) : undefined, 0];
      }
      return output;
    } catch {
      return null;
    }
  };
}

/** Incremental UTF-8 validation from RFC 3629's table: false at the first byte that cannot be valid. */
function utf8Checker() {
  let need = 0, low = 0x80, high = 0xbf;
  const starts: [number, number, number, number, number][] = [
    // first byte from, to: continuation bytes, and the range of the second byte
    [0xc2, 0xdf, 1, 0x80, 0xbf], [0xe0, 0xe0, 2, 0xa0, 0xbf], [0xe1, 0xec, 2, 0x80, 0xbf], [0xed, 0xed, 2, 0x80, 0x9f],
    [0xee, 0xef, 2, 0x80, 0xbf], [0xf0, 0xf0, 3, 0x90, 0xbf], [0xf1, 0xf3, 3, 0x80, 0xbf], [0xf4, 0xf4, 3, 0x80, 0x8f],
  ];
  return {
    push(bytes: Buffer): boolean {
      for (const byte of bytes) {
        if (need === 0) {
          if (byte < 0x80) continue;
          const start = starts.find(([from, to]) => byte >= from && byte <= to);
          if (!start) return false;
          [, , need, low, high] = start;
        } else {
          if (byte < low || byte > high) return false;
          need--;
          [low, high] = [0x80, 0xbf];
        }
      }
      return true;
    },
    get complete() {
      return need === 0;
    },
  };
}

const validCloseCode = (code: number) => [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014].includes(code) || (code >= 3000 && code <= 4999);

/** Decode server frames as RFC 6455 section 5 says, checking every rule; bytes after a CLOSE or a failure are not read. */
function referenceDecode(stream: Buffer): Reference {
  const head = stream.subarray(0, stream.indexOf('\r\n\r\n')).toString('latin1');
  const body = stream.subarray(stream.indexOf('\r\n\r\n') + 4);
  const deflate = /^sec-websocket-extensions: permessage-deflate/im.test(head);
  const takeover = !/server_no_context_takeover/.test(head);
  const inflate = referenceInflater(takeover);
  const events: Expected[] = [];
  const fail = (code: number) => ({ events, ending: { type: 'failure', code } as Ending });
  type Message = { opcode: number; pieces: Buffer[]; size: number; utf8: ReturnType<typeof utf8Checker>; compressed: boolean };
  let message = null as Message | null;
  for (let at = 0; ; ) {
    if (body.length - at < 2) return { events, ending: { type: 'open' } };
    const b0 = body[at]!, b1 = body[at + 1]!;
    const fin = (b0 & 0x80) !== 0, rsv = (b0 >> 4) & 7, opcode = b0 & 0x0f, masked = (b1 & 0x80) !== 0;
    const len7 = b1 & 0x7f;
    const headerLength = 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (masked ? 4 : 0);
    if (body.length - at < headerLength) return { events, ending: { type: 'open' } };
    const length = len7 === 126 ? body.readUInt16BE(at + 2) : len7 === 127 ? Number(body.readBigUInt64BE(at + 2)) : len7;
    const isControl = opcode >= 8;
    // RSV1 says "compressed", with permessage-deflate agreed, on a message's first frame only (RFC 7692 6).
    const rsvAllowed = deflate && opcode >= 1 && opcode <= 2 ? 4 : 0;
    if ((rsv & ~rsvAllowed) !== 0 || ![0, 1, 2, 8, 9, 10].includes(opcode) || masked) return fail(1002);
    if (isControl && (!fin || length > 125)) return fail(1002);
    if (!isControl && (opcode === 0) === (message === null)) return fail(1002); // CONT without a message, or a new one inside one
    const compressed: boolean = message?.compressed ?? rsv === 4;
    if (!isControl && (message?.size ?? 0) + length > (compressed ? MAX_COMPRESSED : MAX_MESSAGE)) return fail(1009);
    const payloadStart = at + headerLength;
    const available = body.subarray(payloadStart, Math.min(body.length, payloadStart + length));
    if (isControl) {
      if (available.length < length) return { events, ending: { type: 'open' } };
      if (opcode !== 8) {
        events.push({ type: opcode === 9 ? 'ping' : 'pong', data: available.toString('hex') });
      } else {
        if (available.length === 1) return fail(1002);
        if (available.length >= 2 && !validCloseCode(available.readUInt16BE(0))) return fail(1002);
        const reason = available.subarray(2);
        const utf8 = utf8Checker();
        if (!utf8.push(reason) || !utf8.complete) return fail(1007);
        events.push({ type: 'close', code: available.length ? available.readUInt16BE(0) : null, reason: reason.toString('utf8') });
        return { events, ending: { type: 'close' } };
      }
    } else {
      message ??= { opcode, pieces: [], size: 0, utf8: utf8Checker(), compressed };
      // Fail fast: invalid UTF-8 counts as soon as its bytes are there, even before the frame is complete
      // (a compressed message's, once it is inflated).
      if (message.opcode === 1 && !message.compressed && !message.utf8.push(available)) return fail(1007);
      if (available.length < length) return { events, ending: { type: 'open' } };
      message.pieces.push(available);
      message.size += length;
      if (fin) {
        let data: Buffer = Buffer.concat(message.pieces);
        if (message.compressed) {
          const inflated = inflate(data);
          if (inflated === null) return fail(1007);
          if (inflated.length > MAX_MESSAGE) return fail(1009);
          data = inflated;
          if (message.opcode === 1 && !message.utf8.push(data)) return fail(1007);
        }
        if (message.opcode === 1 && !message.utf8.complete) return fail(1007);
        events.push(message.opcode === 1 ? { type: 'text', data: data.toString('utf8') } : { type: 'binary', data: data.toString('hex') });
        message = null;
      }
    }
    at = payloadStart + length;
  }
}

// ---- driving the client

type Observed = Expected | { type: 'open' | 'failure' | 'frame' | 'encoded'; detail?: unknown };

/** The client's events, copied at once (message bytes are only valid until the next receiveData). */
function observed(events: ProtocolEvent[]): Observed[] {
  return events.flatMap((event): Observed[] => {
    switch (event.type) {
      case 'text':
        return messagesOf(event).map((data) => ({ type: 'text' as const, data: data.toString('utf8') }));
      case 'binary':
        return messagesOf(event).map((data) => ({ type: 'binary' as const, data: data.toString('hex') }));
      case 'ping':
      case 'pong':
        return [{ type: event.type, data: event.payload.toString('hex') }];
      case 'close':
        return [{ type: 'close', code: event.code, reason: event.reason }];
      case 'failure':
        return [{ type: 'failure', detail: { kind: event.kind, closeCode: event.closeCode, message: event.message } }];
      default:
        return [{ type: event.type }];
    }
  });
}

type Feed = (connection: ClientConnection, chunk: Buffer) => void;
const correctFeed: Feed = (connection, chunk) => connection.receiveData(chunk);

/** Feed `stream` cut at random points; returns the events and the frames the client sent after its request. */
function drive(stream: Buffer, random: Random, feed: Feed, endWithEof: boolean) {
  const connection = new ClientConnection({ hostHeader: '127.0.0.1:8001', path: '/both', handshakeKey: KEY, extensions: [permessageDeflate] });
  connection.dataToSend(); // the request
  const events: ReturnType<typeof observed> = [];
  const sent: Buffer[] = [];
  const bytewise = stream.length < 400 && random.chance(0.1);
  const cuts = bytewise ? Array.from({ length: stream.length }, (_, i) => i + 1) : [...new Set(Array.from({ length: random.int(10) }, () => random.int(stream.length)))].sort((a, b) => a - b);
  let at = 0;
  for (const cut of [...cuts, stream.length]) {
    if (cut <= at) continue;
    feed(connection, Buffer.from(stream.subarray(at, cut)));
    at = cut;
    events.push(...observed(connection.eventsReceived()));
    sent.push(...connection.dataToSend());
  }
  if (endWithEof) {
    connection.receiveEof();
    events.push(...observed(connection.eventsReceived()));
    sent.push(...connection.dataToSend());
  }
  return { connection, events, sent: parseClientFrames(Buffer.concat(sent)).frames };
}

/** Drive the client with `stream` and hold it to the reference decoder: events, ending and replies. */
function compareWithReference(stream: Buffer, reference: Reference, random: Random, feed: Feed, endWithEof: boolean): string | null {
  let result;
  try {
    result = drive(stream, random, feed, endWithEof);
  } catch (error) {
    return `threw ${(error as Error).stack}`;
  }
  const { connection, events, sent } = result;
  const failureAt = events.findIndex((event) => event.type === 'failure');
  if (failureAt >= 0 && failureAt < events.length - 1) return `events after the failure: ${JSON.stringify(events.slice(failureAt)).slice(0, 300)}`;
  const got = events.filter((event) => event.type !== 'open' && event.type !== 'failure');
  if (JSON.stringify(got) !== JSON.stringify(reference.events)) {
    return `events differ:\n  expected ${JSON.stringify(reference.events).slice(0, 600)}\n  got      ${JSON.stringify(got).slice(0, 600)}`;
  }
  const { failure } = connection;
  const ending = reference.ending;
  const said = failure ? `${failure.kind} ${failure.closeCode}: ${failure.message}` : `${connection.state}, CLOSE received: ${connection.closeReceived !== null}`;
  if (ending.type === 'failure' && (failure?.kind !== 'protocol' || failure.closeCode !== ending.code)) return `expected a failure with ${ending.code}, got ${said}`;
  if (ending.type === 'close' && (failure !== null || connection.closeReceived === null || connection.state !== 'CLOSED')) return `expected a clean close, got ${said}`;
  if (ending.type === 'open' && (endWithEof ? failure?.kind !== 'lost' : failure !== null || connection.state !== 'OPEN')) return `expected ${endWithEof ? 'lost at EOF' : 'still open'}, got ${said}`;
  const replies = reference.events.flatMap((event) => (event.type === 'ping' ? [`${OP.PONG}:${event.data}`] : []));
  const last = reference.events.at(-1);
  if (ending.type === 'close' && last?.type === 'close') {
    replies.push(`${OP.CLOSE}:${last.code === null ? '' : Buffer.concat([Buffer.from([last.code >> 8, last.code & 0xff]), Buffer.from(last.reason)]).toString('hex')}`);
  }
  if (ending.type === 'failure') replies.push(`${OP.CLOSE}:${Buffer.from([ending.code >> 8, ending.code & 0xff]).toString('hex')}`);
  // A failure's CLOSE carries the code and a short reason of the client's choosing: compare the code.
  const sentReplies = sent.map((f, i) => `${f.opcode}:${f.payload.subarray(0, ending.type === 'failure' && i === sent.length - 1 ? 2 : undefined).toString('hex')}`);
  if (JSON.stringify(sentReplies) !== JSON.stringify(replies)) return `replies differ:\n  expected ${JSON.stringify(replies).slice(0, 300)}\n  sent     ${JSON.stringify(sentReplies).slice(0, 300)}`;
  if (sent.some((f) => !f.masked)) return 'an unmasked frame was sent';
  return null;
}

/** One valid case: a description of what went wrong, or null. */
function checkValid(seed: number, feed: Feed): string | null {
  const random = generator(seed);
  const stream = validStream(random);
  const reference = referenceDecode(stream);
  if (reference.ending.type === 'failure') return 'the generator made an invalid stream';
  return compareWithReference(stream, reference, random, feed, false);
}

/** Change one frame as a whole: its opcode, FIN, RSV or mask bit, or its payload cut to 0-3 bytes. */
function mutateFrame(body: Buffer, random: Random): Buffer {
  const frames = parseClientFrames(body).frames;
  const i = random.int(frames.length);
  const { opcode, fin, rsv, payload } = frames[i]!;
  const spec = { fin, rsv, mask: false };
  let newOpcode = opcode, newPayload = payload;
  switch (random.int(5)) {
    case 0: newOpcode = random.int(16); break;
    case 1: spec.fin = !fin; break;
    case 2: spec.rsv = 1 + random.int(7); break;
    case 3: spec.mask = true; break;
    default: newPayload = payload.subarray(0, random.int(4));
  }
  frames[i] = { ...frames[i]!, opcode: newOpcode, payload: newPayload };
  return Buffer.concat(frames.map((f, j) => (j === i ? frame(newOpcode, newPayload, spec) : frame(f.opcode, f.payload, { fin: f.fin, rsv: f.rsv }))));
}

function mutate(stream: Buffer, random: Random): Buffer {
  const headEnd = stream.indexOf('\r\n\r\n') + 4;
  let body = Buffer.from(stream.subarray(headEnd));
  if (random.chance(0.5)) return Buffer.concat([stream.subarray(0, headEnd), mutateFrame(body, random)]);
  for (let n = 1 + random.int(3); n > 0 && body.length > 0; n--) {
    const at = random.int(body.length);
    switch (random.int(5)) {
      case 0:
        body[at]! ^= 1 << random.int(8);
        break;
      case 1:
        body[at] = random.int(256);
        break;
      case 2:
        body = Buffer.concat([body.subarray(0, at), randomBytes(random, 1 + random.int(8)), body.subarray(at)]);
        break;
      case 3:
        body = Buffer.concat([body.subarray(0, at), body.subarray(at + 1 + random.int(16))]);
        break;
      default:
        body[at & ~1]! |= 0x70; // RSV bits on whatever byte is there
    }
  }
  return Buffer.concat([stream.subarray(0, headEnd), body]);
}

/** How the mutated cases ended (printed, to show what the mutations reach). */
const outcomes: Record<string, number> = {};

/** One mutated case: the same comparison, ending with EOF; a description of a broken rule, or null. */
function checkMutated(seed: number, feed: Feed): string | null {
  const random = generator(seed);
  const stream = mutate(validStream(random), random);
  const reference = referenceDecode(stream);
  const { ending } = reference;
  const outcome = ending.type === 'failure' ? `close ${ending.code}` : ending.type === 'close' ? 'clean close' : 'lost at EOF';
  outcomes[outcome] = (outcomes[outcome] ?? 0) + 1;
  return compareWithReference(stream, reference, random, feed, true);
}

/** Run `count` cases from `baseSeed`; the first failure, with the seed that replays it. */
function runCases(baseSeed: number, count: number, check: (seed: number, feed: Feed) => string | null, feed: Feed): string | null {
  for (let i = 0; i < count; i++) {
    const seed = (baseSeed + i) >>> 0;
    const problem = check(seed, feed);
    if (problem !== null) return `case seed ${seed} (WSC_FUZZ_SEED=${seed}): ${problem}`;
  }
  return null;
}

const baseSeed = process.env.WSC_FUZZ_SEED ? Number(process.env.WSC_FUZZ_SEED) : Math.floor(Math.random() * 2 ** 32);
const replaying = Boolean(process.env.WSC_FUZZ_SEED);

t.test(`valid streams cut anywhere give exactly the decoder's events (seed ${baseSeed})`, async (t) => {
  const problem = runCases(baseSeed, replaying ? 1 : CASES, checkValid, correctFeed);
  t.equal(problem, null, `${replaying ? 1 : CASES} cases`);
});

t.test(`mutated streams: the same events, then the failure and close code the decoder predicts, or a clean close; never an exception (seed ${baseSeed})`, async (t) => {
  const problem = runCases(baseSeed, replaying ? 1 : CASES, checkMutated, correctFeed);
  t.comment(`outcomes: ${JSON.stringify(outcomes)}`);
  t.equal(problem, null, `${replaying ? 1 : CASES} cases`);
});

t.test('the net catches a broken decoder: one that loses a chunk of a single byte', async (t) => {
  const losesSingleBytes: Feed = (connection, chunk) => {
    if (chunk.length !== 1) connection.receiveData(chunk);
  };
  const problem = runCases(1, 2_000, checkValid, losesSingleBytes);
  t.match(problem, /^case seed \d+ \(WSC_FUZZ_SEED=\d+\): (events|replies) differ/, 'reported, with the seed to replay it');
});

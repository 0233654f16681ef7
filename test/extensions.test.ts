// The protocol core with stand-in extensions (after python-websockets' tests of its Extension interface):
// the core negotiates through ExtensionFactory, leaves the RSV bits an agreed extension owns to it, calls
// decode() on a message whose first frame sets them and encode() on every message sent, and knows nothing of
// what they do. permessage-deflate is one such extension (permessage-deflate.test.ts).

import t from 'tap';
import { ClientConnection, ExtensionError, messagesOf, type Extension, type ExtensionFactory, type FrameHeader, type MessageBytes, type ProtocolEvent } from '../client.ts';
import { OP, cont, parseClientFrames, ping, text, validResponse } from './support/fake-server.ts';

const KEY = 'dGhlIHNhbXBsZSBub25jZQ==';

/** What the stand-ins were asked, in order. */
const calls: string[] = [];

/**
 * A stand-in extension owning one RSV bit: its messages are bytes moved by `shift` (decode takes it off, encode
 * puts it on), or reversed. It refuses its bit on control frames, and a message holding a 0xEE byte.
 */
class StandIn implements Extension {
  readonly name: string;
  readonly agreed: string;
  readonly rsv: number;
  private readonly transform: (bytes: Buffer, direction: 1 | -1) => Buffer;
  private out: Buffer = Buffer.alloc(0);

  constructor(name: string, rsv: number, agreed: string, transform: (bytes: Buffer, direction: 1 | -1) => Buffer) {
    [this.name, this.rsv, this.agreed, this.transform] = [name, rsv, agreed, transform];
  }

  checkFrame(header: FrameHeader): string | null {
    return (header.rsv & this.rsv) !== 0 && header.opcode >= 8 ? `${this.name}: its bit on a control frame` : null;
  }

  wireLimit(limit: number): number {
    return 2 * limit;
  }

  decode(received: MessageBytes, limit: number): MessageBytes {
    const payload = received.bytes.subarray(received.ranges[0], received.ranges[1]);
    calls.push(`${this.name}.decode ${payload.toString('latin1')} (limit ${limit})`);
    if (payload.includes(0xee)) throw new ExtensionError(`${this.name} cannot decode 0xEE`, 1007);
    this.out = this.transform(payload, -1);
    return { bytes: this.out, ranges: [0, this.out.length] };
  }

  encode(payload: Buffer): { payload: Buffer; rsv: number } {
    calls.push(`${this.name}.encode ${payload.toString('latin1')}`);
    return payload.length > 3 ? { payload: this.transform(payload, 1), rsv: this.rsv } : { payload, rsv: 0 };
  }

  release(): void {
    calls.push(`${this.name}.release`);
  }

  get heldBytes(): number {
    return this.out.length;
  }
}

const shiftBytes = (bytes: Buffer, direction: 1 | -1) => Buffer.from(bytes.map((byte) => (byte + direction + 256) % 256));
const reverseBytes = (bytes: Buffer) => Buffer.from(bytes).reverse();

const shiftFactory: ExtensionFactory = {
  name: 'x-shift',
  offer: 'x-shift; by=1',
  accept: (params) => (params.length === 0 ? new StandIn('x-shift', 0b001, 'x-shift', shiftBytes) : `x-shift takes no parameter, got ${params[0]![0]}`),
};
const reverseFactory: ExtensionFactory = {
  name: 'x-reverse',
  offer: 'x-reverse',
  accept: () => new StandIn('x-reverse', 0b010, 'x-reverse; whole', reverseBytes),
};

function open(answer: string | null, maxMessageSize = 1000) {
  const connection = new ClientConnection({ hostHeader: 'example.com', path: '/both', handshakeKey: KEY, extensions: [shiftFactory, reverseFactory], maxMessageSize, traceFrames: false });
  const request = Buffer.concat(connection.dataToSend()).toString('latin1');
  connection.receiveData(Buffer.from(validResponse(KEY, answer === null ? [] : [`Sec-WebSocket-Extensions: ${answer}`])));
  calls.length = 0;
  return { connection, request, events: connection.eventsReceived() };
}

const texts = (events: ProtocolEvent[]) => events.flatMap((e) => (e.type === 'text' ? messagesOf(e).map((data) => data.toString('latin1')) : []));
const sentFrames = (connection: ClientConnection) => parseClientFrames(Buffer.concat(connection.dataToSend())).frames;
const shifted = (textBody: string) => shiftBytes(Buffer.from(textBody, 'latin1'), 1);

t.test('the request offers each factory\'s offer; the open event names what was agreed, in the server\'s order', async (t) => {
  const { request, events, connection } = open('x-reverse, x-shift');
  t.match(request, /\r\nSec-WebSocket-Extensions: x-shift; by=1, x-reverse\r\n/);
  t.equal(connection.state, 'OPEN');
  t.same(events, [{ type: 'open', subprotocol: null, extensions: ['x-reverse; whole', 'x-shift'] }]);
});

t.test('the answer is held to the offer: a factory refuses parameters, an extension not offered or agreed twice fails the handshake', async (t) => {
  for (const [answer, error] of [
    ['x-shift; by=2', 'x-shift takes no parameter, got by'],
    ['x-other', 'server sent Sec-WebSocket-Extensions: x-other, which the client did not offer'],
    ['x-shift, x-shift', 'server accepted x-shift more than once'],
  ] as const) {
    const { connection } = open(answer);
    t.equal(connection.failure?.message, error, answer);
    t.equal(connection.failure?.kind, 'handshake');
  }
});

t.test('decode: a message whose first frame sets the owned bit is the extension\'s; others pass as they are; UTF-8 is checked once decoded', async (t) => {
  const { connection } = open('x-shift');
  // "\xc3\xa9" (é) shifted by one is "\xc4\xaa", which is valid UTF-8 too; "\x7f" shifted is "\x80", invalid alone:
  // the encoded bytes are not checked as text, only what they decode to.
  connection.receiveData(Buffer.concat([text(shifted('caf\xc3\xa9 \x7f'), { rsv: 0b001 }), text('plain')]));
  t.same(texts(connection.eventsReceived()), ['caf\xc3\xa9 \x7f', 'plain']);
  t.same(calls, ['x-shift.release', 'x-shift.decode dbg\xc4\xaa!\x80 (limit 1000)'], 'released at each receiveData, then asked to decode with the limit');
  // Fragments: the bit on the first frame only; the whole message is decoded once, a PING between its fragments.
  calls.length = 0;
  const body = shifted('fragmented');
  connection.receiveData(Buffer.concat([text(body.subarray(0, 4), { rsv: 0b001, fin: false }), ping('p'), cont(body.subarray(4))]));
  t.same(texts(connection.eventsReceived()), ['fragmented']);
  t.same(calls.filter((call) => call.includes('decode')), ['x-shift.decode gsbhnfoufe (limit 1000)']);
});

t.test('two extensions: decoded last-agreed first, encoded in the order agreed (RFC 6455 section 9)', async (t) => {
  const { connection } = open('x-shift, x-reverse');
  // Sent as shift, then reverse: so received reversed first, then shifted back.
  const wire = reverseBytes(shifted('both ways'));
  connection.receiveData(text(wire, { rsv: 0b011 }));
  t.same(texts(connection.eventsReceived()), ['both ways']);
  t.same(calls.filter((call) => call.includes('decode')).map((call) => call.split(' ')[0]), ['x-reverse.decode', 'x-shift.decode']);
  calls.length = 0;
  t.ok(connection.sendText(Buffer.from('outgoing')));
  t.ok(connection.sendText(Buffer.from('abc')));
  const [long, short] = sentFrames(connection);
  t.same(calls.map((call) => call.split(' ')[0]), ['x-shift.encode', 'x-reverse.encode', 'x-shift.encode', 'x-reverse.encode']);
  t.same([long?.rsv, long?.payload.toString('latin1')], [0b011, reverseBytes(shifted('outgoing')).toString('latin1')], 'each extension\'s bit, and its encoding');
  t.same([short?.rsv, short?.payload.toString()], [0, 'abc'], 'an extension may leave a message as it is');
});

t.test('RSV bits: an unowned bit is refused (1002) naming what was agreed; an extension refuses its own bit where it does not belong', async (t) => {
  const cases: [string | null, Buffer, RegExp][] = [
    [null, text('x', { rsv: 0b001 }), /^frame with reserved bits set \(RSV=1\) but no extension negotiated$/],
    ['x-shift', text('x', { rsv: 0b010 }), /^frame with reserved bits set \(RSV=2\) but only x-shift \(RSV3\) negotiated$/],
    ['x-shift, x-reverse', text('x', { rsv: 0b100 }), /but only x-shift \(RSV3\), x-reverse \(RSV2\) negotiated$/],
    ['x-shift', ping('p', { rsv: 0b001 }), /^x-shift: its bit on a control frame$/],
  ];
  for (const [answer, frame, error] of cases) {
    const { connection } = open(answer);
    connection.receiveData(frame);
    t.match(connection.failure?.message, error, String(answer));
    t.same(sentFrames(connection).map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[OP.CLOSE, 1002]]);
  }
});

t.test('the limits: the extension says what a message may take on the wire; it decodes within --max-message-size; its refusal closes with its code', async (t) => {
  const wide = open('x-shift', 10).connection;
  wide.receiveData(text(shifted('0123456789'.repeat(2)), { rsv: 0b001 }));
  t.equal(wide.failure, null, '20 bytes on the wire are within x-shift\'s wire limit for 10');
  t.same(calls.filter((call) => call.includes('decode')), ['x-shift.decode 123456789:123456789: (limit 10)'], 'decoded with the limit itself');
  const over = open('x-shift', 10).connection;
  over.receiveData(text(shifted('x'.repeat(21)), { rsv: 0b001 }));
  t.equal(over.failure?.message, 'x-shift message of 21 bytes exceeds the limit of 20 bytes on the wire');
  t.equal(over.failure?.closeCode, 1009);
  const refused = open('x-shift').connection;
  refused.receiveData(Buffer.concat([text(Buffer.from([0xee]), { rsv: 0b001 }), text('after')]));
  t.same([refused.failure?.message, refused.failure?.closeCode], ['x-shift cannot decode 0xEE', 1007]);
  t.same(texts(refused.eventsReceived()), [], 'nothing after the refusal');
  t.same(sentFrames(refused).map((f) => [f.opcode, f.payload.readUInt16BE(0)]), [[OP.CLOSE, 1007]], 'CLOSE with the extension\'s code');
});

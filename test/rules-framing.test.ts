// Autobahn-style sections 1 (framing), 2 (ping/pong), 3 (reserved bits), 4 (reserved opcodes) and
// 5 (fragmentation), played by the raw-TCP fake server to the real client.

import t from 'tap';
import { binary, close, cont, frame, ping, pong, text } from './support/fake-server.ts';
import { runRuleTable, type RuleCase } from './support/rules.ts';

const pattern = (size: number) => Buffer.from(Array.from({ length: size }, (_, i) => 0x21 + (i % 90)));
const bytes = (size: number) => Buffer.from(Array.from({ length: size }, (_, i) => i % 256));
/** How a binary message is shown: size and the first 16 bytes in hex. */
const binaryLine = (data: Buffer) =>
  `[binary ${data.length} byte${data.length === 1 ? '' : 's'}${data.length ? ': ' + [...data.subarray(0, 16)].map((b) => b.toString(16).padStart(2, '0')).join(' ') : ''}${data.length > 16 ? ' …' : ''}]\n`;

/** A violation: a message before it is printed, nothing after it is acted on, CLOSE with the code, exit 1. */
function violation(id: string, name: string, bad: Buffer, code: number, stderr: RegExp): RuleCase {
  return {
    id,
    name,
    send: [text('before'), bad, text('after'), ping('after')],
    expect: { stdout: 'before\n', close: code, status: 1, stderr },
  };
}

const cases: RuleCase[] = [];

// 1. Framing: text and binary messages at the length-encoding boundaries.
for (const size of [0, 125, 126, 127, 128, 65535, 65536]) {
  cases.push({ id: `1.1.${size}`, name: `text message of ${size} bytes`, send: [text(pattern(size)), close(1000)], expect: { stdout: pattern(size).toString() + '\n', close: 1000, status: 0 } });
  cases.push({ id: `1.2.${size}`, name: `binary message of ${size} bytes`, send: [binary(bytes(size)), close(1000)], expect: { stdout: binaryLine(bytes(size)), close: 1000, status: 0 } });
}
cases.push({ id: '1.1.long', name: 'a short text in the 64-bit length form', send: [text('short', { long: true }), close(1000)], expect: { stdout: 'short\n', close: 1000, status: 0 } });
cases.push({ id: '1.3', name: 'many frames in one write', send: [...Array.from({ length: 100 }, (_, i) => text(`m${i}`)), close(1000)], expect: { stdout: Array.from({ length: 100 }, (_, i) => `m${i}\n`).join(''), close: 1000, status: 0 } });

// 2. Ping/pong.
cases.push({ id: '2.1', name: 'empty PING', send: [ping(), close(1000)], expect: { stdout: '', pongs: [''], close: 1000, status: 0 } });
cases.push({ id: '2.2', name: 'PING with text payload', send: [ping('Hello, world!'), close(1000)], expect: { stdout: '', pongs: ['Hello, world!'], close: 1000, status: 0 } });
cases.push({ id: '2.3', name: 'PING with binary payload', send: [ping(Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])), close(1000)], expect: { stdout: '', pongs: [Buffer.from([0x00, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0x00, 0xff])], close: 1000, status: 0 } });
cases.push({ id: '2.4', name: 'PING with a 125-byte payload', send: [ping(bytes(125)), close(1000)], expect: { stdout: '', pongs: [bytes(125)], close: 1000, status: 0 } });
cases.push(violation('2.5', 'PING with a 126-byte payload', ping(bytes(126)), 1002, /PING frame payload of 126 bytes/));
cases.push({ id: '2.6', name: 'PING with a 125-byte payload delivered byte by byte', send: [ping(bytes(125)), close(1000)], deliveries: ['bytewise'], expect: { stdout: '', pongs: [bytes(125)], close: 1000, status: 0 } });
cases.push({ id: '2.7', name: 'unsolicited PONG is ignored', send: [pong('unasked'), text('still fine'), close(1000)], expect: { stdout: 'still fine\n', close: 1000, status: 0 } });
cases.push({ id: '2.8', name: 'unsolicited PONG, then PING', send: [pong('unasked'), ping('ping payload'), close(1000)], expect: { stdout: '', pongs: ['ping payload'], close: 1000, status: 0 } });
cases.push({ id: '2.10', name: 'ten PINGs get ten PONGs in order', send: [...Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`)), close(1000)], expect: { stdout: '', pongs: Array.from({ length: 10 }, (_, i) => `payload-${i}`), close: 1000, status: 0 } });
cases.push({ id: '2.11', name: 'ten PINGs byte by byte', send: [...Array.from({ length: 10 }, (_, i) => ping(`payload-${i}`)), close(1000)], deliveries: ['bytewise'], expect: { stdout: '', pongs: Array.from({ length: 10 }, (_, i) => `payload-${i}`), close: 1000, status: 0 } });
cases.push(violation('2.12', 'PONG with a 126-byte payload', pong(bytes(126)), 1002, /PONG frame payload of 126 bytes/));

// 3. Reserved bits (no extension was negotiated).
for (let rsv = 1; rsv <= 7; rsv++) cases.push(violation(`3.${rsv}`, `text frame with RSV=${rsv}`, text('x', { rsv }), 1002, new RegExp(`reserved bits set \\(RSV=${rsv}\\)`)));
cases.push(violation('3.8', 'binary frame with RSV=2', binary(bytes(8), { rsv: 2 }), 1002, /reserved bits/));
cases.push(violation('3.9', 'PING with RSV=4', ping('p', { rsv: 4 }), 1002, /reserved bits/));
cases.push(violation('3.10', 'CLOSE with RSV=1', frame(8, Buffer.from([0x03, 0xe8]), { rsv: 1 }), 1002, /reserved bits/));

// 4. Reserved opcodes.
for (const opcode of [3, 4, 5, 6, 7, 11, 12, 13, 14, 15]) {
  cases.push(violation(`4.${opcode}`, `reserved opcode ${opcode}`, frame(opcode, 'payload'), 1002, new RegExp(`reserved opcode ${opcode}`)));
}
cases.push(violation('4.16', 'reserved opcode 5 with an empty payload', frame(5, ''), 1002, /reserved opcode 5/));
cases.push(violation('4.17', 'masked frame from the server', text('masked', { mask: true }), 1002, /masked frame from the server/));

// 5. Fragmentation.
cases.push(violation('5.1', 'fragmented PING', ping('frag', { fin: false }), 1002, /fragmented PING frame/));
cases.push(violation('5.2', 'fragmented PONG', pong('frag', { fin: false }), 1002, /fragmented PONG frame/));
cases.push({ id: '5.3', name: 'text in two fragments', send: [text('fragment1', { fin: false }), cont('fragment2'), close(1000)], expect: { stdout: 'fragment1fragment2\n', close: 1000, status: 0 } });
cases.push({ id: '5.4', name: 'PING between fragments', send: [text('fragment1', { fin: false }), ping('mid'), cont('fragment2'), close(1000)], expect: { stdout: 'fragment1fragment2\n', pongs: ['mid'], close: 1000, status: 0 } });
cases.push({ id: '5.5', name: 'PONG between fragments is ignored', send: [text('fragment1', { fin: false }), pong('mid'), cont('fragment2'), close(1000)], expect: { stdout: 'fragment1fragment2\n', close: 1000, status: 0 } });
cases.push({ id: '5.6', name: 'text in one-byte fragments with PINGs between', send: [text('F', { fin: false }), ...[...'ragmented'].flatMap((c, i) => [ping(`p${i}`), cont(c, { fin: i === 8 })]), close(1000)], expect: { stdout: 'Fragmented\n', pongs: [...'ragmented'].map((_, i) => `p${i}`), close: 1000, status: 0 } });
cases.push({ id: '5.7', name: 'empty fragments', send: [text('', { fin: false }), cont('', { fin: false }), cont('abc', { fin: false }), cont(''), close(1000)], expect: { stdout: 'abc\n', close: 1000, status: 0 } });
cases.push({ id: '5.8', name: 'binary in fragments', send: [binary(bytes(10), { fin: false }), cont(bytes(20).subarray(10)), close(1000)], expect: { stdout: binaryLine(bytes(20)), close: 1000, status: 0 } });
cases.push(violation('5.9', 'CONTINUATION with no message in progress', cont('orphan'), 1002, /CONTINUATION frame without a message in progress/));
cases.push(violation('5.10', 'unfinished CONTINUATION with no message in progress', cont('orphan', { fin: false }), 1002, /CONTINUATION frame without a message in progress/));
cases.push({ id: '5.11', name: 'CONTINUATION after a complete message', send: [text('done'), cont('extra'), text('after')], expect: { stdout: 'done\n', close: 1002, status: 1, stderr: /CONTINUATION frame without a message in progress/ } });
cases.push({ id: '5.12', name: 'new TEXT while a message is in progress', send: [text('before'), text('part', { fin: false }), text('new'), text('after')], expect: { stdout: 'before\n', close: 1002, status: 1, stderr: /new TEXT frame while a fragmented message is in progress/ } });
cases.push({ id: '5.13', name: 'new BINARY while a text message is in progress', send: [text('part', { fin: false }), binary('new')], expect: { stdout: '', close: 1002, status: 1, stderr: /new BINARY frame while a fragmented message is in progress/ } });
cases.push({ id: '5.14', name: 'CLOSE in the middle of a fragmented message is echoed normally', send: [text('part', { fin: false }), close(1000, 'mid-message'), cont('never')], expect: { stdout: '', close: 1000, status: 0, stderr: /closed by server: 1000 mid-message/ } });
cases.push({
  id: '5.15',
  name: 'the PONG for a PING between fragments is sent at once, before the message completes',
  deliveries: ['whole'],
  script: async (session) => {
    await session.send([text('first half ', { fin: false }), ping('now')]);
    // The final fragment is only sent once the PONG has arrived: a client that answers late never gets it.
    await session.waitForFrame((f) => f.opcode === 10, 3000);
    await session.send([cont('second half'), close(1000)]);
    await session.waitForClose();
    session.end();
  },
  expect: { stdout: 'first half second half\n', pongs: ['now'], close: 1000, status: 0 },
});

t.test('sections 1-5: framing, ping/pong, reserved bits and opcodes, fragmentation', async (t) => {
  await runRuleTable(t, cases);
});

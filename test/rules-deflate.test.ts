// permessage-deflate (RFC 7692) in the spirit of Autobahn|Testsuite's sections 12 and 13: each negotiation
// outcome, the RSV1 rules, context takeover, window bits, fragments, bombs, and what the client sends. The
// raw-TCP fake server compresses with node:zlib (ServerDeflater), and what the client sends is inflated by
// node:zlib with the RFC's tail rule: the client's own decoder is never its own oracle.

import t, { type Test } from 'tap';
import * as zlib from 'node:zlib';
import { OP, ServerDeflater, binary, close, cont, frame, inflateClientPayload, ping, runAgainstFakeServer, text, validResponse } from './support/fake-server.ts';
import { runRuleTable, type RuleCase } from './support/rules.ts';

const cases: RuleCase[] = [];
const withExtensions = (value: string) => (key: string) => validResponse(key, [`Sec-WebSocket-Extensions: ${value}`]);
const agreed = withExtensions('permessage-deflate');
const compressed = (payload: Buffer | string, deflater = new ServerDeflater()) => text(deflater.compress(payload), { rsv: 4 });
const noFrames = { stdout: '', close: 'none' as const, status: 1 };

// ---- negotiation (RFC 7692 section 7.1)

cases.push({
  id: 'd.1', name: 'permessage-deflate agreed: a compressed message is inflated; the status line says so',
  respond: agreed, send: [compressed('hello, compressed ✓'), close(1000)],
  expect: { stdout: 'hello, compressed ✓\n', close: 1000, status: 0, stderr: /connected to ws:\/\/127\.0\.0\.1:\d+\/consumer with permessage-deflate\n/ },
});
cases.push({
  id: 'd.2', name: 'every parameter agreed is shown',
  respond: withExtensions('permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9'),
  send: [compressed('x', new ServerDeflater({ takeover: false, windowBits: 10 })), close(1000)],
  expect: { stdout: 'x\n', close: 1000, status: 0, stderr: /with permessage-deflate; server_no_context_takeover; client_no_context_takeover; server_max_window_bits=10; client_max_window_bits=9\n/ },
});
cases.push({ id: 'd.3', name: 'a window size as a quoted-string', respond: withExtensions('permessage-deflate; server_max_window_bits="12"'), send: [compressed('q'), close(1000)], expect: { stdout: 'q\n', close: 1000, status: 0, stderr: /server_max_window_bits=12/ } });
for (const bits of [8, 9, 15]) {
  const deflater = new ServerDeflater({ windowBits: bits });
  const messages = [`window ${bits}: ${'abcdefgh'.repeat(200)}`, `again: ${'abcdefgh'.repeat(200)}`];
  cases.push({
    id: `d.4.${bits}`, name: `server_max_window_bits=${bits}`, respond: withExtensions(`permessage-deflate; server_max_window_bits=${bits}`),
    send: [...messages.map((m) => compressed(m, deflater)), close(1000)], expect: { stdout: messages.join('\n') + '\n', close: 1000, status: 0 },
  });
}
for (const [id, answer, error] of [
  ['d.5', 'permessage-deflate, permessage-deflate', /server accepted permessage-deflate more than once/],
  ['d.6', 'permessage-deflate; foo', /foo is not a permessage-deflate parameter/],
  ['d.7', 'permessage-deflate; server_no_context_takeover; server_no_context_takeover', /server_no_context_takeover given twice/],
  ['d.8', 'permessage-deflate; client_no_context_takeover=true', /client_no_context_takeover takes no value, got "true"/],
  ['d.9', 'permessage-deflate; server_max_window_bits=7', /server_max_window_bits must be 8 to 15, got "7"/],
  ['d.10', 'permessage-deflate; server_max_window_bits=16', /must be 8 to 15, got "16"/],
  ['d.11', 'permessage-deflate; server_max_window_bits=010', /must be 8 to 15, got "010"/],
  ['d.12', 'permessage-deflate; server_max_window_bits=ten', /must be 8 to 15, got "ten"/],
  ['d.12b', 'permessage-deflate; server_max_window_bits=15x', /must be 8 to 15, got "15x"/],
  ['d.12c', 'permessage-deflate; client_max_window_bits=150', /client_max_window_bits must be 8 to 15, got "150"/],
  ['d.12d', 'permessage-deflate; server_max_window_bits=" 9"', /must be 8 to 15, got " 9"/],
  ['d.13', 'permessage-deflate; server_max_window_bits', /server_max_window_bits must be 8 to 15, got no value/],
  ['d.14', 'permessage-deflate; client_max_window_bits', /client_max_window_bits must be 8 to 15, got no value/],
  ['d.15', 'permessage-deflate, x-webkit-deflate-frame', /server sent Sec-WebSocket-Extensions: x-webkit-deflate-frame, which the client did not offer/],
] as const) {
  cases.push({ id, name: `the handshake fails on "${answer}"`, respond: withExtensions(answer), send: [compressed('never')], expect: { ...noFrames, stderr: error } });
}

// ---- receiving (RFC 7692 sections 6 and 7.2)

{
  // The server refers back into the messages before (context takeover, the default).
  const deflater = new ServerDeflater();
  const messages = ['{"price": 101.25, "symbol": "ACME"}', '{"price": 101.50, "symbol": "ACME"}', '{"price": 101.75, "symbol": "ACME"}', '{"price": 102.00, "symbol": "ACME"}'];
  cases.push({ id: 'd.20', name: 'context takeover across four messages', respond: agreed, send: [...messages.map((m) => compressed(m, deflater)), close(1000)], expect: { stdout: messages.join('\n') + '\n', close: 1000, status: 0 } });
  const fresh = new ServerDeflater({ takeover: false });
  cases.push({ id: 'd.21', name: 'server_no_context_takeover: each message on its own', respond: withExtensions('permessage-deflate; server_no_context_takeover'), send: [...messages.map((m) => compressed(m, fresh)), close(1000)], expect: { stdout: messages.join('\n') + '\n', close: 1000, status: 0 } });
  const cheat = new ServerDeflater();
  const [first, second] = [cheat.compress(messages[0]!), cheat.compress(messages[1]!)];
  cases.push({
    id: 'd.22', name: 'server_no_context_takeover, but the server refers back anyway: 1007',
    respond: withExtensions('permessage-deflate; server_no_context_takeover'), send: [text(first, { rsv: 4 }), text(second, { rsv: 4 })],
    expect: { stdout: `${messages[0]}\n`, close: 1007, status: 1, stderr: /compressed message does not inflate: invalid distance too far back/ },
  });
}
{
  // A compressed message in three fragments, cut through the compressed bytes (and so through the
  // characters they inflate to), with a PING between the fragments: RSV1 on the first only.
  const message = 'żółw 🐢 — '.repeat(40);
  const bytes = new ServerDeflater().compress(message);
  const [a, b] = [Math.floor(bytes.length / 3), Math.floor((2 * bytes.length) / 3)];
  cases.push({
    id: 'd.23', name: 'fragments of a compressed message, a PING between them',
    respond: agreed, send: [text(bytes.subarray(0, a), { rsv: 4, fin: false }), ping('between'), cont(bytes.subarray(a, b), { fin: false }), cont(bytes.subarray(b)), close(1000)],
    expect: { stdout: `${message}\n`, pongs: ['between'], close: 1000, status: 0 },
  });
}
cases.push({
  id: 'd.24', name: 'uncompressed messages (RSV1 clear) between compressed ones',
  respond: agreed, send: [compressed('one'), text('two, as it is'), compressed('three', new ServerDeflater()), close(1000)],
  expect: { stdout: 'one\ntwo, as it is\nthree\n', close: 1000, status: 0 },
});
cases.push({ id: 'd.25', name: 'an empty compressed message', respond: agreed, send: [compressed(''), close(1000)], expect: { stdout: '\n', close: 1000, status: 0 } });
cases.push({ id: 'd.26', name: 'a compressed binary message', respond: agreed, send: [binary(new ServerDeflater().compress(Buffer.from([0, 1, 2, 0xff])), { rsv: 4 }), close(1000)], expect: { stdout: '[binary 4 bytes: 00 01 02 ff]\n', close: 1000, status: 0 } });
{
  // A sender may end a message with a final block (BFINAL=1) instead of the sync flush (RFC 7692 7.2.3.5).
  const final = zlib.deflateRawSync(Buffer.from('ended with a final block'));
  cases.push({ id: 'd.27', name: 'a message ending in a BFINAL block', respond: agreed, send: [text(final, { rsv: 4 }), close(1000)], expect: { stdout: 'ended with a final block\n', close: 1000, status: 0 } });
}
cases.push({ id: 'd.30', name: 'RSV1 on a PING: control frames are never compressed', respond: agreed, send: [frame(OP.PING, 'p', { rsv: 4 })], expect: { stdout: '', close: 1002, status: 1, stderr: /RSV1 set on a PING frame/ } });
cases.push({ id: 'd.31', name: 'RSV1 on a CONTINUATION frame', respond: agreed, send: [text('frag', { fin: false }), cont('ment', { rsv: 4 })], expect: { stdout: '', close: 1002, status: 1, stderr: /RSV1 set on a CONTINUATION frame/ } });
cases.push({ id: 'd.32', name: 'RSV1 without permessage-deflate agreed', send: [compressed('x')], expect: { stdout: '', close: 1002, status: 1, stderr: /reserved bits set \(RSV=4\) but no extension negotiated/ } });
cases.push({ id: 'd.33', name: 'RSV2 with permessage-deflate agreed', respond: agreed, send: [text('x', { rsv: 2 })], expect: { stdout: '', close: 1002, status: 1, stderr: /reserved bits set \(RSV=2\) but only permessage-deflate \(RSV1\) negotiated/ } });
cases.push({ id: 'd.34', name: 'data that does not inflate', respond: agreed, send: [text(Buffer.from([0xff, 0xff, 0xff, 0xff]), { rsv: 4 })], expect: { stdout: '', close: 1007, status: 1, stderr: /compressed message does not inflate/ } });
cases.push({
  id: 'd.35', name: 'a compressed text message that inflates to invalid UTF-8', respond: agreed,
  send: [compressed('good'), text(new ServerDeflater().compress(Buffer.from([0x61, 0xc0, 0x80])), { rsv: 4 })],
  expect: { stdout: 'good\n', close: 1007, status: 1, stderr: /invalid UTF-8 in a text message/ },
});
{
  // A decompression bomb: 16 MiB of zeros compress to about 16 KiB. The limit stops it as it inflates.
  const bomb = new ServerDeflater().compress(Buffer.alloc(16 * 1024 * 1024));
  const elapsedUnder = (ms: number) => (result: { run: { elapsedMs(): number } }, t: Test) => t.ok(result.run.elapsedMs() < ms, `refused in ${result.run.elapsedMs()} ms`);
  cases.push({
    id: 'd.40', name: 'a bomb in one frame: 1009 at the limit, not after inflating it all', respond: agreed, args: ['--max-message-size', '1000000'], deliveries: ['whole'],
    send: [text(bomb, { rsv: 4 })], expect: { stdout: '', close: 1009, status: 1, stderr: /message inflates past the limit of 1000000 bytes/, also: elapsedUnder(3000) },
  });
  const pieces = Array.from({ length: 1000 }, (_, i) => bomb.subarray(Math.floor((i * bomb.length) / 1000), Math.floor(((i + 1) * bomb.length) / 1000)));
  cases.push({
    id: 'd.41', name: 'the same bomb in a thousand small fragments', respond: agreed, args: ['--max-message-size', '1000000'], deliveries: ['whole'],
    send: [text(pieces[0]!, { rsv: 4, fin: false }), ...pieces.slice(1).map((piece, i) => cont(piece, { fin: i === pieces.length - 2 }))],
    expect: { stdout: '', close: 1009, status: 1, stderr: /message inflates past the limit of 1000000 bytes/, also: elapsedUnder(3000) },
  });
}
cases.push({
  id: 'd.42', name: 'a compressed message announcing more than it could take on the wire', respond: agreed, args: ['--max-message-size', '1000'], deliveries: ['whole'],
  send: [text('', { rsv: 4, announce: 2000 })], expect: { stdout: '', close: 1009, status: 1, stderr: /permessage-deflate message of 2000 bytes exceeds the limit of 1069 bytes on the wire/ },
});

t.test('permessage-deflate rules', async (t) => {
  await runRuleTable(t, cases);
});

// ---- sending

/** A producer's frames, with permessage-deflate agreed as `answer` says. */
async function producerFrames(answer: string, input: string, extra: string[] = []) {
  const result = await runAgainstFakeServer(async (session) => {
    await session.waitForClose();
    await session.send(close(1000));
    session.end();
  }, ['producer', ...extra], { input, respond: withExtensions(answer) });
  return result;
}

t.test('the client compresses its own messages when it pays, with RSV1 on them; short ones, PONG and CLOSE never', async (t) => {
  const long = `${'a compressible line, '.repeat(200)}✓`;
  const result = await producerFrames('permessage-deflate', `short\n${long}\n`);
  t.equal(result.status, 0, result.stderr);
  const [short, big, closeFrame] = result.frames;
  t.same([short?.opcode, short?.rsv, short?.payload.toString()], [OP.TEXT, 0, 'short'], 'under 1 KiB: sent as it is');
  t.equal(big?.rsv, 4, 'RSV1 on the compressed one');
  t.ok(big && big.payload.length < long.length / 4, `compressed to ${big?.payload.length} bytes`);
  t.equal(inflateClientPayload(big!.payload).toString(), long, 'zlib inflates it to the line');
  t.same([closeFrame?.opcode, closeFrame?.rsv], [OP.CLOSE, 0], 'the CLOSE is not compressed');
});

t.test('client_max_window_bits: the client keeps to the window the server allows; 8, which zlib cannot keep, means none', async (t) => {
  const long = Array.from({ length: 300 }, (_, i) => `word${i % 37} `).join('').repeat(8);
  const ten = await producerFrames('permessage-deflate; client_max_window_bits=10', `${long}\n`);
  t.equal(ten.frames[0]?.rsv, 4);
  t.equal(inflateClientPayload(ten.frames[0]!.payload, 10).toString(), long, 'inflates with a 1 KiB window');
  const eight = await producerFrames('permessage-deflate; client_max_window_bits=8', `${long}\n`);
  t.same([eight.frames[0]?.rsv, eight.frames[0]?.payload.toString()], [0, long], 'sent uncompressed');
});

t.test('-v shows RSV1 on each frame and a compressed message\'s sizes both ways', async (t) => {
  const long = 'to be compressed '.repeat(100);
  const result = await runAgainstFakeServer(async (session) => {
    await session.waitForFrame((f) => f.opcode === OP.TEXT);
    await session.send(compressed('inflate me '.repeat(50)));
    await session.waitForClose();
    await session.send(close(1000));
    session.end();
  }, ['both', '-v', '-1'], { input: `${long}\n`, respond: agreed });
  t.equal(result.status, 0, result.stderr);
  t.match(result.stderr, /wsc: < TEXT fin=1 rsv=100 len=\d+ unmasked\nwsc: < message of 550 bytes, \d+ on the wire with permessage-deflate \(\d+\.\d:1\)/);
  t.match(result.stderr, /wsc: > message of 1700 bytes, \d+ on the wire with permessage-deflate \(\d+\.\d:1\)\nwsc: > TEXT fin=1 rsv=100 len=\d+ masked/);
});

t.test('--json: the open event names the extensions agreed', async (t) => {
  const result = await runAgainstFakeServer(async (session) => {
    await session.send(close(1000));
    await session.waitForClose();
    session.end();
  }, ['consumer', '--json'], { respond: withExtensions('permessage-deflate; server_max_window_bits=11') });
  t.match(JSON.parse(result.stdout.split('\n')[0]!), { type: 'open', extensions: 'permessage-deflate; server_max_window_bits=11' });
});

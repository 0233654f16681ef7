// Autobahn-style sections 7 (close handling) and 9 (limits), plus the handshake checks and connection
// faults, played by the raw-TCP fake server to the real client.

import t from 'tap';
import { binary, close, closePayload, cont, frame, ping, text, validResponse } from './support/fake-server.ts';
import { runRuleTable, type RuleCase } from './support/rules.ts';

const cases: RuleCase[] = [];
const MiB = 1024 * 1024;

// 7. Close handling.
cases.push({ id: '7.1', name: 'CLOSE without a payload is echoed without one', send: [close()], expect: { stdout: '', close: null, status: 0, stderr: /closed by server: 1005/ } });
cases.push({
  id: '7.2', name: 'CLOSE 1000 with a reason: echoed with the same payload', send: [close(1000, 'bye ✓')],
  expect: {
    stdout: '', close: 1000, status: 0, stderr: /closed by server: 1000 bye ✓/,
    also: (result, t) => t.equal(result.frames.at(-1)?.payload.toString('hex'), closePayload(1000, 'bye ✓').toString('hex'), 'same payload'),
  },
});
cases.push({ id: '7.3', name: 'frames after CLOSE are not acted on', send: [text('before'), close(1000), text('after'), ping('after')], expect: { stdout: 'before\n', close: 1000, status: 0 } });
cases.push({ id: '7.4', name: 'a second CLOSE is ignored', send: [close(1000), close(1001)], expect: { stdout: '', close: 1000, status: 0 } });
cases.push({ id: '7.5', name: 'CLOSE with a 123-byte reason', send: [close(1000, 'r'.repeat(123))], expect: { stdout: '', close: 1000, status: 0 } });
cases.push({ id: '7.6', name: 'CLOSE with a 124-byte reason (payload 126)', send: [text('before'), close(1000, 'r'.repeat(124))], expect: { stdout: 'before\n', close: 1002, status: 1, stderr: /CLOSE frame payload of 126 bytes/ } });
cases.push({ id: '7.7', name: 'CLOSE with a 1-byte payload', send: [text('before'), frame(8, Buffer.from([0x03])), text('after')], expect: { stdout: 'before\n', close: 1002, status: 1, stderr: /1-byte payload/ } });
cases.push({ id: '7.8', name: 'CLOSE reason that is not valid UTF-8', send: [frame(8, Buffer.from([0x03, 0xe8, 0x61, 0xed, 0xa0, 0x80]))], expect: { stdout: '', close: 1007, status: 1, stderr: /CLOSE reason is not valid UTF-8/ } });
for (const code of [1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999, 4000, 4999]) {
  const normal = code === 1000 || code === 1001;
  cases.push({ id: `7.9.${code}`, name: `valid close code ${code} is echoed`, send: [close(code, 'reason')], deliveries: ['whole'], expect: { stdout: '', close: code, status: normal ? 0 : 1, stderr: new RegExp(`closed by server: ${code} reason`) } });
}
for (const code of [0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535]) {
  cases.push({ id: `7.10.${code}`, name: `invalid close code ${code} fails with 1002`, send: [close(code)], deliveries: ['whole'], expect: { stdout: '', close: 1002, status: 1, stderr: new RegExp(`invalid status code ${code}`) } });
}

// 9. Limits.
const big = (size: number) => Buffer.alloc(size, 'abcdefghijklmnopqrstuvwxyz0123456789');
cases.push({ id: '9.1', name: '1 MiB text message', send: [text(big(MiB)), close(1000)], expect: { stdout: big(MiB).toString() + '\n', close: 1000, status: 0 } });
cases.push({ id: '9.2', name: '16 MiB text message', send: [text(big(16 * MiB)), close(1000)], expect: { stdout: big(16 * MiB).toString() + '\n', close: 1000, status: 0 } });
cases.push({ id: '9.3', name: '4 MiB text message in 1 KiB fragments', send: [text(big(1024), { fin: false }), ...Array.from({ length: 4095 }, (_, i) => cont(big(1024), { fin: i === 4094 })), close(1000)], expect: { stdout: Buffer.concat(Array.from({ length: 4096 }, () => big(1024))).toString() + '\n', close: 1000, status: 0 } });
cases.push({ id: '9.4', name: '1 MiB text message in 64-byte TCP writes', send: [text(big(MiB)), close(1000)], deliveries: [{ chop: 64 }], expect: { stdout: big(MiB).toString() + '\n', close: 1000, status: 0 } });
cases.push({ id: '9.5', name: '16 MiB binary message', send: [binary(big(16 * MiB)), close(1000)], expect: { stdout: '[binary 16777216 bytes: 61 62 63 64 65 66 67 68 69 6a 6b 6c 6d 6e 6f 70 …]\n', close: 1000, status: 0 } });

/** A header announcing more than the limit is refused from the header alone: the payload is never sent. */
function tooBig(id: string, name: string, first: Buffer[], args: string[] = []): RuleCase {
  return {
    id, name, args, deliveries: ['whole'],
    script: async (session) => {
      await session.send(first);
      await session.waitForClose(3000);
      session.end();
    },
    expect: { stdout: '', close: 1009, status: 1, stderr: /exceeds the limit/ },
  };
}
cases.push({ id: '9.6', name: 'a message exactly at --max-message-size', args: ['--max-message-size', '1000'], send: [text(big(1000)), close(1000)], expect: { stdout: big(1000).toString() + '\n', close: 1000, status: 0 } });
cases.push(tooBig('9.7', 'a frame header announcing more than --max-message-size', [text('', { announce: 1001 })], ['--max-message-size', '1000']));
cases.push(tooBig('9.8', 'fragments adding up to more than --max-message-size', [text(big(600), { fin: false }), cont('', { announce: 401, fin: true })], ['--max-message-size', '1000']));
cases.push(tooBig('9.9', 'a header announcing 64 MiB + 1 (the default limit)', [binary('', { announce: 64 * MiB + 1 })]));
cases.push(tooBig('9.10', 'a 64-bit length of 2^53', [binary('', { announce: 2n ** 53n })]));
cases.push(tooBig('9.11', 'a 64-bit length with the top bit set', [binary('', { announce: 2n ** 63n + 5n })]));

// The opening handshake.
const respondWith = (edit: (valid: string) => string) => (key: string) => edit(validResponse(key));
const noFrames = { stdout: '', close: 'none' as const, status: 1 };
cases.push({ id: 'h.1', name: 'upgrade refused with 404', respond: () => 'HTTP/1.1 404 Not Found\r\nContent-Length: 0\r\n\r\n', expect: { ...noFrames, stderr: /^wsc: connecting to ws:\/\/127\.0\.0\.1:\d+\/consumer\nwsc: server refused the upgrade: HTTP\/1\.1 404 Not Found\n$/ } });
cases.push({ id: 'h.2', name: 'wrong Sec-WebSocket-Accept', respond: respondWith((r) => r.replace(/Accept: \S+/, 'Accept: AAAAAAAAAAAAAAAAAAAAAAAAAAA=')), expect: { ...noFrames, stderr: /bad Sec-WebSocket-Accept/ } });
cases.push({ id: 'h.3', name: 'missing Upgrade header', respond: respondWith((r) => r.replace('Upgrade: websocket\r\n', '')), expect: { ...noFrames, stderr: /bad Upgrade header/ } });
cases.push({ id: 'h.4', name: 'Connection header without upgrade', respond: respondWith((r) => r.replace('Connection: Upgrade', 'Connection: keep-alive')), expect: { ...noFrames, stderr: /bad Connection header/ } });
cases.push({ id: 'h.5', name: 'an extension that was not offered', respond: respondWith((r) => r.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: x-webkit-deflate-frame\r\n\r\n')), send: [text('x')], expect: { ...noFrames, stderr: /server sent Sec-WebSocket-Extensions: x-webkit-deflate-frame, which the client did not offer/ } });
cases.push({ id: 'h.5b', name: 'permessage-deflate when --no-deflate offered nothing', args: ['--no-deflate'], respond: respondWith((r) => r.replace('\r\n\r\n', '\r\nSec-WebSocket-Extensions: permessage-deflate\r\n\r\n')), send: [text('x')], expect: { ...noFrames, stderr: /server sent Sec-WebSocket-Extensions: permessage-deflate \(the client asked for none\)/ } });
cases.push({ id: 'h.6', name: 'unrequested subprotocol', respond: respondWith((r) => r.replace('\r\n\r\n', '\r\nSec-WebSocket-Protocol: chat\r\n\r\n')), expect: { ...noFrames, stderr: /Sec-WebSocket-Protocol/ } });
cases.push({ id: 'h.7', name: 'response headers over 16 KiB', respond: respondWith((r) => r.replace('\r\n\r\n', `\r\nX-Padding: ${'p'.repeat(17000)}\r\n\r\n`)), expect: { ...noFrames, stderr: /exceed 16384 bytes/ } });
cases.push({ id: 'h.8', name: 'endless headers without a blank line', respond: () => `HTTP/1.1 101 Switching Protocols\r\n${'X-Endless: yes\r\n'.repeat(2000)}`, expect: { ...noFrames, stderr: /exceed 16384 bytes/ } });
cases.push({
  id: 'h.9', name: 'no response within --connect-timeout', respond: () => null, args: ['--connect-timeout', '0.5'], deliveries: ['whole'],
  script: async (session) => {
    await session.waitForEnd(5000);
  },
  expect: { ...noFrames, stderr: /no WebSocket connection to 127\.0\.0\.1:\d+ within 0\.5 s/, also: (r, t) => t.ok(r.run.elapsedMs() < 4000, `exited in ${r.run.elapsedMs()} ms`) },
});
cases.push({
  id: 'h.10', name: 'response and first frames arrive byte by byte', respond: () => null, deliveries: ['whole'],
  script: async (session) => {
    await session.send([Buffer.from(validResponse(session.key)), text('first'), close(1000)], 'bytewise');
    await session.waitForClose();
    session.end();
  },
  expect: { stdout: 'first\n', close: 1000, status: 0 },
});
cases.push({
  id: 'h.11', name: 'frames in the same write as the response are not dropped', respond: (key) => Buffer.concat([Buffer.from(validResponse(key)), text('early'), ping('early')]),
  send: [close(1000)], expect: { stdout: 'early\n', pongs: ['early'], close: 1000, status: 0 },
});
cases.push({ id: 'h.12', name: 'Connection: keep-alive, Upgrade and mixed case are accepted', respond: respondWith((r) => r.replace('Connection: Upgrade', 'CONNECTION: keep-alive, Upgrade').replace('Upgrade: websocket', 'upgrade: WebSocket')), send: [text('ok'), close(1000)], expect: { stdout: 'ok\n', close: 1000, status: 0 } });
cases.push({
  id: 'h.14', name: 'a server that does not speak HTTP (SSH) and keeps the connection open: said at once, quoted', respond: () => 'SSH-2.0-OpenSSH_9.2\r\n', deliveries: ['whole'],
  script: async (s) => void (await s.waitForEnd(3000).catch(() => {})),
  expect: { ...noFrames, stderr: /\nwsc: the server at 127\.0\.0\.1:\d+ does not speak HTTP: it sent 'SSH-2\.0-OpenSSH_9\.2'\n$/, also: (result, t) => t.ok(result.run.elapsedMs() < 2000, `told in ${result.run.elapsedMs()} ms, not after the connect timeout`) },
});
cases.push({
  id: 'h.15', name: 'random bytes instead of HTTP: controls shown escaped, judged on the first byte', respond: () => Buffer.from([0x16, 0x03, 0x01, 0x00, 0xa5, 0x01, 0x1b, 0x5b]), deliveries: ['whole'],
  script: async (s) => void (await s.waitForEnd(3000).catch(() => {})),
  expect: { ...noFrames, stderr: /does not speak HTTP: it sent '\\x16\\x03\\x01\\x00\\xa5\\x01\\x1b\['\n$/ },
});
cases.push({
  id: 'h.16', name: 'HTTP/2 is not HTTP/1.1', respond: () => 'HTTP/2 101\r\n\r\n', deliveries: ['whole'],
  expect: { ...noFrames, stderr: /does not speak HTTP: it sent 'HTTP\/2 101'/ },
});
cases.push({
  id: 'h.17', name: 'a reset after the connection was made: said so, not "cannot connect"', respond: () => null, deliveries: ['whole'],
  script: async (s) => void s.socket.resetAndDestroy(),
  expect: { ...noFrames, stderr: /the server at 127\.0\.0\.1:\d+ closed the connection during the handshake: connection reset by peer\n$/ },
});
cases.push({ id: 'h.13', name: 'the server closes during the handshake', respond: () => 'HTTP/1.1 101 Switching', script: async (s) => s.end(), deliveries: ['whole'], expect: { ...noFrames, stderr: /the server at 127\.0\.0\.1:\d+ closed the connection during the handshake\n/ } });

// Connection faults.
cases.push({
  id: 'f.1', name: 'TCP closed in the middle of a frame', deliveries: ['whole'],
  script: async (session) => {
    await session.send([text('complete'), text('abc', { announce: 10 })]);
    session.end();
  },
  expect: { stdout: 'complete\n', close: 'none', status: 1, stderr: /^wsc: connection lost \(1006\)/m },
});
cases.push({
  id: 'f.2', name: 'TCP closed without a CLOSE frame', deliveries: ['whole'],
  script: async (session) => {
    await session.send([text('hi')]);
    session.end();
  },
  expect: { stdout: 'hi\n', close: 'none', status: 1, stderr: /connection lost \(1006\)/ },
});
cases.push({
  id: 'f.3', name: 'TCP reset', deliveries: ['whole'],
  script: async (session) => {
    await session.send([text('hi')]);
    await new Promise((resolve) => setTimeout(resolve, 100));
    session.socket.resetAndDestroy();
  },
  expect: { stdout: 'hi\n', close: 'none', status: 1, stderr: /connection lost \(1006\).*reset/ },
});
cases.push({
  id: 'f.4', name: 'a server that never answers the client\'s CLOSE: the client leaves after --close-timeout', args: ['--close-timeout', '1'], deliveries: ['whole'],
  script: async (session) => {
    await session.send([text('x', { rsv: 1 })]);
    await session.waitForClose();
    await session.waitForEnd(8000);
  },
  expect: { stdout: '', close: 1002, status: 1, stderr: /no CLOSE from the server within 1 s/, also: (r, t) => t.ok(r.run.elapsedMs() < 5000, `exited in ${r.run.elapsedMs()} ms`) },
});
cases.push({
  id: 'f.5', name: 'messages before a protocol error are printed, nothing after', deliveries: ['whole', { chop: 3, pauseMs: 1 }],
  send: [text('one'), binary(Buffer.from([1, 2])), text('two', { fin: false }), cont(' three'), frame(3, ''), text('four'), close(1000)],
  expect: { stdout: 'one\n[binary 2 bytes: 01 02]\ntwo three\n', close: 1002, status: 1 },
});

t.test('section 7 (close), section 9 (limits), the handshake and connection faults', async (t) => {
  await runRuleTable(t, cases, 3);
});

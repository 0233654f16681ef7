// What goes to stdout: --json events, and a reader that goes away (| head -1).

import t from 'tap';
import { spawn } from 'node:child_process';
import type { WebSocket } from 'ws';
import { CLIENT_COMMAND, ROOT, parsedOptions, shellQuote } from './support/helpers.ts';
import { binary, close, runAgainstFakeServer, text } from './support/fake-server.ts';
import { startChatServer } from './support/server.ts';

t.test('--json: one JSON object per event, parsed back', async (t) => {
  const result = await runAgainstFakeServer(async (session) => {
    await session.send([text('hello "json" ✓'), binary(Buffer.from([0, 1, 254, 255])), close(1001, 'later')]);
    await session.waitForClose();
    session.end();
  }, ['consumer', '--json']);
  t.equal(result.status, 0);
  const events = result.stdout.trim().split('\n').map((line) => JSON.parse(line));
  t.match(events, [
    { type: 'open', url: /^ws:\/\/127\.0\.0\.1:\d+\/consumer$/ },
    { type: 'message', text: 'hello "json" ✓' },
    { type: 'binary', base64: Buffer.from([0, 1, 254, 255]).toString('base64') },
    { type: 'close', code: 1001, reason: 'later', by: 'server' },
  ]);
  t.equal(events.length, 4);
  const failed = await runAgainstFakeServer(async (session) => {
    await session.send([text('x', { rsv: 2 })]);
    await session.waitForClose();
    session.end();
  }, ['consumer', '--json']);
  t.equal(failed.status, 1);
  t.match(JSON.parse(failed.stdout.trim().split('\n').at(-1)!), { type: 'error', code: 1002, message: /reserved bits/ });
});

t.test('| head -1: the client closes with 1001 and exits quietly when its reader goes away', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const closeCode = new Promise<number>((resolve) => server.wss.on('connection', (ws: WebSocket) => {
    const timer = setInterval(() => ws.send(`message ${Date.now()}`), 20);
    ws.on('close', (code) => {
      clearInterval(timer);
      resolve(code);
    });
  }));
  const client = [...CLIENT_COMMAND, '127.0.0.1', String(server.port), 'consumer'].map(shellQuote).join(' ');
  const command = `${client} | head -1; echo "client status \${PIPESTATUS[0]}" >&2`;
  const child = spawn('bash', ['-c', command], { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (c: Buffer) => (stdout += c));
  child.stderr.on('data', (c: Buffer) => (stderr += c));
  await new Promise((resolve) => child.on('close', resolve));
  t.match(stdout, /^message \d+\n$/, 'head printed one line');
  t.equal(await closeCode, 1001, 'the server got CLOSE 1001 (going away)');
  t.match(stderr, /client status 0/);
  t.notMatch(stderr, /EPIPE|Error|\n\s+at /, 'no stack trace, no EPIPE noise');
});

t.test('--pretty in a pipe: JSON objects and arrays laid out, tokens exact; anything else, and the default, as it came', async (t) => {
  const messages = ['{"id":7,"big":12345678901234567890,"k":1,"k":2}', '[1,"\\u00e9"]', 'not json {', '"a bare string"', '{"broken":'];
  const run = (args: string[]) => runAgainstFakeServer(async (session) => {
    await session.send([...messages.map((message) => text(message)), close(1000)]);
    await session.waitForClose();
    session.end();
  }, ['consumer', ...args]);
  const pretty = await run(['--pretty']);
  t.equal(pretty.status, 0);
  t.equal(pretty.stdout, [
    '{', '  "id": 7,', '  "big": 12345678901234567890,', '  "k": 1,', '  "k": 2', '}',
    '[', '  1,', '  "\\u00e9"', ']',
    'not json {', '"a bare string"', '{"broken":', '',
  ].join('\n'), 'laid out, without colour (not a terminal); the others byte for byte');
  const plain = await run([]);
  t.equal(plain.stdout, messages.join('\n') + '\n', 'off a terminal, by default, every message exactly as it came');
  const json = await run(['--pretty', '--json']);
  t.equal(json.stdout.trim().split('\n').filter((line) => line.includes('"message"')).length, messages.length, '--json: still one line per event');
  t.same(json.stdout.trim().split('\n').map((line) => JSON.parse(line)).filter((event) => event.type === 'message').map((event) => event.text), messages);
  t.equal(parsedOptions(['--pretty', '--no-pretty', 'ws://h/']).pretty, false, '--no-pretty wins, as --no-color does');
  t.equal(parsedOptions(['ws://h/']).pretty, null, 'by default: on a terminal only');
});

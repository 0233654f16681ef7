// permessage-deflate against a real peer: the ws server with compression on, echoing what it gets.

import t from 'tap';
import { runInProcess, startEchoServer } from './support/helpers.ts';

/** 200 lines from 1 byte to 60 KB, with characters of every UTF-8 length. */
const lines = Array.from({ length: 200 }, (_, i) => `${i}: ${'ab€😀'.repeat([0, 1, 10, 300, 5000, 15000][i % 6]!)}`);

t.test('ws with permessage-deflate (threshold 0, small windows both ways) echoes 200 messages of mixed sizes, in order', async (t) => {
  const server = await startEchoServer(t, { perMessageDeflate: { threshold: 0, serverMaxWindowBits: 9, clientMaxWindowBits: 10 } });
  const run = runInProcess(['--count', '200', server.url], { input: lines.join('\n') + '\n' });
  t.equal(await run.exit, 0, run.stderr());
  t.match(server.extensions[0], /permessage-deflate/);
  t.match(run.stderr(), /with permessage-deflate; server_max_window_bits=9; client_max_window_bits=10/);
  const echoed = run.stdout().split('\n').slice(0, -1);
  t.equal(echoed.length, 200);
  t.ok(echoed.every((line, i) => line === lines[i]), 'every message back, intact and in order');
});

t.test('a server that compresses only some messages (those of 1 KiB or more): both kinds arrive', async (t) => {
  const server = await startEchoServer(t, { perMessageDeflate: { threshold: 0 }, compressFrom: 1024 });
  const run = runInProcess(['--count', '200', '-v', server.url], { input: lines.join('\n') + '\n' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(run.stdout(), lines.join('\n') + '\n');
  const received = run.stderr().split('\n').filter((line) => /^wsc: < TEXT fin=1/.test(line));
  t.ok(received.some((line) => line.includes('rsv=100')) && received.some((line) => line.includes('rsv=000')), 'compressed and uncompressed messages both came');
});

t.test('--no-deflate: nothing is offered, and ws sends nothing compressed', async (t) => {
  const server = await startEchoServer(t, { perMessageDeflate: { threshold: 0 } });
  const run = runInProcess(['--no-deflate', '--count', '200', server.url], { input: lines.join('\n') + '\n' });
  t.equal(await run.exit, 0, run.stderr());
  t.equal(server.extensions[0], '');
  t.equal(run.stdout(), lines.join('\n') + '\n');
});

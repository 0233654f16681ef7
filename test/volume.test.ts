// Memory under hostile volume: the real client process against the raw-TCP fake server. Peak memory is the
// kernel's own figure (VmHWM in /proc/PID/status), read by the test while the client still runs; nothing
// here asserts a time.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { peakResidentMB, runClient, runInProcess } from './support/helpers.ts';
import * as zlib from 'node:zlib';
import { close, cont, OP, parseClientFrames, ping, startFakeServer, text, validResponse, zeroBomb } from './support/fake-server.ts';

const LIMIT_MB = 150;
const hasProc = (() => {
  try {
    readFileSync('/proc/self/status');
    return true;
  } catch {
    return false;
  }
})();

t.test('a million PINGs from a server that never reads: memory stays bounded, no Node warning', { skip: !hasProc && 'needs /proc' }, async (t) => {
  let peak = 0;
  let pongs = 0;
  const server = await startFakeServer({
    script: async (session) => {
      session.socket.pause(); // never read: every PONG the client writes stays with it
      const batch = Buffer.concat(Array.from({ length: 1000 }, (_, i) => ping(Buffer.alloc(125, 0x61 + (i % 26)))));
      for (let i = 0; i < 1000; i++) await session.send(batch);
      peak = peakResidentMB(client.child.pid!);
      session.socket.resume();
      await session.send(close(1000, 'done'));
      await session.waitForEnd(20_000);
      pongs = session.frames.filter((frame) => frame.opcode === OP.PONG).length;
    },
  });
  t.teardown(() => server.close());
  const client = runClient(['127.0.0.1', String(server.port), 'consumer'], { stdin: 'ignore', killAfterMs: 60_000 });
  t.equal(await client.exit, 0, 'the client closes cleanly after the flood');
  await server.scriptDone;
  t.comment(`peak RSS ${peak.toFixed(1)} MB after 1,000,000 PINGs (127 MB), ${pongs} PONGs sent`);
  t.ok(peak > 0 && peak < LIMIT_MB, `peak RSS ${peak.toFixed(1)} MB is under ${LIMIT_MB} MB`);
  t.ok(pongs >= 1, 'PINGs were answered');
  t.notMatch(client.stderr(), /Warning|MaxListeners/, 'no Node warning on stderr');
});

t.test('two million one-byte fragments of one message: bounded, and the message arrives whole', { skip: !hasProc && 'needs /proc' }, async (t) => {
  let peak = 0;
  const count = 2_000_000;
  const server = await startFakeServer({
    script: async (session) => {
      const piece = cont('x', { fin: false });
      await session.send(text('x', { fin: false }));
      const batch = Buffer.concat(Array.from({ length: 10_000 }, () => piece));
      for (let i = 0; i < count / 10_000 - 1; i++) await session.send(batch);
      await session.send(Buffer.concat([...Array.from({ length: 9_998 }, () => piece), cont('x')]));
      await client.waitFor('stdout', '\n', 30_000);
      peak = peakResidentMB(client.child.pid!);
      await session.send(close(1000));
      await session.waitForClose();
    },
  });
  t.teardown(() => server.close());
  const client = runClient(['127.0.0.1', String(server.port), 'consumer'], { stdin: 'ignore', killAfterMs: 60_000 });
  t.equal(await client.exit, 0);
  await server.scriptDone;
  t.comment(`peak RSS ${peak.toFixed(1)} MB for ${count} fragments`);
  t.equal(client.stdout(), 'x'.repeat(count) + '\n', 'one message of every fragment');
  t.ok(peak > 0 && peak < LIMIT_MB, `peak RSS ${peak.toFixed(1)} MB is under ${LIMIT_MB} MB`);
});

t.test('a compressed message just under 1 MB that inflates to 960 MiB: 1009 at the limit, memory bounded, in one frame or a thousand', { skip: !hasProc && 'needs /proc' }, async (t) => {
  const small = zeroBomb(16 * 1024 * 1024);
  const inflated = zlib.inflateRawSync(Buffer.concat([small.payload, Buffer.from([0, 0, 0xff, 0xff])]), { finishFlush: zlib.constants.Z_SYNC_FLUSH });
  t.ok(inflated.length === small.inflatedLength && inflated.every((byte) => byte === 0), 'zlib inflates the bomb builder\'s output as it says');
  const bomb = zeroBomb(960 * 1024 * 1024); // under 1,000,000 bytes on the wire, so only inflating can pass the limit
  const shapes: [string, Buffer[]][] = [
    ['one frame', [text(bomb.payload, { rsv: 4 })]],
    ['a thousand fragments', Array.from({ length: 1000 }, (_, i) => {
      const piece = bomb.payload.subarray(Math.floor((i * bomb.payload.length) / 1000), Math.floor(((i + 1) * bomb.payload.length) / 1000));
      return i === 0 ? text(piece, { fin: false, rsv: 4 }) : cont(piece, { fin: i === 999 });
    })],
  ];
  for (const [shape, frames] of shapes) {
    let peak = 0;
    let closeCode: number | undefined;
    const server = await startFakeServer({
      respond: (key) => validResponse(key, ['Sec-WebSocket-Extensions: permessage-deflate']),
      script: async (session) => {
        await session.send(Buffer.concat(frames)).catch(() => undefined); // the client may close before it has read all
        const clientClose = await session.waitForClose(20_000);
        closeCode = clientClose.payload.length >= 2 ? clientClose.payload.readUInt16BE(0) : undefined;
        peak = peakResidentMB(client.child.pid!);
        await session.send(close(1009)).catch(() => undefined);
        session.end();
      },
    });
    t.teardown(() => server.close());
    const client = runClient(['127.0.0.1', String(server.port), 'consumer', '--max-message-size', '1000000'], { stdin: 'ignore', killAfterMs: 60_000 });
    t.equal(await client.exit, 1, `${shape}: exit status 1`);
    await server.scriptDone;
    t.equal(closeCode, 1009, `${shape}: the client closes with 1009`);
    t.match(client.stderr(), /inflates past the limit of 1000000 bytes/, `${shape}: stderr says why`);
    t.equal(client.stdout(), '', `${shape}: nothing printed`);
    t.comment(`${shape}: ${bomb.payload.length} bytes on the wire, ${bomb.inflatedLength} inflated; peak RSS ${peak.toFixed(1)} MB`);
    t.ok(peak > 0 && peak < LIMIT_MB, `${shape}: peak RSS ${peak.toFixed(1)} MB is under ${LIMIT_MB} MB`);
  }
});

t.test('a producer into an echo server that reads only while its own writes flow: everything comes back (no deadlock)', async (t) => {
  // Like an asyncio echo handler: it stops reading while its writes wait for 'drain'. A client that also
  // stopped reading while its writes wait would deadlock with it; this client keeps reading.
  const lines = 200_000;
  const input = Array.from({ length: lines }, (_, i) => `line ${String(i).padStart(6, '0')} ${'x'.repeat(100)}\n`).join('');
  let echoed = 0;
  const server = await startFakeServer({
    script: async (session) => {
      const socket = session.socket;
      socket.removeAllListeners('data');
      let pending = Buffer.alloc(0);
      socket.on('data', (chunk: Buffer) => {
        pending = Buffer.concat([pending, chunk]);
        const { frames, rest } = parseClientFrames(pending);
        pending = Buffer.from(rest);
        let flowing = true;
        for (const frame of frames) {
          if (frame.opcode === OP.TEXT) {
            echoed++;
            flowing = socket.write(text(frame.payload)) && flowing;
          } else if (frame.opcode === OP.CLOSE) {
            socket.end(close(1000));
          }
        }
        if (!flowing) {
          socket.pause();
          socket.once('drain', () => socket.resume());
        }
      });
      await session.waitForEnd(60_000);
    },
  });
  t.teardown(() => server.close());
  const client = runInProcess(['127.0.0.1', String(server.port), 'both'], { input, killAfterMs: 60_000 });
  t.equal(await client.exit, 0, client.stderr());
  t.equal(echoed, lines, 'the server got every line');
  t.equal(client.stdout().split('\n').length - 1, lines, 'and the client printed every echo');
});

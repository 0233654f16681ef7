// The I/O shell in-process (as python-websockets tests its asyncio layer): one Attempt against the raw-TCP
// fake server over loopback, with millisecond timeouts, so every timer rule is checked without waiting
// seconds. The host is a stub that records what the attempt asked of its owner.

import t, { type Test } from 'tap';
import { EventEmitter } from 'node:events';
import { PassThrough, Writable } from 'node:stream';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { Attempt, Output, Timer, type AttemptHost, type AttemptOptions, type AttemptResult, type OutputOptions, type Target } from '../client.ts';
import { OP, close, ping, startFakeServer, text, type FakeServerOptions, type FakeSession } from './support/fake-server.ts';
import { delay } from './support/helpers.ts';

interface Harness {
  attempt: Attempt;
  result: Promise<AttemptResult>;
  stdout(): string;
  stderr(): string;
  session(): FakeSession;
  /** Milliseconds from start to the result. */
  elapsed(): Promise<number>;
}

/** The attempt's slice of the options, as the command line's defaults set it, with `overrides`. */
const attemptOptions = (overrides: Partial<AttemptOptions> = {}): AttemptOptions => ({
  connectTimeoutMs: 10_000, closeTimeoutMs: 5_000, pingIntervalMs: 30_000, pingTimeoutMs: 20_000, maxMessageSize: 64 * 1024 * 1024,
  subprotocols: [], deflate: true, proxy: null, tls: { insecure: false, ca: null, certificate: null, privateKey: null, passphrase: null },
  sendBinary: false, verbose: false, showHeartbeats: false, followRedirects: false, ...overrides,
});
const outputOptions: OutputOptions = { separator: 0x0a, quiet: false, json: false, timestamps: false, color: false, binaryEncoding: null, pretty: null, secrets: [] };
const consumerAt = (port: number): Target => ({ secure: false, host: '127.0.0.1', port, role: 'consumer', path: '/consumer' });

/** An attempt to a fake server playing `script`; `onOpen` is what the host does at OPEN. */
async function attemptAgainst(
  t: Test,
  overrides: Partial<AttemptOptions>,
  script: (session: FakeSession) => Promise<void>,
  server: Partial<FakeServerOptions> & { onOpen?: (attempt: Attempt) => void; stdout?: Writable } = {},
): Promise<Harness> {
  const fake = await startFakeServer({ ...server, script });
  t.teardown(() => fake.close());
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = server.stdout ?? new PassThrough().on('data', (chunk: Buffer) => out.push(chunk));
  const stderr = new PassThrough().on('data', (chunk: Buffer) => err.push(chunk));
  const output = new Output(outputOptions, { stdin: new PassThrough(), stdout, stderr, env: {}, signals: new EventEmitter() });
  const host: AttemptHost = { interactive: false, pick: (event) => event, opened: (attempt) => server.onOpen?.(attempt), pauseInput() {}, resumeInput() {} };
  const attempt = new Attempt(attemptOptions(overrides), consumerAt(fake.port), output, host, []);
  const started = performance.now();
  const result = attempt.run();
  return {
    attempt,
    result,
    stdout: () => Buffer.concat(out).toString(),
    stderr: () => Buffer.concat(err).toString(),
    session: () => fake.sessions[0]!,
    elapsed: () => result.then(() => performance.now() - started),
  };
}

t.test('Timer: arm, re-arm, clear, armed', async (t) => {
  let fired = 0;
  const timer = new Timer(() => fired++);
  t.notOk(timer.armed);
  timer.arm(5);
  t.ok(timer.armed);
  timer.arm(5); // re-arming restarts; it still fires once
  await delay(30);
  t.equal(fired, 1);
  t.notOk(timer.armed, 'disarmed after firing');
  timer.arm(5);
  timer.clear();
  await delay(20);
  t.equal(fired, 1, 'a cleared timer never fires');
});

t.test('close timeout: a server that never answers the client\'s CLOSE', async (t) => {
  const h = await attemptAgainst(t, { closeTimeoutMs: 50 }, async (session) => {
    await session.waitForClose();
    await session.waitForEnd(2000);
  }, { onOpen: (attempt) => attempt.close(1000, 'bye') });
  const result = await h.result;
  t.equal(result.status, 1);
  t.equal(result.retry, false, 'not retried: the client was leaving');
  t.match(h.stderr(), /no CLOSE from the server within 0\.05 s/);
  t.ok((await h.elapsed()) < 1000, 'gave up after the close timeout, not a default');
  t.equal(h.session().frames.filter((f) => f.opcode === OP.CLOSE).length, 1);
});

t.test('grace: after the closing handshake the client closes TCP if the server does not', async (t) => {
  const h = await attemptAgainst(t, { closeTimeoutMs: 50 }, async (session) => {
    await session.send(close(1000, 'done'));
    await session.waitForEnd(2000); // never closes first
  });
  const result = await h.result;
  t.equal(result.status, 0);
  t.equal(result.retry, false);
  t.ok(h.session().ended, 'the client closed the connection');
  t.ok((await h.elapsed()) < 1000, 'within the grace (bounded by the close timeout)');
});

t.test('FIN right after the CLOSE echo, to a server that waits for the client to close first', async (t) => {
  let finAfterEchoMs = NaN;
  const h = await attemptAgainst(t, {}, async (session) => {
    await session.send(close(1000, 'done'));
    await session.waitForClose();
    // This server never closes first: it waits for the client's FIN, and times it from the CLOSE echo.
    t.ok(await session.waitForEnd(3000), 'the client closed its side');
    finAfterEchoMs = session.endedAt - session.frameTimes[session.frames.findIndex((f) => f.opcode === OP.CLOSE)]!;
    session.end();
  });
  t.equal((await h.result).status, 0);
  // The old client waited a 1 s grace (the default close timeout allows up to 5 s) before letting go.
  // The FIN leaves with the echo; a client that only let go after its 50 ms grace would fail here.
  t.ok(finAfterEchoMs < 25, `FIN ${finAfterEchoMs.toFixed(1)} ms after the CLOSE echo, as measured by the server`);
});

t.test('keepalive: no PONG within --ping-timeout: dead, and worth a retry', async (t) => {
  const h = await attemptAgainst(t, { pingIntervalMs: 20, pingTimeoutMs: 30 }, async (session) => {
    await session.waitForEnd(2000);
  });
  const result = await h.result;
  t.equal(result.status, 1);
  t.equal(result.retry, true);
  t.match(h.stderr(), /connection dead: no PONG within 0\.03 s/);
  t.ok(h.session().frames.some((f) => f.opcode === OP.PING), 'the client pinged');
});

t.test('keepalive: any bytes from the server keep the connection alive', async (t) => {
  const h = await attemptAgainst(t, { pingIntervalMs: 20, pingTimeoutMs: 40 }, async (session) => {
    for (let i = 0; i < 10; i++) {
      await session.send(text(`tick ${i}`));
      await delay(15);
    }
    await session.send(close(1000));
    await session.waitForClose();
    session.end();
  });
  const result = await h.result;
  t.equal(result.status, 0, h.stderr());
  t.equal(h.stdout().split('\n').length, 11, 'all ten messages');
  t.notMatch(h.stderr(), /connection dead/);
});

t.test('connect timeout: no answer to the upgrade', async (t) => {
  const h = await attemptAgainst(t, { connectTimeoutMs: 50 }, async (session) => {
    await session.waitForEnd(2000);
  }, { respond: () => null });
  const result = await h.result;
  t.equal(result.status, 1);
  t.equal(result.retry, true);
  t.equal(result.openMs, 0);
  t.match(h.stderr(), /no WebSocket connection to 127\.0\.0\.1:\d+ within 0\.05 s/);
});

t.test('how an attempt ends decides the retry: one classification', async (t) => {
  const serverCloses = (code: number) => async (session: FakeSession) => {
    await session.send(close(code));
    await session.waitForClose();
    session.end();
  };
  const cases: [string, (s: FakeSession) => Promise<void>, number, boolean][] = [
    ['server 1000', serverCloses(1000), 0, false],
    ['server 1001 (going away)', serverCloses(1001), 0, true],
    ['server 1011 (internal error)', serverCloses(1011), 1, true],
    ['server 4000', serverCloses(4000), 1, false],
    ['protocol error', async (s) => {
      await s.send(text('x', { rsv: 2 }));
      await s.waitForClose();
      s.end();
    }, 1, false],
    ['TCP lost', async (s) => s.end(), 1, true],
  ];
  for (const [name, script, status, retry] of cases) {
    const h = await attemptAgainst(t, {}, script);
    const result = await h.result;
    t.same([result.status, result.retry], [status, retry], name);
  }
  const redirected = await attemptAgainst(t, {}, async () => {}, { respond: () => 'HTTP/1.1 302 Found\r\nLocation: /elsewhere\r\n\r\n' });
  t.same((await redirected.result).redirect, { status: 302, location: '/elsewhere' }, 'a redirect is reported, not followed here');
});

t.test('unreachable: nothing listening', async (t) => {
  const closed = net.createServer();
  await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
  const port = (closed.address() as AddressInfo).port;
  await new Promise<void>((resolve) => closed.close(() => resolve()));
  const err: Buffer[] = [];
  const output = new Output(outputOptions, { stdin: new PassThrough(), stdout: new PassThrough(), stderr: new PassThrough().on('data', (c: Buffer) => err.push(c)), env: {}, signals: new EventEmitter() });
  const host: AttemptHost = { interactive: false, pick: (event) => event, opened() {}, pauseInput() {}, resumeInput() {} };
  const result = await new Attempt(attemptOptions(), consumerAt(port), output, host, []).run();
  t.same([result.status, result.retry], [1, true]);
  t.match(Buffer.concat(err).toString(), /cannot connect to 127\.0\.0\.1:\d+: connection refused/);
});

t.test('step() never re-enters: actions taken at OPEN go out in order', async (t) => {
  const h = await attemptAgainst(t, {}, async (session) => {
    await session.waitForClose();
    await session.send(close(1000));
    session.end();
  }, {
    onOpen: (attempt) => {
      attempt.sendLines([Buffer.from('one'), Buffer.from('two')]);
      attempt.ping(Buffer.from('p'));
      attempt.close(1000, '');
      t.equal(attempt.sendLines([Buffer.from('late')]), 0, 'nothing after CLOSE');
    },
  });
  t.equal((await h.result).status, 0);
  t.same(h.session().frames.map((f) => [f.opcode, f.payload.subarray(0, 3).toString()]), [[OP.TEXT, 'one'], [OP.TEXT, 'two'], [OP.PING, 'p'], [OP.CLOSE, '\x03\xe8']].map(([op, p]) => [op, Buffer.from(p as string, 'latin1').toString()]));
});

t.test('buffer lifetime: a slow stdout gets every big message intact (reading waits for it)', async (t) => {
  const chunks: Buffer[] = [];
  // A reader that takes each write later: stdout keeps what it was handed until then.
  const slow = new Writable({
    highWaterMark: 1024,
    write(chunk: Buffer, _encoding, callback) {
      chunks.push(Buffer.from(chunk));
      setTimeout(callback, 2);
    },
  });
  const messages = Array.from({ length: 12 }, (_, i) => Buffer.alloc(200_000 + i, String.fromCharCode(0x61 + i)));
  const h = await attemptAgainst(t, {}, async (session) => {
    await session.send([...messages.map((m) => text(m)), ping('still there'), close(1000)]);
    await session.waitForClose(5000);
    session.end();
  }, { stdout: slow });
  t.equal((await h.result).status, 0, h.stderr());
  const written = Buffer.concat(chunks);
  const expected = Buffer.concat(messages.flatMap((m) => [m, Buffer.from('\n')]));
  t.equal(written.length, expected.length, 'every byte');
  t.ok(written.equals(expected), 'no message overwritten by a later read');
});

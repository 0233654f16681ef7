// npm run bench: this client against wscat (and a floor: a bare reader that does the handshake and
// discards bytes), interleaved in one process tree, on servers started here on 127.0.0.1:0.
// stdout goes to a file (a pipe for the slow-reader scenario). Times are measured by the server: from the moment its handshake response is written until the
// client's CLOSE (the echo of the server's CLOSE, or the producer's own) arrives.
//
//   npm run bench                 all scenarios, 5 runs each after a warm-up
//   npm run bench -- --runs 3 --only flood,big
// Scenario ids: startup, exit, flood, big, pipe, slow, zflood and zbig (permessage-deflate), scale, idle, and the hostile-volume cases pings,
// pings10m, fragments, stuck (all four: volume), and soak (120 s) and bigline (a 64 MiB, a 256 MiB and a
// 1 GiB line piped to a producer), only when asked for. The start-up and exit scenarios run the
// installed form, dist/wsc.mjs (npm run build; npm install builds it too).

import { spawn } from 'node:child_process';
import { closeSync, mkdtempSync, openSync, readFileSync, readSync, rmSync } from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { ServerDeflater, frame, parseClientFrames, validResponse } from './fake-server.ts';
import { peakResidentMB } from './helpers.ts';

const ROOT = fileURLToPath(new URL('../..', import.meta.url));
const WSCAT = join(ROOT, 'node_modules', 'wscat', 'bin', 'wscat');
/**
 * Loaded first into every measured process: reports its peak RSS (kB) at exit, however it exits. VmHWM, not
 * resourceUsage().maxRSS: Linux carries the maximum over from the forked copy of this process, so maxRSS
 * would never be below what the bench itself holds when it spawns the client (the 16 MiB messages, say).
 */
const PEAK_RSS_HOOK =
  'data:text/javascript,import{readFileSync,writeFileSync}from"node:fs";process.on("exit",()=>{const f=process.env.BENCH_RSS_FILE;if(!f)return;let kb=process.resourceUsage().maxRSS;try{kb=Number(/^VmHWM:\\s+(\\d+)/m.exec(readFileSync("/proc/self/status","utf8"))[1])}catch{}writeFileSync(f,String(kb))})';

type ClientName = 'wsc' | 'wscat' | 'floor';
type Role = 'consumer' | 'producer';

interface Measurement {
  seconds: number;
  peakRssMB: number;
  /** Lines on stdout (consumer) or text frames counted by the sink (producer). */
  count: number;
  ok: boolean;
  note: string;
}

// ------------------------------------------------------------------------------------ servers

/**
 * Answer a client's upgrade request on `socket` with a 101 (agreeing to `extensions`, if any), then hand over
 * whatever came after the request; the caller reads the frames from then on.
 */
function acceptUpgrade(socket: net.Socket, extensions: string | null, upgraded: (rest: Buffer) => void): void {
  let head = Buffer.alloc(0);
  const onHead = (chunk: Buffer) => {
    head = Buffer.concat([head, chunk]);
    const end = head.indexOf('\r\n\r\n');
    if (end < 0) return;
    socket.removeListener('data', onHead);
    const key = /sec-websocket-key:\s*(\S+)/i.exec(head.toString('latin1'))?.[1] ?? '';
    socket.write(validResponse(key, extensions === null ? [] : [`Sec-WebSocket-Extensions: ${extensions}`]));
    upgraded(head.subarray(end + 4));
  };
  socket.on('data', onHead);
}

const CLOSE_1000 = frame(8, Buffer.from([0x03, 0xe8]));

interface ServerRun {
  port: number;
  /** Resolves when the handshake response has been written. */
  opened: Promise<void>;
  /** Resolves with seconds from the handshake response to the client's CLOSE (or TCP end), and frames seen. */
  result: Promise<{ seconds: number; textFrames: number; inOrder: boolean; sawClose: boolean }>;
  close(): void;
}

/**
 * One connection: answer the handshake, then either send `payload` (a flood) followed by CLOSE 1000, or
 * sink the client's frames. Either way, stop the clock at the client's CLOSE.
 */
function startServer(mode: { flood: Buffer[]; extensions?: string } | { sink: true } | { idle: true }): Promise<ServerRun> {
  return new Promise((resolveServer) => {
    let resolveResult!: (value: { seconds: number; textFrames: number; inOrder: boolean; sawClose: boolean }) => void;
    const result = new Promise<{ seconds: number; textFrames: number; inOrder: boolean; sawClose: boolean }>((r) => (resolveResult = r));
    let resolveOpened!: () => void;
    const opened = new Promise<void>((r) => (resolveOpened = r));
    const server = net.createServer((socket) => {
      socket.setNoDelay(true);
      let started = 0n;
      let pending: Buffer = Buffer.alloc(0);
      let textFrames = 0;
      let inOrder = true;
      let done = false;
      let sinkStarted = false;
      const finish = (sawClose: boolean) => {
        if (done) return;
        done = true;
        resolveResult({ seconds: Number(process.hrtime.bigint() - started) / 1e9, textFrames, inOrder, sawClose });
        if (sawClose) socket.end(); // the server closes TCP after the closing handshake
      };
      const onFrames = (chunk: Buffer) => {
        pending = pending.length ? Buffer.concat([pending, chunk]) : chunk;
        const { frames, rest } = parseClientFrames(pending);
        pending = Buffer.from(rest);
        for (const received of frames) {
          // A sink's clock starts at the first frame: input is written a moment after the handshake.
          if (!sinkStarted && 'sink' in mode) {
            sinkStarted = true;
            started = process.hrtime.bigint();
          }
          if (received.opcode === 1) {
            if (inOrder && !received.payload.toString('latin1').startsWith(String(textFrames).padStart(8, '0'))) inOrder = false;
            textFrames++;
          }
          if (received.opcode === 8) {
            if ('sink' in mode) socket.write(CLOSE_1000); // answer the producer's CLOSE
            finish(true);
          }
        }
      };
      acceptUpgrade(socket, 'flood' in mode ? mode.extensions ?? null : null, (rest) => {
        started = process.hrtime.bigint();
        resolveOpened();
        if ('flood' in mode) {
          for (const buffer of mode.flood) socket.write(buffer);
          socket.write(CLOSE_1000);
        }
        socket.on('data', onFrames);
        if (rest.length > 0) onFrames(rest);
      });
      socket.on('error', () => {});
      socket.on('close', () => finish(false));
    });
    server.listen(0, '127.0.0.1', () => {
      resolveServer({ port: (server.address() as net.AddressInfo).port, opened, result, close: () => server.close() });
    });
  });
}

// ------------------------------------------------------------------------------------ clients

function commandFor(client: ClientName, port: number, role: Role): string[] {
  const hook = `--import=${PEAK_RSS_HOOK}`;
  if (client === 'wsc') return [hook, ...(process.env.BENCH_PROFILE_DIR ? ['--cpu-prof', `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`] : []), '--import', 'tsx', join(ROOT, 'client.ts'), '--quiet', '127.0.0.1', String(port), role];
  if (client === 'wscat') return [hook, WSCAT, '-c', `ws://127.0.0.1:${port}/${role}`];
  return [hook, '--import', 'tsx', fileURLToPath(import.meta.url), '--floor', String(port)];
}

interface ClientOptions {
  input?: Buffer;
  /** Drain stdout slowly: one chunk per this many ms. */
  slowReaderMs?: number;
}

async function measure(client: ClientName, mode: Parameters<typeof startServer>[0], role: Role, options: ClientOptions = {}): Promise<Measurement> {
  const server = await startServer(mode);
  const dir = mkdtempSync(join(os.tmpdir(), 'wsc-bench-'));
  const rssFile = join(dir, 'rss');
  // stdout goes to a file (counted afterwards), except for the slow reader, which reads a pipe: a pipe
  // would make the bench process's own reading speed the bottleneck for both clients.
  const outFile = join(dir, 'out');
  const outFd = options.slowReaderMs ? null : openSync(outFile, 'w');
  const child = spawn(process.execPath, commandFor(client, server.port, role), {
    cwd: ROOT,
    stdio: ['pipe', outFd ?? 'pipe', 'pipe'],
    env: { ...process.env, BENCH_RSS_FILE: rssFile, NO_COLOR: '1' },
  });
  let lines = 0;
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdin!.on('error', () => {});
  const countLines = (chunk: Buffer) => {
    for (let i = chunk.indexOf(10); i !== -1; i = chunk.indexOf(10, i + 1)) lines++;
  };
  child.stdout?.on('data', (chunk: Buffer) => {
    countLines(chunk);
    child.stdout!.pause();
    setTimeout(() => child.stdout!.resume(), options.slowReaderMs);
  });
  if (options.input) {
    // Input is written once the connection is open for every client alike (wscat drops lines typed
    // before it connects), and stdin is closed after it: the end of a pipe.
    const input = options.input;
    void server.opened.then(() => setTimeout(() => child.stdin!.end(input), 300));
  }
  const killer = setTimeout(() => child.kill('SIGKILL'), 120_000);
  const [serverResult, exitCode] = await Promise.all([
    server.result,
    new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1))),
  ]);
  clearTimeout(killer);
  server.close();
  if (outFd !== null) {
    closeSync(outFd);
    const fd = openSync(outFile, 'r');
    const buffer = Buffer.allocUnsafe(1 << 20);
    for (let n = readSync(fd, buffer); n > 0; n = readSync(fd, buffer)) countLines(buffer.subarray(0, n));
    closeSync(fd);
  }
  let peakRssMB = NaN;
  try {
    peakRssMB = Number(readFileSync(rssFile, 'utf8')) / 1024;
  } catch {
    // killed before it could report
  }
  rmSync(dir, { recursive: true, force: true });
  const count = role === 'producer' ? serverResult.textFrames : lines;
  const notes = [];
  if (!serverResult.sawClose) notes.push('no CLOSE');
  if (role === 'producer' && !serverResult.inOrder) notes.push('out of order');
  if (exitCode !== 0) notes.push(`exit ${exitCode}`);
  return { seconds: serverResult.seconds, peakRssMB, count, ok: serverResult.sawClose, note: notes.join(', ') };
}

/** The floor: handshake, then discard bytes until the server's CLOSE frame has arrived; echo it. */
async function runFloor(port: number): Promise<void> {
  const socket = net.connect({ host: '127.0.0.1', port });
  const key = Buffer.alloc(16, 7).toString('base64');
  socket.write(`GET /consumer HTTP/1.1\r\nHost: 127.0.0.1:${port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: ${key}\r\nSec-WebSocket-Version: 13\r\n\r\n`);
  let upgraded = false;
  let tail = Buffer.alloc(0);
  socket.on('data', (chunk: Buffer) => {
    if (!upgraded) {
      const end = chunk.indexOf('\r\n\r\n');
      if (end < 0) return;
      upgraded = true;
      chunk = chunk.subarray(end + 4);
    }
    // Only the last bytes matter: the flood ends with CLOSE 1000 (88 02 03 e8).
    tail = Buffer.concat([tail, chunk.subarray(-4)]).subarray(-4);
    if (tail.equals(CLOSE_1000)) socket.end(Buffer.from([0x88, 0x82, 0, 0, 0, 0, 0x03, 0xe8]));
  });
  socket.on('error', () => {});
}

// ------------------------------------------------------------------------------------ report

const median = (xs: number[]) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length % 2 ? s[(s.length - 1) / 2]! : (s[s.length / 2 - 1]! + s[s.length / 2]!) / 2;
};
const fmt = (x: number, digits = 3) => (Number.isFinite(x) ? x.toFixed(digits) : 'n/a');

/** A value made on first use, then kept (compressing the scenarios' data takes seconds: only when run). */
function lazily<T>(make: () => T): () => T {
  let value: T | undefined;
  return () => (value ??= make());
}

interface Scenario {
  id: string;
  title: string;
  clients: ClientName[];
  role: Role;
  mode: () => Parameters<typeof startServer>[0];
  expectedCount: number;
  options?: ClientOptions;
  target: string;
}

/** Frames of `messages` compressed as a permessage-deflate server sends them (RSV1; context takeover). */
function compressedFrames(messages: Buffer[]): Buffer {
  const deflater = new ServerDeflater();
  return Buffer.concat(messages.map((message) => frame(1, deflater.compress(message), { rsv: 4 })));
}

/** 50,000 JSON-like messages, of about 110 bytes: a price feed. */
function priceFeed(): Buffer[] {
  return Array.from({ length: 50_000 }, (_, i) => Buffer.from(JSON.stringify({ id: i, type: 'price', symbol: ['ACME', 'INIT', 'GLOB'][i % 3], bid: 100 + (i % 97) / 7, ask: 101 + (i % 89) / 9, ts: 1733000000000 + i })));
}

/** 16 MiB of JSON-like records on one line, which compress about 7:1. */
function compressibleMessage(): Buffer {
  const records: string[] = [];
  for (let i = 0, size = 0; size < 16 * 1024 * 1024; i++) {
    const record = JSON.stringify({ id: i, user: `user${(i * 7919) % 100000}`, score: (i * 31) % 1000, tags: [`a${i % 13}`, `b${i % 7}`] });
    records.push(record);
    size += record.length + 1;
  }
  return Buffer.from(records.join(' ')).subarray(0, 16 * 1024 * 1024);
}

function buildScenarios(): Scenario[] {
  const small = Buffer.alloc(62, 'The quick brown fox jumps over the lazy dog, again and again! ');
  const flood = Buffer.concat(Array.from({ length: 200_000 }, () => frame(1, small)));
  const bigFrame = frame(1, Buffer.alloc(16 * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789 '));
  const lines = Buffer.from(Array.from({ length: 200_000 }, (_, i) => `${String(i).padStart(8, '0')} ${'x'.repeat(54)}\n`).join(''));
  return [
    { id: 'flood', title: 'Consumer flood: 200,000 64-byte text frames', clients: ['wsc', 'wscat', 'floor'], role: 'consumer', mode: () => ({ flood: [flood] }), expectedCount: 200_000, target: 'wsc <= 1/15 of wscat' },
    { id: 'big', title: 'Big messages: 20 text messages of 16 MiB', clients: ['wsc', 'wscat', 'floor'], role: 'consumer', mode: () => ({ flood: Array.from({ length: 20 }, () => bigFrame) }), expectedCount: 20, target: 'wsc <= 1/4 of wscat, RSS <= wscat' },
    { id: 'pipe', title: 'Producer pipe: 200,000 lines of 63 bytes', clients: ['wsc', 'wscat'], role: 'producer', mode: () => ({ sink: true }), expectedCount: 200_000, options: { input: lines }, target: 'all lines, wsc <= 1/5 of wscat' },
    { id: 'slow', title: 'Slow reader: the flood, stdout drained one chunk per 10 ms', clients: ['wsc', 'wscat'], role: 'consumer', mode: () => ({ flood: [flood] }), expectedCount: 200_000, options: { slowReaderMs: 10 }, target: 'wsc peak RSS < 150 MB' },
    {
      id: 'zflood', title: 'Compressed flood: 50,000 JSON-like messages, permessage-deflate with context takeover', clients: ['wsc', 'wscat'], role: 'consumer',
      mode: lazily(() => ({ flood: [compressedFrames(priceFeed())], extensions: 'permessage-deflate' })), expectedCount: 50_000, target: 'wsc <= 1/5 of wscat',
    },
    {
      id: 'zbig', title: 'Compressed big messages: 10 of 16 MiB, about 7:1', clients: ['wsc', 'wscat'], role: 'consumer',
      mode: lazily(() => ({ flood: [compressedFrames(Array.from({ length: 10 }, compressibleMessage))], extensions: 'permessage-deflate' })), expectedCount: 10, target: 'wsc no slower than wscat, RSS <= wscat',
    },
  ];
}

async function measureIdleCpu(client: ClientName, seconds: number): Promise<number> {
  const server = await startServer({ idle: true });
  const child = spawn(process.execPath, commandFor(client, server.port, 'consumer'), { cwd: ROOT, stdio: ['pipe', 'pipe', 'pipe'] });
  child.stdin!.on('error', () => {});
  const ticks = () => {
    const fields = readFileSync(`/proc/${child.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
    return Number(fields[11]) + Number(fields[12]); // utime + stime, in clock ticks
  };
  await new Promise((r) => setTimeout(r, 2500)); // started, connected and settled
  const before = ticks();
  await new Promise((r) => setTimeout(r, seconds * 1000));
  const used = ticks() - before;
  child.kill('SIGKILL');
  server.close();
  return used;
}

// ------------------------------------------------------------------------- hostile volume

/** A server's part in a volume case: given the socket after the handshake; resolves when the load is over
 * (the peak is read then, and the server sends CLOSE 1000 and starts reading). */
type VolumeServe = (socket: net.Socket) => Promise<void>;

interface VolumeResult {
  peakMB: number;
  /** Peak early in the case (the soak compares it with the end). */
  earlyPeakMB: number;
  exitCode: number;
  warnings: boolean;
  /** The last line the client wrote on stderr. */
  stderr: string;
}

async function measureVolume(client: 'wsc' | 'wscat', role: Role, serve: VolumeServe, feedStdin?: (stdin: NodeJS.WritableStream) => void): Promise<VolumeResult> {
  let served!: Promise<void>;
  let serverSocket!: net.Socket;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    acceptUpgrade(socket, null, () => {
      serverSocket = socket;
      served = serve(socket);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dir = mkdtempSync(join(os.tmpdir(), 'wsc-bench-'));
  const rssFile = join(dir, 'rss');
  const hook = `--import=${PEAK_RSS_HOOK}`;
  const args = client === 'wsc' ? [hook, '--import', 'tsx', join(ROOT, 'client.ts'), '--quiet', '127.0.0.1', String(port), role] : [hook, WSCAT, '-c', `ws://127.0.0.1:${port}/${role}`];
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1', BENCH_RSS_FILE: rssFile } });
  child.stdin!.on('error', () => {});
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  if (feedStdin) feedStdin(child.stdin!);
  const exited = new Promise<number>((resolve) => child.on('close', (code) => resolve(code ?? -1)));
  let earlyPeakMB = NaN;
  const early = setTimeout(() => (earlyPeakMB = peakResidentMB(child.pid!)), 10_000);
  while (served === undefined) await new Promise((r) => setTimeout(r, 10));
  await served;
  clearTimeout(early);
  const peak = peakResidentMB(child.pid!);
  serverSocket.on('data', () => {});
  serverSocket.resume();
  if (!serverSocket.destroyed) serverSocket.write(CLOSE_1000);
  const killer = setTimeout(() => child.kill('SIGKILL'), 10_000);
  const exitCode = await exited;
  clearTimeout(killer);
  serverSocket.destroy();
  server.close();
  // A client that exited during the load reports its own peak at exit (the hook); a killed one cannot.
  let atExitMB = NaN;
  try {
    atExitMB = Number(readFileSync(rssFile, 'utf8')) / 1024;
  } catch {}
  rmSync(dir, { recursive: true, force: true });
  return { peakMB: Math.max(Number.isNaN(peak) ? 0 : peak, Number.isNaN(atExitMB) ? 0 : atExitMB) || NaN, earlyPeakMB, exitCode, warnings: /Warning/.test(stderr), stderr: stderr.trim().split('\n').at(-1) ?? '' };
}

/** Write `frames` as fast as the socket takes them, `batch` frames per write. */
async function sendAll(socket: net.Socket, frame: Buffer, count: number, batch = 1000): Promise<void> {
  const chunk = Buffer.concat(Array.from({ length: batch }, () => frame));
  for (let sent = 0; sent < count && !socket.destroyed; sent += batch) {
    if (!socket.write(chunk)) {
      await new Promise<void>((resolve) => {
        const done = () => {
          socket.removeListener('drain', done);
          socket.removeListener('close', done);
          resolve();
        };
        socket.on('drain', done);
        socket.on('close', done);
      });
    }
  }
}

interface VolumeCase {
  id: string;
  title: string;
  clients: ('wsc' | 'wscat')[];
  role: Role;
  serve: VolumeServe;
  feedStdin?: (stdin: NodeJS.WritableStream) => void;
}

function volumeCases(): VolumeCase[] {
  const ping125 = frame(9, Buffer.alloc(125, 'p'));
  const pingFlood = (count: number): VolumeServe => async (socket) => {
    socket.pause(); // never reads: every PONG stays with the client
    await sendAll(socket, ping125, count);
    // The client still parses what the kernel holds: give it time to reach its peak.
    await new Promise((resolve) => setTimeout(resolve, 1000));
  };
  return [
    { id: 'pings', title: '1,000,000 PINGs of 125 bytes (127 MB) from a server that never reads', clients: ['wsc', 'wscat'], role: 'consumer', serve: pingFlood(1_000_000) },
    { id: 'pings10m', title: '10,000,000 PINGs of 125 bytes (1.27 GB) from a server that never reads', clients: ['wsc'], role: 'consumer', serve: pingFlood(10_000_000) },
    {
      id: 'fragments',
      title: '2,000,000 one-byte fragments of one message',
      clients: ['wsc', 'wscat'],
      role: 'consumer',
      serve: async (socket) => {
        socket.write(Buffer.from([0x01, 0x01, 0x78])); // TEXT, FIN clear, "x"
        await sendAll(socket, Buffer.from([0x00, 0x01, 0x78]), 2_000_000 - 2, 10_000);
        socket.write(Buffer.from([0x80, 0x01, 0x78]));
        await new Promise((resolve) => setTimeout(resolve, 1000));
      },
    },
    {
      id: 'stuck',
      title: 'A producer pushing stdin for 10 s into a server that never reads',
      clients: ['wsc', 'wscat'],
      role: 'producer',
      serve: async (socket) => {
        socket.pause();
        await new Promise((resolve) => setTimeout(resolve, 10_000));
      },
      feedStdin: (stdin) => {
        const block = Buffer.from(Array.from({ length: 1000 }, (_, i) => `line ${i} ${'x'.repeat(90)}\n`).join(''));
        const pump = () => {
          while (stdin.write(block));
          stdin.once('drain', pump);
        };
        pump();
      },
    },
    {
      id: 'soak',
      title: 'Soak: 120 s of PINGs every 50 ms and 460 messages a second (opt-in: --only soak)',
      clients: ['wsc', 'wscat'],
      role: 'consumer',
      serve: async (socket) => {
        socket.on('data', () => {});
        const message = frame(1, Buffer.from('m'.repeat(100)));
        const pings = setInterval(() => socket.write(frame(9, Buffer.from(String(Date.now())))), 50);
        const messages = setInterval(() => socket.write(Buffer.concat(Array.from({ length: 46 }, () => message))), 100);
        await new Promise((resolve) => setTimeout(resolve, 120_000));
        clearInterval(pings);
        clearInterval(messages);
      },
    },
  ];
}

async function benchVolume(only: string[] | undefined, summary: string[]): Promise<void> {
  const wanted = volumeCases().filter((c) => (only ? only.includes(c.id) || only.includes('volume') && c.id !== 'soak' : c.id !== 'soak'));
  if (wanted.length === 0) return;
  console.log('## Hostile volume: peak RSS (VmHWM) of the client process, one run each (target: wsc under 150 MB)');
  console.log('| case | client | peak RSS MB | at 10 s | exit | Node warning | last stderr line |');
  console.log('|---|---|---|---|---|---|---|');
  for (const volume of wanted) {
    for (const client of volume.clients) {
      const r = await measureVolume(client, volume.role, volume.serve, volume.feedStdin);
      console.log(`| ${volume.title} | ${client} | ${fmt(r.peakMB, 0)} | ${fmt(r.earlyPeakMB, 0)} | ${r.exitCode} | ${r.warnings ? 'yes' : 'no'} | ${r.stderr.slice(0, 80)} |`);
      if (client === 'wsc') summary.push(`${volume.id}: wsc peak RSS ${fmt(r.peakMB, 0)} MB`);
    }
  }
  console.log('');
}

// ---------------------------------------------------------------------------------- big lines

/**
 * A sink for one long message: it reads the client's frames as they come without keeping their payloads
 * (a 1 GiB message is counted, not held), and reports the bytes of the first message, its fragments, and
 * when its first and last frames came. It answers the client's CLOSE.
 */
function startLineSink(): Promise<{ port: number; result: Promise<{ bytes: number; fragments: number; seconds: number }> }> {
  return new Promise((resolveServer) => {
    let resolveResult!: (value: { bytes: number; fragments: number; seconds: number }) => void;
    const result = new Promise<{ bytes: number; fragments: number; seconds: number }>((r) => (resolveResult = r));
    const server = net.createServer((socket) => {
      socket.on('error', () => {});
      let header = Buffer.alloc(0); // the bytes of a frame header read so far
      let skip = 0; // payload bytes of the current frame still to pass over
      let counting = false; // the current frame is a data frame: its payload is the message's
      let lastFrame = false; // ... and its FIN is set
      socket.on('close', () => server.close());
      let bytes = 0, fragments = 0, first = 0n;
      const finish = () => resolveResult({ bytes, fragments, seconds: Number(process.hrtime.bigint() - first) / 1e9 });
      const onFrames = (chunk: Buffer) => {
        for (let at = 0; at < chunk.length; ) {
          if (skip > 0) {
            const n = Math.min(skip, chunk.length - at);
            if (counting) bytes += n;
            skip -= n;
            at += n;
            if (skip === 0 && counting && lastFrame) finish();
            continue;
          }
          // Gather the header: two bytes tell how long it is.
          const wanted = header.length < 2 ? 2 : 2 + ((header[1]! & 0x7f) === 126 ? 2 : (header[1]! & 0x7f) === 127 ? 8 : 0) + 4;
          const take = Math.min(wanted - header.length, chunk.length - at);
          header = Buffer.concat([header, chunk.subarray(at, at + take)]);
          at += take;
          if (header.length < wanted || wanted === 2) continue;
          const len7 = header[1]! & 0x7f;
          const length = len7 === 126 ? header.readUInt16BE(2) : len7 === 127 ? Number(header.readBigUInt64BE(2)) : len7;
          const opcode = header[0]! & 0x0f;
          lastFrame = (header[0]! & 0x80) !== 0;
          header = Buffer.alloc(0);
          counting = opcode <= 2;
          if (opcode === 8) socket.end(CLOSE_1000);
          if (counting && fragments++ === 0) first = process.hrtime.bigint();
          skip = length;
          if (skip === 0 && counting && lastFrame) finish();
        }
      };
      acceptUpgrade(socket, null, (rest) => {
        socket.on('data', onFrames);
        if (rest.length > 0) onFrames(rest);
      });
    });
    server.listen(0, '127.0.0.1', () => resolveServer({ port: (server.address() as net.AddressInfo).port, result }));
  });
}

/** One line of `size` bytes piped to a producer: whole-process time, peak RSS, and what the server got. */
async function measureBigLine(client: 'wsc' | 'wscat', size: number) {
  const sink = await startLineSink();
  const dir = mkdtempSync(join(os.tmpdir(), 'wsc-bench-'));
  const rssFile = join(dir, 'rss');
  const hook = `--import=${PEAK_RSS_HOOK}`;
  const url = `ws://127.0.0.1:${sink.port}/producer`;
  const args = client === 'wsc' ? [hook, '--import', 'tsx', join(ROOT, 'client.ts'), '--quiet', url] : [hook, WSCAT, '-c', url];
  const started = performance.now();
  const child = spawn(process.execPath, args, { cwd: ROOT, stdio: ['pipe', 'ignore', 'pipe'], env: { ...process.env, NO_COLOR: '1', BENCH_RSS_FILE: rssFile } });
  child.stdin!.on('error', () => {});
  let stderr = '';
  child.stderr!.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const block = Buffer.alloc(1024 * 1024, 'a');
  void (async () => {
    for (let written = 0; written < size; written += block.length) {
      const piece = written + block.length <= size ? block : block.subarray(0, size - written);
      if (!child.stdin!.write(piece)) await new Promise((resolve) => child.stdin!.once('drain', resolve));
    }
    child.stdin!.end('\n');
  })();
  const killer = setTimeout(() => child.kill('SIGKILL'), 300_000);
  const got = await Promise.race([sink.result, new Promise<null>((resolve) => child.on('close', () => setTimeout(() => resolve(null), 2000)))]);
  const exitCode = await new Promise<number>((resolve) => (child.exitCode !== null ? resolve(child.exitCode) : child.on('close', (code) => resolve(code ?? -1))));
  clearTimeout(killer);
  const seconds = (performance.now() - started) / 1000;
  let peakMB = NaN;
  try {
    peakMB = Number(readFileSync(rssFile, 'utf8')) / 1024;
  } catch {}
  rmSync(dir, { recursive: true, force: true });
  return { seconds, peakMB, got, exitCode, stderr: stderr.trim().split('\n').at(-1) ?? '' };
}

async function benchBigLine(summary: string[]): Promise<void> {
  const MiB = 1024 * 1024;
  console.log('## Big lines: one line piped to a producer (target: 1 GiB arrives whole under 150 MB peak RSS; time linear in size)');
  console.log('| client | line | whole-process s | s per GiB | peak RSS MB | server got (bytes, fragments) | exit | last stderr line |');
  console.log('|---|---|---|---|---|---|---|---|');
  for (const [client, size] of [['wsc', 64 * MiB], ['wscat', 64 * MiB], ['wsc', 256 * MiB], ['wsc', 1024 * MiB]] as const) {
    const r = await measureBigLine(client, size);
    const whole = r.got !== null && r.got.bytes === size;
    const got = r.got === null ? 'nothing whole' : `${r.got.bytes} (${r.got.fragments})${whole ? '' : ' — not all'}`;
    console.log(`| ${client} | ${size / MiB} MiB | ${fmt(r.seconds, 2)} | ${fmt(r.seconds / (size / (1024 * MiB)), 2)} | ${fmt(r.peakMB, 0)} | ${got} | ${r.exitCode} | ${r.stderr.slice(0, 60)} |`);
    if (client === 'wsc') summary.push(`bigline ${size / MiB} MiB: ${fmt(r.seconds, 2)} s, peak RSS ${fmt(r.peakMB, 0)} MB, ${whole ? 'whole' : 'NOT whole'}`);
  }
  console.log('');
}

// ------------------------------------------------------------------------- start-up and exit

type CycleClient = 'wsc' | 'tsx' | 'wscat';
const CYCLE_LABELS: Record<CycleClient, string> = { wsc: 'wsc (installed: dist/wsc.mjs)', tsx: 'tsx client.ts', wscat: 'wscat' };

function cycleCommand(client: CycleClient, port: number): string[] {
  const args = ['--quiet', '127.0.0.1', String(port), 'consumer'];
  if (client === 'wsc') return [process.execPath, join(ROOT, 'dist', 'wsc.mjs'), ...args];
  if (client === 'tsx') return [join(ROOT, 'node_modules', '.bin', 'tsx'), join(ROOT, 'client.ts'), ...args];
  return [process.execPath, WSCAT, '-c', `ws://127.0.0.1:${port}/consumer`];
}

interface Cycle {
  /** Spawn to exit, as the bench sees it. */
  wallMs: number;
  /** From the client's CLOSE echo reaching the server to the client's exit. */
  exitMs: number;
  peakRssMB: number;
}

/**
 * One whole run: connect, upgrade, the server sends CLOSE 1000 at once, the client echoes it and exits.
 * `closeFirst`: the server closes TCP as soon as the echo arrives; otherwise it waits for the client's FIN.
 */
async function measureCycle(client: CycleClient, closeFirst: boolean): Promise<Cycle> {
  let echoAt = 0;
  const server = net.createServer((socket) => {
    socket.on('error', () => {});
    socket.on('end', () => socket.end());
    const onFrames = (chunk: Buffer) => {
      if (echoAt === 0 && parseClientFrames(chunk).frames.some((f) => f.opcode === 8)) {
        echoAt = performance.now();
        if (closeFirst) socket.end();
      }
    };
    acceptUpgrade(socket, null, (rest) => {
      socket.write(CLOSE_1000);
      socket.on('data', onFrames);
      if (rest.length > 0) onFrames(rest);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const port = (server.address() as net.AddressInfo).port;
  const dir = mkdtempSync(join(os.tmpdir(), 'wsc-bench-'));
  const timeFile = join(dir, 'time');
  const started = performance.now();
  // GNU time reports the peak RSS of the whole process tree it waited for (tsx runs a second node).
  const child = spawn('/usr/bin/time', ['-f', '%M', '-o', timeFile, ...cycleCommand(client, port)], { cwd: ROOT, stdio: ['pipe', 'ignore', 'ignore'] });
  const exitedAt = await new Promise<number>((resolve) => child.on('close', () => resolve(performance.now())));
  server.close();
  const peakRssMB = Number(readFileSync(timeFile, 'utf8').trim().split('\n').at(-1)) / 1024;
  rmSync(dir, { recursive: true, force: true });
  return { wallMs: exitedAt - started, exitMs: echoAt ? exitedAt - echoAt : NaN, peakRssMB };
}

async function benchStartupAndExit(runs: number, only: string[] | undefined, summary: string[]): Promise<void> {
  if (!only || only.includes('startup')) {
    const clients: CycleClient[] = ['wsc', 'tsx', 'wscat'];
    const results: Record<string, Cycle[]> = {};
    for (let round = 0; round <= runs; round++) {
      for (const client of clients) {
        const cycle = await measureCycle(client, true);
        if (round > 0) (results[client] ??= []).push(cycle);
      }
    }
    console.log('## Start-up: connect, server CLOSE, exit — the whole process (target: installed wsc no slower than wscat, no more memory)');
    console.log('| client | median ms | min–max ms | peak RSS MB (median) |');
    console.log('|---|---|---|---|');
    for (const client of clients) {
      const walls = results[client]!.map((c) => c.wallMs);
      console.log(`| ${CYCLE_LABELS[client]} | ${fmt(median(walls), 0)} | ${fmt(Math.min(...walls), 0)}–${fmt(Math.max(...walls), 0)} | ${fmt(median(results[client]!.map((c) => c.peakRssMB)), 0)} |`);
    }
    const ratio = (a: CycleClient, key: 'wallMs' | 'peakRssMB') => median(results[a]!.map((c, i) => c[key] / results.wscat![i]![key]));
    console.log(`\nwsc/wscat time per pair → median ${fmt(ratio('wsc', 'wallMs'), 2)}; peak RSS → median ${fmt(ratio('wsc', 'peakRssMB'), 2)}; tsx client.ts/wscat time → ${fmt(ratio('tsx', 'wallMs'), 2)}\n`);
    summary.push(`startup: installed wsc/wscat time ${fmt(ratio('wsc', 'wallMs'), 2)}, RSS ${fmt(ratio('wsc', 'peakRssMB'), 2)}; tsx client.ts/wscat time ${fmt(ratio('tsx', 'wallMs'), 2)}`);
  }
  if (!only || only.includes('exit')) {
    console.log('## Exit latency: from the CLOSE echo reaching the server to the client\'s exit (target: about 50 ms)');
    console.log('| server | client | median ms | min–max ms |');
    console.log('|---|---|---|---|');
    for (const closeFirst of [true, false]) {
      const results: Record<string, number[]> = {};
      for (let round = 0; round <= runs; round++) {
        for (const client of ['wsc', 'wscat'] as const) {
          const cycle = await measureCycle(client, closeFirst);
          if (round > 0) (results[client] ??= []).push(cycle.exitMs);
        }
      }
      const label = closeFirst ? 'closes first' : 'waits for the client\'s FIN';
      for (const client of ['wsc', 'wscat'] as const) {
        const ms = results[client]!;
        console.log(`| ${label} | ${CYCLE_LABELS[client]} | ${fmt(median(ms), 1)} | ${fmt(Math.min(...ms), 1)}–${fmt(Math.max(...ms), 1)} |`);
      }
      summary.push(`exit (server ${label}): wsc ${fmt(median(results.wsc!), 1)} ms, wscat ${fmt(median(results.wscat!), 1)} ms`);
    }
    console.log('');
  }
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: { runs: { type: 'string', default: '5' }, only: { type: 'string' }, floor: { type: 'string' } },
  });
  if (values.floor) return runFloor(Number(values.floor));
  const runs = Number(values.runs);
  const only = values.only?.split(',');
  const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
  console.log(`# wsc benchmark — ${new Date().toISOString().slice(0, 10)}, Node ${process.version}, ${os.cpus().length} × ${cpu}, ${Math.round(os.totalmem() / 2 ** 30)} GiB, ${os.platform()} ${os.release()}`);
  console.log(`# ${runs} runs per client after a warm-up, interleaved (wsc, wscat, floor, wsc, …); times from the server's 101 to the client's CLOSE\n`);
  const summary: string[] = [];
  await benchStartupAndExit(runs, only, summary);
  await benchVolume(only, summary);
  if (only?.includes('bigline')) await benchBigLine(summary);
  for (const scenario of buildScenarios()) {
    if (only && !only.includes(scenario.id)) continue;
    const results: Record<string, Measurement[]> = {};
    for (let round = 0; round <= runs; round++) {
      for (const client of scenario.clients) {
        const m = await measure(client, scenario.mode(), scenario.role, scenario.options);
        if (client !== 'floor' && m.count !== scenario.expectedCount) m.note = [m.note, `got ${m.count} of ${scenario.expectedCount}`].filter(Boolean).join(', ');
        if (round > 0) (results[client] ??= []).push(m);
      }
    }
    console.log(`## ${scenario.title}  (target: ${scenario.target})`);
    console.log('| client | median s | min–max s | peak RSS MB (median) | min–max MB | complete runs | notes |');
    console.log('|---|---|---|---|---|---|---|');
    for (const client of scenario.clients) {
      const ms = results[client]!;
      const secs = ms.map((m) => m.seconds);
      const complete = client === 'floor' ? ms.filter((m) => m.ok).length : ms.filter((m) => m.ok && m.count === scenario.expectedCount).length;
      const notes = [...new Set(ms.map((m) => m.note).filter(Boolean))].join('; ');
      const rss = ms.map((m) => m.peakRssMB);
      console.log(`| ${client} | ${fmt(median(secs))} | ${fmt(Math.min(...secs))}–${fmt(Math.max(...secs))} | ${fmt(median(rss), 0)} | ${fmt(Math.min(...rss), 0)}–${fmt(Math.max(...rss), 0)} | ${complete}/${ms.length} | ${notes} |`);
    }
    const ratios = results.wsc!.map((m, i) => m.seconds / results.wscat![i]!.seconds);
    const rssRatios = results.wsc!.map((m, i) => m.peakRssMB / results.wscat![i]!.peakRssMB);
    console.log(`\nwsc/wscat time per pair: ${ratios.map((r) => fmt(r)).join(' ')} → median ${fmt(median(ratios))} (1/${fmt(1 / median(ratios), 1)})`);
    console.log(`wsc/wscat peak RSS per pair: ${rssRatios.map((r) => fmt(r, 2)).join(' ')} → median ${fmt(median(rssRatios), 2)}\n`);
    summary.push(`${scenario.id}: time ratio ${fmt(median(ratios))}, RSS ratio ${fmt(median(rssRatios), 2)}, wsc complete ${results.wsc!.filter((m) => m.ok && m.count === scenario.expectedCount).length}/${runs}`);
  }
  if (!only || only.includes('scale')) {
    // Linear time: the same 20 messages at growing sizes should cost the same per MiB (a decoder that
    // re-concatenates its buffer per chunk would grow quadratically here).
    console.log('## Scaling: 20 text messages of 1, 4 and 16 MiB (wsc only)');
    console.log('| message size | median s | min–max s | ms per MiB received |');
    console.log('|---|---|---|---|');
    const perMiB: number[] = [];
    for (const mib of [1, 4, 16]) {
      const message = frame(1, Buffer.alloc(mib * 1024 * 1024, 'abcdefghijklmnopqrstuvwxyz0123456789 '));
      const secs: number[] = [];
      for (let round = 0; round <= runs; round++) {
        const m = await measure('wsc', { flood: Array.from({ length: 20 }, () => message) }, 'consumer');
        if (round > 0 && m.ok && m.count === 20) secs.push(m.seconds);
      }
      perMiB.push((median(secs) * 1000) / (20 * mib));
      console.log(`| ${mib} MiB | ${fmt(median(secs))} | ${fmt(Math.min(...secs))}–${fmt(Math.max(...secs))} | ${fmt(perMiB.at(-1)!, 2)} |`);
    }
    console.log(`\nper-MiB cost at 16 MiB / at 1 MiB: ${fmt(perMiB.at(-1)! / perMiB[0]!, 2)} (1.00 = linear)\n`);
    summary.push(`scale: per-MiB time at 16 MiB / at 1 MiB = ${fmt(perMiB.at(-1)! / perMiB[0]!, 2)}`);
  }
  if (!only || only.includes('idle')) {
    const wscTicks = await measureIdleCpu('wsc', 5);
    const wscatTicks = await measureIdleCpu('wscat', 5);
    console.log(`## Idle: CPU clock ticks used by a connected, idle consumer over 5 s (100 ticks = 1 CPU-second)`);
    console.log(`wsc ${wscTicks} ticks, wscat ${wscatTicks} ticks\n`);
    summary.push(`idle: wsc ${wscTicks} ticks in 5 s`);
  }
  console.log('# summary\n' + summary.map((s) => `- ${s}`).join('\n'));
}

main().catch((error) => {
  console.error(error);
  process.exitCode = 1;
});

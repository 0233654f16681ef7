// A raw-TCP fake WebSocket server (node:net only, no WebSocket library): it answers the handshake (or
// answers it wrongly on purpose), plays an exact byte script in whatever pieces a test asks for, and
// records every frame the client sends back, unmasked. Its framing code is written separately from the
// client's on purpose, so the client is never checked against itself.

import { createHash } from 'node:crypto';
import * as zlib from 'node:zlib';
import * as net from 'node:net';
import type { AddressInfo } from 'node:net';
import { delay, runClient, runInProcess, type RunHandle, type RunOptions } from './helpers.ts';

export interface ClientFrame {
  fin: boolean;
  rsv: number;
  opcode: number;
  masked: boolean;
  payload: Buffer;
}

export const OP = { CONT: 0, TEXT: 1, BINARY: 2, CLOSE: 8, PING: 9, PONG: 10 } as const;

export interface FrameSpec {
  fin?: boolean;
  rsv?: number;
  /** Mask the frame (servers must not). */
  mask?: boolean;
  /** Announce this payload length instead of the real one (for headers whose payload never comes). */
  announce?: number | bigint;
  /** Force the 64-bit length form. */
  long?: boolean;
}

/** A server-to-client frame, built byte by byte from RFC 6455 section 5.2. */
export function frame(opcode: number, payload: Buffer | string = '', spec: FrameSpec = {}): Buffer {
  const body = typeof payload === 'string' ? Buffer.from(payload, 'utf8') : payload;
  const length = spec.announce ?? body.length;
  const bytes: number[] = [((spec.fin ?? true) ? 0x80 : 0) | ((spec.rsv ?? 0) << 4) | opcode];
  const maskBit = spec.mask ? 0x80 : 0;
  if (!spec.long && typeof length === 'number' && length < 126) {
    bytes.push(maskBit | length);
  } else if (!spec.long && typeof length === 'number' && length < 65536) {
    bytes.push(maskBit | 126, length >> 8, length & 0xff);
  } else {
    const big = BigInt(length);
    bytes.push(maskBit | 127);
    for (let shift = 56n; shift >= 0n; shift -= 8n) bytes.push(Number((big >> shift) & 0xffn));
  }
  if (!spec.mask) return Buffer.concat([Buffer.from(bytes), body]);
  const key = [0x12, 0x34, 0x56, 0x78];
  return Buffer.concat([Buffer.from([...bytes, ...key]), Buffer.from(body.map((b, i) => b ^ key[i % 4]!))]);
}

export function closePayload(code: number, reason: Buffer | string = ''): Buffer {
  const head = Buffer.from([code >> 8, code & 0xff]);
  return Buffer.concat([head, typeof reason === 'string' ? Buffer.from(reason, 'utf8') : reason]);
}

export const text = (payload: Buffer | string, spec?: FrameSpec) => frame(OP.TEXT, payload, spec);
export const binary = (payload: Buffer | string, spec?: FrameSpec) => frame(OP.BINARY, payload, spec);
export const cont = (payload: Buffer | string, spec?: FrameSpec) => frame(OP.CONT, payload, spec);
export const ping = (payload: Buffer | string = '', spec?: FrameSpec) => frame(OP.PING, payload, spec);
export const pong = (payload: Buffer | string = '', spec?: FrameSpec) => frame(OP.PONG, payload, spec);
export const close = (code?: number, reason: Buffer | string = '') =>
  frame(OP.CLOSE, code === undefined ? Buffer.alloc(0) : closePayload(code, reason));

/** Parse whole client frames from the front of `buffer`; returns them and the bytes left over. */
export function parseClientFrames(buffer: Buffer): { frames: ClientFrame[]; rest: Buffer } {
  const frames: ClientFrame[] = [];
  let at = 0;
  for (;;) {
    if (buffer.length - at < 2) break;
    const b0 = buffer[at]!, b1 = buffer[at + 1]!;
    let length = b1 & 0x7f;
    let pos = at + 2;
    if (length === 126) {
      if (buffer.length < pos + 2) break;
      length = buffer.readUInt16BE(pos);
      pos += 2;
    } else if (length === 127) {
      if (buffer.length < pos + 8) break;
      length = Number(buffer.readBigUInt64BE(pos));
      pos += 8;
    }
    const masked = (b1 & 0x80) !== 0;
    const keyAt = pos;
    if (masked) pos += 4;
    if (buffer.length < pos + length) break;
    const payload = Buffer.from(buffer.subarray(pos, pos + length));
    if (masked) for (let i = 0; i < length; i++) payload[i]! ^= buffer[keyAt + (i % 4)]!;
    frames.push({ fin: (b0 & 0x80) !== 0, rsv: (b0 >> 4) & 7, opcode: b0 & 0x0f, masked, payload });
    at = pos + length;
  }
  return { frames, rest: buffer.subarray(at) };
}

export function acceptFor(key: string): string {
  return createHash('sha1').update(key + '258EAFA5-E914-47DA-95CA-C5AB0DC85B11').digest('base64');
}

export function validResponse(key: string, extraHeaders: string[] = []): string {
  return ['HTTP/1.1 101 Switching Protocols', 'Upgrade: websocket', 'Connection: Upgrade', `Sec-WebSocket-Accept: ${acceptFor(key)}`, ...extraHeaders]
    .join('\r\n') + '\r\n\r\n';
}

/** How the server's bytes are cut into TCP writes. */
export type Delivery = 'whole' | 'bytewise' | { chop: number; pauseMs?: number };

export class FakeSession {
  request = '';
  key = '';
  frames: ClientFrame[] = [];
  /** performance.now() when each frame arrived, and when the client's FIN (or close) arrived. */
  frameTimes: number[] = [];
  endedAt = 0;
  /** Every byte the client sent after the handshake request. */
  raw: Buffer[] = [];
  ended = false;
  private buffer: Buffer = Buffer.alloc(0);
  private waiters: (() => void)[] = [];
  readonly socket: net.Socket;

  constructor(socket: net.Socket) {
    this.socket = socket;
    socket.setNoDelay(true);
    socket.on('error', () => {});
    socket.on('end', () => {
      this.endedAt ||= performance.now();
      this.ended = true;
      this.notify();
    });
    socket.on('close', () => {
      this.endedAt ||= performance.now();
      this.ended = true;
      this.notify();
    });
  }

  receive(chunk: Buffer): void {
    this.raw.push(chunk);
    this.buffer = Buffer.concat([this.buffer, chunk]);
    const { frames, rest } = parseClientFrames(this.buffer);
    this.buffer = rest;
    this.frames.push(...frames);
    for (const _ of frames) this.frameTimes.push(performance.now());
    if (frames.length) this.notify();
  }

  private notify(): void {
    for (const waiter of [...this.waiters]) waiter();
  }

  /** Write bytes to the client in the requested pieces. Resolves when all were handed to TCP. */
  async send(bytes: Buffer | Buffer[], delivery: Delivery = 'whole'): Promise<void> {
    const data = Array.isArray(bytes) ? Buffer.concat(bytes) : bytes;
    if (this.socket.destroyed) return;
    if (delivery === 'whole') {
      await new Promise<void>((resolve) => this.socket.write(data, () => resolve()));
      return;
    }
    const size = delivery === 'bytewise' ? 1 : delivery.chop;
    const pause = delivery === 'bytewise' ? 1 : delivery.pauseMs ?? 0;
    for (let at = 0; at < data.length && !this.socket.destroyed; at += size) {
      const ok = this.socket.write(data.subarray(at, at + size));
      if (pause > 0) await delay(pause);
      else if (!ok) await new Promise((resolve) => this.socket.once('drain', resolve));
    }
  }

  /** Resolves with the first client frame (in order) matching `match`; rejects on timeout or TCP end. */
  waitForFrame(match: (frame: ClientFrame) => boolean, timeoutMs = 5000): Promise<ClientFrame> {
    return new Promise((resolve, reject) => {
      const check = () => {
        const found = this.frames.find(match);
        if (found) {
          done();
          resolve(found);
        } else if (this.ended) {
          done();
          reject(new Error('client closed TCP before sending the frame'));
        }
      };
      const timer = setTimeout(() => {
        done();
        reject(new Error(`no matching client frame within ${timeoutMs} ms`));
      }, timeoutMs);
      const done = () => {
        clearTimeout(timer);
        const i = this.waiters.indexOf(check);
        if (i >= 0) this.waiters.splice(i, 1);
      };
      this.waiters.push(check);
      check();
    });
  }

  waitForClose(timeoutMs = 5000): Promise<ClientFrame> {
    return this.waitForFrame((f) => f.opcode === OP.CLOSE, timeoutMs);
  }

  /** Resolves true when the client closed TCP, false if it has not within timeoutMs. */
  waitForEnd(timeoutMs = 5000): Promise<boolean> {
    return new Promise((resolve) => {
      if (this.ended) return resolve(true);
      const timer = setTimeout(() => {
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve(false);
      }, timeoutMs);
      const check = () => {
        if (!this.ended) return;
        clearTimeout(timer);
        this.waiters.splice(this.waiters.indexOf(check), 1);
        resolve(true);
      };
      this.waiters.push(check);
    });
  }

  end(): void {
    this.socket.end();
  }
}

export interface FakeServerOptions {
  /** The response head for a request with this key; default a valid 101. Return null to never answer. */
  respond?: (key: string, request: string) => string | Buffer | null;
  /** Runs once the handshake response was written. */
  script?: (session: FakeSession) => Promise<void>;
}

export interface FakeServer {
  port: number;
  sessions: FakeSession[];
  /** Resolves when the first session's script finished (or threw: the error is rethrown). */
  scriptDone: Promise<void>;
  close(): Promise<void>;
}

export async function startFakeServer(options: FakeServerOptions = {}): Promise<FakeServer> {
  const sessions: FakeSession[] = [];
  let resolveDone!: () => void;
  let rejectDone!: (error: unknown) => void;
  const scriptDone = new Promise<void>((resolve, reject) => {
    resolveDone = resolve;
    rejectDone = reject;
  });
  scriptDone.catch(() => {});
  const server = net.createServer((socket) => {
    const session = new FakeSession(socket);
    sessions.push(session);
    let head = Buffer.alloc(0);
    const onData = (chunk: Buffer) => {
      if (session.request === '') {
        head = Buffer.concat([head, chunk]);
        const end = head.indexOf('\r\n\r\n');
        if (end < 0) return;
        session.request = head.subarray(0, end).toString('latin1');
        session.key = /^sec-websocket-key:\s*(\S+)/im.exec(session.request)?.[1] ?? '';
        const rest = head.subarray(end + 4);
        const response = (options.respond ?? ((key) => validResponse(key)))(session.key, session.request);
        if (response !== null) socket.write(response);
        if (rest.length) session.receive(rest);
        (options.script ?? (async () => {}))(session).then(resolveDone, rejectDone);
        return;
      }
      session.receive(chunk);
    };
    socket.on('data', onData);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    sessions,
    scriptDone,
    close: () =>
      new Promise<void>((resolve) => {
        for (const session of sessions) session.socket.destroy();
        server.close(() => resolve());
      }),
  };
}

export interface CaseResult {
  status: number;
  stdout: string;
  stderr: string;
  frames: ClientFrame[];
  session: FakeSession | undefined;
  run: RunHandle;
}

/**
 * Start a fake server with `script`, run the client against it as a consumer (or with `args`), wait for
 * both to finish, and return what happened. The client runs in this process (main() with stand-in
 * streams) unless `inProcess: false` or a `nodeBinary` asks for a child process.
 */
export async function runAgainstFakeServer(
  script: (session: FakeSession) => Promise<void>,
  args: string[] = ['consumer'],
  options: FakeServerOptions & RunOptions & { inProcess?: boolean } = {},
): Promise<CaseResult> {
  const server = await startFakeServer({ ...options, script });
  try {
    const argv = ['127.0.0.1', String(server.port), ...args];
    const run = options.inProcess === false || options.nodeBinary ? runClient(argv, options) : runInProcess(argv, options);
    const status = await run.exit;
    await server.scriptDone.catch((error: Error) => {
      throw new Error(`fake server script failed: ${error.message}; client stderr: ${run.stderr()}`);
    });
    const session = server.sessions[0];
    return { status, stdout: run.stdout(), stderr: run.stderr(), frames: session?.frames ?? [], session, run };
  } finally {
    await server.close();
  }
}

/**
 * A server's permessage-deflate compressor, with node:zlib (never the client's decoder): a message
 * DEFLATE-compressed with a sync flush, the 00 00 FF FF tail left out (RFC 7692 7.2.1). With context
 * takeover each message may refer back into the ones before (the last 2^windowBits bytes, as a dictionary).
 */
export class ServerDeflater {
  private history = Buffer.alloc(0);
  private readonly windowBits: number;
  private readonly takeover: boolean;

  constructor(options: { windowBits?: number; takeover?: boolean } = {}) {
    this.windowBits = options.windowBits ?? 15;
    this.takeover = options.takeover ?? true;
  }

  compress(message: Buffer | string): Buffer {
    const plain = typeof message === 'string' ? Buffer.from(message, 'utf8') : message;
    const options: zlib.ZlibOptions = { windowBits: Math.max(9, this.windowBits), finishFlush: zlib.constants.Z_SYNC_FLUSH };
    if (this.takeover && this.history.length > 0) options.dictionary = this.history;
    const compressed = zlib.deflateRawSync(plain, options);
    if (this.takeover) this.history = Buffer.concat([this.history, plain]).subarray(-(1 << Math.max(9, this.windowBits)));
    return compressed.subarray(0, compressed.length - 4);
  }
}

/** A client's compressed payload inflated the RFC's way (the tail put back), by node:zlib. */
export function inflateClientPayload(payload: Buffer, windowBits = 15): Buffer {
  return zlib.inflateRawSync(Buffer.concat([payload, Buffer.from([0, 0, 0xff, 0xff])]), { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
}

/**
 * A decompression bomb without compressing a gigabyte: a permessage-deflate payload (tail left out) that
 * inflates to at least `inflated` zero bytes, about a thousandth of that on the wire. zlib codes 4 MiB of
 * zeros as one block whose middle is a run of zero bytes, each holding four 258-byte copies; the run is
 * lengthened. The tests check with zlib that it inflates as this says.
 */
export function zeroBomb(inflated: number): { payload: Buffer; inflatedLength: number } {
  const base = 4 * 1024 * 1024, perRunByte = 4 * 258;
  const deflated = zlib.deflateRawSync(Buffer.alloc(base), { level: 9, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  const compressed = deflated.subarray(0, deflated.length - 4);
  let runStart = 0, runLength = 0;
  for (let at = 0, start = 0; at <= compressed.length; at++) {
    if (at < compressed.length && compressed[at] === 0) continue;
    if (at - start > runLength) [runStart, runLength] = [start, at - start];
    start = at + 1;
  }
  const extra = Math.max(0, Math.ceil((inflated - base) / perRunByte));
  const payload = Buffer.concat([compressed.subarray(0, runStart + runLength), Buffer.alloc(extra), compressed.subarray(runStart + runLength)]);
  return { payload, inflatedLength: base + extra * perRunByte };
}

// wsc: a terminal WebSocket chat client that speaks RFC 6455 itself over a raw TCP (or TLS) socket.
//
// Layout, top to bottom: types, constants, the pure codec (frames, UTF-8, handshake), the sans-I/O state
// machine (`ClientConnection`: bytes in, bytes-to-send and events out), the I/O shell that pumps sockets,
// stdin, stdout, timers and signals into it, and `main()`, which returns the exit status.
// Only Node built-ins are used, and only erasable TypeScript, so `node client.ts` runs it on Node >= 22.18.

import { createHash, randomBytes, randomFillSync } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { readFileSync, realpathSync } from 'node:fs';
import * as net from 'node:net';
import * as tls from 'node:tls';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';

// ---------------------------------------------------------------------------------------------- types

export type Role = 'producer' | 'consumer' | 'both';
export type State = 'HANDSHAKING' | 'OPEN' | 'CLOSING' | 'CLOSED';

export interface FrameHeader {
  fin: boolean;
  rsv: number; // the three RSV bits as a number 0-7
  opcode: number;
  masked: boolean;
  maskKey: Buffer | null;
  /** Infinity when a 64-bit length is beyond 2^53-1: no such message can be accepted. */
  payloadLength: number;
}

/** One step of the incremental frame reader: a header, or a piece of the current frame's payload. */
export type FramePiece =
  | { type: 'header'; header: FrameHeader }
  | { type: 'payload'; data: Buffer; end: boolean };

export interface CloseInfo {
  /** null when the CLOSE frame carried no status code (reported as 1005). */
  code: number | null;
  reason: string;
}

export type ProtocolEvent =
  | { type: 'open'; statusLine: string; headers: Map<string, string>; subprotocol: string | null }
  /** A complete message: its bytes are `chunks` in order (valid until the next receiveData(), see there). */
  | { type: 'text'; chunks: Buffer[]; size: number }
  /** Several complete text messages that arrived whole in one chunk: message i is source[ranges[2i]..ranges[2i+1]). */
  | { type: 'text-run'; source: Buffer; ranges: number[] }
  | { type: 'binary'; chunks: Buffer[]; size: number }
  | { type: 'ping'; payload: Buffer }
  | { type: 'pong'; payload: Buffer }
  | { type: 'close'; code: number | null; reason: string; initiator: 'server' | 'client' }
  | { type: 'failure'; message: string; closeCode: number | null };

export type HandshakeResult =
  | { ok: true; statusLine: string; headers: Map<string, string>; subprotocol: string | null }
  | { ok: false; error: string; status?: number; location?: string };

export interface ConnectionOptions {
  host: string;
  port: number;
  path: string;
  /** Host header value; defaults to HOST:PORT. */
  hostHeader?: string;
  /** base64 of 16 random bytes; a fresh one per connection unless a test pins it. */
  key?: string;
  maxMessageSize?: number;
  subprotocols?: string[];
  extraHeaders?: [string, string][];
  /** Where frame mask keys come from; tests pin it to make frames reproducible. */
  maskKeySource?: () => Buffer;
  /** Told of every frame sent and received (for -v); control frames come with their payload. */
  onFrame?: FrameObserver;
}

export type FrameObserver = (direction: 'sent' | 'received', header: FrameHeader, controlPayload: Buffer | null) => void;

export interface Target {
  /** user:password from the URL, if any. */
  auth?: string;
  secure: boolean;
  host: string; // without IPv6 brackets
  port: number;
  role: Role;
  path: string;
}

export interface CliOptions {
  target: Target;
  connectTimeoutMs: number;
  closeTimeoutMs: number;
  maxMessageSize: number;
  pingIntervalMs: number; // 0: the client sends no pings of its own
  pingTimeoutMs: number;
  showHeartbeats: boolean;
  color: boolean | null; // null: decide from the terminal and NO_COLOR
  quiet: boolean;
  json: boolean;
  reconnect: boolean;
  insecure: boolean;
  caFile: string | null;
  certFile: string | null;
  keyFile: string | null;
  passphrase: string | null;
  /** Extra request headers, in order (-H), with Origin (-o) and Authorization (--auth) among them. */
  headers: [string, string][];
  /** user:password for Basic authentication (--auth, or the URL's user:password@). */
  auth: string | null;
  subprotocols: string[];
  followRedirects: boolean;
  maxRedirects: number;
  /** http://[user:pass@]host:port, from --proxy or the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). */
  proxy: string | null;
  slash: boolean;
  verbose: boolean;
}

// ------------------------------------------------------------------------------------------ constants

export const VERSION = '1.0.0';
export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';

export const Opcode = {
  CONTINUATION: 0x0,
  TEXT: 0x1,
  BINARY: 0x2,
  CLOSE: 0x8,
  PING: 0x9,
  PONG: 0xa,
} as const;

export const OPCODE_NAMES: Record<number, string> = {
  0x0: 'CONTINUATION', 0x1: 'TEXT', 0x2: 'BINARY', 0x8: 'CLOSE', 0x9: 'PING', 0xa: 'PONG',
};

export const CloseCode = {
  NORMAL: 1000,
  GOING_AWAY: 1001,
  PROTOCOL_ERROR: 1002,
  NO_STATUS: 1005,
  ABNORMAL: 1006,
  INVALID_DATA: 1007,
  MESSAGE_TOO_BIG: 1009,
} as const;

export const ExitStatus = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

export const ROLES: readonly Role[] = ['producer', 'consumer', 'both'];
export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
export const MAX_RESPONSE_HEAD = 16 * 1024;
const MAX_CONTROL_PAYLOAD = 125;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** How long to wait for the server to close TCP after the closing handshake completed (RFC 6455 7.1.1). */
const CLOSE_GRACE_MS = 1000;
/** Bytes of input queued before OPEN past which stdin is paused until the connection opens. */
const QUEUE_HIGH_WATER = 4 * 1024 * 1024;
export const UTF8_REJECT = -1;
const NEWLINE = Buffer.from('\n');
const EMPTY = Buffer.alloc(0);
const READ_BUFFER_SIZE = 256 * 1024;
const RECONNECT_BASE_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/** A connection open this long resets the backoff. */
const STABLE_CONNECTION_MS = 10_000;
/** Lines kept while disconnected (--reconnect); beyond this, lines are dropped and the user told. */
const MAX_WAITING_LINES = 100_000;
/** Server close codes after which --reconnect tries again: going away, internal error, restart, try later. */
const RETRY_CLOSE_CODES = new Set([1001, 1011, 1012, 1013]);
/** Headers that carry credentials: not sent to another host after a redirect. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);

export const USAGE = `Usage: client.ts [options] HOST PORT ROLE
       client.ts [options] ws://HOST[:PORT]/ROLE | wss://HOST[:PORT]/ROLE
ROLE is producer (send each stdin line), consumer (print each message) or both.

Connection:
  -H, --header "NAME: VALUE"     add a request header (repeatable)
      --auth USER:PASSWORD       HTTP Basic authentication (also from a URL's user:password@)
  -o, --origin ORIGIN            send an Origin header
  -s, --subprotocol NAME         offer a subprotocol (repeatable); the server's choice is reported
  -L, --location                 follow HTTP redirects of the upgrade request
      --max-redirects N          at most N redirects with -L (default 10)
      --proxy URL                tunnel through an HTTP proxy (http://[user:pass@]host:port) with CONNECT;
                                 without it, HTTP_PROXY / HTTPS_PROXY / NO_PROXY are honoured
      --connect-timeout SECONDS  give up if not connected and upgraded in time (default 10)
      --close-timeout SECONDS    wait this long for the server's CLOSE (default 5)
      --max-message-size BYTES   refuse larger incoming messages with 1009 (default 67108864)
TLS (wss://):
      --ca FILE                  also trust this CA certificate (PEM)
      --cert FILE                client certificate (PEM)
      --key FILE                 its private key (PEM)
      --passphrase TEXT          the key's passphrase
  -n, --insecure                 do not verify the server's certificate (prints a warning; --no-check too)
Liveness:
      --ping-interval SECONDS    send a PING every SECONDS (default 30; 0 = never)
      --ping-timeout SECONDS     count the connection dead without a PONG in time (default 20)
  -P, --show-heartbeats          report PINGs and PONGs on stderr (--show-ping-pong too)
      --reconnect                after an abnormal end, reconnect with backoff (0.5 s doubling to 30 s)
Input:
      --slash                    lines starting with / are commands: /ping [text], /pong [text],
                                 /close [code [reason]], /quit (// sends a line starting with /)
Output:
  -v, --verbose                  show the handshake headers and every frame on stderr
      --json                     one JSON object per line on stdout for each event
      --no-color                 no colour on a terminal (NO_COLOR does the same); --color forces it
  -q, --quiet                    no status lines on stderr, only errors
  -h, --help                     show this help
      --version                  show the version

stdout carries received messages only; everything else goes to stderr.
Exit status: 0 normal closure, 1 failure, 2 usage error.`;

// ---------------------------------------------------------------------------------------- pure codec

let maskPool = Buffer.alloc(0);
let maskPoolOffset = 0;

/** A fresh 4-byte mask key; drawn from a pool refilled by node:crypto to avoid a syscall per frame. */
export function randomMaskKey(): Buffer {
  if (maskPoolOffset + 4 > maskPool.length) {
    maskPool = randomFillSync(Buffer.allocUnsafe(8192));
    maskPoolOffset = 0;
  }
  const key = maskPool.subarray(maskPoolOffset, maskPoolOffset + 4);
  maskPoolOffset += 4;
  return key;
}

/** XOR `source` with the mask into `target`; `phase` is the payload offset of source[0] (mask cycles by 4). */
export function applyMask(source: Buffer, target: Buffer, targetOffset: number, key: Buffer, phase = 0): void {
  const k0 = key[phase & 3]!, k1 = key[(phase + 1) & 3]!, k2 = key[(phase + 2) & 3]!, k3 = key[(phase + 3) & 3]!;
  const n = source.length;
  const whole = n & ~3;
  let i = 0;
  for (; i < whole; i += 4) {
    target[targetOffset + i] = source[i]! ^ k0;
    target[targetOffset + i + 1] = source[i + 1]! ^ k1;
    target[targetOffset + i + 2] = source[i + 2]! ^ k2;
    target[targetOffset + i + 3] = source[i + 3]! ^ k3;
  }
  const rest = [k0, k1, k2];
  for (; i < n; i++) target[targetOffset + i] = source[i]! ^ rest[i - whole]!;
}

/**
 * One complete frame as a client sends it: FIN, opcode, MASK bit set, 7/16/64-bit length, the mask key,
 * then the masked payload. Pure: the mask key is an argument.
 */
export function encodeFrame(opcode: number, payload: Buffer, maskKey: Buffer, fin = true): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const headerLength = 2 + lengthBytes + 4;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = (fin ? 0x80 : 0) | opcode;
  if (lengthBytes === 0) {
    frame[1] = 0x80 | length;
  } else if (lengthBytes === 2) {
    frame[1] = 0x80 | 126;
    frame.writeUInt16BE(length, 2);
  } else {
    frame[1] = 0x80 | 127;
    frame.writeUInt32BE(Math.floor(length / 2 ** 32), 2);
    frame.writeUInt32BE(length >>> 0, 6);
  }
  maskKey.copy(frame, headerLength - 4, 0, 4);
  applyMask(payload, frame, headerLength, maskKey);
  return frame;
}

/** Header size implied by the first two bytes of a frame. */
export function frameHeaderLength(byte1: number): number {
  const len7 = byte1 & 0x7f;
  return 2 + (len7 === 126 ? 2 : len7 === 127 ? 8 : 0) + (byte1 & 0x80 ? 4 : 0);
}

/** Parse a complete frame header (exactly `frameHeaderLength(bytes[1])` bytes). Pure; no validation. */
export function parseFrameHeader(bytes: Buffer): FrameHeader {
  const b0 = bytes[0]!, b1 = bytes[1]!;
  const len7 = b1 & 0x7f;
  let payloadLength = len7;
  let offset = 2;
  if (len7 === 126) {
    payloadLength = bytes.readUInt16BE(2);
    offset = 4;
  } else if (len7 === 127) {
    const high = bytes.readUInt32BE(2);
    // 2^53-1 is the largest exact length; beyond it (or with the reserved top bit) nothing fits anyway.
    payloadLength = high > 0x1fffff ? Infinity : high * 2 ** 32 + bytes.readUInt32BE(6);
    offset = 10;
  }
  const masked = (b1 & 0x80) !== 0;
  return {
    fin: (b0 & 0x80) !== 0,
    rsv: (b0 >> 4) & 0x7,
    opcode: b0 & 0x0f,
    masked,
    maskKey: masked ? bytes.subarray(offset, offset + 4) : null,
    payloadLength,
  };
}

/**
 * Received bytes as a list of chunks, consumed from the front without re-concatenating what is left
 * (re-concatenation per chunk is quadratic on big messages).
 */
export class ByteQueue {
  private chunks: Buffer[] = [];
  private head = 0;
  private offset = 0;
  length = 0;

  push(chunk: Buffer): void {
    if (chunk.length === 0) return;
    this.chunks.push(chunk);
    this.length += chunk.length;
  }

  /** The front chunk, and the offset of its first unread byte: for reading small frames in place. */
  get front(): Buffer | null {
    return this.length === 0 ? null : this.chunks[this.head]!;
  }

  get frontOffset(): number {
    return this.offset;
  }

  byteAt(index: number): number {
    let i = this.head;
    let at = index + this.offset;
    while (at >= this.chunks[i]!.length) at -= this.chunks[i++]!.length;
    return this.chunks[i]![at]!;
  }

  /** Exactly n bytes (n <= length): a view when they lie in one chunk, otherwise one small copy. */
  consume(n: number): Buffer {
    const first = this.chunks[this.head]!;
    if (first.length - this.offset >= n) return this.take(n);
    const out = Buffer.allocUnsafe(n);
    let filled = 0;
    while (filled < n) {
      const piece = this.take(n - filled);
      piece.copy(out, filled);
      filled += piece.length;
    }
    return out;
  }

  /** Up to max bytes from the front chunk, as a view: payloads are sliced, never copied here. */
  take(max: number): Buffer {
    const first = this.chunks[this.head]!;
    const n = Math.min(max, first.length - this.offset);
    const piece = n === first.length ? first : first.subarray(this.offset, this.offset + n);
    this.skip(n);
    return piece;
  }

  /** Copy what is left, so that the chunks pushed so far may be reused by the caller. */
  detach(): void {
    if (this.length > 0) this.chunks = [Buffer.from(this.consume(this.length))];
    else this.chunks = [];
    this.head = 0;
    this.offset = 0;
    this.length = this.chunks.length ? this.chunks[0]!.length : 0;
  }

  /** Drop n bytes (n <= the bytes left in the front chunk). */
  skip(n: number): void {
    const first = this.chunks[this.head]!;
    this.offset += n;
    this.length -= n;
    if (this.offset === first.length) {
      this.offset = 0;
      this.head++;
      if (this.head === this.chunks.length) {
        this.chunks = [];
        this.head = 0;
      } else if (this.head >= 64) {
        this.chunks = this.chunks.slice(this.head);
        this.head = 0;
      }
    }
  }
}

/**
 * Incremental frame decoder: push whatever bytes arrived, then `read()` until it returns null.
 * Payloads come out in pieces as they arrive (a 16 MiB frame is never waited for whole, nor allocated
 * from its header); `needed` tells how many more bytes the next step requires.
 */
export class FrameReader {
  private queue = new ByteQueue();
  private header: FrameHeader | null = null;
  private remaining = 0;
  private received = 0;

  push(chunk: Buffer): void {
    this.queue.push(chunk);
  }

  /** Copy unread bytes out of the pushed chunks (see ClientConnection.receiveData). */
  detach(): void {
    this.queue.detach();
  }

  get needed(): number {
    if (this.header) return Math.max(1, Math.min(this.remaining, Number.MAX_SAFE_INTEGER));
    if (this.queue.length < 2) return 2 - this.queue.length;
    return frameHeaderLength(this.queue.byteAt(1)) - this.queue.length;
  }

  read(): FramePiece | null {
    if (this.header === null) {
      if (this.queue.length < 2) return null;
      const headerLength = frameHeaderLength(this.queue.byteAt(1));
      if (this.queue.length < headerLength) return null;
      const header = parseFrameHeader(this.queue.consume(headerLength));
      if (header.maskKey) header.maskKey = Buffer.from(header.maskKey);
      this.header = header;
      this.remaining = header.payloadLength;
      this.received = 0;
      return { type: 'header', header };
    }
    if (this.remaining === 0) {
      this.header = null;
      return { type: 'payload', data: EMPTY, end: true };
    }
    if (this.queue.length === 0) return null;
    let data = this.queue.take(this.remaining);
    const header = this.header;
    if (header.maskKey) {
      const unmasked = Buffer.allocUnsafe(data.length);
      applyMask(data, unmasked, 0, header.maskKey, this.received);
      data = unmasked;
    }
    this.remaining -= data.length;
    this.received += data.length;
    const end = this.remaining === 0;
    if (end) this.header = null;
    return { type: 'payload', data, end };
  }

  /**
   * The fast path for a busy room: consecutive small TEXT frames that arrived whole in the front chunk
   * (unmasked, FIN, no RSV, 7-bit length within maxSize, valid UTF-8) are consumed in place, appending
   * each payload's [start, end) to `ranges`; returns the chunk they are in, or null if the next frame is
   * not such a frame (it then takes the checked path through read()). No per-message allocation.
   */
  readTextRun(maxSize: number, ranges: number[]): Buffer | null {
    if (this.header !== null) return null;
    const front = this.queue.front;
    if (front === null) return null;
    let at = this.queue.frontOffset;
    const start = at;
    const limit = front.length;
    while (at + 2 <= limit) {
      const length = front[at + 1]!;
      const end = at + 2 + length;
      if (front[at] !== 0x81 || length >= 126 || length > maxSize || end > limit) break;
      if (utf8Step(0, front, at + 2, end) !== 0) break;
      ranges.push(at + 2, end);
      at = end;
    }
    if (at === start) return null;
    this.queue.skip(at - start);
    return front;
  }
}

/**
 * Incremental UTF-8 validation (RFC 3629): returns the state after `bytes`, given the state after the
 * bytes before them. 0 means "at a code point boundary"; UTF8_REJECT means no continuation can make the
 * bytes valid. Rejects overlongs, surrogates, code points above U+10FFFF and bytes C0, C1, F5-FF.
 */
export function validateUtf8(state: number, bytes: Buffer): number {
  if (state === UTF8_REJECT) return state;
  const end = bytes.length;
  let i = 0;
  // Finish a code point begun in an earlier piece (at most three bytes).
  while (state !== 0 && i < end) state = utf8Step(state, bytes, i, ++i);
  if (state === UTF8_REJECT) return state;
  if (end - i >= 256) {
    // Bulk check in native code up to the last code point start; the tail goes through the step function.
    let boundary = end;
    while (boundary > i && end - boundary < 4 && (bytes[boundary - 1]! & 0xc0) === 0x80) boundary--;
    if (boundary > i && end - boundary < 4) boundary--;
    if (!isUtf8(bytes.subarray(i, boundary))) return UTF8_REJECT;
    i = boundary;
  }
  return utf8Step(state, bytes, i, end);
}

export function utf8Step(state: number, bytes: Buffer, start: number, end: number): number {
  let need = state >>> 16, lo = (state >>> 8) & 0xff, hi = state & 0xff;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!;
    if (need === 0) {
      if (b < 0x80) continue;
      if (b < 0xc2) return UTF8_REJECT;
      if (b < 0xe0) {
        need = 1; lo = 0x80; hi = 0xbf;
      } else if (b < 0xf0) {
        need = 2; lo = b === 0xe0 ? 0xa0 : 0x80; hi = b === 0xed ? 0x9f : 0xbf;
      } else if (b < 0xf5) {
        need = 3; lo = b === 0xf0 ? 0x90 : 0x80; hi = b === 0xf4 ? 0x8f : 0xbf;
      } else {
        return UTF8_REJECT;
      }
    } else {
      if (b < lo || b > hi) return UTF8_REJECT;
      need--; lo = 0x80; hi = 0xbf;
    }
  }
  return need === 0 ? 0 : (need << 16) | (lo << 8) | hi;
}

/** Status codes a peer may put in a CLOSE frame (RFC 6455 7.4; 1004-1006 and 1015 are never sent). */
export function isValidCloseCode(code: number): boolean {
  return (code >= 1000 && code <= 1003) || (code >= 1007 && code <= 1014) || (code >= 3000 && code <= 4999);
}

export function encodeClosePayload(code: number | null, reason = ''): Buffer {
  if (code === null) return Buffer.alloc(0);
  const reasonBytes = Buffer.from(reason, 'utf8');
  const payload = Buffer.allocUnsafe(2 + reasonBytes.length);
  payload.writeUInt16BE(code, 0);
  reasonBytes.copy(payload, 2);
  return payload;
}

export function parseClosePayload(payload: Buffer): CloseInfo | { error: string; closeCode: number } {
  if (payload.length === 0) return { code: null, reason: '' };
  if (payload.length === 1) return { error: 'CLOSE frame with a 1-byte payload', closeCode: CloseCode.PROTOCOL_ERROR };
  const code = payload.readUInt16BE(0);
  if (!isValidCloseCode(code)) return { error: `CLOSE frame with invalid status code ${code}`, closeCode: CloseCode.PROTOCOL_ERROR };
  const reason = payload.subarray(2);
  if (validateUtf8(0, reason) !== 0) return { error: 'CLOSE reason is not valid UTF-8', closeCode: CloseCode.INVALID_DATA };
  return { code, reason: reason.toString('utf8') };
}

export function computeAcceptKey(key: string): string {
  return createHash('sha1').update(key + WEBSOCKET_GUID).digest('base64');
}

export function buildHandshakeRequest(
  path: string, hostHeader: string, key: string, subprotocols: string[] = [], extraHeaders: [string, string][] = [],
): string {
  const hostOverride = extraHeaders.find(([name]) => name.toLowerCase() === 'host');
  const lines = [
    `GET ${path} HTTP/1.1`,
    `Host: ${hostOverride?.[1] ?? hostHeader}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${key}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (subprotocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${subprotocols.join(', ')}`);
  for (const [name, value] of extraHeaders) if (name.toLowerCase() !== 'host') lines.push(`${name}: ${value}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Check a complete response head (status line and headers, without the blank line) against RFC 6455 4.1. */
export function validateHandshakeResponse(head: string, key: string, offeredSubprotocols: string[] = []): HandshakeResult {
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!status) return { ok: false, error: `malformed HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}` };
  const headers = new Map<string, string>();
  for (const line of headerLines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return { ok: false, error: `malformed header line in the response: ${JSON.stringify(line.slice(0, 80))}` };
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const earlier = headers.get(name);
    headers.set(name, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  if (status[1] !== '101') {
    return { ok: false, error: `server refused the upgrade: ${statusLine}`, status: Number(status[1]), location: headers.get('location') };
  }
  if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') {
    return { ok: false, error: `bad Upgrade header in the response: ${JSON.stringify(headers.get('upgrade') ?? '(missing)')}` };
  }
  const connectionTokens = (headers.get('connection') ?? '').split(',').map((t) => t.trim().toLowerCase());
  if (!connectionTokens.includes('upgrade')) {
    return { ok: false, error: `bad Connection header in the response: ${JSON.stringify(headers.get('connection') ?? '(missing)')}` };
  }
  const accept = headers.get('sec-websocket-accept');
  const expected = computeAcceptKey(key);
  if (accept !== expected) {
    return { ok: false, error: `bad Sec-WebSocket-Accept in the response: got ${JSON.stringify(accept ?? '(missing)')}, expected ${JSON.stringify(expected)}` };
  }
  if (headers.has('sec-websocket-extensions')) {
    return { ok: false, error: `server sent Sec-WebSocket-Extensions: ${headers.get('sec-websocket-extensions')} (the client asked for none)` };
  }
  const chosen = headers.get('sec-websocket-protocol');
  if (chosen !== undefined && !offeredSubprotocols.includes(chosen)) {
    return {
      ok: false,
      error: offeredSubprotocols.length === 0
        ? `server sent Sec-WebSocket-Protocol: ${chosen} (the client asked for none)`
        : `server chose Sec-WebSocket-Protocol: ${chosen}, which the client did not offer`,
    };
  }
  return { ok: true, statusLine, headers, subprotocol: chosen ?? null };
}

// ------------------------------------------------------------------------------------- state machine

interface MessageInProgress {
  opcode: number;
  pieces: Buffer[];
  size: number;
  utf8State: number;
  /** Started after other messages in the assembly blocks; moved to the front at the next call. */
  behindOthers: boolean;
}

const ASSEMBLY_BLOCK = 1024 * 1024;

/**
 * Where messages are assembled: blocks that are reused from one message to the next, so a stream of big
 * messages makes no garbage (and peak memory stays near one message). Contiguous bytes are returned as one
 * view, so a message of a million one-byte fragments is still a handful of pieces.
 */
export class MessageAssembly {
  private blocks: Buffer[] = [];
  private block = 0;
  private offset = 0;

  /** Bytes held in blocks (they are kept for reuse). */
  get capacity(): number {
    return this.blocks.length * ASSEMBLY_BLOCK;
  }

  /** Start again from the first block: what was assembled before must no longer be in use. */
  reset(): void {
    this.block = 0;
    this.offset = 0;
  }

  /** Copy `data` in, appending views of where it went to `pieces` (extending the last one when contiguous). */
  append(data: Buffer, pieces: Buffer[]): void {
    for (let at = 0; at < data.length; ) {
      if (this.block === this.blocks.length) this.blocks.push(Buffer.allocUnsafe(ASSEMBLY_BLOCK));
      const block = this.blocks[this.block]!;
      const n = Math.min(ASSEMBLY_BLOCK - this.offset, data.length - at);
      data.copy(block, this.offset, at, at + n);
      const last = pieces[pieces.length - 1];
      if (last !== undefined && last.buffer === block.buffer && last.byteOffset + last.length === block.byteOffset + this.offset) {
        pieces[pieces.length - 1] = block.subarray(last.byteOffset - block.byteOffset, this.offset + n);
      } else {
        pieces.push(block.subarray(this.offset, this.offset + n));
      }
      at += n;
      this.offset += n;
      if (this.offset === ASSEMBLY_BLOCK) {
        this.block++;
        this.offset = 0;
      }
    }
  }
}

/**
 * The WebSocket client protocol without I/O (after python-websockets' sans-I/O core): feed it bytes from
 * the socket and lines from the user; take out bytes to send and events. States move
 * HANDSHAKING -> OPEN (valid 101) -> CLOSING (a CLOSE sent, waiting for the server's) -> CLOSED
 * (both CLOSE frames exchanged, a failed handshake, or the TCP stream ended).
 */
export class ClientConnection {
  state: State = 'HANDSHAKING';
  readonly key: string;
  /** Set when the connection failed: a protocol violation, a failed handshake or a lost connection. */
  failure: { message: string; closeCode: number | null } | null = null;
  closeSent: CloseInfo | null = null;
  closeReceived: CloseInfo | null = null;

  private readonly maxMessageSize: number;
  private readonly subprotocols: string[];
  private readonly maskKeySource: () => Buffer;
  private readonly onFrame: FrameObserver | undefined;
  /** The request as sent and the response head as received (for -v and redirects). */
  readonly request: string;
  response = '';
  /** Where a 3xx answer to the upgrade pointed (the shell follows it with -L). */
  redirect: { status: number; location: string } | null = null;
  /** The subprotocol the server chose, if any. */
  subprotocol: string | null = null;
  private outgoing: Buffer[] = [];
  private events: ProtocolEvent[] = [];
  private responseHead: Buffer = Buffer.alloc(0);
  private reader = new FrameReader();
  private assembly = new MessageAssembly();
  /** A message was completed in the current receiveData() call: its bytes are still in the assembly. */
  private assembledThisCall = false;
  private frame: FrameHeader | null = null;
  private controlPieces: Buffer[] = [];
  private message: MessageInProgress | null = null;
  private queuedLines: Buffer[] = [];
  private closeRequested: { code: number; reason: string } | null = null;
  /** After a CLOSE was received or the client failed the connection, incoming bytes are not acted on. */
  private ignoringInput = false;

  constructor(options: ConnectionOptions) {
    this.key = options.key ?? randomBytes(16).toString('base64');
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.subprotocols = options.subprotocols ?? [];
    this.maskKeySource = options.maskKeySource ?? randomMaskKey;
    this.onFrame = options.onFrame;
    const hostHeader = options.hostHeader ?? `${options.host.includes(':') ? `[${options.host}]` : options.host}:${options.port}`;
    this.request = buildHandshakeRequest(options.path, hostHeader, this.key, this.subprotocols, options.extraHeaders);
    this.outgoing.push(Buffer.from(this.request, 'latin1'));
  }

  /** Bytes for the socket, in order; the caller writes them all. */
  dataToSend(): Buffer[] {
    const out = this.outgoing;
    this.outgoing = [];
    return out;
  }

  eventsReceived(): ProtocolEvent[] {
    const events = this.events;
    this.events = [];
    return events;
  }

  /** Bytes held for assembling messages: about the largest message so far, however many there were. */
  get assemblyBytes(): number {
    return this.assembly.capacity;
  }

  /**
   * Bytes from the socket. `chunk` is not kept: what is needed later is copied, so the caller may read
   * into one reused buffer. Message events point into `chunk` ('text-run') or into reused assembly
   * blocks ('text', 'binary'): they are valid until the next call, so the caller must be done with them
   * (written synchronously, copied, or the socket paused until stdout drains) before it calls again.
   */
  receiveData(chunk: Buffer): void {
    this.assembledThisCall = false;
    const message = this.message;
    if (message !== null && message.behindOthers) {
      // The messages before it have been consumed: move its bytes (one chunk's worth at most) to the front,
      // so the blocks never grow beyond about one message.
      const bytes = Buffer.concat(message.pieces, message.size); // a copy: source and target may overlap
      this.assembly.reset();
      message.pieces = [];
      this.assembly.append(bytes, message.pieces);
      message.behindOthers = false;
    }
    if (this.state === 'HANDSHAKING') {
      this.receiveResponseHead(chunk);
    } else if (!this.ignoringInput) {
      this.reader.push(chunk);
      this.receiveFrames();
      this.reader.detach();
    }
  }

  /** The server closed the TCP stream (or it was reset). */
  receiveEof(detail = ''): void {
    if (this.state === 'CLOSED') return;
    const suffix = detail ? `: ${detail}` : '';
    if (this.state === 'HANDSHAKING') {
      this.fail(`connection closed during the handshake${suffix}`, null);
    } else if (this.failure === null) {
      const during = this.state === 'CLOSING' ? ' while waiting for the server\'s CLOSE' : '';
      this.fail(`connection lost (1006) without a CLOSE frame${during}${suffix}`, null);
    }
    this.state = 'CLOSED';
  }

  /** One text message. Returns false when it can no longer be sent (the closing handshake has begun). */
  sendText(payload: Buffer): boolean {
    if (this.state === 'HANDSHAKING' && this.closeRequested === null) {
      this.queuedLines.push(payload);
      return true;
    }
    if (this.state !== 'OPEN' || this.closeSent !== null) return false;
    this.sendFrame(Opcode.TEXT, payload);
    return true;
  }

  /** A PING (keepalive, or /ping); control payloads are at most 125 bytes. */
  sendPing(payload: Buffer): boolean {
    if (this.state !== 'OPEN' || this.closeSent !== null || payload.length > MAX_CONTROL_PAYLOAD) return false;
    this.sendFrame(Opcode.PING, payload);
    return true;
  }

  /** An unsolicited PONG (/pong): a one-way heartbeat. */
  sendPong(payload: Buffer): boolean {
    if (this.state !== 'OPEN' || this.closeSent !== null || payload.length > MAX_CONTROL_PAYLOAD) return false;
    this.sendFrame(Opcode.PONG, payload);
    return true;
  }

  private sendFrame(opcode: number, payload: Buffer): void {
    this.outgoing.push(encodeFrame(opcode, payload, this.maskKeySource()));
    this.onFrame?.('sent', { fin: true, rsv: 0, opcode, masked: true, maskKey: null, payloadLength: payload.length }, opcode >= 0x8 ? payload : null);
  }

  /**
   * Start the closing handshake (the user quit). Input accepted so far is sent first; before OPEN the
   * close waits for the handshake so that queued lines are not lost.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): void {
    if (this.closeSent !== null || this.closeRequested !== null || this.state === 'CLOSED') return;
    if (this.state === 'HANDSHAKING') {
      this.closeRequested = { code, reason };
      return;
    }
    this.sendClose(code, reason);
  }

  /** Give up on the connection (e.g. a timeout in the shell): no further frames are sent or read. */
  abort(message: string): void {
    if (this.failure === null) this.fail(message, null);
    this.state = 'CLOSED';
  }

  private sendClose(code: number | null, reason: string): void {
    this.sendFrame(Opcode.CLOSE, encodeClosePayload(code, reason));
    this.closeSent = { code, reason };
    this.state = 'CLOSING';
  }

  /**
   * Fail the WebSocket connection (RFC 6455 7.1.7): send CLOSE with the code if the connection is open,
   * and stop acting on incoming bytes. Every protocol check ends here.
   */
  private fail(message: string, closeCode: number | null): void {
    this.failure = { message, closeCode };
    this.events.push({ type: 'failure', message, closeCode });
    this.ignoringInput = true;
    if (this.state === 'HANDSHAKING') {
      this.state = 'CLOSED';
      return;
    }
    if (closeCode !== null && this.closeSent === null && this.state === 'OPEN') {
      this.sendClose(closeCode, closeCode === CloseCode.MESSAGE_TOO_BIG ? 'message too big' : 'protocol error');
    }
  }

  private receiveResponseHead(chunk: Buffer): void {
    const searchFrom = Math.max(0, this.responseHead.length - 3);
    this.responseHead = Buffer.concat([this.responseHead, chunk]);
    const end = this.responseHead.indexOf('\r\n\r\n', searchFrom, 'latin1');
    if (end < 0) {
      if (this.responseHead.length > MAX_RESPONSE_HEAD) {
        this.fail(`handshake response headers exceed ${MAX_RESPONSE_HEAD} bytes`, null);
      }
      return;
    }
    if (end > MAX_RESPONSE_HEAD) {
      this.fail(`handshake response headers exceed ${MAX_RESPONSE_HEAD} bytes`, null);
      return;
    }
    const head = this.responseHead.subarray(0, end).toString('latin1');
    const rest = this.responseHead.subarray(end + 4);
    this.responseHead = Buffer.alloc(0);
    this.response = head;
    const result = validateHandshakeResponse(head, this.key, this.subprotocols);
    if (!result.ok) {
      if (result.status !== undefined && REDIRECT_STATUSES.has(result.status) && result.location) {
        this.redirect = { status: result.status, location: result.location };
      }
      this.fail(result.error, null);
      return;
    }
    this.subprotocol = result.subprotocol;
    this.state = 'OPEN';
    this.events.push({ type: 'open', statusLine: result.statusLine, headers: result.headers, subprotocol: result.subprotocol });
    for (const line of this.queuedLines) this.sendFrame(Opcode.TEXT, line);
    this.queuedLines = [];
    if (this.closeRequested) this.sendClose(this.closeRequested.code, this.closeRequested.reason);
    // Bytes after the blank line are already frames.
    if (rest.length > 0) this.receiveData(rest);
  }

  private receiveFrames(): void {
    while (!this.ignoringInput) {
      if (this.message === null) {
        const ranges: number[] = [];
        // The fast path skips per-frame observation, so -v takes the checked path for every frame.
        const source = this.onFrame ? null : this.reader.readTextRun(this.maxMessageSize, ranges);
        if (source !== null) {
          this.events.push({ type: 'text-run', source, ranges });
          continue;
        }
      }
      const piece = this.reader.read();
      if (piece === null) return;
      if (piece.type === 'header') this.receiveFrameHeader(piece.header);
      else this.receiveFramePayload(piece.data, piece.end);
    }
  }

  private receiveFrameHeader(header: FrameHeader): void {
    const { opcode } = header;
    const isControl = opcode >= 0x8;
    if (header.rsv !== 0) return this.fail(`frame with reserved bits set (RSV=${header.rsv}) but no extension negotiated`, CloseCode.PROTOCOL_ERROR);
    if (OPCODE_NAMES[opcode] === undefined) return this.fail(`frame with reserved opcode ${opcode}`, CloseCode.PROTOCOL_ERROR);
    if (header.masked) return this.fail('masked frame from the server', CloseCode.PROTOCOL_ERROR);
    if (isControl) {
      if (!header.fin) return this.fail(`fragmented ${OPCODE_NAMES[opcode]} frame`, CloseCode.PROTOCOL_ERROR);
      if (header.payloadLength > MAX_CONTROL_PAYLOAD) {
        return this.fail(`${OPCODE_NAMES[opcode]} frame payload of ${header.payloadLength} bytes (over 125)`, CloseCode.PROTOCOL_ERROR);
      }
      this.controlPieces = [];
    } else {
      if (opcode === Opcode.CONTINUATION && this.message === null) {
        return this.fail('CONTINUATION frame without a message in progress', CloseCode.PROTOCOL_ERROR);
      }
      if (opcode !== Opcode.CONTINUATION && this.message !== null) {
        return this.fail(`new ${OPCODE_NAMES[opcode]} frame while a fragmented message is in progress`, CloseCode.PROTOCOL_ERROR);
      }
      const soFar = this.message?.size ?? 0;
      if (soFar + header.payloadLength > this.maxMessageSize) {
        const announced = Number.isFinite(header.payloadLength) ? `${soFar + header.payloadLength} bytes` : 'over 2^53-1 bytes';
        return this.fail(`message of ${announced} exceeds the limit of ${this.maxMessageSize} bytes`, CloseCode.MESSAGE_TOO_BIG);
      }
      if (this.message === null) {
        // Messages completed earlier in this receiveData() call are still in the blocks: append after them
        // for now, and move to the front at the next call (see receiveData).
        if (!this.assembledThisCall) this.assembly.reset();
        this.message = { opcode, pieces: [], size: 0, utf8State: 0, behindOthers: this.assembledThisCall };
      }
    }
    this.frame = header;
    if (!isControl) this.onFrame?.('received', header, null);
  }

  private receiveFramePayload(data: Buffer, end: boolean): void {
    const frame = this.frame!;
    if (frame.opcode >= 0x8) {
      if (data.length > 0) this.controlPieces.push(Buffer.from(data));
      if (end) this.receiveControlFrame(frame.opcode, this.controlPieces.length === 1 ? this.controlPieces[0]! : Buffer.concat(this.controlPieces));
      return;
    }
    const message = this.message!;
    if (data.length > 0) {
      this.assembly.append(data, message.pieces);
      message.size += data.length;
      // Fail fast: invalid UTF-8 is refused as soon as it arrives, not when the message completes.
      if (message.opcode === Opcode.TEXT) {
        message.utf8State = validateUtf8(message.utf8State, data);
        if (message.utf8State === UTF8_REJECT) return this.fail('invalid UTF-8 in a text message', CloseCode.INVALID_DATA);
      }
    }
    if (!end || !frame.fin) return;
    this.message = null;
    if (message.opcode === Opcode.TEXT && message.utf8State !== 0) {
      return this.fail('text message ends inside a UTF-8 sequence', CloseCode.INVALID_DATA);
    }
    this.assembledThisCall = true;
    this.events.push({ type: message.opcode === Opcode.TEXT ? 'text' : 'binary', chunks: message.pieces, size: message.size });
  }

  private receiveControlFrame(opcode: number, payload: Buffer): void {
    this.onFrame?.('received', this.frame!, payload);
    if (opcode === Opcode.PING) {
      this.events.push({ type: 'ping', payload });
      if (this.closeSent === null) this.sendFrame(Opcode.PONG, payload);
    } else if (opcode === Opcode.PONG) {
      this.events.push({ type: 'pong', payload });
    } else {
      const close = parseClosePayload(payload);
      if ('error' in close) return this.fail(close.error, close.closeCode);
      this.closeReceived = close;
      this.ignoringInput = true;
      const initiator = this.closeSent === null ? 'server' : 'client';
      // Echo the server's CLOSE with the same payload (status code and reason).
      if (this.closeSent === null) this.sendClose(close.code, close.reason);
      this.state = 'CLOSED';
      this.events.push({ type: 'close', code: close.code, reason: close.reason, initiator });
    }
  }
}

export function joinChunks(chunks: Buffer[], size: number): Buffer {
  return chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size);
}

/** The text payloads an event carries: one for 'text', several for 'text-run', none otherwise. */
export function textPayloads(event: ProtocolEvent): Buffer[] {
  if (event.type === 'text') return [joinChunks(event.chunks, event.size)];
  if (event.type !== 'text-run') return [];
  const payloads: Buffer[] = [];
  for (let i = 0; i < event.ranges.length; i += 2) payloads.push(event.source.subarray(event.ranges[i], event.ranges[i + 1]));
  return payloads;
}

/** The exit status a finished connection deserves: 0 only for a normal closure (1000, 1001 or no code). */
export function exitStatusFor(connection: ClientConnection): number {
  if (connection.failure !== null) return ExitStatus.FAILURE;
  const code = connection.closeReceived?.code;
  if (connection.closeReceived === null) return ExitStatus.FAILURE;
  return code === null || code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY ? ExitStatus.OK : ExitStatus.FAILURE;
}

// -------------------------------------------------------------------------------- terminal rendering

/**
 * Make peer text safe to show on a terminal: C0 controls other than tab and newline, DEL and C1 become
 * visible escapes, so a peer cannot set the title, clear the screen, move the cursor or forge a status line.
 */
export function neutraliseControls(text: string): string {
  return text.replace(/[\x00-\x08\x0b-\x1f\x7f-\x9f]/g, (c) => {
    const code = c.charCodeAt(0);
    if (code < 0x20) return '^' + String.fromCharCode(code + 0x40);
    if (code === 0x7f) return '^?';
    return '\\x' + code.toString(16);
  });
}

/**
 * The messages of a text run as one buffer, each followed by a newline: one copy, one write. The ranges
 * are increasing with gaps of at least a byte (frame headers) between them, so the whole span is copied
 * once and the gaps are closed in place: far cheaper than a copy call, or a byte loop, per message.
 */
export function joinLines(source: Buffer, ranges: number[]): Buffer {
  const first = ranges[0]!;
  const out = Buffer.allocUnsafe(ranges[ranges.length - 1]! - first + 1);
  source.copy(out, 0, first, ranges[ranges.length - 1]);
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const start = ranges[i]! - first, end = ranges[i + 1]! - first;
    if (start !== at) out.copyWithin(at, start, end);
    at += end - start;
    out[at++] = 0x0a; // lands in the gap before the next message, which has not moved yet
  }
  return out.subarray(0, at);
}

/** Binary messages are never written raw: one line with the size and a hex preview. */
export function describeBinary(data: Buffer): string {
  const preview = data.subarray(0, 16).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return `[binary ${data.length} byte${data.length === 1 ? '' : 's'}${data.length ? ': ' + preview : ''}${data.length > 16 ? ' …' : ''}]`;
}

const SGR = { reset: '\x1b[0m', dim: '\x1b[2m', green: '\x1b[32m', cyan: '\x1b[36m', red: '\x1b[31m' };

// ----------------------------------------------------------------------------------- command line

export class UsageError extends Error {}

function parseSeconds(name: string, value: string | undefined, fallback: number, allowZero = false): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (value.trim() === '' || !Number.isFinite(n) || n < 0 || (n === 0 && !allowZero)) {
    throw new UsageError(`--${name} must be a ${allowZero ? 'non-negative' : 'positive'} number of seconds, not ${JSON.stringify(value)}`);
  }
  return Math.round(n * 1000);
}

export function parseTarget(positionals: string[]): Target {
  if (positionals.length === 1 && /^[a-z][a-z0-9+.-]*:\/\//i.test(positionals[0]!)) {
    let url: URL;
    try {
      url = new URL(positionals[0]!);
    } catch {
      throw new UsageError(`not a valid URL: ${positionals[0]}`);
    }
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`URL scheme must be ws:// or wss://, not ${url.protocol}//`);
    const role = url.pathname.slice(1);
    if (!ROLES.includes(role as Role)) throw new UsageError(`the URL path must be /producer, /consumer or /both, not ${JSON.stringify(url.pathname)}`);
    const secure = url.protocol === 'wss:';
    const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
    const target: Target = { secure, host, port: url.port ? Number(url.port) : secure ? 443 : 80, role: role as Role, path: `/${role}${url.search}` };
    if (url.username) target.auth = `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}`;
    return target;
  }
  if (positionals.length !== 3) {
    throw new UsageError(positionals.length < 3 ? 'missing arguments: HOST PORT ROLE are required' : `too many arguments: ${positionals.slice(3).join(' ')}`);
  }
  const [rawHost, portText, role] = positionals as [string, string, string];
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new UsageError(`PORT must be a number from 1 to 65535, not ${JSON.stringify(portText)}`);
  if (!ROLES.includes(role as Role)) throw new UsageError(`ROLE must be producer, consumer or both, not ${JSON.stringify(role)}`);
  if (rawHost === '') throw new UsageError('HOST must not be empty');
  return { secure: false, host: rawHost.replace(/^\[(.*)\]$/, '$1'), port, role: role as Role, path: `/${role}` };
}

/** Headers the handshake itself owns: a user may not set them. */
const OWNED_HEADERS = new Set(['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version']);

export function parseHeaderOption(text: string): [string, string] {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  const value = colon > 0 ? text.slice(colon + 1).trim() : '';
  if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`--header must be "NAME: VALUE", not ${JSON.stringify(text)}`);
  if (/[\r\n\0]/.test(value)) throw new UsageError(`--header value must be one line: ${JSON.stringify(text)}`);
  if (OWNED_HEADERS.has(name.toLowerCase())) throw new UsageError(`--header cannot set ${name}: the WebSocket handshake sets it`);
  return [name, value];
}

export interface ProxyAddress {
  host: string;
  port: number;
  auth: string | null;
  display: string;
}

export function parseProxyUrl(text: string): ProxyAddress {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw new UsageError(`not a valid proxy URL: ${text}`);
  }
  if (url.protocol !== 'http:') throw new UsageError(`the proxy must be an http:// proxy, not ${url.protocol}//`);
  const host = url.hostname.replace(/^\[(.*)\]$/, '$1');
  const port = url.port ? Number(url.port) : 80;
  const auth = url.username ? `${decodeURIComponent(url.username)}:${decodeURIComponent(url.password)}` : null;
  return { host, port, auth, display: `${url.hostname}:${port}` };
}

/** The proxy the environment asks for, as curl reads it: HTTPS_PROXY for wss, HTTP_PROXY for ws, unless NO_PROXY matches. */
export function proxyFromEnvironment(target: Target, env: NodeJS.ProcessEnv): string | null {
  const pick = (name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || '';
  const proxy = target.secure ? pick('https_proxy') : pick('http_proxy');
  if (!proxy) return null;
  const noProxy = pick('no_proxy').split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean);
  const host = target.host.toLowerCase();
  for (const entry of noProxy) {
    if (entry === '*') return null;
    const [pattern = '', port] = entry.replace(/^\[(.*)\](:\d+)?$/, '$1$2').split(/:(?=\d+$)/);
    if (port !== undefined && Number(port) !== target.port) continue;
    const domain = pattern.replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return null;
  }
  return proxy;
}

/** Parse the command line; returns 'help' or 'version' for those requests. Throws UsageError. */
export function parseCommandLine(argv: string[]): CliOptions | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      strict: true,
      options: {
        help: { type: 'boolean', short: 'h' },
        version: { type: 'boolean' },
        'connect-timeout': { type: 'string' },
        'close-timeout': { type: 'string' },
        'max-message-size': { type: 'string' },
        'ping-interval': { type: 'string' },
        'ping-timeout': { type: 'string' },
        'show-heartbeats': { type: 'boolean', short: 'P' },
        'show-ping-pong': { type: 'boolean' },
        'no-color': { type: 'boolean' },
        color: { type: 'boolean' },
        quiet: { type: 'boolean', short: 'q' },
        json: { type: 'boolean' },
        reconnect: { type: 'boolean' },
        insecure: { type: 'boolean' },
        'no-check': { type: 'boolean', short: 'n' },
        ca: { type: 'string' },
        cert: { type: 'string' },
        key: { type: 'string' },
        passphrase: { type: 'string' },
        header: { type: 'string', short: 'H', multiple: true },
        auth: { type: 'string' },
        origin: { type: 'string', short: 'o' },
        subprotocol: { type: 'string', short: 's', multiple: true },
        location: { type: 'boolean', short: 'L' },
        'max-redirects': { type: 'string' },
        proxy: { type: 'string' },
        slash: { type: 'boolean' },
        verbose: { type: 'boolean', short: 'v' },
      },
    });
  } catch (error) {
    throw new UsageError((error as Error).message.split('\n')[0]!);
  }
  const { values, positionals } = parsed;
  if (values.help) return 'help';
  if (values.version) return 'version';
  const target = parseTarget(positionals);
  let maxMessageSize = DEFAULT_MAX_MESSAGE_SIZE;
  if (values['max-message-size'] !== undefined) {
    const text = values['max-message-size'];
    maxMessageSize = Number(text);
    if (!/^\d+$/.test(text) || maxMessageSize < 1 || !Number.isSafeInteger(maxMessageSize)) {
      throw new UsageError(`--max-message-size must be a positive whole number of bytes, not ${JSON.stringify(text)}`);
    }
  }
  if (!target.secure && (values.insecure || values['no-check'] || values.ca !== undefined || values.cert !== undefined || values.key !== undefined)) {
    throw new UsageError('--insecure, --ca, --cert and --key apply only to wss:// URLs');
  }
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together');
  const headers = (values.header ?? []).map(parseHeaderOption);
  if (values.origin !== undefined) headers.push(['Origin', values.origin]);
  const auth = values.auth ?? target.auth ?? null;
  if (auth !== null && !auth.includes(':')) throw new UsageError('--auth must be USER:PASSWORD');
  for (const name of values.subprotocol ?? []) {
    if (!/^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/.test(name)) throw new UsageError(`--subprotocol must be a token (letters, digits, !#$%&'*+.^_\`|~-), not ${JSON.stringify(name)}`);
  }
  const maxRedirects = values['max-redirects'] === undefined ? 10 : Number(values['max-redirects']);
  if (!Number.isInteger(maxRedirects) || maxRedirects < 0) throw new UsageError(`--max-redirects must be a whole number, not ${JSON.stringify(values['max-redirects'])}`);
  const proxy = values.proxy ?? proxyFromEnvironment(target, process.env);
  if (proxy !== null) parseProxyUrl(proxy);
  return {
    target,
    connectTimeoutMs: parseSeconds('connect-timeout', values['connect-timeout'], 10_000),
    closeTimeoutMs: parseSeconds('close-timeout', values['close-timeout'], 5_000),
    maxMessageSize,
    pingIntervalMs: parseSeconds('ping-interval', values['ping-interval'], 30_000, true),
    pingTimeoutMs: parseSeconds('ping-timeout', values['ping-timeout'], 20_000),
    showHeartbeats: (values['show-heartbeats'] || values['show-ping-pong']) ?? false,
    color: values['no-color'] ? false : values.color ? true : null,
    quiet: values.quiet ?? false,
    json: values.json ?? false,
    reconnect: values.reconnect ?? false,
    insecure: (values.insecure || values['no-check']) ?? false,
    caFile: values.ca ?? null,
    certFile: values.cert ?? null,
    keyFile: values.key ?? null,
    passphrase: values.passphrase ?? null,
    headers,
    auth,
    subprotocols: values.subprotocol ?? [],
    followRedirects: values.location ?? false,
    maxRedirects,
    proxy,
    slash: values.slash ?? false,
    verbose: values.verbose ?? false,
  };
}

// ------------------------------------------------------------------------------------------ I/O shell

function describeSocketError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ECONNREFUSED': return 'connection refused';
    case 'ENOTFOUND': return 'unknown host';
    case 'EAI_AGAIN': return 'host name lookup failed (temporary failure)';
    case 'ECONNRESET': return 'connection reset by peer';
    case 'ETIMEDOUT': return 'timed out';
    case 'EHOSTUNREACH': return 'host unreachable';
    case 'ENETUNREACH': return 'network unreachable';
    case 'EPIPE': return 'broken pipe';
    default: return error.message;
  }
}

function displayAddress(target: Target): string {
  const host = target.host.includes(':') ? `[${target.host}]` : target.host;
  return `${host}:${target.port}`;
}

/** What a connection attempt ended with, for the exit status and the reconnect decision. */
interface AttemptResult {
  status: number;
  /** A 3xx answer to the upgrade request, with where it points. */
  redirect: { status: number; location: string } | null;
  /** An abnormal end worth retrying: cannot connect, connection lost, dead keepalive, server 1001/1011-1013. */
  retry: boolean;
  /** How long the connection was OPEN (0 if it never opened). */
  openMs: number;
}

/** Everything the user sees: messages on stdout (plain, terminal or JSON lines), the rest on stderr. */
class Output {
  readonly stdout = process.stdout;
  readonly tty: boolean;
  private readonly color: boolean;
  private readonly stderrColor: boolean;
  private readonly options: CliOptions;

  constructor(options: CliOptions) {
    this.options = options;
    this.tty = this.stdout.isTTY === true && !options.json;
    const noColorEnv = (process.env.NO_COLOR ?? '') !== '';
    this.color = options.color ?? (this.tty && !noColorEnv);
    this.stderrColor = options.color ?? (process.stderr.isTTY === true && !noColorEnv);
  }

  status(text: string): void {
    if (!this.options.quiet) process.stderr.write(this.paintErr(SGR.dim, `wsc: ${text}`) + '\n');
  }

  error(text: string): void {
    process.stderr.write(this.paintErr(SGR.red, `wsc: ${text}`) + '\n');
  }

  /** -v lines: shown even with --quiet. */
  trace(text: string): void {
    process.stderr.write(this.paintErr(SGR.cyan, `wsc: ${text}`) + '\n');
  }

  private paintErr(code: string, text: string): string {
    return this.stderrColor ? `${code}${text}${SGR.reset}` : text;
  }

  private paint(code: string, text: string): string {
    return this.color ? `${code}${text}${SGR.reset}` : text;
  }

  /** Add a received message to `out`: exact text and a newline, marked and made safe on a terminal, or JSON. */
  message(type: 'text' | 'binary', chunks: Buffer[], size: number, out: Buffer[]): void {
    if (this.options.json) {
      const data = joinChunks(chunks, size);
      out.push(Buffer.from(JSON.stringify(type === 'text' ? { type: 'message', text: data.toString('utf8') } : { type: 'binary', base64: data.toString('base64') }) + '\n'));
    } else if (type === 'binary') {
      const line = describeBinary(joinChunks(chunks, size)) + '\n';
      out.push(Buffer.from(this.tty ? this.paint(SGR.cyan, '< ') + line : line));
    } else if (this.tty) {
      const text = neutraliseControls(joinChunks(chunks, size).toString('utf8')).replace(/\n/g, '\n  ');
      out.push(Buffer.from(this.paint(SGR.green, '< ') + text + '\n'));
    } else {
      for (const chunk of chunks) out.push(chunk);
      out.push(NEWLINE);
    }
  }

  textRun(event: Extract<ProtocolEvent, { type: 'text-run' }>, out: Buffer[]): void {
    if (!this.tty && !this.options.json) out.push(joinLines(event.source, event.ranges));
    else for (const data of textPayloads(event)) this.message('text', [data], data.length, out);
  }

  json(event: Record<string, unknown>): void {
    if (this.options.json && !this.stdout.destroyed) this.stdout.write(JSON.stringify(event) + '\n');
  }

  /** Write to stdout; false when its buffer is full (the caller stops reading until 'drain'). */
  write(chunks: Buffer[]): boolean {
    if (chunks.length === 0 || this.stdout.destroyed) return true;
    let size = 0;
    for (const chunk of chunks) size += chunk.length;
    if (chunks.length === 1 || size < 65536) return this.stdout.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size));
    // Big messages go out as they are (one writev), not copied once more into one buffer.
    let ok = true;
    this.stdout.cork();
    for (const chunk of chunks) ok = this.stdout.write(chunk);
    this.stdout.uncork();
    return ok;
  }
}

/**
 * The client's life: stdin lines, signals and stdout outlive any one connection. Each attempt runs
 * `connectOnce`; with --reconnect, abnormal ends are retried with backoff, and lines typed meanwhile wait.
 */
class ChatClient {
  private readonly options: CliOptions;
  private readonly output: Output;
  private readonly stdin = process.stdin;
  private readonly readsLines: boolean;
  /** Where to connect: the command line's target, or where redirects led (-L). */
  private target: Target;
  /** False once a redirect led to another host: credentials are not sent there. */
  private sendCredentials = true;
  /** The connection now in progress, and how to push its state forward after feeding it. */
  private current: {
    connection: ClientConnection;
    pump: () => void;
    abort: (message: string) => void;
    ping: (payload: Buffer) => boolean;
  } | null = null;
  /** Lines waiting for a connection (between reconnect attempts). */
  private waiting: Buffer[] = [];
  private waitingBytes = 0;
  private partialLine: Buffer | null = null;
  private quitting = false;
  private quitCode: number = CloseCode.NORMAL;
  private quitReason = '';
  private stdinEnded = false;
  private interrupts = 0;
  private warnedInvalidInput = false;
  private warnedConsumerInput = false;
  private unsent = 0;
  private wakeBackoff: (() => void) | null = null;
  private stdinPausedFor = new Set<'socket' | 'queue'>();

  constructor(options: CliOptions, output: Output) {
    this.options = options;
    this.output = output;
    this.readsLines = options.target.role !== 'consumer';
    this.target = options.target;
  }

  private hasCredentials(): boolean {
    return this.options.auth !== null || this.options.headers.some(([name]) => CREDENTIAL_HEADERS.has(name.toLowerCase()));
  }

  /** The request headers for the next attempt: the user's, plus Basic auth, minus credentials after a cross-host redirect. */
  private requestHeaders(): [string, string][] {
    const headers = this.options.headers.filter(([name]) => this.sendCredentials || !CREDENTIAL_HEADERS.has(name.toLowerCase()));
    if (this.sendCredentials && this.options.auth !== null) headers.push(['Authorization', `Basic ${Buffer.from(this.options.auth, 'utf8').toString('base64')}`]);
    return headers;
  }

  async run(): Promise<number> {
    const onInterrupt = () => this.interrupt();
    const onStdinData = (chunk: Buffer) => this.onStdinData(chunk);
    const onStdinEnd = () => this.onStdinEnd();
    const listensToStdin = this.readsLines || this.stdin.isTTY === true;
    if (listensToStdin) {
      this.stdin.on('data', onStdinData);
      this.stdin.on('end', onStdinEnd);
    }
    process.on('SIGINT', onInterrupt);
    process.on('SIGTERM', onInterrupt);
    this.output.stdout.on('error', (err: NodeJS.ErrnoException) => {
      // The reader went away (`| head -1`): leave quietly, telling the server we are going away.
      if (err.code !== 'EPIPE') this.output.error(`cannot write to stdout: ${err.message}`);
      this.output.stdout.destroy();
      this.quit(CloseCode.GOING_AWAY);
    });
    let status: number = ExitStatus.FAILURE;
    let redirects = 0;
    for (let attempt = 0; ; attempt++) {
      const result = await this.connectOnce();
      status = result.status;
      if (result.redirect) {
        const next = redirectTarget(this.target, result.redirect.location);
        if (typeof next === 'string') {
          this.output.error(next);
        } else if (!this.options.followRedirects) {
          this.output.error(`the server redirects to ${targetUrl(next)} (use -L to follow redirects)`);
        } else if (redirects >= this.options.maxRedirects) {
          this.output.error(`too many redirects (more than ${this.options.maxRedirects}; see --max-redirects)`);
        } else {
          redirects++;
          // Credentials go only to the host they were given for.
          if (next.host !== this.options.target.host) this.sendCredentials = false;
          const dropped = !this.sendCredentials && this.hasCredentials() ? ' (credentials are not sent to another host)' : '';
          this.output.status(`redirected (${result.redirect.status}) to ${targetUrl(next)}${dropped}`);
          this.target = next;
          attempt--;
          continue;
        }
        break;
      }
      if (!this.options.reconnect || !result.retry || this.quitting) break;
      if (result.openMs >= STABLE_CONNECTION_MS) attempt = 0;
      const delay = reconnectDelay(attempt);
      this.output.status(`reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1}${this.waiting.length ? `, ${this.waiting.length} line${this.waiting.length === 1 ? '' : 's'} queued` : ''})`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, delay);
        this.wakeBackoff = () => {
          clearTimeout(timer);
          resolve();
        };
      });
      this.wakeBackoff = null;
      if (this.quitting) break;
    }
    this.unsent += this.waiting.length;
    if (this.unsent > 0) this.output.error(`${this.unsent} input line${this.unsent === 1 ? ' was' : 's were'} not sent`);
    if (listensToStdin) {
      this.stdin.removeListener('data', onStdinData);
      this.stdin.removeListener('end', onStdinEnd);
      this.stdin.destroy();
    }
    process.removeListener('SIGINT', onInterrupt);
    process.removeListener('SIGTERM', onInterrupt);
    return status;
  }

  // ---- stdin: one text message per line; nothing accepted is dropped silently

  private onStdinData(chunk: Buffer): void {
    if (!this.readsLines) {
      if (!this.warnedConsumerInput) this.output.status('consumer: typed input is not sent (use the producer or both role)');
      this.warnedConsumerInput = true;
      return;
    }
    let start = 0;
    for (let newline = chunk.indexOf(0x0a); newline !== -1; newline = chunk.indexOf(0x0a, start)) {
      let line = chunk.subarray(start, newline);
      if (this.partialLine) {
        line = Buffer.concat([this.partialLine, line]);
        this.partialLine = null;
      }
      this.acceptLine(line);
      start = newline + 1;
    }
    if (start < chunk.length) {
      const rest = chunk.subarray(start);
      this.partialLine = this.partialLine ? Buffer.concat([this.partialLine, rest]) : Buffer.from(rest);
    }
    if (this.waitingBytes > QUEUE_HIGH_WATER) this.pauseStdin('queue');
    this.current?.pump();
  }

  private onStdinEnd(): void {
    this.stdinEnded = true;
    // A consumer only quits on EOF from a terminal (Ctrl-D); EOF of a pipe or /dev/null is not a request.
    if (this.readsLines || this.stdin.isTTY) this.quit(CloseCode.NORMAL);
  }

  private acceptLine(line: Buffer): void {
    if (line.length > 0 && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    if (!isUtf8(line)) {
      // A TEXT frame must be valid UTF-8: send the line with U+FFFD replacements rather than lose it.
      if (!this.warnedInvalidInput) this.output.error('warning: input is not valid UTF-8; invalid bytes are sent as U+FFFD');
      this.warnedInvalidInput = true;
      line = Buffer.from(line.toString('utf8'), 'utf8');
    }
    const connection = this.current?.connection;
    if (connection && (connection.closeSent !== null || connection.state === 'CLOSING' || connection.state === 'CLOSED')) {
      this.unsent++;
    } else if (connection?.state === 'OPEN' && this.waiting.length === 0) {
      this.deliver(line);
    } else if (this.waiting.length < MAX_WAITING_LINES) {
      // Not open yet (or reconnecting): lines, commands included, wait in order for the next OPEN.
      this.waiting.push(Buffer.from(line));
      this.waitingBytes += line.length;
    } else {
      this.unsent++;
      if (this.unsent === 1) this.output.error(`input queue full (${MAX_WAITING_LINES} lines) while not connected: further lines are dropped`);
    }
  }

  /** A line on an open connection: a chat message, or with --slash possibly a command. */
  private deliver(line: Buffer): void {
    if (this.options.slash && line[0] === 0x2f) {
      if (line[1] !== 0x2f) return this.runCommand(line.toString('utf8'));
      line = line.subarray(1); // "//text" sends "/text"
    }
    if (!this.current?.connection.sendText(line)) this.unsent++;
  }

  /** On OPEN: what was typed before goes out in order, then a quit that came meanwhile is carried out. */
  private flushWaiting(): void {
    const lines = this.waiting;
    this.waiting = [];
    this.waitingBytes = 0;
    for (const line of lines) {
      if (this.current?.connection.closeSent === null) this.deliver(line);
      else this.unsent++;
    }
    this.resumeStdin('queue');
    if (this.quitting) this.current?.connection.close(this.quitCode, this.quitReason);
  }

  /** --slash commands: control frames by hand. Invalid ones are refused here, never sent. */
  private runCommand(line: string): void {
    const [command = '', ...words] = line.slice(1).split(/\s+/).filter(Boolean);
    const rest = line.slice(1).replace(/^\S+\s?/, '');
    const refuse = (why: string) => this.output.error(`/${command}: ${why}`);
    const open = this.current?.connection.state === 'OPEN' && this.current.connection.closeSent === null ? this.current : null;
    switch (command) {
      case 'ping':
      case 'pong': {
        const payload = Buffer.from(rest, 'utf8');
        if (payload.length > MAX_CONTROL_PAYLOAD) return refuse(`payload of ${payload.length} bytes; a control frame carries at most 125`);
        if (!open) return refuse('not connected');
        if (command === 'ping') open.ping(payload);
        else open.connection.sendPong(payload);
        open.pump();
        return;
      }
      case 'close': {
        const code = words[0] === undefined ? CloseCode.NORMAL : Number(words[0]);
        const reason = words.slice(1).join(' ');
        if (!Number.isInteger(code) || !isValidCloseCode(code)) {
          return refuse(`${words[0]} is not a close code that may be sent (1000-1003, 1007-1014, 3000-4999)`);
        }
        if (Buffer.byteLength(reason) > MAX_CONTROL_PAYLOAD - 2) return refuse('the reason is longer than 123 bytes');
        return this.quit(code, reason);
      }
      case 'quit':
        return this.quit(CloseCode.NORMAL);
      default:
        return refuse('unknown command (commands: /ping [text], /pong [text], /close [code [reason]], /quit; // sends a line starting with /)');
    }
  }

  pauseStdin(reason: 'socket' | 'queue'): void {
    if (!this.readsLines || this.stdinEnded) return;
    this.stdinPausedFor.add(reason);
    this.stdin.pause();
  }

  resumeStdin(reason: 'socket' | 'queue'): void {
    this.stdinPausedFor.delete(reason);
    if (this.stdinPausedFor.size === 0 && this.readsLines && !this.stdinEnded && !this.stdin.destroyed) this.stdin.resume();
  }

  // ---- quitting

  private quit(code: number, reason = ''): void {
    if (this.partialLine) {
      this.acceptLine(this.partialLine);
      this.partialLine = null;
    }
    this.quitting = true;
    this.quitCode = code;
    this.quitReason = reason;
    this.wakeBackoff?.();
    // Before OPEN, the close waits for the queued lines to go first (see flushWaiting).
    if (this.current && this.current.connection.state !== 'HANDSHAKING') {
      this.current.connection.close(code, reason);
      this.current.pump();
    }
  }

  private interrupt(): void {
    this.interrupts++;
    if (this.interrupts > 1) {
      this.output.error('interrupted again: exiting without waiting for the server');
      this.quitting = true;
      this.wakeBackoff?.();
      this.current?.abort('interrupted');
      return;
    }
    if (this.current?.connection.state === 'HANDSHAKING') this.output.status('closing as soon as the connection opens (Ctrl-C again to exit now)');
    this.quit(CloseCode.NORMAL);
  }

  // ---- one connection

  /** Connect, upgrade and pump bytes both ways until this connection is over. */
  private async connectOnce(): Promise<AttemptResult> {
    const { options, output, target } = this;
    const address = displayAddress(target);
    const url = targetUrl(target);
    const printsMessages = target.role !== 'producer';
    let responseTraced = false;
    const traceResponse = () => {
      if (responseTraced || !connection.response) return;
      responseTraced = true;
      for (const line of connection.response.split('\r\n')) output.trace(`< ${line}`);
      const received = /^sec-websocket-accept:\s*(.*)$/im.exec(connection.response)?.[1] ?? '(none)';
      output.trace(`Sec-WebSocket-Accept: expected ${computeAcceptKey(connection.key)} (SHA-1 of the key + ${WEBSOCKET_GUID}), received ${received}`);
    };
    const connection: ClientConnection = new ClientConnection({
      host: target.host,
      port: target.port,
      path: target.path,
      maxMessageSize: options.maxMessageSize,
      subprotocols: options.subprotocols,
      extraHeaders: this.requestHeaders(),
      onFrame: options.verbose
        ? (direction, header, payload) => {
            traceResponse(); // frames that came with the response are traced after it
            output.trace(describeFrame(direction, header, payload));
          }
        : undefined,
    });
    if (options.verbose) for (const line of connection.request.trimEnd().split('\r\n')) output.trace(`> ${line}`);

    let tunnel: net.Socket | null = null;
    const proxy = options.proxy === null ? null : parseProxyUrl(options.proxy);
    if (proxy !== null) {
      if (options.verbose) output.trace(`via proxy ${proxy.display}: CONNECT ${address}`);
      const opened = await openTunnel(proxy, target, options.connectTimeoutMs);
      if ('error' in opened) {
        output.error(opened.error);
        output.json({ type: 'error', message: opened.error });
        return { status: ExitStatus.FAILURE, retry: opened.retry && !this.quitting, openMs: 0, redirect: null };
      }
      tunnel = opened.socket;
    }

    return new Promise<AttemptResult>((resolve) => {
      let finished = false;
      let socketClosed = false;
      let socketPausedForStdout = false;
      let closedHandled = false;
      let retry = false;
      let openedAt = 0;
      let connectTimer: NodeJS.Timeout | null = null;
      let closeTimer: NodeJS.Timeout | null = null;
      let pingTimer: NodeJS.Timeout | null = null;
      let pongTimer: NodeJS.Timeout | null = null;
      let pingCounter = 0;
      /** When each of the client's own PINGs went out, by payload: the PONG gives the round-trip time. */
      const pingsSent = new Map<string, number>();

      if (options.insecure) output.error('warning: --insecure: the server\'s certificate is not verified');
      const socket: net.Socket = target.secure
        ? tls.connect({
            ...(tunnel ? { socket: tunnel, host: target.host } : { host: target.host, port: target.port }),
            servername: net.isIP(target.host) ? undefined : target.host,
            rejectUnauthorized: !options.insecure,
            ca: options.caFile ? [...tls.rootCertificates, readFileSync(options.caFile, 'latin1')] : undefined,
            cert: options.certFile ? readFileSync(options.certFile) : undefined,
            key: options.keyFile ? readFileSync(options.keyFile) : undefined,
            passphrase: options.passphrase ?? undefined,
          })
        : tunnel ?? net.connect({
            host: target.host,
            port: target.port,
            // Read into one reused buffer: no allocation per read (the connection copies what it keeps).
            onread: {
              buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
              callback: (n: number, buffer: Uint8Array) => {
                onSocketData(Buffer.from(buffer.buffer, buffer.byteOffset, n));
                return true;
              },
            },
          });
      socket.setNoDelay(true);

      const abort = (message: string, retryable: boolean) => {
        retry = retryable;
        // After an earlier failure the connection reports nothing new: say why it is being given up.
        if (connection.failure !== null) output.error(message);
        connection.abort(message);
        pump();
      };
      connectTimer = setTimeout(() => abort(`no WebSocket connection to ${address} within ${options.connectTimeoutMs / 1000} s`, true), options.connectTimeoutMs);

      const finish = () => {
        if (finished) return;
        finished = true;
        for (const timer of [connectTimer, closeTimer, pingTimer, pongTimer]) if (timer) clearTimeout(timer);
        socket.destroy();
        this.current = null;
        this.resumeStdin('socket');
        const status = exitStatusFor(connection);
        const closeCode = connection.closeReceived?.code;
        if (closeCode !== undefined && closeCode !== null && RETRY_CLOSE_CODES.has(closeCode)) retry = true;
        if (connection.failure) output.json({ type: 'error', message: connection.failure.message, ...(connection.failure.closeCode !== null ? { code: connection.failure.closeCode } : {}) });
        resolve({ status, retry: retry && !this.quitting, openMs: openedAt ? Date.now() - openedAt : 0, redirect: connection.redirect });
      };

      const armPing = () => {
        if (options.pingIntervalMs === 0 || finished) return;
        if (pingTimer) clearTimeout(pingTimer);
        pingTimer = setTimeout(() => {
          pingTimer = null;
          if (connection.state !== 'OPEN' || socketPausedForStdout) return armPing();
          this.current?.ping(Buffer.from(`wsc-${++pingCounter}-${Date.now()}`));
          pongTimer = setTimeout(() => {
            pongTimer = null;
            abort(`connection dead: no PONG within ${options.pingTimeoutMs / 1000} s`, true);
          }, options.pingTimeoutMs);
          pump();
        }, options.pingIntervalMs);
      };

      const sendOutgoing = () => {
        const data = connection.dataToSend();
        if (data.length > 0 && !socket.destroyed) {
          if (!socket.write(data.length === 1 ? data[0]! : Buffer.concat(data))) {
            this.pauseStdin('socket');
            socket.once('drain', () => this.resumeStdin('socket'));
          }
        }
      };

      const pump = () => {
        if (finished) return;
        sendOutgoing();
        let out: Buffer[] = [];
        // Messages are gathered into one stdout write; before any line on stderr, what came earlier is
        // written, so that on a terminal the two streams appear in the order things happened.
        const flushMessages = () => {
          if (out.length > 0 && !output.write(out) && !socketPausedForStdout) {
            // Backpressure: stop reading the socket until the reader catches up, so memory stays bounded
            // (and the message buffers handed to stdout are not reused before they are written).
            socketPausedForStdout = true;
            socket.pause();
            const resumeReading = () => {
              output.stdout.off('drain', resumeReading);
              output.stdout.off('close', resumeReading);
              socketPausedForStdout = false;
              if (!finished) socket.resume();
            };
            // 'close': the reader went away; the closing handshake still has to be read.
            output.stdout.on('drain', resumeReading);
            output.stdout.on('close', resumeReading);
          }
          out = [];
        };
        for (const event of connection.eventsReceived()) {
          if (event.type !== 'text' && event.type !== 'binary' && event.type !== 'text-run') flushMessages();
          switch (event.type) {
            case 'open':
              if (connectTimer) clearTimeout(connectTimer);
              connectTimer = null;
              openedAt = Date.now();
              if (options.verbose) traceResponse();
              if (event.subprotocol !== null) output.status(`subprotocol: ${event.subprotocol}`);
              output.status(`connected to ${url}${this.stdin.isTTY && this.readsLines ? ' (type a line to send it; Ctrl-D or Ctrl-C to quit)' : ''}`);
              output.json({ type: 'open', url });
              this.flushWaiting();
              armPing();
              break;
            case 'text':
            case 'binary':
              if (printsMessages) output.message(event.type, event.chunks, event.size, out);
              break;
            case 'text-run':
              if (printsMessages) output.textRun(event, out);
              break;
            case 'ping':
              if (options.showHeartbeats) output.status(`PING received (${event.payload.length} bytes), PONG sent`);
              break;
            case 'pong': {
              const sentAt = pingsSent.get(event.payload.toString('latin1'));
              pingsSent.delete(event.payload.toString('latin1'));
              if (options.showHeartbeats) {
                output.status(`PONG received (${printable(event.payload)})${sentAt === undefined ? '' : `, round trip ${(performance.now() - sentAt).toFixed(1)} ms`}`);
              }
              break;
            }
            case 'close': {
              const code = event.code ?? CloseCode.NO_STATUS;
              output.json({ type: 'close', code, reason: event.reason, by: event.initiator });
              if (event.initiator === 'client') {
                output.status('connection closed');
                break;
              }
              const message = `closed by server: ${code}${event.reason ? ' ' + event.reason : ''}`;
              if (exitStatusFor(connection) === ExitStatus.OK) output.status(message);
              else output.error(message);
              break;
            }
            case 'failure':
              if (options.verbose && connection.response) traceResponse();
              if (connection.redirect && options.followRedirects) break; // the run loop reports the hop
              output.error(event.closeCode !== null ? `protocol error: ${event.message} (closing with ${event.closeCode})` : event.message);
              break;
          }
        }
        flushMessages();
        sendOutgoing(); // what handling the events queued (lines typed before OPEN, a quit)
        if (connection.state === 'CLOSING' && closeTimer === null) {
          closeTimer = setTimeout(() => {
            abort(`no CLOSE from the server within ${options.closeTimeoutMs / 1000} s; closing the connection`, false);
          }, options.closeTimeoutMs);
        }
        if (connection.state === 'CLOSED' && !closedHandled) {
          closedHandled = true;
          for (const timer of [pingTimer, pongTimer, closeTimer]) if (timer) clearTimeout(timer);
          if (connection.closeReceived !== null && connection.failure === null && !socketClosed) {
            // The closing handshake is complete: the server should close TCP first (RFC 6455 7.1.1);
            // after a short grace the client closes it, which also flushes the CLOSE echo.
            closeTimer = setTimeout(() => socket.destroy(), Math.min(CLOSE_GRACE_MS, options.closeTimeoutMs));
          } else {
            socket.destroy();
          }
        }
        if (connection.state === 'CLOSED' && socketClosed) finish();
      };

      const onSocketData = (chunk: Buffer) => {
        connection.receiveData(chunk);
        // Any bytes from the server show it is alive.
        if (pongTimer) {
          clearTimeout(pongTimer);
          pongTimer = null;
          armPing();
        }
        pump();
      };

      const ping = (payload: Buffer) => {
        if (!connection.sendPing(payload)) return false;
        pingsSent.set(payload.toString('latin1'), performance.now());
        if (options.showHeartbeats) output.status(`PING sent (${printable(payload)})`);
        return true;
      };
      this.current = { connection, pump, abort: (message) => abort(message, false), ping };
      socket.on('connect', pump);
      socket.on('secureConnect', pump);
      if (target.secure || tunnel) socket.on('data', onSocketData);
      if (tunnel) {
        tunnel.resume();
        if (!target.secure) pump();
      }
      const lostUnexpectedly = () => connection.state !== 'CLOSED' && connection.failure === null;
      socket.on('end', () => {
        retry = lostUnexpectedly();
        connection.receiveEof();
        pump();
      });
      socket.on('error', (err: NodeJS.ErrnoException) => {
        const reason = describeSocketError(err);
        if (connection.state === 'HANDSHAKING' && connection.failure === null) {
          const tlsProblem = err.code?.startsWith('ERR_TLS') || /certificate|self.signed|SSL/i.test(err.message);
          retry = !tlsProblem;
          connection.abort(`cannot connect to ${address}: ${tlsProblem ? `TLS: ${err.message}` : reason}`);
        } else {
          retry = lostUnexpectedly();
          connection.receiveEof(reason);
        }
        pump();
      });
      socket.on('close', () => {
        socketClosed = true;
        if (connection.state !== 'CLOSED') {
          retry = lostUnexpectedly();
          connection.receiveEof();
        }
        pump();
        finish();
      });
    });
  }
}

export function targetUrl(target: Target): string {
  return `${target.secure ? 'wss' : 'ws'}://${displayAddress(target)}${target.path}`;
}

/** Where a redirect's Location points, as a new target (http/https map to ws/wss); a string explains a refusal. */
export function redirectTarget(current: Target, location: string): Target | string {
  let url: URL;
  try {
    url = new URL(location, `${current.secure ? 'https' : 'http'}://${displayAddress(current)}${current.path}`);
  } catch {
    return `the server redirects to an invalid location: ${JSON.stringify(location)}`;
  }
  const scheme = ({ 'http:': 'ws', 'ws:': 'ws', 'https:': 'wss', 'wss:': 'wss' } as Record<string, string>)[url.protocol];
  if (scheme === undefined) return `the server redirects to an unsupported scheme: ${location}`;
  const secure = scheme === 'wss';
  return {
    secure,
    host: url.hostname.replace(/^\[(.*)\]$/, '$1'),
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    role: current.role,
    path: `${url.pathname}${url.search}`,
  };
}

/** Open a CONNECT tunnel through an HTTP proxy to the target; resolves with the (paused) socket or an error. */
function openTunnel(proxy: ProxyAddress, target: Target, timeoutMs: number): Promise<{ socket: net.Socket } | { error: string; retry: boolean }> {
  return new Promise((resolve) => {
    const authority = displayAddress(target);
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    let head = Buffer.alloc(0);
    let settled = false;
    const settle = (result: { socket: net.Socket } | { error: string; retry: boolean }) => {
      if (settled) return;
      settled = true;
      clearTimeout(timer);
      socket.removeAllListeners('data');
      if ('error' in result) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => settle({ error: `no answer from proxy ${proxy.display} within ${timeoutMs / 1000} s`, retry: true }), timeoutMs);
    socket.on('connect', () => {
      const auth = proxy.auth ? `Proxy-Authorization: Basic ${Buffer.from(proxy.auth).toString('base64')}\r\n` : '';
      socket.write(`CONNECT ${authority} HTTP/1.1\r\nHost: ${authority}\r\n${auth}\r\n`);
    });
    socket.on('data', (chunk: Buffer) => {
      head = Buffer.concat([head, chunk]);
      const end = head.indexOf('\r\n\r\n');
      if (end < 0) {
        if (head.length > MAX_RESPONSE_HEAD) settle({ error: `proxy ${proxy.display} sent an over-long response`, retry: false });
        return;
      }
      const statusLine = head.subarray(0, head.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 2\d\d/.test(statusLine)) return settle({ error: `proxy ${proxy.display} refused CONNECT to ${authority}: ${statusLine}`, retry: false });
      socket.pause();
      const rest = head.subarray(end + 4);
      if (rest.length > 0) socket.unshift(rest);
      settle({ socket });
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle({ error: `cannot connect to proxy ${proxy.display}: ${describeSocketError(error)}`, retry: true }));
    socket.on('close', () => settle({ error: `proxy ${proxy.display} closed the connection`, retry: true }));
  });
}

/** A payload for humans: text when printable, hex otherwise. */
function printable(payload: Buffer): string {
  const text = payload.toString('utf8');
  return isUtf8(payload) && !/[\x00-\x1f\x7f-\x9f]/.test(text) ? JSON.stringify(text) : `0x${payload.toString('hex')}`;
}

/** One -v line per frame: direction, opcode, FIN, RSV bits, length, masking, and control payloads. */
export function describeFrame(direction: 'sent' | 'received', header: FrameHeader, controlPayload: Buffer | null): string {
  const name = OPCODE_NAMES[header.opcode] ?? `opcode ${header.opcode}`;
  const parts = [direction === 'sent' ? '>' : '<', name, `fin=${header.fin ? 1 : 0}`, `rsv=${header.rsv.toString(2).padStart(3, '0')}`, `len=${header.payloadLength}`, header.masked ? 'masked' : 'unmasked'];
  if (controlPayload !== null && header.opcode === Opcode.CLOSE) {
    const close = parseClosePayload(controlPayload);
    parts.push('error' in close ? `(${close.error})` : close.code === null ? 'no status code' : `code=${close.code} reason=${JSON.stringify(close.reason)}`);
  } else if (controlPayload !== null && controlPayload.length > 0) {
    parts.push(`payload=${printable(controlPayload)}`);
  }
  return parts.join(' ');
}

/** Exponential backoff with jitter: about 0.5 s, doubling, capped at 30 s. */
export function reconnectDelay(attempt: number, random = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.75 + random() * 0.5));
}

// ---------------------------------------------------------------------------------------------- main

/** Parse the command line and run the client; returns the exit status (0 closed normally, 1 failed, 2 usage). */
export async function main(argv: string[]): Promise<number> {
  let options: CliOptions | 'help' | 'version';
  try {
    options = parseCommandLine(argv);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    process.stderr.write(`wsc: ${error.message}\n${USAGE}\n`);
    return ExitStatus.USAGE;
  }
  if (options === 'help') {
    process.stdout.write(USAGE + '\n');
    return ExitStatus.OK;
  }
  if (options === 'version') {
    process.stdout.write(`wsc ${VERSION}\n`);
    return ExitStatus.OK;
  }
  for (const [flag, file] of [['--ca', options.caFile], ['--cert', options.certFile], ['--key', options.keyFile]] as const) {
    if (file === null) continue;
    try {
      readFileSync(file);
    } catch (error) {
      process.stderr.write(`wsc: cannot read the ${flag} file: ${(error as Error).message}\n`);
      return ExitStatus.USAGE;
    }
  }
  return new ChatClient(options, new Output(options)).run();
}

function isEntryPoint(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

if (isEntryPoint()) {
  main(process.argv.slice(2)).then(
    (code) => {
      process.exitCode = code;
    },
    (error: unknown) => {
      process.stderr.write(`wsc: internal error: ${(error as Error)?.stack ?? String(error)}\n`);
      process.exitCode = ExitStatus.FAILURE;
    },
  );
}

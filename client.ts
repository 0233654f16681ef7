// wsc: a terminal WebSocket chat client that speaks RFC 6455 itself over a raw TCP (or TLS) socket.
//
// This file is the whole client, written to be read from top to bottom: each section uses only what the
// sections above it define, in the order data flows (bytes on the wire, the protocol, then the process
// around it). Only Node built-ins are used, and only erasable TypeScript, so `node client.ts` runs it on
// Node >= 22.18 as well as `npx tsx client.ts` on Node 20. `grep -n '^// §' client.ts` lists the sections.
//
// Contents
//   - § 1   Frames                     the wire format: encode, decode incrementally, UTF-8, close payloads
//   - § 2   The opening handshake      the HTTP upgrade request, the checks on its answer, extensions agreed
//   - § 3   Compression                permessage-deflate as an extension, on node:zlib both ways
//   - § 4   The connection             the protocol as a state machine without I/O: bytes in, bytes and events out
//   - § 5   The command line           options, usage, targets, redirects, proxies, credentials: resolved once, frozen
//   - § 6   Presentation and secrets   peer text made safe to show, JSON laid out exactly, the wording of every event, redaction
//   - § 7   Reaching the server        TCP, unix sockets, TLS, and tunnels through HTTP CONNECT and SOCKS5 proxies
//   - § 8   The connection attempt     one socket pumped into one connection: listeners, timers, the select loop
//   - § 9   Output                     stdout for messages, stderr for everything else
//   - § 10  Input                      stdin as lines (or JSON values), long ones sent as they arrive; the queue before OPEN
//   - § 11  The terminal               keys, the line editor, the input line on the screen, the password prompt
//   - § 12  The client                 the process's life across attempts: routing, redirects, reconnects, quitting
//   - § 13  main                       main(argv, io) returns the exit status
//
// Classes, and what each owns
//   ByteQueue          received bytes not yet decoded, as chunks consumed from the front
//   FrameReader        the frame being decoded: its header, and how much payload is left
//   ExtensionError     a message an extension cannot decode, with the close code to fail with
//   PerMessageDeflate  permessage-deflate as agreed: RSV1's rules, the parameters, compressing the client's messages
//   Inflater           node:zlib's inflater and the buffer it inflates into: the window, the messages lent to events
//   MessageBuffer      the bytes of a message arriving in pieces, in one buffer reused from message to message
//   ClientConnection   the protocol state (HANDSHAKING, OPEN, CLOSING, CLOSED), the agreed extensions, bytes to send, events
//   UsageError         a bad command line, option value or file (exit 2)
//   Timer              one timeout: armed, re-armed, cleared
//   Attempt            one socket, its ClientConnection, and the timers of the shell's half of the state machine
//   JsonError          why a text is not JSON, and the offset where it stops being
//   JsonWriter         the bytes of a JSON value being written again, in one buffer that doubles as it fills
//   Output             stdout and stderr: ordering, the messages borrowed until written, colour, redaction
//   JsonValueReader    --json-input: the value being read from stdin, where it began, brackets and quotes open
//   LineInput          stdin: its state, the line being read and its state, the queue before OPEN, lines not sent
//   KeyReader          raw-mode bytes as keys: an escape sequence cut by a chunk's end, bracketed paste
//   LineEditor         the input line's text (rows too), cursor, kill buffer and history (pure)
//   TerminalLine       the terminal: raw mode, the drawn rows of the input line, the history file, Ctrl-Z, putting it back
//   ChatClient         the loop over attempts, the user's quit, --count and -w, input routed to the open attempt

import { X509Certificate, createHash, createPrivateKey, randomBytes, randomFillSync, type KeyObject } from 'node:crypto';
import { isUtf8 } from 'node:buffer';
import { appendFileSync, mkdirSync, readFileSync, realpathSync, statSync } from 'node:fs';
import * as net from 'node:net';
import { lookup } from 'node:dns/promises';
import { basename, dirname } from 'node:path';
import { StringDecoder } from 'node:string_decoder';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import type { Readable, Writable } from 'node:stream';


// § 1  Frames
//
// A WebSocket message travels as frames (RFC 6455 section 5.2): a 2-byte header (FIN, three RSV bits, a
// 4-bit opcode, the MASK bit, a 7-bit length), an extended 16- or 64-bit length, a 4-byte mask key on every
// frame a client sends, then the payload. Everything here is pure: bytes in, bytes or values out. The
// decoder is incremental, because TCP delivers bytes in pieces of any size: a frame's header may be split
// anywhere, and a 16 MiB payload arrives over hundreds of reads.

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

/** Control frames (CLOSE, PING, PONG) carry at most this many bytes, and are never fragmented. */
const MAX_CONTROL_PAYLOAD = 125;
const EMPTY = Buffer.alloc(0);

export interface FrameHeader {
  fin: boolean;
  rsv: number; // the three RSV bits as a number 0-7
  opcode: number;
  masked: boolean;
  maskKey: Buffer | null;
  /** Infinity when a 64-bit length is beyond 2^53-1: no such message can be accepted. */
  payloadLength: number;
}

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

/**
 * XOR `source` with the 4-byte mask `key` into `target`; `phase` is the payload offset of source[0] (the
 * mask cycles every 4 bytes). Four bytes a step: this loop masks every byte the client sends.
 */
export function applyMask(source: Buffer, target: Buffer, targetOffset: number, key: Buffer, phase = 0): void {
  // The key has 4 bytes, and every index below stays under the length it is checked against.
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

/** A frame's first-byte bits besides its opcode: FIN clear for all but a message's last frame, RSV an extension's. */
export interface FrameBits {
  fin?: boolean;
  rsv?: number;
}

/**
 * One complete frame as a client sends it: FIN, RSV, opcode, MASK bit set, 7/16/64-bit length, the mask
 * key, then the masked payload. Pure: the mask key is an argument.
 */
export function encodeFrame(opcode: number, payload: Buffer, maskKey: Buffer, { fin = true, rsv = 0 }: FrameBits = {}): Buffer {
  const length = payload.length;
  const lengthBytes = length < 126 ? 0 : length < 65536 ? 2 : 8;
  const headerLength = 2 + lengthBytes + 4;
  const frame = Buffer.allocUnsafe(headerLength + length);
  frame[0] = (fin ? 0x80 : 0) | (rsv << 4) | opcode;
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

/** Header size implied by the second byte of a frame (its length form and MASK bit). */
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
  /** chunks[head] is the front chunk; offset is its first unread byte. */
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
    return this.chunks[this.head] ?? null;
  }

  get frontOffset(): number {
    return this.offset;
  }

  /** The byte `index` places after the first unread one (index < length). */
  byteAt(index: number): number {
    let i = this.head;
    let at = index + this.offset;
    // Every chunk is non-empty and index < length, so the walk ends on a chunk that holds the byte.
    while (at >= this.chunks[i]!.length) at -= this.chunks[i++]!.length;
    return this.chunks[i]![at]!;
  }

  /** Exactly n bytes (n <= length): a view when they lie in one chunk, otherwise one small copy. */
  consume(n: number): Buffer {
    const first = this.chunks[this.head]!; // n <= length, so there is a front chunk
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

  /** Up to max bytes from the front chunk (length > 0), as a view: payloads are sliced, never copied here. */
  take(max: number): Buffer {
    const first = this.chunks[this.head]!; // length > 0: there is a front chunk
    const n = Math.min(max, first.length - this.offset);
    const piece = n === first.length ? first : first.subarray(this.offset, this.offset + n);
    this.skip(n);
    return piece;
  }

  /** Copy what is left, so that the chunks pushed so far may be reused by the caller. */
  detach(): void {
    this.chunks = this.length > 0 ? [Buffer.from(this.consume(this.length))] : [];
    this.head = 0;
    this.offset = 0;
    this.length = this.chunks[0]?.length ?? 0;
  }

  /** Drop n bytes (n <= the bytes left in the front chunk). */
  skip(n: number): void {
    const first = this.chunks[this.head]!; // the n bytes lie in the front chunk
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
 * Messages that lie in one buffer: message i is bytes[ranges[2i], ranges[2i+1]). Usually one; several when
 * small frames arrived whole in one read (see FrameReader.readRun).
 */
export interface MessageBytes {
  bytes: Buffer;
  ranges: number[];
}

/** One step of the incremental frame reader: a header, or a piece of the current frame's payload. */
export type FramePiece =
  | { type: 'header'; header: FrameHeader }
  | { type: 'payload'; data: Buffer; end: boolean };

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

  /** Payload bytes of the current frame not read yet. */
  get payloadRemaining(): number {
    return this.header === null ? 0 : this.remaining;
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

  /** The first byte of the next frame, when no frame is being read and it has arrived; -1 otherwise. */
  get nextFirstByte(): number {
    return this.header === null && this.queue.length > 0 ? this.queue.byteAt(0) : -1;
  }

  /**
   * The fast path for a busy room: consecutive small frames that arrived whole in the front chunk, whose first
   * byte (FIN, RSV, opcode) is `first`, unmasked, with a 7-bit length within maxSize (and valid UTF-8, with
   * `utf8`), are consumed in place, appending each payload's [start, end) to `ranges`; returns the chunk they
   * are in, or null if the next frame is not such a frame (it then takes the checked path through read()).
   * No allocation per message.
   */
  readRun(first: number, maxSize: number, utf8: boolean, ranges: number[]): Buffer | null {
    if (this.header !== null) return null;
    const front = this.queue.front;
    if (front === null) return null;
    let at = this.queue.frontOffset;
    const start = at;
    const limit = front.length;
    while (at + 2 <= limit) {
      const length = front[at + 1]!; // at + 2 <= limit: the header's two bytes are there
      const end = at + 2 + length;
      if (front[at] !== first || length >= 126 || length > maxSize || end > limit) break;
      if (utf8 && utf8Step(0, front, at + 2, end) !== 0) break;
      ranges.push(at + 2, end);
      at = end;
    }
    if (at === start) return null;
    this.queue.skip(at - start);
    return front;
  }
}

export const UTF8_REJECT = -1;

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
  while (state > 0 && i < end) state = utf8Step(state, bytes, i, ++i);
  if (state === UTF8_REJECT) return state;
  if (end - i >= 256) {
    // Bulk check in native code up to the last code point start; the tail goes through the step function.
    let boundary = end;
    while (boundary > i && end - boundary < 4 && (bytes.readUInt8(boundary - 1) & 0xc0) === 0x80) boundary--;
    if (boundary > i && end - boundary < 4) boundary--;
    if (!isUtf8(bytes.subarray(i, boundary))) return UTF8_REJECT;
    i = boundary;
  }
  return utf8Step(state, bytes, i, end);
}

/** Whether bytes[start, end) is whole, valid UTF-8: short spans by the state machine, long ones in native code. */
export function isValidUtf8(bytes: Buffer, start: number, end: number): boolean {
  return end - start < 256 ? utf8Step(0, bytes, start, end) === 0 : isUtf8(bytes.subarray(start, end));
}

/**
 * The UTF-8 state machine over bytes[start, end). A state packs the continuation bytes still needed and
 * the range the next one must fall in (narrower after E0, ED, F0, F4: no overlongs, surrogates or > U+10FFFF).
 */
export function utf8Step(state: number, bytes: Buffer, start: number, end: number): number {
  let need = state >>> 16, lo = (state >>> 8) & 0xff, hi = state & 0xff;
  for (let i = start; i < end; i++) {
    const b = bytes[i]!; // i < end <= bytes.length
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

export interface CloseInfo {
  /** null when the CLOSE frame carried no status code (reported as 1005). */
  code: number | null;
  reason: string;
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

// § 2  The opening handshake
//
// A WebSocket connection begins as HTTP/1.1 (RFC 6455 section 4): the client asks to upgrade with a random
// Sec-WebSocket-Key, and the server agrees with "101 Switching Protocols" and Sec-WebSocket-Accept, the
// base64 SHA-1 of that key and a fixed GUID, proving it understood the request. Anything else is a refusal,
// a redirect or a broken server, and the checks below say which, in one line. The request may offer
// extensions (RFC 6455 section 9), which the answer agrees on: each is an object made here, by a factory,
// that the connection (§ 4) only calls; § 3 is the one this client offers. Pure, like the frame codec.

export const WEBSOCKET_GUID = '258EAFA5-E914-47DA-95CA-C5AB0DC85B11';
/** A response head larger than this is refused: a server cannot make the client buffer without limit. */
export const MAX_RESPONSE_HEAD = 16 * 1024;
/** How much of a refused upgrade's body is read for the error line (servers put the reason there). */
const REFUSAL_BODY_BYTES = 200;
const REDIRECT_STATUSES = new Set([301, 302, 303, 307, 308]);
/** An HTTP token (RFC 9110 5.6.2): header names, subprotocol and extension names. */
const HTTP_TOKEN = /^[!#$%&'*+.^_`|~0-9A-Za-z-]+$/;

/** host:port as HTTP writes it, with an IPv6 literal in brackets. */
export function authority(host: string, port: number): string {
  return `${host.includes(':') ? `[${host}]` : host}:${port}`;
}

export function computeAcceptKey(handshakeKey: string): string {
  return createHash('sha1').update(handshakeKey + WEBSOCKET_GUID).digest('base64');
}

/** A request header: its name and its value, as the user gave it or the client adds it. */
export type HeaderField = readonly [name: string, value: string];

/** The upgrade request: where, with which key, and what it offers besides the handshake's own headers. */
export interface UpgradeRequest {
  path: string;
  /** The Host header's value (the target's host, and its port unless it is the default), unless `headers` has one. */
  hostHeader: string;
  /** Sec-WebSocket-Key: base64 of 16 random bytes. */
  handshakeKey: string;
  subprotocols?: readonly string[];
  extensions?: readonly ExtensionFactory[];
  headers?: readonly HeaderField[];
}

export function buildHandshakeRequest(request: UpgradeRequest): string {
  const { subprotocols = [], extensions = [], headers = [] } = request;
  const hostOverride = headers.find(([name]) => name.toLowerCase() === 'host');
  const lines = [
    `GET ${request.path} HTTP/1.1`,
    `Host: ${hostOverride?.[1] ?? request.hostHeader}`,
    'Upgrade: websocket',
    'Connection: Upgrade',
    `Sec-WebSocket-Key: ${request.handshakeKey}`,
    'Sec-WebSocket-Version: 13',
  ];
  if (subprotocols.length > 0) lines.push(`Sec-WebSocket-Protocol: ${subprotocols.join(', ')}`);
  if (extensions.length > 0) lines.push(`Sec-WebSocket-Extensions: ${extensions.map((extension) => extension.offer).join(', ')}`);
  for (const [name, value] of headers) if (name.toLowerCase() !== 'host') lines.push(`${name}: ${value}`);
  return lines.join('\r\n') + '\r\n\r\n';
}

/** Where a 3xx answer to the upgrade points. */
export interface Redirect {
  status: number;
  location: string;
}

/** The server's answer as received: its head (for -v), and its headers once they parsed. */
export interface HandshakeResponse {
  head: string;
  headers: Map<string, string> | null;
}

export type HandshakeResult =
  | { ok: true; statusLine: string; headers: Map<string, string>; subprotocol: string | null; extensions: Extension[] }
  | { ok: false; error: string; headers?: Map<string, string>; redirect?: Redirect; status?: number; contentLength?: number | null };

/** What the request offered: the server may choose among these, and nothing else. */
export interface HandshakeOffer {
  subprotocols?: readonly string[];
  extensions?: readonly ExtensionFactory[];
}

/** Check a complete response head (status line and headers, without the blank line) against RFC 6455 4.1. */
export function validateHandshakeResponse(head: string, handshakeKey: string, offer: HandshakeOffer = {}): HandshakeResult {
  const [statusLine = '', ...headerLines] = head.split('\r\n');
  const status = /^HTTP\/1\.[01] (\d{3})(?: .*)?$/.exec(statusLine);
  if (!status) return { ok: false, error: `malformed HTTP response: ${JSON.stringify(statusLine.slice(0, 80))}` };
  const headers = parseHeaderLines(headerLines);
  if (typeof headers === 'string') return { ok: false, error: headers };
  if (status[1] !== '101') {
    const code = Number(status[1]), length = headers.get('content-length'), location = headers.get('location');
    const redirect = REDIRECT_STATUSES.has(code) && location ? { status: code, location } : undefined;
    const contentLength = length !== undefined && /^\d+$/.test(length) ? Number(length) : null;
    return { ok: false, error: `server refused the upgrade: ${statusLine}`, headers, redirect, status: code, contentLength };
  }
  const error = checkUpgradeHeaders(headers, handshakeKey, offer.subprotocols ?? []);
  if (error !== null) return { ok: false, error, headers };
  const extensions = agreeExtensions(headers.get('sec-websocket-extensions'), offer.extensions ?? []);
  if (typeof extensions === 'string') return { ok: false, error: extensions, headers };
  return { ok: true, statusLine, headers, subprotocol: headers.get('sec-websocket-protocol') ?? null, extensions };
}

/** Header lines into a map by lower-case name (repeated headers joined with ", "), or what is wrong with one. */
function parseHeaderLines(lines: string[]): Map<string, string> | string {
  const headers = new Map<string, string>();
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) return `malformed header line in the response: ${JSON.stringify(line.slice(0, 80))}`;
    const name = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    const earlier = headers.get(name);
    headers.set(name, earlier === undefined ? value : `${earlier}, ${value}`);
  }
  return headers;
}

/** The checks on a 101 (RFC 6455 4.1, the client's steps 2 to 6): null when it opens the connection. */
function checkUpgradeHeaders(headers: Map<string, string>, handshakeKey: string, offeredSubprotocols: readonly string[]): string | null {
  if ((headers.get('upgrade') ?? '').toLowerCase() !== 'websocket') {
    return `bad Upgrade header in the response: ${JSON.stringify(headers.get('upgrade') ?? '(missing)')}`;
  }
  const connectionTokens = (headers.get('connection') ?? '').split(',').map((t) => t.trim().toLowerCase());
  if (!connectionTokens.includes('upgrade')) {
    return `bad Connection header in the response: ${JSON.stringify(headers.get('connection') ?? '(missing)')}`;
  }
  const accept = headers.get('sec-websocket-accept');
  const expected = computeAcceptKey(handshakeKey);
  if (accept !== expected) {
    return `bad Sec-WebSocket-Accept in the response: got ${JSON.stringify(accept ?? '(missing)')}, expected ${JSON.stringify(expected)}`;
  }
  const chosen = headers.get('sec-websocket-protocol');
  if (chosen === undefined || offeredSubprotocols.includes(chosen)) return null;
  return offeredSubprotocols.length === 0
    ? `server sent Sec-WebSocket-Protocol: ${chosen} (the client asked for none)`
    : `server chose Sec-WebSocket-Protocol: ${chosen}, which the client did not offer`;
}

/** Split at `separator`, except inside a quoted-string (RFC 9110 5.6.4). */
function splitOutsideQuotes(text: string, separator: string): string[] {
  const parts: string[] = [];
  let quoted = false, from = 0;
  for (let i = 0; i < text.length; i++) {
    const char = text[i];
    if (char === '\\' && quoted) i++;
    else if (char === '"') quoted = !quoted;
    else if (char === separator && !quoted) {
      parts.push(text.slice(from, i));
      from = i + 1;
    }
  }
  parts.push(text.slice(from));
  return parts;
}

/** A parameter value: a token, or a quoted-string whose content must be a token (RFC 6455 9.1). */
function unquote(value: string): string {
  return /^".*"$/.test(value) ? value.slice(1, -1).replace(/\\(.)/g, '$1') : value;
}

// ---- extensions (RFC 6455 section 9): offered by the request, agreed by the answer

/** One parameter of an extension in Sec-WebSocket-Extensions: its name (lower case), and its value or null. */
export type ExtensionParam = readonly [name: string, value: string | null];

/**
 * An extension the client can offer, after python-websockets' ClientExtensionFactory: the offer the request
 * carries, and the extension that the server's parameters agree on (or the one line that says what is wrong
 * with them).
 */
export interface ExtensionFactory {
  readonly name: string;
  readonly offer: string;
  accept(params: readonly ExtensionParam[]): Extension | string;
}

/**
 * An agreed extension, as the connection (§ 4) calls it, after python-websockets' Extension: it gives a
 * meaning to some RSV bits, decodes a data message whose first frame sets them, and encodes the client's
 * messages. The connection knows nothing of what it does; permessage-deflate (§ 3) is one.
 */
export interface Extension {
  readonly name: string;
  /** The agreed parameters, as the status line, -v and --json name them. */
  readonly agreed: string;
  /** The RSV bits it owns (RSV1 is 0b100): a data message whose first frame sets them is its to decode. */
  readonly rsv: number;
  /** What is wrong with its RSV bits on a frame that must not set them (a control frame, say); null if nothing. */
  checkFrame(header: FrameHeader): string | null;
  /** The most bytes a message may take on the wire that decodes to at most `limit` bytes. */
  wireLimit(limit: number): number;
  /**
   * A received message as it came (the first range of `received`) → the message, at most `limit` bytes. What
   * it returns is lent: its bytes until release(), the object itself until the next decode(). Throws ExtensionError.
   */
  decode(received: MessageBytes, limit: number): MessageBytes;
  /** A message about to be sent → its payload on the wire, and the RSV bits that say how (0: as it is). */
  encode(payload: Buffer): { payload: Buffer; rsv: number };
  /** A new receiveData(): the messages decoded before are done with. */
  release(): void;
  /** Bytes held for decoding (the window, the largest message so far). */
  readonly heldBytes: number;
}

/** A message an extension cannot decode, with the close code the connection fails with. */
export class ExtensionError extends Error {
  readonly closeCode: number;

  constructor(message: string, closeCode: number) {
    super(message);
    this.closeCode = closeCode;
  }
}

/** Sec-WebSocket-Extensions as a list: each extension's name and parameters, values unquoted (RFC 6455 9.1). */
export function parseExtensionsHeader(header: string): { name: string; params: ExtensionParam[] }[] {
  return splitOutsideQuotes(header, ',').map((extension) => {
    const [name = '', ...params] = splitOutsideQuotes(extension, ';').map((part) => part.trim());
    return {
      name: name.toLowerCase(),
      params: params.map((param): ExtensionParam => {
        const equals = param.indexOf('=');
        return equals < 0 ? [param.toLowerCase(), null] : [param.slice(0, equals).trim().toLowerCase(), unquote(param.slice(equals + 1).trim())];
      }),
    };
  });
}

/** The server's Sec-WebSocket-Extensions against the offer: each one offered, at most once, its parameters agreed. */
function agreeExtensions(header: string | undefined, offered: readonly ExtensionFactory[]): Extension[] | string {
  if (header === undefined) return [];
  if (offered.length === 0) return `server sent Sec-WebSocket-Extensions: ${header} (the client asked for none)`;
  const agreed: Extension[] = [];
  for (const { name, params } of parseExtensionsHeader(header)) {
    const factory = offered.find((candidate) => candidate.name === name);
    if (factory === undefined) return `server sent Sec-WebSocket-Extensions: ${name || '(empty)'}, which the client did not offer`;
    if (agreed.some((extension) => extension.name === name)) return `server accepted ${name} more than once`;
    const extension = factory.accept(params);
    if (typeof extension === 'string') return extension;
    agreed.push(extension);
  }
  return agreed;
}

/** The start of a refused upgrade's body as one safe line: controls and runs of white space become one space. */
export function describeRefusalBody(body: Buffer, truncated: boolean): string {
  const text = body.toString('utf8').replace(/[\s\x00-\x1f\x7f-\x9f]+/g, ' ').trim();
  return text && truncated ? `${text} …` : text;
}

// § 3  Compression: permessage-deflate
//
// RFC 7692 compresses each message with DEFLATE (RFC 1951) and says so with RSV1 on its first frame. It is
// written here as an Extension (§ 2), the way python-websockets and ws write it, so that the protocol core
// (§ 4) reads as RFC 6455 alone: the offer and the checks on the server's answer, RSV1's rules, inflating
// with the size limit, and compressing the client's messages all live in this section, on node:zlib both
// ways. A compressed message ends in a sync flush whose last four bytes, 00 00 FF FF, the sender left out;
// the server may refer back into the messages before it (context takeover), so its inflater keeps a 32 KiB
// window from message to message.
//
// The core is synchronous, so inflating must be too. node:zlib's inflateRawSync() builds a new inflater for
// every call: with the window handed over as a dictionary, 38 µs and several kilobytes of garbage per small
// message measured here, slower than wscat on a flood. So the client drives the native inflater of one
// node:zlib stream itself, writing into it synchronously as inflateRawSync() does inside: the inflater keeps
// its window between messages at no cost (under 1 µs a small message), and the output goes straight into the
// client's own buffer, a limited number of bytes at a time, so a decompression bomb stops at the limit.

/** The RSV bit that says "compressed" (RFC 7692 section 6). */
const RSV1 = 0b100;
/** A DEFLATE window: back-references reach at most this far (RFC 1951 section 2). */
const DEFLATE_WINDOW = 32 * 1024;
/** The sync flush's empty stored block, which the sender leaves out and the receiver puts back. */
const DEFLATE_TAIL = Buffer.from([0x00, 0x00, 0xff, 0xff]);
/** Messages shorter than this are sent as they are: compressing them saves too little (ws's threshold). */
export const DEFLATE_THRESHOLD = 1024;
/** The output room given to zlib at a time, at least (a small message needs one write). */
const INFLATE_ROOM = 64 * 1024;

/** The agreed parameters: the server's window and context, and the ones the client's messages must keep to. */
export interface DeflateParams {
  serverNoContextTakeover: boolean;
  clientNoContextTakeover: boolean;
  serverMaxWindowBits: number;
  clientMaxWindowBits: number;
}

const DEFLATE_FLAGS = { server_no_context_takeover: 'serverNoContextTakeover', client_no_context_takeover: 'clientNoContextTakeover' } as const;
const DEFLATE_WINDOWS = { server_max_window_bits: 'serverMaxWindowBits', client_max_window_bits: 'clientMaxWindowBits' } as const;

/** node:zlib, loaded on first use (only compression needs it, and it costs start-up time); null before Node 20.16. */
function loadZlib(): typeof import('node:zlib') | null {
  return process.getBuiltinModule?.('node:zlib') ?? null;
}

/**
 * permessage-deflate as the client offers it, as browsers and ws do: with client_max_window_bits, so that
 * the server may ask the client's compressor to keep to a smaller window. `--no-deflate` offers nothing.
 */
export const permessageDeflate: ExtensionFactory = {
  name: 'permessage-deflate',
  offer: 'permessage-deflate; client_max_window_bits',
  accept(params) {
    const agreed = parseDeflateParams(params);
    if (typeof agreed === 'string') return agreed;
    const inflater = Inflater.open(!agreed.serverNoContextTakeover);
    return inflater === null ? 'permessage-deflate was agreed, but this Node has no node:zlib inflater to drive (use --no-deflate)' : new PerMessageDeflate(agreed, inflater);
  },
};

/** Whether permessage-deflate can be offered: node:zlib loads synchronously (Node 20.16 and later). */
export function deflateAvailable(): boolean {
  return typeof process.getBuiltinModule === 'function';
}

/**
 * The server's parameters, checked strictly against the offer (RFC 7692 section 7.1): each known, at most
 * once, with a value only where one belongs (window bits, 8 to 15). The agreed parameters, or what is wrong.
 */
export function parseDeflateParams(params: readonly ExtensionParam[]): DeflateParams | string {
  const agreed: DeflateParams = { serverNoContextTakeover: false, clientNoContextTakeover: false, serverMaxWindowBits: 15, clientMaxWindowBits: 15 };
  const seen = new Set<string>();
  for (const [name, value] of params) {
    const why = `permessage-deflate in the server's answer: ${name}`;
    if (seen.has(name)) return `${why} given twice`;
    seen.add(name);
    if (name in DEFLATE_FLAGS) {
      if (value !== null) return `${why} takes no value, got ${JSON.stringify(value)}`;
      agreed[DEFLATE_FLAGS[name as keyof typeof DEFLATE_FLAGS]] = true;
    } else if (name in DEFLATE_WINDOWS) {
      // client_max_window_bits is offered, so the server may name it; with a value, in an answer.
      if (value === null || !/^(8|9|1[0-5])$/.test(value)) return `${why} must be 8 to 15, got ${value === null ? 'no value' : JSON.stringify(value)}`;
      agreed[DEFLATE_WINDOWS[name as keyof typeof DEFLATE_WINDOWS]] = Number(value);
    } else {
      return `${why} is not a permessage-deflate parameter`;
    }
  }
  return agreed;
}

/** The agreed parameters as the status line and -v say them ("permessage-deflate; server_max_window_bits=10"). */
export function describeDeflate(params: DeflateParams): string {
  const parts = ['permessage-deflate'];
  if (params.serverNoContextTakeover) parts.push('server_no_context_takeover');
  if (params.clientNoContextTakeover) parts.push('client_no_context_takeover');
  if (params.serverMaxWindowBits !== 15) parts.push(`server_max_window_bits=${params.serverMaxWindowBits}`);
  if (params.clientMaxWindowBits !== 15) parts.push(`client_max_window_bits=${params.clientMaxWindowBits}`);
  return parts.join('; ');
}

/** permessage-deflate as agreed: RSV1's rules, the server's messages inflated, the client's compressed. */
class PerMessageDeflate implements Extension {
  readonly name = 'permessage-deflate';
  readonly rsv = RSV1;
  readonly agreed: string;
  private readonly clientWindowBits: number;
  private readonly inflater: Inflater;

  constructor(params: DeflateParams, inflater: Inflater) {
    this.agreed = describeDeflate(params);
    this.clientWindowBits = params.clientMaxWindowBits;
    this.inflater = inflater;
  }

  /** RSV1 marks a compressed message on its first frame only: never on a control frame or a CONTINUATION. */
  checkFrame(header: FrameHeader): string | null {
    if ((header.rsv & RSV1) === 0) return null;
    if (header.opcode >= 0x8) return `RSV1 set on a ${OPCODE_NAMES[header.opcode] ?? `opcode ${header.opcode}`} frame (control frames are never compressed)`;
    if (header.opcode === Opcode.CONTINUATION) return 'RSV1 set on a CONTINUATION frame (only a message\'s first frame says it is compressed)';
    return null;
  }

  /** DEFLATE can grow data that does not compress by its stored blocks' headers (5 bytes in 65,535): a little over the limit. */
  wireLimit(limit: number): number {
    return limit + Math.ceil(limit / 65535) * 5 + 64;
  }

  decode(received: MessageBytes, limit: number): MessageBytes {
    return this.inflater.inflate(received.bytes, received.ranges[0]!, received.ranges[1]!, limit); // a message has one range
  }

  encode(payload: Buffer): { payload: Buffer; rsv: number } {
    const compressed = deflateMessage(payload, this.clientWindowBits);
    return compressed === null ? { payload, rsv: 0 } : { payload: compressed, rsv: RSV1 };
  }

  release(): void {
    this.inflater.release();
  }

  get heldBytes(): number {
    return this.inflater.capacity;
  }
}

/** What the client uses of a node:zlib stream's native handle: the synchronous write inflateRawSync() makes. */
interface ZlibHandle {
  writeSync(flush: number, input: Buffer, inOffset: number, inLength: number, output: Buffer, outOffset: number, outLength: number): void;
  onerror: (message: string) => void;
}

/** A node:zlib raw inflate stream with its native handle, and where the handle says what a write left: [room, input]. */
interface NativeInflater {
  stream: import('node:zlib').InflateRaw;
  handle: ZlibHandle;
  state: Uint32Array;
}

/** A raw inflate stream (with a window to start from, if given); null where its handle is not what the client drives. */
function openNativeInflater(zlib: typeof import('node:zlib'), dictionary?: Buffer): NativeInflater | null {
  const stream = zlib.createInflateRaw({ windowBits: 15, ...(dictionary ? { dictionary } : {}) });
  const inner = stream as unknown as { _handle?: Partial<ZlibHandle>; _writeState?: unknown };
  if (typeof inner._handle?.writeSync !== 'function' || !(inner._writeState instanceof Uint32Array)) return null;
  return { stream, handle: inner._handle as ZlibHandle, state: inner._writeState };
}

/**
 * The server's compressed messages, inflated by node:zlib into one buffer of the client's: a message
 * inflated is out[start, at), lent to its event until release(). The 32 KiB before the message stay in the
 * buffer, so that a stream that ended with a final block can start again with them as its dictionary. The
 * buffer is reused from message to message: it moves its contents only when no event points into them,
 * and otherwise moves to a new buffer, growing by doubling, so memory stays near the largest message.
 */
class Inflater {
  private readonly zlib: typeof import('node:zlib');
  private readonly takeover: boolean;
  private native: NativeInflater;
  private out: Buffer = EMPTY;
  /** The message being inflated is out[start, at); the window kept before it starts at `floor`. */
  private start = 0;
  private at = 0;
  private floor = 0;
  /** An event points into `out`: it may not be compacted in place. */
  private lent = false;
  /** zlib's error message, from the handle's callback during a write. */
  private error: string | null = null;
  /** What inflate() returns, reused: a small flood makes no object per message. */
  private readonly inflated: MessageBytes = { bytes: EMPTY, ranges: [0, 0] };
  /** The last message ended with a final block: zlib's stream is over, and the next message needs a new one. */
  private ended = false;

  private constructor(zlib: typeof import('node:zlib'), native: NativeInflater, takeover: boolean) {
    this.zlib = zlib;
    this.takeover = takeover;
    this.native = this.listenTo(native);
  }

  /** An inflater, or null where node:zlib or its handle is missing. */
  static open(takeover: boolean): Inflater | null {
    const zlib = loadZlib();
    const native = zlib && openNativeInflater(zlib);
    return zlib && native ? new Inflater(zlib, native, takeover) : null;
  }

  private listenTo(native: NativeInflater): NativeInflater {
    native.handle.onerror = (message) => {
      this.error = message;
    };
    return native;
  }

  get capacity(): number {
    return this.out.length;
  }

  release(): void {
    this.lent = false;
  }

  /** One message: its compressed bytes, source[from, to), then the tail put back, inflated into out[start, at). */
  inflate(source: Buffer, from: number, to: number, limit: number): MessageBytes {
    if (!this.takeover) {
      this.native.stream.reset(); // server_no_context_takeover: every message starts with an empty window
    } else if (this.ended) {
      const window = this.out.subarray(Math.max(this.floor, this.at - DEFLATE_WINDOW), this.at);
      // The handle was there for the first stream, so it is for this one.
      this.native = this.listenTo(openNativeInflater(this.zlib, window.length > 0 ? window : undefined)!);
    }
    this.ended = false;
    this.start = this.at;
    this.floor = this.takeover ? Math.max(0, this.at - DEFLATE_WINDOW) : this.at;
    this.write(source, from, to, limit);
    this.write(DEFLATE_TAIL, 0, DEFLATE_TAIL.length, limit);
    this.lent = true;
    this.inflated.bytes = this.out;
    this.inflated.ranges[0] = this.start;
    this.inflated.ranges[1] = this.at;
    return this.inflated;
  }

  /**
   * Inflate `input` onto the message, never more than one byte past the limit: that byte says it is too
   * big. zlib takes all the input unless its room ran out (then it is given more) or its stream ended.
   */
  private write(input: Buffer, from: number, to: number, limit: number): void {
    const { Z_SYNC_FLUSH } = this.zlib.constants;
    const { handle, state } = this.native;
    for (let offset = from; ; ) {
      const end = this.start + limit + 1;
      this.room(Math.min(INFLATE_ROOM, end - this.at), limit);
      const room = Math.min(this.out.length, end) - this.at;
      handle.writeSync(Z_SYNC_FLUSH, input, offset, to - offset, this.out, this.at, room);
      if (this.error !== null) throw new ExtensionError(`compressed message does not inflate: ${this.error}`, CloseCode.INVALID_DATA);
      const roomLeft = state[0]!, inputLeft = state[1]!; // the handle's two counts
      this.at += room - roomLeft;
      offset = to - inputLeft;
      if (this.at - this.start > limit) throw new ExtensionError(`message inflates past the limit of ${limit} bytes`, CloseCode.MESSAGE_TOO_BIG);
      if (roomLeft === 0) continue; // the room is full: there may be more
      // Input left with room to spare: a final block ended zlib's stream, and what follows it means nothing
      // (zlib, and so ws, read no further either).
      if (inputLeft > 0) this.ended = true;
      return;
    }
  }

  /**
   * Room for `more` bytes of output. The window kept and the message so far move to the front: of this
   * buffer, if nothing points into it; else of a new one (twice as big, up to what the limit can need),
   * which the old one's borrowers do not see.
   */
  private room(more: number, limit: number): void {
    if (this.at + more <= this.out.length) return;
    const keep = this.floor;
    const needed = this.at - keep + more;
    const grown = Math.max(needed + INFLATE_ROOM, Math.min(2 * this.out.length, limit + DEFLATE_WINDOW + INFLATE_ROOM));
    const target = this.lent || needed > this.out.length ? Buffer.allocUnsafe(grown) : this.out;
    if (target === this.out) this.out.copyWithin(0, keep, this.at);
    else this.out.copy(target, 0, keep, this.at);
    this.out = target;
    this.lent = false;
    this.start -= keep;
    this.at -= keep;
    this.floor -= keep;
  }
}

/**
 * The client's own message compressed: DEFLATE with a sync flush, the tail left out (RFC 7692 7.2.1), within
 * the window the server allows, without context takeover (a sender may always start afresh). null when it
 * does not pay, or cannot be done: zlib cannot keep a raw DEFLATE window of 2^8.
 */
export function deflateMessage(payload: Buffer, windowBits: number): Buffer | null {
  if (payload.length < DEFLATE_THRESHOLD || windowBits < 9) return null;
  const zlib = loadZlib();
  if (zlib === null) return null;
  const compressed = zlib.deflateRawSync(payload, { windowBits, finishFlush: zlib.constants.Z_SYNC_FLUSH });
  return compressed.length - DEFLATE_TAIL.length < payload.length ? compressed.subarray(0, compressed.length - DEFLATE_TAIL.length) : null;
}

// § 4  The connection
//
// The WebSocket protocol as a state machine without I/O, after python-websockets' sans-I/O core: feed it
// the bytes the socket delivered and the messages the user wants sent; take out the bytes to write and the
// events to show. It never touches a socket, a timer or a terminal, so the tests drive it byte by byte.
// Extensions are objects it calls (§ 2): it leaves the RSV bits an agreed one owns to it, and hands it each
// message whose first frame sets them; what the bits mean is the extension's business, not the core's.
//
//   HANDSHAKING --valid 101--> OPEN --CLOSE sent (user quit, protocol error)--> CLOSING --server's CLOSE--> CLOSED
//        |                      +--server's CLOSE, echoed-------------------------------------------------> CLOSED
//        +--refused or bad answer, TCP end-------------------------------------------------------> CLOSED (failed)
//
// Every check a server's bytes must pass ends in one place, fail(), with its close code.

export type State = 'HANDSHAKING' | 'OPEN' | 'CLOSING' | 'CLOSED';

/**
 * Why a connection failed. The core sets handshake, protocol and lost; the shell gives the others when it
 * gives up (abort). Whether --reconnect retries follows from the kind alone (see attemptOutcome).
 */
export type FailureKind =
  | 'handshake' // the server's answer to the upgrade was refused, malformed or a redirect
  | 'protocol' // the server broke RFC 6455 after OPEN
  | 'lost' // TCP ended or was reset without a closing handshake
  | 'unreachable' // no TCP connection (refused, unknown host, ...)
  | 'tls' // the TLS handshake failed (certificate, protocol)
  | 'timeout' // no upgrade within --connect-timeout, or no PONG within --ping-timeout
  | 'close-timeout' // no CLOSE from the server within --close-timeout
  | 'interrupted'; // the user insisted (a second Ctrl-C)

export interface Failure {
  kind: FailureKind;
  message: string;
  /** The close code the client sent for it, if it could send one. */
  closeCode: number | null;
}

/**
 * Received messages of one kind, in order (see MessageBytes). Usually one; several when small frames arrived
 * whole in one read, which is how a busy room delivers hundreds of thousands a second with no object made per
 * message (Output joins them with one copy). The bytes are borrowed: valid until the next receiveData(), which
 * may reuse the memory (the chunk it was given, the message buffer, or an extension's).
 */
export interface MessageEvent extends MessageBytes {
  type: 'text' | 'binary';
}

/** What an answer to the upgrade must begin with: its first bytes are judged before the rest comes. */
const HTTP_VERSION_PREFIX = Buffer.from('HTTP/1.');

/** Whether `bytes` can be the start of an HTTP/1.x status line. */
function startsLikeHttp(bytes: Buffer): boolean {
  const n = Math.min(bytes.length, HTTP_VERSION_PREFIX.length);
  if (bytes.compare(HTTP_VERSION_PREFIX, 0, n, 0, n) !== 0) return false;
  const version = bytes[HTTP_VERSION_PREFIX.length], space = bytes[HTTP_VERSION_PREFIX.length + 1];
  return (version === undefined || version === 0x30 || version === 0x31) && (space === undefined || space === 0x20);
}

/** The start of what a server sent, up to its first line's end, quoted for a line of its own ('SSH-2.0-OpenSSH_9.2'). */
function quoteStart(bytes: Buffer): string {
  const line = bytes.subarray(0, 60).toString('latin1').split(/\r|\n/)[0] ?? '';
  const shown = line.replace(/[^\x20-\x7e]/g, (c) => `\\x${c.charCodeAt(0).toString(16).padStart(2, '0')}`);
  return `'${shown}'${bytes.length > 60 && line.length === 60 ? ' …' : ''}`;
}

/** A header check's failure: most close with 1002. */
const protocolError = (message: string) => ({ message, closeCode: CloseCode.PROTOCOL_ERROR });

/** RSV bits by name: 0b100 is RSV1, 0b011 is RSV2+RSV3. */
function rsvNames(bits: number): string {
  return [0b100, 0b010, 0b001].flatMap((bit, i) => ((bits & bit) !== 0 ? [`RSV${i + 1}`] : [])).join('+');
}

export function isMessageEvent(event: ProtocolEvent): event is MessageEvent {
  return event.type === 'text' || event.type === 'binary';
}

/** Each message of an event, as a view (for the paths where a view per message costs nothing that matters). */
export function messagesOf(event: MessageEvent): Buffer[] {
  const views: Buffer[] = [];
  const { bytes, ranges } = event;
  for (let i = 0; i + 1 < ranges.length; i += 2) views.push(bytes.subarray(ranges[i], ranges[i + 1]));
  return views;
}

export type ProtocolEvent =
  /** `extensions`: each agreed extension's parameters (see Extension.agreed). */
  | { type: 'open'; subprotocol: string | null; extensions: string[] }
  | MessageEvent
  /** `pong`: answered at once, later (while the socket cannot take more: only the latest PING), or not (closing). */
  | { type: 'ping'; payload: Buffer; pong: 'sent' | 'later' | 'none' }
  | { type: 'pong'; payload: Buffer }
  | { type: 'close'; code: number | null; reason: string; initiator: 'server' | 'client' }
  | { type: 'failure'; kind: FailureKind; message: string; closeCode: number | null }
  /** With `traceFrames`: a frame sent or received, in order among the other events (for -v). */
  | { type: 'frame'; direction: 'sent' | 'received'; header: FrameHeader; controlPayload: Buffer | null }
  /** With `traceFrames`: a message an extension encoded or decoded, its size on the wire and as a message (for -v). */
  | { type: 'encoded'; direction: 'sent' | 'received'; extension: string; wire: number; size: number };

export const DEFAULT_MAX_MESSAGE_SIZE = 64 * 1024 * 1024;
/** The message buffer's first size: small messages never make it grow. */
const MIN_MESSAGE_BUFFER = 64 * 1024;

/**
 * Where a message that does not arrive whole in one read is put together (fragments, or a payload spread
 * over several reads). One buffer, reused from message to message: a stream of big messages makes no
 * garbage, and memory stays near the largest message. A completed message's event points into it, so each
 * receiveData() starts again at the front, moving a message still in progress there first (rewind).
 */
export class MessageBuffer {
  private buffer = EMPTY;
  /** The message in progress is buffer[start, end); messages completed before it in this call lie below. */
  private start = 0;
  private end = 0;
  private readonly limit: number;

  constructor(limit: number) {
    this.limit = limit;
  }

  /** Bytes of the message in progress. */
  get size(): number {
    return this.end - this.start;
  }

  /** Bytes held for reuse: about the largest message so far. */
  get capacity(): number {
    return this.buffer.length;
  }

  /** The events of the previous receiveData() are done with: start again at the front. */
  rewind(): void {
    if (this.start === 0) return;
    this.buffer.copyWithin(0, this.start, this.end);
    this.end -= this.start;
    this.start = 0;
  }

  /**
   * Add a piece of the message in progress; `coming` more bytes of its frame are announced (within the
   * limit), so room is made for them too: a 16 MiB frame arriving in 256 KiB reads is copied once. The pages
   * of a fresh buffer cost memory only as bytes are written to them.
   */
  append(data: Buffer, coming = 0): void {
    this.reserve(data.length + coming);
    data.copy(this.buffer, this.end);
    this.end += data.length;
  }

  private reserve(more: number): void {
    if (this.end + more <= this.buffer.length) return;
    // Doubling: a message of a million small fragments is copied a bounded number of times per byte.
    const capacity = Math.max(this.size + more, Math.min(2 * this.buffer.length, this.limit), MIN_MESSAGE_BUFFER);
    const bigger = Buffer.allocUnsafe(capacity);
    // Messages completed earlier in this call stay in the old buffer, where their events point.
    this.buffer.copy(bigger, 0, this.start, this.end);
    this.buffer = bigger;
    this.end -= this.start;
    this.start = 0;
  }

  /** The message is complete: where its bytes are. The next message starts after them. */
  finish(): MessageBytes {
    const message = { bytes: this.buffer, ranges: [this.start, this.end] };
    this.start = this.end;
    return message;
  }
}

export interface ConnectionOptions extends Omit<UpgradeRequest, 'handshakeKey'> {
  /** How its lines name the server ("the server at 127.0.0.1:8001"). */
  peer?: string;
  /** Sec-WebSocket-Key; a fresh one per connection unless a test pins it. */
  handshakeKey?: string;
  maxMessageSize?: number;
  /** Report every frame sent and received as a 'frame' event (for -v); control frames carry their payload. */
  traceFrames?: boolean;
}

/**
 * The WebSocket client protocol without I/O: bytes in (receiveData, receiveEof), messages and control
 * frames in (sendText, sendBinary, sendPing, sendPong, close), bytes out (dataToSend) and events out
 * (eventsReceived). Before OPEN it sends nothing but the request: the shell holds the user's input.
 */
export class ClientConnection {
  state: State = 'HANDSHAKING';
  readonly handshakeKey: string;
  /** Set when the connection failed: a protocol violation, a failed handshake, a lost connection, or the shell gave up. */
  failure: Failure | null = null;
  closeSent: CloseInfo | null = null;
  closeReceived: CloseInfo | null = null;
  /** Who began the closing handshake (the other side's CLOSE answered it). */
  closeInitiator: 'client' | 'server' | null = null;
  /** The request as sent and the response as received (for -v). */
  readonly request: string;
  response: HandshakeResponse | null = null;
  /** Where a 3xx answer to the upgrade pointed (the shell follows it with -L). */
  redirect: Redirect | null = null;

  private readonly peer: string;
  private readonly maxMessageSize: number;
  private readonly subprotocols: readonly string[];
  private readonly traceFrames: boolean;
  private readonly offeredExtensions: readonly ExtensionFactory[];
  /** The extensions agreed, in the order the server named them, and the RSV bits they own between them. */
  private extensions: readonly Extension[] = [];
  private extensionRsv = 0;
  /** By a first frame's RSV bits: the extensions that decode its message, last agreed first (RFC 6455 9). */
  private decoders: readonly (readonly Extension[])[] = [[]];
  private outgoing: Buffer[] = [];
  private events: ProtocolEvent[] = [];
  private responseHead: Buffer = EMPTY;
  private readonly reader = new FrameReader();
  private readonly messageBuffer: MessageBuffer;
  /** The frame whose payload is being read. */
  private frame: FrameHeader | null = null;
  private controlPieces: Buffer[] = [];
  /**
   * The data message in progress: its bytes are in messageBuffer, as they came; `decoders` are the extensions
   * whose RSV bits its first frame set, which decode it once it is complete.
   */
  private message: { opcode: number; utf8State: number; decoders: readonly Extension[] } | null = null;
  /** A refused upgrade whose body is still being read, for the error line (servers put the reason there). */
  private refusal: { error: string; body: Buffer; wanted: number; more: boolean } | null = null;
  /** After a CLOSE was received or the client failed the connection, incoming bytes are not acted on. */
  private ignoringInput = false;
  /** The transport cannot take more bytes for now (see pauseWriting). */
  private writingPaused = false;
  /** The latest PING's payload, answered when writing resumes: earlier unsent PONGs are dropped. */
  private pongDue: Buffer | null = null;
  /** Where a run of small frames to decode lies in the chunk (see receiveRun). */
  private readonly encodedRun: number[] = [];
  /** A message is being sent in fragments (sendFragment): the next fragment is a CONTINUATION. */
  private sendingFragments = false;

  constructor(options: ConnectionOptions) {
    this.handshakeKey = options.handshakeKey ?? randomBytes(16).toString('base64');
    this.peer = options.peer ?? 'the server';
    this.maxMessageSize = options.maxMessageSize ?? DEFAULT_MAX_MESSAGE_SIZE;
    this.messageBuffer = new MessageBuffer(this.maxMessageSize);
    this.subprotocols = options.subprotocols ?? [];
    this.traceFrames = options.traceFrames ?? false;
    this.offeredExtensions = options.extensions ?? [];
    this.request = buildHandshakeRequest({ ...options, handshakeKey: this.handshakeKey });
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

  /** Bytes held for assembling messages (and decoding them): about the largest message so far, however many there were. */
  get assemblyBytes(): number {
    return this.extensions.reduce((sum, extension) => sum + extension.heldBytes, this.messageBuffer.capacity);
  }

  /** True while messages may be sent: OPEN, and no CLOSE sent yet. Before OPEN the shell holds input. */
  get acceptsMessages(): boolean {
    return this.state === 'OPEN' && this.closeSent === null;
  }

  /**
   * Bytes from the socket. `chunk` is not kept: what is needed later is copied, so the caller may read
   * into one reused buffer. Message events borrow their bytes (see MessageEvent): the caller must be done
   * with them (written synchronously, copied, or the socket paused until stdout drains) before it calls again.
   */
  receiveData(chunk: Buffer): void {
    this.messageBuffer.rewind();
    for (const extension of this.extensions) extension.release();
    if (this.refusal !== null) {
      this.receiveRefusalBody(chunk);
    } else if (this.state === 'HANDSHAKING') {
      this.receiveResponseHead(chunk);
    } else if (!this.ignoringInput) {
      this.reader.push(chunk);
      this.receiveFrames();
      this.reader.detach();
    }
  }

  /** The server closed the TCP stream (or it was reset). */
  receiveEof(detail = ''): void {
    if (this.refusal !== null) this.finishRefusal();
    if (this.state === 'CLOSED') return;
    const suffix = detail ? `: ${detail}` : '';
    if (this.state === 'HANDSHAKING') {
      this.fail('lost', `${this.peer} closed the connection during the handshake${suffix}`, null);
    } else if (this.failure === null) {
      const during = this.state === 'CLOSING' ? ' while waiting for the server\'s CLOSE' : '';
      this.fail('lost', `connection lost (1006) without a CLOSE frame${during}${suffix}`, null);
    }
    this.state = 'CLOSED';
  }

  /**
   * Flow control from the transport (as asyncio's pause_writing / resume_writing): while the socket cannot
   * take more, a PING is answered by holding its payload, replacing any earlier one (RFC 6455 5.5.3 allows
   * answering only the most recent PING). So a server that floods PINGs and never reads cannot make the
   * client queue replies without limit. Reading goes on: a client that stopped reading while its writes
   * wait could deadlock with a server that stops reading while its own writes wait.
   */
  pauseWriting(): void {
    this.writingPaused = true;
  }

  resumeWriting(): void {
    this.writingPaused = false;
    this.sendDuePong();
  }

  /** The held PONG, if any, while PONGs may still be sent: never after the client's CLOSE. */
  private sendDuePong(): void {
    const payload = this.pongDue;
    this.pongDue = null;
    if (payload !== null && this.acceptsMessages) this.sendFrame(Opcode.PONG, payload);
  }

  /** One text message. Returns false when it cannot be sent (not OPEN yet, or the closing handshake has begun). */
  sendText(payload: Buffer): boolean {
    return this.sendData(Opcode.TEXT, payload);
  }

  /** One binary message (--binary). */
  sendBinary(payload: Buffer): boolean {
    return this.sendData(Opcode.BINARY, payload);
  }

  /** A whole message, encoded by each agreed extension in turn (RFC 6455 9: in the order they were agreed). */
  private sendData(opcode: number, message: Buffer): boolean {
    // A whole message cannot go between the fragments of another (RFC 6455 5.4); the shell never asks.
    if (!this.acceptsMessages || this.sendingFragments) return false;
    let payload = message, rsv = 0;
    for (const extension of this.extensions) {
      const encoded = extension.encode(payload);
      if (encoded.rsv !== 0 && this.traceFrames) this.events.push({ type: 'encoded', direction: 'sent', extension: extension.name, wire: encoded.payload.length, size: payload.length });
      payload = encoded.payload;
      rsv |= encoded.rsv;
    }
    this.sendFrame(opcode, payload, { rsv });
    return true;
  }

  /**
   * A message sent while it is still arriving (a line longer than the shell holds), fragment by fragment
   * (RFC 6455 5.4): the first is TEXT or BINARY with FIN clear, the rest CONTINUATION, and `last` ends it.
   * Control frames may go between fragments; a CLOSE may end the connection in the middle of one.
   */
  sendFragment(payload: Buffer, { binary, last }: { binary: boolean; last: boolean }): boolean {
    if (!this.acceptsMessages) return false;
    const opcode = this.sendingFragments ? Opcode.CONTINUATION : binary ? Opcode.BINARY : Opcode.TEXT;
    this.sendingFragments = !last;
    this.sendFrame(opcode, payload, { fin: last });
    return true;
  }

  /** A PING (keepalive, or /ping); control payloads are at most 125 bytes. */
  sendPing(payload: Buffer): boolean {
    return this.sendControl(Opcode.PING, payload);
  }

  /** An unsolicited PONG (/pong): a one-way heartbeat. */
  sendPong(payload: Buffer): boolean {
    return this.sendControl(Opcode.PONG, payload);
  }

  /** A control frame may go between the fragments of a message (RFC 6455 5.4), and is never compressed. */
  private sendControl(opcode: number, payload: Buffer): boolean {
    if (!this.acceptsMessages || payload.length > MAX_CONTROL_PAYLOAD) return false;
    this.sendFrame(opcode, payload);
    return true;
  }

  private sendFrame(opcode: number, payload: Buffer, bits: FrameBits = {}): void {
    this.outgoing.push(encodeFrame(opcode, payload, randomMaskKey(), bits));
    if (this.traceFrames) {
      const header = { fin: bits.fin ?? true, rsv: bits.rsv ?? 0, opcode, masked: true, maskKey: null, payloadLength: payload.length };
      this.events.push({ type: 'frame', direction: 'sent', header, controlPayload: opcode >= 0x8 ? payload : null });
    }
  }

  /**
   * Start the closing handshake (the user quit). Only once OPEN: before it the shell holds the quit, so that
   * input typed before OPEN goes out first. Returns false when there is nothing to close.
   */
  close(code: number = CloseCode.NORMAL, reason = ''): boolean {
    if (!this.acceptsMessages) return false;
    this.sendClose(code, reason);
    return true;
  }

  /** Give up on the connection (the shell's timeouts, errors, the user): no further frames are sent or read. */
  abort(kind: FailureKind, message: string): void {
    if (this.refusal !== null) this.finishRefusal();
    if (this.failure === null) this.fail(kind, message, null);
    this.state = 'CLOSED';
  }

  /** A held PONG goes first: it answers a PING that came before the CLOSE. */
  private sendClose(code: number | null, reason: string): void {
    this.sendDuePong();
    this.sendFrame(Opcode.CLOSE, encodeClosePayload(code, reason));
    this.closeSent = { code, reason };
    this.state = 'CLOSING';
  }

  /**
   * Fail the WebSocket connection (RFC 6455 7.1.7): send CLOSE with the code if the connection is open,
   * and stop acting on incoming bytes. Every protocol check ends here.
   */
  private fail(kind: FailureKind, message: string, closeCode: number | null): void {
    this.failure = { kind, message, closeCode };
    this.events.push({ type: 'failure', kind, message, closeCode });
    this.ignoringInput = true;
    if (this.state === 'HANDSHAKING') {
      this.state = 'CLOSED';
      return;
    }
    if (closeCode !== null && this.closeSent === null && this.state === 'OPEN') {
      this.sendClose(closeCode, closeCode === CloseCode.MESSAGE_TOO_BIG ? 'message too big' : 'protocol error');
    }
  }

  // ---- the handshake's answer

  private receiveResponseHead(chunk: Buffer): void {
    const searchFrom = Math.max(0, this.responseHead.length - 3);
    this.responseHead = Buffer.concat([this.responseHead, chunk]);
    // Judged as it arrives: a server that answers something else than HTTP (SSH, a database) is told at once.
    if (!startsLikeHttp(this.responseHead)) return this.fail('handshake', `${this.peer} does not speak HTTP: it sent ${quoteStart(this.responseHead)}`, null);
    const end = this.responseHead.indexOf('\r\n\r\n', searchFrom, 'latin1');
    if (end < 0 ? this.responseHead.length > MAX_RESPONSE_HEAD : end > MAX_RESPONSE_HEAD) {
      return this.fail('handshake', `handshake response headers exceed ${MAX_RESPONSE_HEAD} bytes`, null);
    }
    if (end < 0) return;
    const head = this.responseHead.subarray(0, end).toString('latin1');
    const rest = this.responseHead.subarray(end + 4);
    this.responseHead = EMPTY;
    const result = validateHandshakeResponse(head, this.handshakeKey, { subprotocols: this.subprotocols, extensions: this.offeredExtensions });
    this.response = { head, headers: result.headers ?? null };
    if (!result.ok) return this.refuse(result, rest);
    this.state = 'OPEN';
    this.extensions = result.extensions;
    this.extensionRsv = result.extensions.reduce((bits, extension) => bits | extension.rsv, 0);
    this.decoders = Array.from({ length: 8 }, (_, rsv) => result.extensions.filter((extension) => (rsv & extension.rsv) !== 0).reverse());
    this.events.push({ type: 'open', subprotocol: result.subprotocol, extensions: result.extensions.map((extension) => extension.agreed) });
    // Bytes after the blank line are already frames.
    if (rest.length > 0) this.receiveData(rest);
  }

  /** A response that does not open the connection: a redirect, a refusal (whose body is read), or a broken 101. */
  private refuse(result: Extract<HandshakeResult, { ok: false }>, rest: Buffer): void {
    if (result.redirect !== undefined) {
      this.redirect = result.redirect;
    } else if (result.status !== undefined) {
      // Read the start of the body (by Content-Length, or until the server closes) for the error line.
      const length = result.contentLength ?? Infinity;
      this.refusal = { error: result.error, body: EMPTY, wanted: Math.min(length, REFUSAL_BODY_BYTES), more: length > REFUSAL_BODY_BYTES };
      return this.receiveRefusalBody(rest);
    }
    this.fail('handshake', result.error, null);
  }

  private receiveRefusalBody(chunk: Buffer): void {
    const refusal = this.refusal!; // called only while a refusal's body is read
    refusal.body = Buffer.concat([refusal.body, chunk.subarray(0, refusal.wanted - refusal.body.length)]);
    if (refusal.body.length >= refusal.wanted) this.finishRefusal();
  }

  private finishRefusal(): void {
    const { error, body, more } = this.refusal!; // called only while a refusal's body is read
    this.refusal = null;
    const text = describeRefusalBody(body, more && body.length >= REFUSAL_BODY_BYTES);
    this.fail('handshake', text ? `${error} — ${text}` : error, null);
  }

  // ---- frames

  private receiveFrames(): void {
    while (!this.ignoringInput) {
      // The fast path reads small whole frames in place; -v takes the checked path, which reports each frame.
      if (this.message === null && !this.traceFrames && this.receiveRun()) continue;
      const piece = this.reader.read();
      if (piece === null) return;
      if (piece.type === 'header') this.receiveFrameHeader(piece.header);
      else this.receiveFramePayload(piece.data, piece.end);
    }
  }

  /**
   * Small whole data frames alike in their first byte, straight from the chunk (see FrameReader.readRun): one
   * event for all of them. Plain ones are not copied; those an extension decodes go through it one by one,
   * into its buffer. A frame the checks would refuse is left to the checked path, which says why.
   */
  private receiveRun(): boolean {
    const first = this.reader.nextFirstByte;
    const opcode = first & 0x0f, rsv = (first >> 4) & 0x7;
    if ((first & 0x80) === 0 || (opcode !== Opcode.TEXT && opcode !== Opcode.BINARY) || (rsv & ~this.extensionRsv) !== 0) return false;
    const decoders = this.decoders[rsv]!; // rsv is 3 bits
    const type = opcode === Opcode.TEXT ? 'text' : 'binary';
    // A plain run's ranges become its event's; a run to decode only passes through, in an array kept for it.
    const ranges = decoders.length === 0 ? [] : this.encodedRun;
    ranges.length = 0;
    const bytes = this.reader.readRun(first, this.maxMessageSize, type === 'text' && decoders.length === 0, ranges);
    if (bytes === null) return false;
    if (decoders.length === 0) {
      this.events.push({ type, bytes, ranges });
      return true;
    }
    // One message at a time through its decoders: `received` is read at once, so one serves them all (indexes,
    // not destructuring, here and below: this loop runs per message, and must make no object per message).
    const received: MessageBytes = { bytes, ranges: [0, 0] };
    for (let i = 0; i < ranges.length && !this.ignoringInput; i += 2) {
      received.ranges[0] = ranges[i]!;
      received.ranges[1] = ranges[i + 1]!;
      this.receiveMessage(type, decoders, received);
    }
    return true;
  }

  private receiveFrameHeader(header: FrameHeader): void {
    const error = this.checkFrameHeader(header);
    if (error !== null) return this.fail('protocol', error.message, error.closeCode);
    if (header.opcode >= 0x8) {
      this.controlPieces = [];
    } else {
      this.message ??= { opcode: header.opcode, utf8State: 0, decoders: this.decoders[header.rsv]! };
      if (this.traceFrames) this.events.push({ type: 'frame', direction: 'received', header, controlPayload: null });
    }
    this.frame = header;
  }

  /** What is wrong with a frame header (RFC 6455 5.2, 5.4, 5.5), with the close code to fail with; null if nothing. */
  private checkFrameHeader(header: FrameHeader): { message: string; closeCode: number } | null {
    const { opcode } = header;
    const name = OPCODE_NAMES[opcode];
    const rsvError = this.checkRsv(header);
    if (rsvError !== null) return protocolError(rsvError);
    if (name === undefined) return protocolError(`frame with reserved opcode ${opcode}`);
    if (header.masked) return protocolError('masked frame from the server');
    if (opcode >= 0x8) {
      if (!header.fin) return protocolError(`fragmented ${name} frame`);
      if (header.payloadLength > MAX_CONTROL_PAYLOAD) return protocolError(`${name} frame payload of ${header.payloadLength} bytes (over 125)`);
      return null;
    }
    if (opcode === Opcode.CONTINUATION && this.message === null) return protocolError('CONTINUATION frame without a message in progress');
    if (opcode !== Opcode.CONTINUATION && this.message !== null) return protocolError(`new ${name} frame while a fragmented message is in progress`);
    const soFar = this.message === null ? 0 : this.messageBuffer.size;
    // A message an extension decodes is limited once decoded (by the extension); what it may take on the wire, here.
    const decoders = this.message?.decoders ?? this.decoders[header.rsv]!; // rsv is 3 bits, checked above
    let limit = this.maxMessageSize;
    for (let i = decoders.length - 1; i >= 0; i--) limit = decoders[i]!.wireLimit(limit); // each decodes what the one before it gives
    if (soFar + header.payloadLength <= limit) return null;
    const announced = Number.isFinite(header.payloadLength) ? `${soFar + header.payloadLength} bytes` : 'over 2^53-1 bytes';
    const what = decoders.length === 0 ? 'message' : `${decoders.map((extension) => extension.name).join(' + ')} message`;
    return { message: `${what} of ${announced} exceeds the limit of ${limit} bytes on the wire`, closeCode: CloseCode.MESSAGE_TOO_BIG };
  }

  /** RSV bits must be 0 unless an agreed extension owns them, and each extension says where its own may be set. */
  private checkRsv(header: FrameHeader): string | null {
    const unowned = header.rsv & ~this.extensionRsv;
    if (unowned !== 0) {
      const owners = this.extensions.map((extension) => `${extension.name} (${rsvNames(extension.rsv)})`).join(', ');
      return `frame with reserved bits set (RSV=${header.rsv}) but ${owners === '' ? 'no extension' : `only ${owners}`} negotiated`;
    }
    for (const extension of this.extensions) {
      const error = extension.checkFrame(header);
      if (error !== null) return error;
    }
    return null;
  }

  private receiveFramePayload(data: Buffer, end: boolean): void {
    const frame = this.frame!; // a payload piece always follows its frame's header
    if (frame.opcode >= 0x8) {
      if (data.length > 0) this.controlPieces.push(Buffer.from(data));
      if (end) this.receiveControlFrame(frame, this.controlPieces.length === 1 ? this.controlPieces[0]! : Buffer.concat(this.controlPieces));
      return;
    }
    const message = this.message!; // receiveFrameHeader starts one for every data frame
    if (message.opcode === Opcode.TEXT && message.decoders.length === 0) {
      // Fail fast: invalid UTF-8 is refused as soon as it arrives, not when the message completes.
      message.utf8State = validateUtf8(message.utf8State, data);
      if (message.utf8State === UTF8_REJECT) return this.fail('protocol', 'invalid UTF-8 in a text message', CloseCode.INVALID_DATA);
    }
    // A message that is this one piece (one frame, whole in this read) is not copied: its event points here.
    const whole = end && frame.fin && this.messageBuffer.size === 0;
    if (!whole) this.messageBuffer.append(data, this.reader.payloadRemaining);
    if (!end || !frame.fin) return;
    this.message = null;
    const received = whole ? { bytes: data, ranges: [0, data.length] } : this.messageBuffer.finish();
    const type = message.opcode === Opcode.TEXT ? 'text' : 'binary';
    if (message.decoders.length > 0) return this.receiveMessage(type, message.decoders, received);
    if (type === 'text' && message.utf8State !== 0) {
      const why = message.utf8State === UTF8_REJECT ? 'invalid UTF-8 in a text message' : 'text message ends inside a UTF-8 sequence';
      return this.fail('protocol', why, CloseCode.INVALID_DATA);
    }
    this.pushMessage(type, received);
  }

  /** A complete message that extensions decode: decoded, its text checked as UTF-8 once decoded, then delivered. */
  private receiveMessage(type: MessageEvent['type'], decoders: readonly Extension[], received: MessageBytes): void {
    const decoded = this.decodeMessage(received, decoders);
    if (decoded === null) return;
    if (type === 'text' && !isValidUtf8(decoded.bytes, decoded.ranges[0]!, decoded.ranges[1]!)) return this.fail('protocol', 'invalid UTF-8 in a text message', CloseCode.INVALID_DATA);
    this.pushMessage(type, decoded);
  }

  /**
   * A message event, or one more message of the event before it when that is of the same kind in the same
   * buffer, further on: a read of many small messages that an extension decoded into one buffer is one event.
   * The message's ranges may be lent (see Extension.decode): they are copied.
   */
  private pushMessage(type: MessageEvent['type'], message: MessageBytes): void {
    const last = this.events[this.events.length - 1];
    const start = message.ranges[0]!, end = message.ranges[1]!; // a message has one range
    if (last?.type === type && last.bytes === message.bytes && start >= (last.ranges[last.ranges.length - 1] ?? Infinity)) {
      last.ranges.push(start, end);
    } else {
      this.events.push({ type, bytes: message.bytes, ranges: [start, end] });
    }
  }

  /** A complete message through its decoders, or null when one refused it (the connection failed with its close code). */
  private decodeMessage(received: MessageBytes, decoders: readonly Extension[]): MessageBytes | null {
    let message = received;
    for (let i = 0; i < decoders.length; i++) {
      const extension = decoders[i]!;
      const wire = message.ranges[1]! - message.ranges[0]!; // a message has one range
      try {
        message = extension.decode(message, this.maxMessageSize);
      } catch (error) {
        if (!(error instanceof ExtensionError)) throw error;
        this.fail('protocol', error.message, error.closeCode);
        return null;
      }
      if (this.traceFrames) this.events.push({ type: 'encoded', direction: 'received', extension: extension.name, wire, size: (message.ranges[1] ?? 0) - (message.ranges[0] ?? 0) });
    }
    return message;
  }

  private receiveControlFrame(header: FrameHeader, payload: Buffer): void {
    if (this.traceFrames) this.events.push({ type: 'frame', direction: 'received', header, controlPayload: payload });
    if (header.opcode === Opcode.PING) return this.receivePing(payload);
    if (header.opcode === Opcode.PONG) return void this.events.push({ type: 'pong', payload });
    const close = parseClosePayload(payload);
    if ('error' in close) return this.fail('protocol', close.error, close.closeCode);
    this.closeReceived = close;
    this.ignoringInput = true;
    const initiator = this.closeSent === null ? 'server' : 'client';
    this.closeInitiator = initiator;
    // Echo the server's CLOSE with the same payload (status code and reason).
    if (this.closeSent === null) this.sendClose(close.code, close.reason);
    this.state = 'CLOSED';
    this.events.push({ type: 'close', code: close.code, reason: close.reason, initiator });
  }

  /** Every PING gets a PONG with its payload: at once, or when writing resumes (see pauseWriting). */
  private receivePing(payload: Buffer): void {
    const pong = this.closeSent !== null ? 'none' : this.writingPaused ? 'later' : 'sent';
    this.events.push({ type: 'ping', payload, pong });
    if (pong === 'none') return;
    this.pongDue = payload;
    if (pong === 'sent') this.sendDuePong();
  }
}

// ---- how a connection ended, as the process's exit status

/** 0: a normal closure; 1: any failure; 2: a usage error. */
export const ExitStatus = { OK: 0, FAILURE: 1, USAGE: 2 } as const;

/**
 * The exit status a finished connection deserves: 0 only for a normal closure: 1000, 1001 or no code, or the
 * server's echo of the code the client closed with (the user asked for it: /close 4000).
 */
export function exitStatusFor(connection: ClientConnection): number {
  if (connection.failure !== null || connection.closeReceived === null) return ExitStatus.FAILURE;
  const { code } = connection.closeReceived;
  if (connection.closeInitiator === 'client' && code === connection.closeSent?.code) return ExitStatus.OK;
  return code === null || code === CloseCode.NORMAL || code === CloseCode.GOING_AWAY ? ExitStatus.OK : ExitStatus.FAILURE;
}

// § 5  The command line
//
// Everything the user can ask for, turned once into a frozen CliOptions: where to connect (a URL, or the
// chat server's HOST PORT ROLE), how (headers, credentials, proxy, TLS files), and what to do with input
// and output. Files named on the command line are read here, and a proxy URL is parsed here, so that a bad
// one is a usage error (exit 2) before anything connects, and nothing is read or parsed twice later.

export type Role = 'producer' | 'consumer' | 'both';
export const ROLES: readonly Role[] = ['producer', 'consumer', 'both'];
export const VERSION = '1.0.0';

export interface Target {
  /** user:password from the URL, if any. */
  auth?: string;
  secure: boolean;
  host: string; // without IPv6 brackets
  port: number;
  role: Role;
  path: string;
  /** A unix socket to connect to instead of host:port (--unix-socket, or a ws+unix: URL). */
  unixSocket?: string;
}

export interface ProxyAddress {
  /** http: CONNECT; socks5: the client resolves the name; socks5h: the proxy does. */
  kind: 'http' | 'socks5' | 'socks5h';
  host: string;
  port: number;
  /** user:password for Proxy-Authorization, if the URL had them. */
  auth: string | null;
  display: string;
}

/** wss:// only: what the TLS connection trusts and presents; the --ca, --cert and --key files as read at start. */
export interface TlsOptions {
  /** --insecure: the server's certificate is not checked. */
  readonly insecure: boolean;
  readonly ca: string | null;
  readonly certificate: Buffer | null;
  readonly privateKey: Buffer | null;
  readonly passphrase: string | null;
}

/** A message of -x or -f: its bytes, or 'stdin' for `-f -` until main() has read stdin to its end. */
export type ExecuteMessage = Buffer | 'stdin';

export interface CliOptions {
  readonly target: Target;
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  readonly maxMessageSize: number;
  readonly pingIntervalMs: number; // 0: the client sends no pings of its own
  readonly pingTimeoutMs: number;
  readonly showHeartbeats: boolean;
  readonly color: boolean | null; // null: decide from the terminal and NO_COLOR
  readonly quiet: boolean;
  readonly json: boolean;
  readonly reconnect: boolean;
  readonly tls: TlsOptions;
  /** Extra request headers, in order (-H), with Origin (-o), User-Agent (-A), Referer (-e) and Cookie (-b) among them. */
  readonly headers: readonly HeaderField[];
  /** Handshake headers given with -H and left out for the client's own (a browser's "Copy as cURL" has them). */
  readonly replacedHeaders: readonly string[];
  /** user:password for Basic authentication (--auth, --auth-file, the URL's user:password@, WSC_AUTH). */
  readonly auth: string | null;
  /** --auth USER (or a URL's user@) without a password: main() asks for it at a no-echo prompt. */
  readonly authUser: string | null;
  /** Said on stderr before connecting (a secret file others can read). */
  readonly warnings: readonly string[];
  readonly subprotocols: readonly string[];
  readonly followRedirects: boolean;
  readonly maxRedirects: number;
  /** From --proxy or the environment (HTTP_PROXY, HTTPS_PROXY, NO_PROXY). */
  readonly proxy: ProxyAddress | null;
  readonly slash: boolean;
  readonly verbose: boolean;
  /** -x and -f: messages sent right after OPEN, before any stdin line ('stdin': -f -, read by main). */
  readonly execute: readonly ExecuteMessage[];
  /** `-f -`: stdin to its end, as main() read it (null until then, and without -f -). */
  readonly stdinMessage: Buffer | null;
  /** -w: once input has ended, keep receiving this long, then close (Infinity: until the server closes or the user quits); null: close at once. */
  readonly waitMs: number | null;
  /** --count / -1: close after printing this many messages (Infinity: no limit). */
  readonly count: number;
  /** -0: NUL instead of newline between messages, on stdin and stdout. */
  readonly separator: number;
  /** --binary: input messages go out as BINARY frames. */
  readonly sendBinary: boolean;
  /** --hex / --base64: how a received binary message is printed (null: size and a preview). */
  readonly binaryEncoding: 'hex' | 'base64' | null;
  /** The line editor's history, kept across sessions: --history FILE, or the default file (null: --no-history). */
  readonly historyFile: string | null;
  /** --pretty / --no-pretty: JSON objects and arrays laid out; null: on a terminal. */
  readonly pretty: boolean | null;
  /** --json-input: stdin is a stream of JSON values, each sent as one message, compacted. */
  readonly jsonInput: boolean;
  /** --filter REGEX: only the messages that match are printed (and counted by --count). */
  readonly filter: RegExp | null;
  /** --timestamps: each message and status line starts with the local time; JSON events carry `ts`. */
  readonly timestamps: boolean;
  /** Offer permessage-deflate (--no-deflate: offer nothing). */
  readonly deflate: boolean;
}

/** A bad command line, option value or file: exit 2 with one line naming the problem (and where to read more). */
export class UsageError extends Error {}

/** The options by group, for usage(): the README's option tables say more of each. */
const OPTION_HELP = `Connection:
  -c, --connect URL              the URL to connect to (as wscat's -c)
      --role ROLE                producer, consumer or both, whatever the URL's path
  -H, --header "NAME: VALUE"     add a request header (repeatable); the handshake's own (Upgrade,
                                 Sec-WebSocket-Key, ...) are replaced by the client's, as a browser's
                                 "Copy as cURL" carries them; Sec-WebSocket-Protocol offers as -s does
  -b, --cookie "NAME=VALUE; ..." send these cookies (repeatable; merged with -H Cookie into one header)
  -A, --user-agent TEXT          send a User-Agent header
  -e, --referer URL              send a Referer header
      --compressed               accepted for curl's command lines; compression is offered anyway
      --auth USER[:PASSWORD]     HTTP Basic authentication (also a URL's user:password@); without the
                                 password, it is asked for on the terminal (no echo)
      --auth-file FILE           read USER:PASSWORD from FILE (safer than the command line; WSC_AUTH too)
  -o, --origin ORIGIN            send an Origin header
  -s, --subprotocol NAME         offer a subprotocol (repeatable); the server's choice is reported
  -L, --location                 follow HTTP redirects of the upgrade request
      --max-redirects N          at most N redirects with -L (default 10)
      --proxy URL                tunnel through a proxy: http://[user:pass@]host:port (CONNECT), or SOCKS5:
                                 socks5:// (names resolved here) or socks5h:// (by the proxy, as ssh -D
                                 wants); without it, HTTP_PROXY / HTTPS_PROXY / ALL_PROXY / NO_PROXY
      --unix-socket PATH         connect to a unix socket (Host: the URL's host, as curl does)
      --connect-timeout SECONDS  give up if not connected and upgraded in time (default 10)
      --close-timeout SECONDS    wait this long for the server's CLOSE (default 5)
      --max-message-size BYTES   refuse larger incoming messages with 1009, compressed ones as they inflate
                                 (default 67108864)
      --no-deflate               do not offer permessage-deflate (compression), which is offered by default
TLS (wss://):
      --ca FILE                  also trust this CA certificate (PEM)
      --cert FILE                client certificate (PEM)
      --key FILE                 its private key (PEM)
      --passphrase TEXT          the key's passphrase (--passphrase-file FILE, or WSC_PASSPHRASE, keep it
                                 out of the process list)
  -k, --insecure                 do not verify the server's certificate (prints a warning; -n and
                                 --no-check too)
Liveness:
      --ping-interval SECONDS    send a PING every SECONDS (default 30; 0 = never)
      --ping-timeout SECONDS     count the connection dead without a PONG in time (default 20)
  -P, --show-heartbeats          report PINGs and PONGs on stderr (--show-ping-pong too)
      --reconnect                after an abnormal end, reconnect with backoff (0.5 s doubling to 30 s)
Input:
  -x, --execute MESSAGE          send MESSAGE right after connecting, before stdin (repeatable)
  -f, --file FILE                send FILE's exact bytes as one message, in order with -x (repeatable);
                                 -f - sends stdin, read to its end, as one message
  -w, --wait SECONDS             once input has ended (-x and -f sent, and stdin's EOF unless it is a
                                 terminal), keep receiving SECONDS, then close; "inf": until the server closes
  -0, --null                     messages are separated by NUL, not newline, on stdin and stdout
      --binary                   send input messages as BINARY frames
      --json-input               stdin is a stream of JSON values in any layout (as jq reads); each is sent,
                                 compacted, as one text message as soon as it is complete
      --history FILE             on a terminal, keep the input line's history in FILE (default:
                                 $XDG_STATE_HOME/wsc/history, or ~/.local/state/wsc/history)
      --no-history               keep no history
      --slash                    lines starting with / are commands: /ping [text], /pong [text],
                                 /close [code [reason]], /quit (// sends a line starting with /)
Output:
      --count N                  print N messages, then close (exit 1 if they did not all come); -1 = --count 1;
                                 0 = connect, send what -x, -f and stdin had, and close
      --filter REGEX             print only the messages that match (a JavaScript regular expression, or
                                 /REGEX/FLAGS); --count counts those
      --pretty, --no-pretty      JSON objects and arrays indented, exactly as sent: the default on a terminal
                                 only
      --hex, --base64            print each binary message whole, on one line, in that encoding
      --timestamps               start each message and status line with the time (HH:MM:SS); JSON gets "ts"
  -v, --verbose                  show the handshake headers and every frame on stderr
      --json                     one JSON object per line on stdout for each event
      --no-color                 no colour on a terminal (NO_COLOR does the same); --color forces it
  -q, --quiet                    no status lines on stderr, only errors
  -h, --help                     show this help
      --version                  show the version

stdout carries received messages only; everything else goes to stderr.
Exit status: 0 normal closure, 1 failure, 2 usage error.`;

export function usage(program: string): string {
  return `Usage: ${program} [options] HOST PORT ROLE
       ${program} [options] URL            (or -c URL)
ROLE is producer (send each stdin line), consumer (print each message) or both. A URL is ws:// or wss://
with any path and query, sent as given, or ws+unix:///PATH/TO/SOCKET:/REQUEST/PATH; its role is the path's
when that is /producer, /consumer or /both, otherwise both (--role ROLE overrides).

${OPTION_HELP}`;
}

/** Every option parseArgs accepts (what each does: usage(), and the README's option tables). */
const OPTIONS = {
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
  insecure: { type: 'boolean', short: 'k' },
  'no-check': { type: 'boolean', short: 'n' },
  ca: { type: 'string' },
  cert: { type: 'string' },
  key: { type: 'string' },
  passphrase: { type: 'string' },
  'passphrase-file': { type: 'string' },
  'auth-file': { type: 'string' },
  header: { type: 'string', short: 'H', multiple: true },
  cookie: { type: 'string', short: 'b', multiple: true },
  'user-agent': { type: 'string', short: 'A' },
  referer: { type: 'string', short: 'e' },
  compressed: { type: 'boolean' },
  auth: { type: 'string' },
  origin: { type: 'string', short: 'o' },
  subprotocol: { type: 'string', short: 's', multiple: true },
  location: { type: 'boolean', short: 'L' },
  'max-redirects': { type: 'string' },
  proxy: { type: 'string' },
  'unix-socket': { type: 'string' },
  slash: { type: 'boolean' },
  verbose: { type: 'boolean', short: 'v' },
  connect: { type: 'string', short: 'c' },
  role: { type: 'string' },
  execute: { type: 'string', short: 'x', multiple: true },
  file: { type: 'string', short: 'f', multiple: true },
  wait: { type: 'string', short: 'w' },
  count: { type: 'string' },
  '1': { type: 'boolean', short: '1' },
  null: { type: 'boolean', short: '0' },
  binary: { type: 'boolean' },
  hex: { type: 'boolean' },
  base64: { type: 'boolean' },
  history: { type: 'string' },
  'no-history': { type: 'boolean' },
  'json-input': { type: 'boolean' },
  pretty: { type: 'boolean' },
  'no-pretty': { type: 'boolean' },
  filter: { type: 'string' },
  timestamps: { type: 'boolean' },
  'no-deflate': { type: 'boolean' },
} as const;

/** The option names, for the test that keeps usage(), the README and the manual page in step with them. */
export const OPTION_NAMES: readonly string[] = Object.keys(OPTIONS);

/**
 * An option's value that starts with a dash is taken for another option by parseArgs ("--count -1"): a number
 * after an option that takes a value is that value, so that its own check can say what is wrong with it.
 */
function joinNegativeValues(argv: readonly string[]): string[] {
  const takesValue = new Map<string, string>();
  for (const [name, option] of Object.entries(OPTIONS)) {
    if (option.type !== 'string') continue;
    takesValue.set(`--${name}`, name);
    if ('short' in option) takesValue.set(`-${option.short}`, name);
  }
  const joined: string[] = [];
  for (let i = 0; i < argv.length; i++) {
    const name = takesValue.get(argv[i]!);
    const next = argv[i + 1];
    if (name !== undefined && next !== undefined && /^-\.?\d/.test(next)) joined.push(`--${name}=${argv[++i]}`);
    else joined.push(argv[i]!);
  }
  return joined;
}

/** parseArgs' complaint, as one line of this client's: "unknown option --bogus", "--header needs a value". */
function describeArgsError(error: Error & { code?: string }): string {
  const option = /'(?:-\w, )?(--?[\w-]+)/.exec(error.message)?.[1] ?? '';
  if (error.code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') return `unknown option ${option}`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /ambiguous/.test(error.message)) return `${option} needs a value (one that starts with a dash is written ${option}=VALUE)`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE' && /missing/.test(error.message)) return `${option} needs a value`;
  if (error.code === 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE') return `${option} takes no value`;
  return error.message.split('\n')[0] ?? 'bad arguments';
}

/** Parse the command line; returns 'help' or 'version' for those requests. Throws UsageError. */
export function parseCommandLine(argv: string[], env: NodeJS.ProcessEnv = process.env): CliOptions | 'help' | 'version' {
  let parsed;
  try {
    parsed = parseArgs({ args: joinNegativeValues(argv), allowPositionals: true, strict: true, tokens: true, options: OPTIONS });
  } catch (error) {
    throw new UsageError(describeArgsError(error as Error));
  }
  const { values, positionals, tokens } = parsed;
  if (values.help) return 'help';
  if (values.version) return 'version';
  const target = parseScriptingTarget(values, positionals);
  if (values['unix-socket'] !== undefined) {
    if (values['unix-socket'] === '') throw new UsageError('--unix-socket needs a PATH');
    if (target.unixSocket !== undefined) throw new UsageError('--unix-socket and a ws+unix: URL both name a socket: give one');
    target.unixSocket = values['unix-socket'];
  }
  if (target.unixSocket !== undefined && values.proxy !== undefined) throw new UsageError('--proxy does not go with a unix socket');
  const maxRedirects = parseWholeNumber('--max-redirects', values['max-redirects'], 10);
  const proxy = values.proxy ?? (target.unixSocket === undefined ? proxyFromEnvironment(target, env) : null);
  const { passphrase, ...credentials } = parseCredentials(values, target, env);
  return Object.freeze({
    target,
    connectTimeoutMs: parseDuration('--connect-timeout', values['connect-timeout'], 10_000),
    closeTimeoutMs: parseDuration('--close-timeout', values['close-timeout'], 5_000),
    maxMessageSize: parseMaxMessageSize(values['max-message-size']),
    pingIntervalMs: parseDuration('--ping-interval', values['ping-interval'], 30_000, { zero: true }),
    pingTimeoutMs: parseDuration('--ping-timeout', values['ping-timeout'], 20_000),
    showHeartbeats: (values['show-heartbeats'] || values['show-ping-pong']) ?? false,
    color: values['no-color'] ? false : values.color ? true : null,
    quiet: values.quiet ?? false,
    json: values.json ?? false,
    reconnect: values.reconnect ?? false,
    tls: parseTls(values, target, passphrase),
    ...parseHandshakeOptions(values),
    ...credentials,
    followRedirects: values.location ?? false,
    maxRedirects,
    proxy: proxy === null ? null : parseProxyUrl(proxy),
    slash: values.slash ?? false,
    verbose: values.verbose ?? false,
    historyFile: values['no-history'] ? null : values.history ?? defaultHistoryFile(env),
    pretty: values['no-pretty'] ? false : values.pretty ? true : null,
    jsonInput: parseJsonInput(values),
    filter: parseFilter(values.filter),
    timestamps: values.timestamps ?? false,
    deflate: !values['no-deflate'],
    ...parseScripting(values, target, tokens),
  });
}

/** Where the input line's history is kept by default: $XDG_STATE_HOME/wsc/history, or ~/.local/state/wsc/history. */
export function defaultHistoryFile(env: NodeJS.ProcessEnv): string | null {
  // The XDG spec ignores a relative path.
  if (env.XDG_STATE_HOME?.startsWith('/')) return `${env.XDG_STATE_HOME}/wsc/history`;
  return env.HOME ? `${env.HOME}/.local/state/wsc/history` : null;
}

function parseJsonInput(values: { 'json-input'?: boolean; binary?: boolean }): boolean {
  if (values['json-input'] && values.binary) throw new UsageError('--json-input sends each value as a text message; it does not go with --binary');
  return values['json-input'] ?? false;
}

/** --filter REGEX, or /REGEX/FLAGS: a JavaScript regular expression, or a usage error that quotes it. */
function parseFilter(text: string | undefined): RegExp | null {
  if (text === undefined) return null;
  const literal = /^\/(.*)\/([dgimsuyv]*)$/s.exec(text);
  try {
    return literal === null ? new RegExp(text) : new RegExp(literal[1]!, literal[2]!.replace(/[gy]/g, ''));
  } catch (error) {
    throw new UsageError(`--filter: not a regular expression: '${text}' (${(error as Error).message.replace(/^Invalid regular expression: /, '')})`);
  }
}

/** A password typed at the prompt completes --auth USER: the options are frozen again with it. */
export function withPassword(options: CliOptions, password: string): CliOptions {
  return Object.freeze({ ...options, auth: `${options.authUser}:${password}`, authUser: null });
}

/** The longest a timer holds (2^31 - 1 ms, about 24.8 days): Node fires a longer one at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * A duration in seconds, as milliseconds: a number (fractions allowed) more than 0, or 0 too where it means
 * "never" (`zero`); at most what a timer holds, or "inf" where the option has it (Infinity).
 */
function parseDuration(option: string, value: string | undefined, fallback: number, allow: { zero?: boolean; inf?: boolean } = {}): number {
  if (value === undefined) return fallback;
  if (allow.inf && /^inf(inity)?$/i.test(value)) return Infinity;
  const seconds = Number(value);
  const largest = `${Math.floor(MAX_TIMER_MS / 1000)}${allow.inf ? ', or inf' : ''}`;
  if (value.trim() === '' || Number.isNaN(seconds)) throw new UsageError(`${option} must be a number of seconds, got ${JSON.stringify(value)}`);
  if (seconds < 0 || (seconds === 0 && !allow.zero)) throw new UsageError(`${option} must be ${allow.zero ? '0 or more' : 'more than 0'} seconds, got ${value}`);
  if (seconds * 1000 > MAX_TIMER_MS) throw new UsageError(`${option} must be at most ${largest} (seconds; about 24.8 days), got ${value}`);
  return seconds === 0 ? 0 : Math.max(1, Math.round(seconds * 1000));
}

/** A whole number, 0 or more. */
function parseWholeNumber(option: string, value: string | undefined, fallback: number): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!/^-?\d+$/.test(value) || !Number.isSafeInteger(n)) throw new UsageError(`${option} must be a whole number, got ${JSON.stringify(value)}`);
  if (n < 0) throw new UsageError(`${option} must be 0 or more, got ${value}`);
  return n;
}

function parseMaxMessageSize(text: string | undefined): number {
  if (text === undefined) return DEFAULT_MAX_MESSAGE_SIZE;
  const size = Number(text);
  if (!/^-?\d+$/.test(text) || !Number.isSafeInteger(size)) throw new UsageError(`--max-message-size must be a whole number of bytes, got ${JSON.stringify(text)}`);
  if (size < 1) throw new UsageError(`--max-message-size must be 1 or more, got ${text}`);
  return size;
}

// ---- targets

/** A URL's host name without the brackets of an IPv6 literal. */
function unbracket(host: string): string {
  return host.replace(/^\[(.*)\]$/, '$1');
}

/** A ws(s):// URL (or http(s)://, as a redirect may say) as a target; `role` null: the path's, or both. */
function targetFromUrl(url: URL, role: Role | null): Target {
  const secure = url.protocol === 'wss:' || url.protocol === 'https:';
  // The chat server's convention: the path names the role. Any other path is an ordinary endpoint: both.
  const named = ROLES.find((name) => url.pathname === `/${name}`);
  return {
    secure,
    host: unbracket(url.hostname),
    port: url.port ? Number(url.port) : secure ? 443 : 80,
    role: role ?? named ?? 'both',
    path: `${url.pathname}${url.search}`,
  };
}

export function parseTarget(positionals: string[]): Target {
  const [first = ''] = positionals;
  const isUrl = /^([a-z][a-z0-9+.-]*:\/\/|ws\+unix:)/i.test(first);
  if (isUrl && positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}' after the URL`);
  if (isUrl) {
    let url: URL;
    try {
      url = new URL(first);
    } catch {
      throw new UsageError(`not a valid URL: ${first}`);
    }
    if (url.protocol === 'ws+unix:') return unixSocketTarget(url);
    if (url.protocol !== 'ws:' && url.protocol !== 'wss:') throw new UsageError(`URL scheme must be ws://, wss:// or ws+unix:, not ${url.protocol}//`);
    const target = targetFromUrl(url, null);
    if (url.username) target.auth = decodeURIComponent(url.username) + (url.password ? `:${decodeURIComponent(url.password)}` : '');
    return target;
  }
  if (positionals.length === 0) throw new UsageError('no server given: HOST PORT ROLE, or a URL');
  if (positionals.length < 3) throw new UsageError(`HOST PORT ROLE are three arguments, got ${positionals.length}: ${positionals.join(' ')}`);
  if (positionals.length > 3) throw new UsageError(`unexpected argument '${positionals[3]}' after HOST PORT ROLE`);
  const [rawHost = '', portText = '', role = ''] = positionals;
  const port = Number(portText);
  if (!/^\d+$/.test(portText) || port < 1 || port > 65535) throw new UsageError(`PORT must be a number from 1 to 65535, not ${JSON.stringify(portText)}`);
  if (!isRole(role)) throw new UsageError(`ROLE must be producer, consumer or both, not ${JSON.stringify(role)}`);
  if (rawHost === '') throw new UsageError('HOST must not be empty');
  return { secure: false, host: unbracket(rawHost), port, role, path: `/${role}` };
}

/**
 * ws's form for a unix socket: ws+unix:///path/to.sock:/request/path?query. The request goes to the socket
 * with Host: localhost, as curl --unix-socket sends it.
 */
function unixSocketTarget(url: URL): Target {
  const colon = url.pathname.indexOf(':');
  const socket = decodeURIComponent(colon < 0 ? url.pathname : url.pathname.slice(0, colon));
  if (socket === '' || socket === '/') throw new UsageError(`a ws+unix: URL names the socket's path: ws+unix:///path/to.sock:/request/path, not ${url.href}`);
  const requestPath = colon < 0 ? '/' : url.pathname.slice(colon + 1) || '/';
  const named = ROLES.find((name) => requestPath === `/${name}`);
  return { secure: false, host: 'localhost', port: 80, role: named ?? 'both', path: `${requestPath}${url.search}`, unixSocket: socket };
}

function isRole(text: string): text is Role {
  return (ROLES as readonly string[]).includes(text);
}

/** The target from -c URL or the positionals, with --role applied (URLs only). */
function parseScriptingTarget(values: { connect?: string; role?: string }, positionals: string[]): Target {
  if (values.connect !== undefined && positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' after -c URL`);
  const target = parseTarget(values.connect !== undefined ? [values.connect] : positionals);
  if (values.role === undefined) return target;
  if (!isRole(values.role)) throw new UsageError(`--role must be producer, consumer or both, not ${JSON.stringify(values.role)}`);
  if (values.connect === undefined && positionals.length === 3) throw new UsageError('--role goes with a URL (HOST PORT ROLE names the role already)');
  return { ...target, role: values.role };
}

/** The target as a URL for status lines and `ps`: ws+unix: for a unix socket. */
export function targetUrl(target: Target): string {
  if (target.unixSocket !== undefined) return `${target.secure ? 'wss' : 'ws'}+unix://${target.unixSocket}:${target.path}`;
  return `${target.secure ? 'wss' : 'ws'}://${authority(target.host, target.port)}${target.path}`;
}

/**
 * The Host header (RFC 9110 7.2): the URL's host, and its port unless it is the scheme's default, as
 * browsers, curl and ws send it ("localhost" for a ws+unix: URL).
 */
export function hostHeader(target: Target): string {
  const host = authority(target.host, target.port);
  return target.port === (target.secure ? 443 : 80) ? host.slice(0, host.lastIndexOf(':')) : host;
}

/** Where a redirect's Location points, as a new target (http/https map to ws/wss); a string explains a refusal. */
export function redirectTarget(current: Target, location: string): Target | string {
  let url: URL;
  try {
    url = new URL(location, `${current.secure ? 'https' : 'http'}://${authority(current.host, current.port)}${current.path}`);
  } catch {
    return `the server redirects to an invalid location: ${JSON.stringify(location)}`;
  }
  if (!['http:', 'ws:', 'https:', 'wss:'].includes(url.protocol)) return `the server redirects to an unsupported scheme: ${location}`;
  const next = targetFromUrl(url, current.role);
  // Another path on the same host of a unix socket is on the same socket.
  if (current.unixSocket !== undefined && next.host === current.host) next.unixSocket = current.unixSocket;
  return next;
}

// ---- the handshake's options

/**
 * Headers the handshake itself sets. Given with -H (as a browser's "Copy as cURL" gives them), they are left
 * out, and the client's own go instead (-v says so once).
 */
const HANDSHAKE_HEADERS = new Set(['upgrade', 'connection', 'sec-websocket-key', 'sec-websocket-version', 'sec-websocket-extensions']);

export function parseHeaderOption(text: string): HeaderField {
  const colon = text.indexOf(':');
  const name = colon > 0 ? text.slice(0, colon).trim() : '';
  const value = colon > 0 ? text.slice(colon + 1).trim() : '';
  if (!HTTP_TOKEN.test(name)) throw new UsageError(`--header must be "NAME: VALUE", not ${JSON.stringify(text)}`);
  if (/[\r\n\0]/.test(value)) throw new UsageError(`--header value must be one line: ${JSON.stringify(text)}`);
  return [name, value];
}

/**
 * The request's headers and subprotocols from -H, -o, -s, and curl's -A, -e and -b (a browser's "Copy as
 * cURL" runs as it is): a Sec-WebSocket-Protocol header offers its subprotocols, as -s does.
 */
function parseHandshakeOptions(
  values: { header?: string[]; origin?: string; subprotocol?: string[]; 'user-agent'?: string; referer?: string; cookie?: string[] },
): Pick<CliOptions, 'headers' | 'subprotocols' | 'replacedHeaders'> {
  const given = (values.header ?? []).map(parseHeaderOption);
  const isNamed = (wanted: string) => ([name]: HeaderField) => name.toLowerCase() === wanted;
  let headers = given.filter(([name]) => !HANDSHAKE_HEADERS.has(name.toLowerCase()) && name.toLowerCase() !== 'sec-websocket-protocol');
  const replacedHeaders = given.filter(([name]) => HANDSHAKE_HEADERS.has(name.toLowerCase())).map(([name]) => name);
  const offered = given.filter(isNamed('sec-websocket-protocol')).flatMap(([, value]) => value.split(',').map((name) => name.trim()).filter(Boolean));
  const subprotocols = [...(values.subprotocol ?? []), ...offered];
  for (const name of subprotocols) {
    if (!HTTP_TOKEN.test(name)) throw new UsageError(`--subprotocol must be a token (letters, digits, !#$%&'*+.^_\`|~-), not ${JSON.stringify(name)}`);
  }
  const add = (name: string, value: string | undefined) => {
    if (value !== undefined && !headers.some(isNamed(name.toLowerCase()))) headers.push(parseHeaderOption(`${name}: ${value}`));
  };
  add('Origin', values.origin);
  add('User-Agent', values['user-agent']);
  add('Referer', values.referer);
  for (const cookie of values.cookie ?? []) {
    if (!cookie.includes('=')) throw new UsageError(`--cookie takes NAME=VALUE pairs ('a=1; b=2'), not a cookie file: ${JSON.stringify(cookie)}`);
  }
  if (values.cookie !== undefined) {
    // One Cookie header, as a browser sends it: -H's cookies and -b's, in order.
    const cookies = [...headers.filter(isNamed('cookie')).map(([, value]) => value), ...values.cookie].join('; ');
    headers = headers.filter((header) => !isNamed('cookie')(header));
    add('Cookie', cookies);
  }
  return { headers, subprotocols: [...new Set(subprotocols)], replacedHeaders };
}

// ---- proxies

/** The proxy schemes, with their default ports (curl's: 1080 for SOCKS). */
const PROXY_KINDS: Record<string, { kind: ProxyAddress['kind']; port: number }> = {
  'http:': { kind: 'http', port: 80 },
  'socks5:': { kind: 'socks5', port: 1080 },
  'socks5h:': { kind: 'socks5h', port: 1080 },
};

export function parseProxyUrl(text: string): ProxyAddress {
  let url: URL;
  try {
    url = new URL(text.includes('://') ? text : `http://${text}`);
  } catch {
    throw new UsageError(`not a valid proxy URL: ${text}`);
  }
  const scheme = PROXY_KINDS[url.protocol];
  if (scheme === undefined) throw new UsageError(`the proxy must be http://, socks5:// or socks5h://, not ${url.protocol}//`);
  const port = url.port ? Number(url.port) : scheme.port;
  const user = decodeURIComponent(url.username), password = decodeURIComponent(url.password);
  // SOCKS5 carries each in a byte-counted field (RFC 1929).
  if (scheme.kind !== 'http' && (Buffer.byteLength(user) > 255 || Buffer.byteLength(password) > 255)) {
    throw new UsageError('a SOCKS5 user name and password are at most 255 bytes each');
  }
  return { kind: scheme.kind, host: unbracket(url.hostname), port, auth: url.username ? `${user}:${password}` : null, display: `${url.hostname}:${port}` };
}

/**
 * The proxy the environment asks for, as curl reads it: HTTPS_PROXY for wss, HTTP_PROXY for ws, ALL_PROXY
 * for either when those are unset; none when NO_PROXY matches the host.
 */
export function proxyFromEnvironment(target: Target, env: NodeJS.ProcessEnv): string | null {
  const pick = (name: string) => env[name.toLowerCase()] || env[name.toUpperCase()] || '';
  const proxy = (target.secure ? pick('https_proxy') : pick('http_proxy')) || pick('all_proxy');
  if (!proxy) return null;
  const noProxy = pick('no_proxy').split(',').map((entry) => entry.trim().toLowerCase()).filter(Boolean);
  const host = target.host.toLowerCase();
  for (const entry of noProxy) {
    if (entry === '*') return null;
    const { pattern, port } = parseNoProxyEntry(entry);
    if (port !== null && port !== target.port) continue;
    const domain = pattern.replace(/^\*?\./, '');
    if (host === domain || host.endsWith(`.${domain}`)) return null;
  }
  return proxy;
}

/** A NO_PROXY entry: "host", "host:port", ".domain", "*.domain", "[v6]", "[v6]:port", or a bare IPv6 address. */
function parseNoProxyEntry(entry: string): { pattern: string; port: number | null } {
  const match = /^(\[[^\]]*\]|[^:]*)(?::(\d+))?$/.exec(entry);
  if (match === null) return { pattern: entry, port: null };
  return { pattern: unbracket(match[1] ?? ''), port: match[2] === undefined ? null : Number(match[2]) };
}

// ---- credentials and TLS files

/**
 * Basic-auth credentials and the key's passphrase, from the first source given: the command line
 * (--auth, --passphrase; the URL's user:password@), a file (--auth-file, --passphrase-file), then the
 * environment (WSC_AUTH, WSC_PASSPHRASE). The file and the environment keep secrets out of `ps`.
 */
function parseCredentials(
  values: { auth?: string; 'auth-file'?: string; passphrase?: string; 'passphrase-file'?: string },
  target: Target,
  env: NodeJS.ProcessEnv,
): Pick<CliOptions, 'auth' | 'authUser' | 'warnings'> & { passphrase: string | null } {
  const warnings: string[] = [];
  const fromFile = (option: string, file: string | undefined): string | undefined => {
    if (file === undefined) return undefined;
    const { value, warning } = readSecretFile(option, file);
    if (warning) warnings.push(warning);
    return value;
  };
  if (values.auth !== undefined && values['auth-file'] !== undefined) throw new UsageError('--auth and --auth-file are alternatives: give one');
  if (values.passphrase !== undefined && values['passphrase-file'] !== undefined) throw new UsageError('--passphrase and --passphrase-file are alternatives: give one');
  const fileAuth = fromFile('--auth-file', values['auth-file']);
  if (fileAuth !== undefined && !fileAuth.includes(':')) throw new UsageError(`--auth-file ${values['auth-file']} must hold USER:PASSWORD on its first line`);
  const envAuth = env.WSC_AUTH || undefined;
  if (envAuth !== undefined && !envAuth.includes(':')) throw new UsageError('WSC_AUTH must be USER:PASSWORD');
  const given = values.auth ?? fileAuth ?? target.auth ?? envAuth ?? null;
  if (given === '' || given?.startsWith(':')) throw new UsageError('--auth needs a user name: USER[:PASSWORD]');
  const passphrase = values.passphrase ?? fromFile('--passphrase-file', values['passphrase-file']) ?? (env.WSC_PASSPHRASE || null);
  const complete = given === null || given.includes(':');
  return { auth: complete ? given : null, authUser: complete ? null : given, passphrase, warnings };
}

/** The first line of a secret file; a warning when other users may read it (as ssh says of keys). */
function readSecretFile(option: string, file: string): { value: string; warning: string | null } {
  const text = readOptionFile(option, file).toString('utf8');
  const mode = statSync(file).mode;
  const value = text.split(/\r?\n/)[0] ?? '';
  if (value === '') throw new UsageError(`the ${option} file ${file} is empty`);
  const readable = (mode & 0o044) !== 0;
  const octal = (mode & 0o777).toString(8).padStart(4, '0');
  return { value, warning: readable ? `warning: ${file} can be read by other users (mode ${octal}); chmod 600 ${file}` : null };
}

function readOptionFile(option: string, file: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new UsageError(`${option}: cannot read ${file}: ${describeFileError(error as NodeJS.ErrnoException)}`);
  }
}

/** Why a file could not be read or written, in words. */
export function describeFileError(error: NodeJS.ErrnoException): string {
  switch (error.code) {
    case 'ENOENT': return 'no such file or directory';
    case 'EISDIR': return 'it is a directory';
    case 'ENOTDIR': case 'EEXIST': return 'a part of the path is not a directory'; // EEXIST: mkdir met a file
    case 'EACCES': case 'EPERM': return 'permission denied';
    case 'EROFS': return 'the file system is read-only';
    case 'ENOSPC': return 'no space left on the device';
    default: return error.message;
  }
}

/** TLS options, with the --ca, --cert and --key files read now: once, and a missing one is a usage error. */
function parseTls(
  values: { insecure?: boolean; 'no-check'?: boolean; ca?: string; cert?: string; key?: string },
  target: Target,
  passphrase: string | null,
): TlsOptions {
  const insecure = (values.insecure || values['no-check']) ?? false;
  if (!target.secure && (insecure || values.ca !== undefined || values.cert !== undefined || values.key !== undefined)) {
    throw new UsageError('--insecure, --ca, --cert and --key apply only to wss:// URLs');
  }
  if ((values.cert === undefined) !== (values.key === undefined)) throw new UsageError('--cert and --key go together');
  const ca = values.ca === undefined ? null : checkCa(values.ca, readOptionFile('--ca', values.ca));
  if (values.cert === undefined || values.key === undefined) return { insecure, ca, certificate: null, privateKey: null, passphrase };
  const certificate = readOptionFile('--cert', values.cert), privateKey = readOptionFile('--key', values.key);
  const key = checkPrivateKey(values.key, privateKey, passphrase);
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(certificate);
  } catch {
    throw new UsageError(`--cert: not a PEM certificate: ${values.cert}`);
  }
  if (!x509.checkPrivateKey(key)) throw new UsageError(`--cert and --key do not belong together: ${values.key} is not the key of ${values.cert}`);
  return { insecure, ca, certificate, privateKey, passphrase };
}

/** --ca: one or more PEM certificates, each of which parses (else the failure would come at the handshake, as "unable to verify"). */
function checkCa(file: string, bytes: Buffer): string {
  const text = bytes.toString('latin1');
  const blocks = text.match(/-----BEGIN CERTIFICATE-----[\s\S]*?-----END CERTIFICATE-----/g) ?? [];
  if (blocks.length === 0) throw new UsageError(`--ca: no certificate in ${file}`);
  for (const block of blocks) {
    try {
      new X509Certificate(block);
    } catch (error) {
      throw new UsageError(`--ca: a certificate in ${file} does not parse (${(error as Error).message})`);
    }
  }
  return text;
}

/** --key: a PEM private key, decrypted by the passphrase if it is encrypted; what is wrong, in one line. */
function checkPrivateKey(file: string, bytes: Buffer, passphrase: string | null): KeyObject {
  const text = bytes.toString('latin1');
  if (!/-----BEGIN [A-Z ]*PRIVATE KEY-----/.test(text)) throw new UsageError(`--key: not a PEM private key: ${file}`);
  const encrypted = /-----BEGIN ENCRYPTED PRIVATE KEY-----|Proc-Type: 4,ENCRYPTED/.test(text);
  if (encrypted && passphrase === null) throw new UsageError(`--key: ${file} is encrypted: give its passphrase (--passphrase-file FILE, or WSC_PASSPHRASE)`);
  try {
    return createPrivateKey({ key: bytes, ...(passphrase === null ? {} : { passphrase }) });
  } catch (error) {
    if (encrypted) throw new UsageError(`--passphrase: does not decrypt --key ${file}`);
    throw new UsageError(`--key: ${file} does not parse as a private key (${(error as Error).message})`);
  }
}

// ---- scripting

/** The tokens parseArgs reads the command line into, in order (for -x and -f, whose order matters). */
type ArgToken = NonNullable<ReturnType<typeof parseArgs>['tokens']>[number];

function parseScripting(
  values: { wait?: string; count?: string; '1'?: boolean; null?: boolean; binary?: boolean; hex?: boolean; base64?: boolean },
  target: Target,
  tokens: readonly ArgToken[],
): Pick<CliOptions, 'execute' | 'stdinMessage' | 'waitMs' | 'count' | 'separator' | 'sendBinary' | 'binaryEncoding'> {
  const sendBinary = values.binary ?? false;
  const execute = parseExecute(tokens, sendBinary);
  if (execute.length > 0 && target.role === 'consumer') throw new UsageError('-x and -f send messages, which a consumer does not (use --role both)');
  const count = parseCount(values);
  if (count !== Infinity && target.role === 'producer') throw new UsageError('--count counts received messages, which a producer does not print');
  if (values.hex && values.base64) throw new UsageError('--hex and --base64 exclude each other');
  return {
    execute,
    stdinMessage: null,
    waitMs: values.wait === undefined ? null : parseDuration('-w/--wait', values.wait, 0, { zero: true, inf: true }),
    count,
    separator: values.null ? 0x00 : 0x0a,
    sendBinary,
    binaryEncoding: values.hex ? 'hex' : values.base64 ? 'base64' : null,
  };
}

/**
 * -x MESSAGE and -f FILE, in the order given: each one message, sent first at every OPEN. A file is its
 * exact bytes, read now (UTF-8 text unless --binary); `-f -` is stdin to its end, which main() reads.
 */
function parseExecute(tokens: readonly ArgToken[], binary: boolean): ExecuteMessage[] {
  const messages: ExecuteMessage[] = [];
  for (const token of tokens) {
    if (token.kind !== 'option' || token.value === undefined) continue;
    if (token.name === 'execute') messages.push(Buffer.from(token.value, 'utf8'));
    if (token.name !== 'file') continue;
    if (token.value === '-') {
      if (messages.includes('stdin')) throw new UsageError('-f - reads stdin to its end: it can be given once');
      messages.push('stdin');
      continue;
    }
    const bytes = readOptionFile('--file', token.value);
    if (!binary && !isUtf8(bytes)) throw new UsageError(`--file ${token.value} is not UTF-8 text (--binary sends it as a BINARY message)`);
    messages.push(bytes);
  }
  return messages;
}

function parseCount(values: { count?: string; '1'?: boolean }): number {
  const count = parseWholeNumber('--count', values.count, Infinity);
  if (values['1'] && values.count !== undefined && count !== 1) throw new UsageError('-1 is --count 1; it cannot go with another --count');
  return values['1'] ? 1 : count;
}

// § 6  Presentation and secrets
//
// What the user sees is made from what a peer sent, so it must be safe: text from the server may not drive
// the terminal (set its title, clear it, forge a status line), and nothing printed may carry a password
// the user gave. These pure helpers turn bytes and events into safe lines: every status, -v and --json line
// of a connection attempt is worded here (describeEvent), from the event and what the attempt knows; Output
// (§ 9) writes them. Most servers beyond the chat server speak JSON, so a JSON message can be laid out for
// reading — but exactly as it came, token by token, since a parsed and printed number is not the one sent.

const SGR = { reset: '\x1b[0m', bold: '\x1b[1m', dim: '\x1b[2m', green: '\x1b[32m', cyan: '\x1b[36m', red: '\x1b[31m' };

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
 * Messages that lie in one buffer, in increasing order (adjacent, or with gaps between them: frame headers), as
 * one buffer with a separator after each: one copy, one write. The whole span is copied once, `count` bytes
 * along, then each message is moved back into place with its separator: the writing never overtakes the
 * reading, since each message has gained at most one byte for each message before it. That is far cheaper
 * than a copy call, or a byte loop, per message from the source.
 */
export function joinLines(source: Buffer, ranges: readonly number[], separator = 0x0a): Buffer {
  const count = ranges.length / 2;
  const first = ranges[0] ?? 0;
  const last = ranges[ranges.length - 1] ?? 0;
  const out = Buffer.allocUnsafe(last - first + count);
  source.copy(out, count, first, last);
  let at = 0;
  for (let i = 0; i < ranges.length; i += 2) {
    const start = ranges[i]! - first + count, end = ranges[i + 1]! - first + count; // ranges holds [start, end) pairs
    out.copyWithin(at, start, end);
    at += end - start;
    out[at++] = separator; // before the next message's bytes, which have not moved yet
  }
  return out.subarray(0, at);
}

/** Binary messages are never written raw: one line with the size and a hex preview. */
export function describeBinary(data: Buffer): string {
  const preview = data.subarray(0, 16).toString('hex').replace(/(..)(?!$)/g, '$1 ');
  return `[binary ${data.length} byte${data.length === 1 ? '' : 's'}${data.length ? ': ' + preview : ''}${data.length > 16 ? ' …' : ''}]`;
}

/** A binary message as it is printed: whole in --hex or --base64, otherwise its size and a preview (and so --filter sees it). */
export function showBinary(data: Buffer, encoding: 'hex' | 'base64' | null): string {
  return encoding ? data.toString(encoding) : describeBinary(data);
}

/** A payload for humans: text when printable, hex otherwise. */
export function printable(payload: Buffer): string {
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

// ---- JSON, shown readably and exactly

/** SGR colours for JSON's parts on a terminal: keys, strings, numbers, and true, false and null. */
export const JSON_COLORS = { key: '\x1b[34m', string: '\x1b[32m', number: '\x1b[33m', literal: '\x1b[35m' } as const;

/** How rewriteJson writes: colours (null: none), peer text made safe for a terminal, laid out or compact. */
export interface JsonStyle {
  colors: typeof JSON_COLORS | null;
  /** Controls inside strings (DEL and C1, which JSON allows raw) shown, not obeyed: for a terminal. */
  neutralise: boolean;
  /** No line breaks or indentation: the value as it came, without its insignificant white space. */
  compact: boolean;
  /** Spaces at the start of every line after the first (a terminal shows a message under its marker). */
  margin?: number;
}

/** Deeper than this, a value is laid out on one line: the indentation of a very deep value would grow as its square. */
const MAX_LAYOUT_DEPTH = 40;

/** Why a text is not JSON, and where: the offset (in bytes) of the first one that cannot be. */
export class JsonError extends Error {
  readonly offset: number;

  constructor(message: string, offset: number) {
    super(message);
    this.offset = offset;
  }
}

/** What the reader expects next: a value, a key, or what follows a value; `first`: right after an opening. */
type JsonExpect = 'value' | 'first-value' | 'key' | 'first-key' | 'after';

/**
 * The bytes rewriteJson writes, in one buffer that doubles as it fills: a 10 MB message is laid out with a
 * copy per token, not a string per token (which costs more in garbage than in work).
 */
class JsonWriter {
  bytes = Buffer.allocUnsafe(1024);
  length = 0;
  private readonly margin: number;

  constructor(margin: number) {
    this.margin = margin;
  }

  room(more: number): void {
    if (this.length + more <= this.bytes.length) return;
    const bigger = Buffer.allocUnsafe(Math.max(2 * this.bytes.length, this.length + more));
    this.bytes.copy(bigger, 0, 0, this.length);
    this.bytes = bigger;
  }

  byte(byte: number): void {
    this.room(1);
    this.bytes[this.length++] = byte;
  }

  copy(source: Buffer, start: number, end: number): void {
    this.room(end - start);
    if (end - start < 16) for (let i = start; i < end; i++) this.bytes[this.length++] = source[i]!;
    else this.length += source.copy(this.bytes, this.length, start, end);
  }

  /** A line break, the margin, and `depth` levels of indentation (two spaces each). */
  newline(depth: number): void {
    const spaces = this.margin + 2 * depth;
    this.room(1 + spaces);
    this.bytes[this.length++] = 0x0a;
    this.bytes.fill(0x20, this.length, this.length + spaces);
    this.length += spaces;
  }
}

const JSON_SPACE = new Uint8Array(256);
for (const byte of [0x20, 0x0a, 0x0d, 0x09]) JSON_SPACE[byte] = 1;

/**
 * One JSON value (RFC 8259) read token by token from the bytes source[start, end), without recursion (so at any
 * depth), and written again with every token exactly as it came: numbers not rounded, escapes not decoded,
 * keys in their order, duplicates kept. Laid out (each member and element on a line of its own, indented two
 * spaces a level) or compact. Throws JsonError. With `objectOrArray`, a value that is neither is an error too.
 */
export function rewriteJson(source: Buffer, start: number, end: number, style: JsonStyle, objectOrArray = false): Buffer {
  const out = new JsonWriter(style.margin ?? 0);
  const closers: number[] = []; // 0x7d '}' or 0x5d ']', innermost last
  // Only a string can hold a control character that JSON allows raw (DEL, or C1 as C2 80-9F): looked for once.
  const neutralise = style.neutralise && hasRawControls(source, start, end);
  const colors = style.colors === null ? null : { key: Buffer.from(style.colors.key), string: Buffer.from(style.colors.string), number: Buffer.from(style.colors.number), literal: Buffer.from(style.colors.literal), reset: Buffer.from(SGR.reset) };
  const layout = !style.compact;
  let at = skipJsonSpace(source, start, end);
  if (objectOrArray && source[at] !== 0x7b && source[at] !== 0x5b) throw new JsonError('not a JSON object or array', at);
  let expect: JsonExpect = 'value';
  for (;;) {
    const byte = at < end ? source[at]! : -1;
    if (expect !== 'value' && expect !== 'key' && closers.length > 0 && byte === closers[closers.length - 1]) {
      closers.pop();
      if (expect === 'after' && layout && closers.length < MAX_LAYOUT_DEPTH) out.newline(closers.length);
      out.byte(byte);
      expect = 'after';
      at = skipJsonSpace(source, at + 1, end);
      continue;
    }
    const inside = layout && closers.length <= MAX_LAYOUT_DEPTH;
    if (expect === 'after') {
      if (closers.length === 0) {
        if (at < end) throw new JsonError(`${describeJsonByte(source, at, end)} after the end of the value`, at);
        return out.bytes.subarray(0, out.length);
      }
      if (byte !== 0x2c) throw new JsonError(`${describeJsonByte(source, at, end)} where ',' or '${String.fromCharCode(closers[closers.length - 1]!)}' belongs`, at);
      out.byte(0x2c);
      if (inside) out.newline(closers.length);
      expect = closers[closers.length - 1] === 0x7d ? 'key' : 'value';
      at = skipJsonSpace(source, at + 1, end);
      continue;
    }
    if ((expect === 'first-key' || expect === 'first-value') && inside) out.newline(closers.length);
    if (expect === 'key' || expect === 'first-key') {
      if (byte !== 0x22) throw new JsonError(`${describeJsonByte(source, at, end)} where a key belongs`, at);
      const keyEnd = endOfJsonString(source, at, end);
      writeJsonToken(out, source, at, keyEnd, colors?.key, colors?.reset, neutralise);
      at = skipJsonSpace(source, keyEnd, end);
      if (source[at] !== 0x3a || at >= end) throw new JsonError(`${describeJsonByte(source, at, end)} where ':' belongs, after a key`, at);
      out.byte(0x3a);
      if (inside) out.byte(0x20);
      at = skipJsonSpace(source, at + 1, end);
      expect = 'value';
      continue;
    }
    if (byte === 0x7b || byte === 0x5b) {
      out.byte(byte);
      closers.push(byte + 2); // '{' + 2 is '}', '[' + 2 is ']'
      expect = byte === 0x7b ? 'first-key' : 'first-value';
      at = skipJsonSpace(source, at + 1, end);
      continue;
    }
    const scalarEnd = endOfJsonScalar(source, at, end);
    const color = colors === null ? undefined : byte === 0x22 ? colors.string : byte === 0x74 || byte === 0x66 || byte === 0x6e ? colors.literal : colors.number;
    writeJsonToken(out, source, at, scalarEnd, color, colors?.reset, neutralise && byte === 0x22);
    at = skipJsonSpace(source, scalarEnd, end);
    expect = 'after';
  }
}

/** A token, coloured if asked, with its controls shown (not obeyed) if asked. */
function writeJsonToken(out: JsonWriter, source: Buffer, start: number, end: number, color: Buffer | undefined, reset: Buffer | undefined, neutralise: boolean): void {
  if (color !== undefined) out.copy(color, 0, color.length);
  if (neutralise) {
    const shown = Buffer.from(neutraliseControls(source.toString('utf8', start, end)), 'utf8');
    out.copy(shown, 0, shown.length);
  } else {
    out.copy(source, start, end);
  }
  if (reset !== undefined) out.copy(reset, 0, reset.length);
}

/** Whether source[start, end) holds DEL, or a C1 control in UTF-8 (C2 80 to C2 9F). */
function hasRawControls(source: Buffer, start: number, end: number): boolean {
  if (source.indexOf(0x7f, start) >= 0 && source.indexOf(0x7f, start) < end) return true;
  for (let at = source.indexOf(0xc2, start); at >= 0 && at < end - 1; at = source.indexOf(0xc2, at + 1)) {
    if (source[at + 1]! >= 0x80 && source[at + 1]! <= 0x9f) return true;
  }
  return false;
}

/** The offset of the first byte at or after `at` that is not JSON white space. */
function skipJsonSpace(source: Buffer, at: number, end: number): number {
  while (at < end && JSON_SPACE[source[at]!] === 1) at++;
  return at;
}

/** The character at `at` as an error line names it ('x', or the end). */
function describeJsonByte(source: Buffer, at: number, end: number): string {
  if (at >= end) return 'the end';
  const char = String.fromCodePoint(source.toString('utf8', at, Math.min(end, at + 4)).codePointAt(0) ?? 0);
  return `'${neutraliseControls(char)}'`;
}

/** The end of the string that starts at `at` (its opening quote), just after its closing quote. */
function endOfJsonString(source: Buffer, at: number, end: number): number {
  for (let i = at + 1; i < end; i++) {
    const byte = source[i]!;
    if (byte === 0x22) return i + 1;
    if (byte < 0x20) throw new JsonError('a control character inside a string (it must be escaped)', i);
    if (byte !== 0x5c) continue;
    const escape = source[i + 1];
    if (escape === 0x75) {
      for (let h = i + 2; h < i + 6; h++) if (h >= end || !isHexDigit(source[h]!)) throw new JsonError('\\u without four hex digits', i);
      i += 5;
    } else if (escape !== undefined && i + 1 < end && '"\\/bfnrt'.includes(String.fromCharCode(escape))) {
      i++;
    } else {
      throw new JsonError(`the escape \\${i + 1 < end ? String.fromCharCode(escape ?? 0x20) : ''} (JSON has \\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)`, i);
    }
  }
  throw new JsonError('a string that does not end', at);
}

function isHexDigit(byte: number): boolean {
  return (byte >= 0x30 && byte <= 0x39) || (byte >= 0x41 && byte <= 0x46) || (byte >= 0x61 && byte <= 0x66);
}

/** The end of the string, number, true, false or null that starts at `at`. */
function endOfJsonScalar(source: Buffer, at: number, end: number): number {
  const byte = source[at];
  if (byte === 0x22) return endOfJsonString(source, at, end);
  const literal = byte === 0x74 ? 'true' : byte === 0x66 ? 'false' : byte === 0x6e ? 'null' : null;
  if (literal !== null && at + literal.length <= end && source.toString('latin1', at, at + literal.length) === literal) return at + literal.length;
  const numberEnd = literal === null ? endOfJsonNumber(source, at, end) : at;
  if (numberEnd === at) throw new JsonError(`${describeJsonByte(source, at, end)} where a value belongs`, at);
  return numberEnd;
}

/** The end of the number at `at` (RFC 8259 section 6: -?(0|[1-9]digits)(.digits)?([eE][+-]?digits)?); `at` if none. */
function endOfJsonNumber(source: Buffer, at: number, end: number): number {
  let i = source[at] === 0x2d ? at + 1 : at;
  if (source[i] === 0x30 && i < end) i++;
  else if (endOfDigits(source, i, end) > i) i = endOfDigits(source, i, end);
  else return at;
  if (source[i] === 0x2e && i < end) {
    if (endOfDigits(source, i + 1, end) === i + 1) return at;
    i = endOfDigits(source, i + 1, end);
  }
  if ((source[i] === 0x65 || source[i] === 0x45) && i < end) {
    const sign = source[i + 1] === 0x2b || source[i + 1] === 0x2d ? i + 2 : i + 1;
    if (endOfDigits(source, sign, end) === sign) return at;
    i = endOfDigits(source, sign, end);
  }
  return i;
}

/** The end of the run of decimal digits at `from` (a function of its own, not a closure: this runs per number). */
function endOfDigits(source: Buffer, from: number, end: number): number {
  let i = from;
  while (i < end && source[i]! >= 0x30 && source[i]! <= 0x39) i++;
  return i;
}

/** A text message that is a JSON object or array, laid out (see rewriteJson); null if it is not one. */
export function layoutJson(message: Buffer, style: Omit<JsonStyle, 'compact'>): Buffer | null {
  const first = message[skipJsonSpace(message, 0, message.length)];
  if (first !== 0x7b && first !== 0x5b) return null; // the common case for chat, decided at once
  try {
    return rewriteJson(message, 0, message.length, { ...style, compact: false }, true);
  } catch (error) {
    if (error instanceof JsonError) return null;
    throw error;
  }
}

// ---- secrets

/** Headers that carry credentials: not sent to another host after a redirect, shown by size under -v. */
const CREDENTIAL_HEADERS = new Set(['authorization', 'cookie', 'proxy-authorization']);
const SECRET_HEADERS = new Set([...CREDENTIAL_HEADERS, 'set-cookie']);

export function isCredentialHeader(name: string): boolean {
  return CREDENTIAL_HEADERS.has(name.toLowerCase());
}

/** What the request may carry: the user's headers and Basic auth, the credentials only where they may go. */
export interface RequestCredentials {
  readonly headers: readonly HeaderField[];
  /** user:password for Basic authentication. */
  readonly auth: string | null;
}

/**
 * The request headers: the user's, plus Basic authentication. Credentials go only to the host they were
 * given for: after a redirect to another, `withCredentials` is false, and they are left out.
 */
export function requestHeaders(credentials: RequestCredentials, withCredentials: boolean): HeaderField[] {
  const headers = credentials.headers.filter(([name]) => withCredentials || !isCredentialHeader(name));
  if (withCredentials && credentials.auth !== null) headers.push(['Authorization', `Basic ${Buffer.from(credentials.auth, 'utf8').toString('base64')}`]);
  return headers;
}

/** Whether there are credentials that a redirect to another host leaves behind. */
export function hasCredentials(credentials: RequestCredentials): boolean {
  return credentials.auth !== null || credentials.headers.some(([name]) => isCredentialHeader(name));
}

/** How a secret is shown: its size only. */
export function redacted(secret: string): string {
  return `<redacted, ${Buffer.byteLength(secret, 'utf8')} bytes>`;
}

/** A URL's password (scheme://user:password@host) in any text, redacted. */
export function redactUrlPasswords(text: string): string {
  return text.replace(/(\/\/[^\s/:@]*):([^\s/@]*)@/g, (_, user: string, password: string) => `${user}:${redacted(password)}@`);
}

/** One header line for -v: a credential header's value is replaced by its size. */
export function redactHeaderLine(line: string): string {
  const colon = line.indexOf(':');
  if (colon < 0 || !SECRET_HEADERS.has(line.slice(0, colon).trim().toLowerCase())) return line;
  return `${line.slice(0, colon)}: ${redacted(line.slice(colon + 1).trim())}`;
}

/** Shorter strings are not looked for in output: replacing every "ab" would say more than it hides. */
const MIN_SECRET_LENGTH = 4;

/**
 * Every secret the options hold, in the forms it may take in output (plain, and base64 as in Basic auth):
 * status and error lines are scrubbed of them, since a server may echo one back in a refusal or a close reason.
 */
export function secretsOf(options: { auth: string | null; proxy: ProxyAddress | null; tls: TlsOptions; headers: readonly HeaderField[] }): string[] {
  const secrets: string[] = [];
  const basic = (auth: string) => {
    secrets.push(auth.slice(auth.indexOf(':') + 1), Buffer.from(auth, 'utf8').toString('base64'));
  };
  if (options.auth !== null) basic(options.auth);
  if (options.proxy?.auth) basic(options.proxy.auth);
  if (options.tls.passphrase !== null) secrets.push(options.tls.passphrase);
  for (const [name, value] of options.headers) {
    // "Bearer TOKEN": the token alone is a secret too.
    if (isCredentialHeader(name)) secrets.push(value, value.slice(value.lastIndexOf(' ') + 1));
  }
  return secrets.filter((secret) => secret.length >= MIN_SECRET_LENGTH).sort((a, b) => b.length - a.length);
}

// ---- the wording of an attempt's events

/** A line for the user: a status, an error or a -v line on stderr, or a --json event on stdout (see Output). */
export type Shown =
  | { to: 'status' | 'error' | 'trace'; text: string }
  | { to: 'json'; event: Record<string, unknown> };

/** What an attempt has to say of itself, besides its connection's events. */
export type AttemptNotice =
  /** The attempt begins: where it connects, and through which proxy. */
  | { type: 'connecting'; proxy: ProxyAddress | null }
  /** -v: the upgrade request as it goes out, and the proxy it goes through. */
  | { type: 'request'; proxy: ProxyAddress | null }
  /** --insecure: the server's certificate is not checked. */
  | { type: 'insecure' }
  /** -P: one of the client's own PINGs went out. */
  | { type: 'ping-sent'; payload: Buffer }
  /** A timeout after the connection had already failed: the connection has nothing new to report. */
  | { type: 'gave-up'; message: string }
  /** The attempt is over (--json ends with its failure, if any). */
  | { type: 'ended' };

/** The events an attempt shows as lines: every protocol event but messages (Output prints those), and its own. */
export type ShownEvent = Exclude<ProtocolEvent, MessageEvent> | AttemptNotice;

/** What the wording of an attempt's events needs besides the events themselves. */
export interface EventContext {
  /** Where the attempt connects, as a URL, and as its error lines name it (host:port, or the unix socket). */
  readonly url: string;
  readonly address: string;
  readonly verbose: boolean;
  readonly showHeartbeats: boolean;
  /** stdin is a terminal and the role sends: the line at OPEN says how to quit. */
  readonly interactive: boolean;
  /** -L: a redirect is followed, and the client (§ 12) says so, not the attempt. */
  readonly followRedirects: boolean;
  /** The connection has been OPEN (its answer was traced then). */
  readonly opened: boolean;
  /** The connection the events came from: its request, the answer, the CLOSE it sent, how it ended. */
  readonly connection: ClientConnection;
  /** How long ago the client's own PING with this payload went out, in ms; null if none did. */
  roundTrip(payload: Buffer): number | null;
}

/** What -P says of the PONG that answers a PING. */
const PONG_NOTES = {
  sent: 'PONG sent',
  later: 'PONG when the socket drains (only the latest PING is answered)',
  none: 'no PONG (the client is closing)',
} as const;

/** The lines an event makes: every status, -v and --json line of a connection attempt is worded here. */
export function describeEvent(event: ShownEvent, context: EventContext): Shown[] {
  const status = (text: string): Shown => ({ to: 'status', text });
  const trace = (text: string): Shown => ({ to: 'trace', text });
  switch (event.type) {
    case 'connecting':
      return [status(`connecting to ${context.url}${event.proxy === null ? '' : ` through ${proxyKind(event.proxy)} proxy ${event.proxy.display}`}`)];
    case 'request':
      return describeRequest(event.proxy, context);
    case 'insecure':
      return [{ to: 'error', text: 'warning: --insecure: the server\'s certificate is not verified' }];
    case 'open':
      return describeOpen(event.subprotocol, event.extensions, context);
    case 'ping':
      return context.showHeartbeats ? [status(`PING received (${event.payload.length} bytes), ${PONG_NOTES[event.pong]}`)] : [];
    case 'ping-sent':
      return context.showHeartbeats ? [status(`PING sent (${printable(event.payload)})`)] : [];
    case 'pong': {
      const roundTrip = context.roundTrip(event.payload);
      return context.showHeartbeats ? [status(`PONG received (${printable(event.payload)})${roundTrip === null ? '' : `, round trip ${roundTrip.toFixed(1)} ms`}`)] : [];
    }
    case 'close':
      return describeClose(event.code ?? CloseCode.NO_STATUS, event.reason, event.initiator, context.connection);
    case 'failure':
      return describeFailure(event.message, event.closeCode, context);
    case 'gave-up':
      return [{ to: 'error', text: event.message }];
    case 'frame':
      return [trace(describeFrame(event.direction, event.header, event.controlPayload))];
    case 'encoded': {
      const ratio = event.wire > 0 ? ` (${(event.size / event.wire).toFixed(1)}:1)` : '';
      return [trace(`${event.direction === 'sent' ? '>' : '<'} message of ${event.size} bytes, ${event.wire} on the wire with ${event.extension}${ratio}`)];
    }
    case 'ended': {
      const { failure } = context.connection;
      return failure === null ? [] : [{ to: 'json', event: { type: 'error', message: failure.message, ...(failure.closeCode !== null ? { code: failure.closeCode } : {}) } }];
    }
  }
}

/** A proxy's kind as lines name it: HTTP, SOCKS5, SOCKS5H. */
function proxyKind(proxy: ProxyAddress): string {
  return proxy.kind === 'http' ? 'HTTP' : proxy.kind.toUpperCase();
}

/** -v: the request's lines (credentials by their size only), and the proxy it is tunnelled through. */
function describeRequest(proxy: ProxyAddress | null, context: EventContext): Shown[] {
  if (!context.verbose) return [];
  const lines: Shown[] = context.connection.request.trimEnd().split('\r\n').map((line) => ({ to: 'trace', text: `> ${redactHeaderLine(line)}` }));
  if (proxy !== null) lines.push({ to: 'trace', text: `via ${proxyKind(proxy)} proxy ${proxy.display}: CONNECT ${context.address}` });
  return lines;
}

/** -v: the answer's lines, and its Sec-WebSocket-Accept against the one the key calls for. */
function describeResponse(connection: ClientConnection): Shown[] {
  const { response } = connection;
  if (response === null) return [];
  const lines: Shown[] = response.head.split('\r\n').map((line) => ({ to: 'trace', text: `< ${redactHeaderLine(line)}` }));
  const received = response.headers?.get('sec-websocket-accept') ?? '(none)';
  lines.push({ to: 'trace', text: `Sec-WebSocket-Accept: expected ${computeAcceptKey(connection.handshakeKey)} (SHA-1 of the key + ${WEBSOCKET_GUID}), received ${received}` });
  return lines;
}

function describeOpen(subprotocol: string | null, agreed: readonly string[], context: EventContext): Shown[] {
  const extensions = agreed.length === 0 ? null : agreed.join(', ');
  const lines = context.verbose ? describeResponse(context.connection) : [];
  if (subprotocol !== null) lines.push({ to: 'status', text: `subprotocol: ${subprotocol}` });
  const how = `${extensions === null ? '' : ` with ${extensions}`}${context.interactive ? ' (type a line to send it; Ctrl-D or Ctrl-C to quit)' : ''}`;
  lines.push({ to: 'status', text: `connected to ${context.url}${how}` }, { to: 'json', event: { type: 'open', url: context.url, extensions } });
  return lines;
}

/**
 * A CLOSE received. An answer to the client's CLOSE echoes its code; another code is the server's own CLOSE,
 * which crossed the client's on the way (or its reason for refusing it): the line says what it was.
 */
function describeClose(code: number, reason: string, initiator: 'server' | 'client', connection: ClientConnection): Shown[] {
  const json: Shown = { to: 'json', event: { type: 'close', code, reason, by: initiator } };
  const echo = initiator === 'client' && code === (connection.closeSent?.code ?? CloseCode.NO_STATUS);
  if (echo) return [json, { to: 'status', text: code === CloseCode.NORMAL ? 'connection closed' : `connection closed: ${code}${reason ? ' ' + reason : ''}` }];
  const said = `${code}${reason ? ' ' + reason : ''}`;
  const text = initiator === 'server' ? `closed by server: ${said}` : `connection closed; the server closed it too: ${said}`;
  return [json, { to: exitStatusFor(connection) === ExitStatus.OK ? 'status' : 'error', text }];
}

/** A failure: one error line (a redirect followed with -L is the client's to report); -v traces an answer that did not open. */
function describeFailure(message: string, closeCode: number | null, context: EventContext): Shown[] {
  const { connection } = context;
  const lines = context.verbose && !context.opened ? describeResponse(connection) : [];
  if (connection.redirect !== null && context.followRedirects) return lines;
  lines.push({ to: 'error', text: closeCode !== null ? `protocol error: ${message} (closing with ${closeCode})` : message });
  return lines;
}

// § 7  Reaching the server
//
// Before the handshake there must be a byte stream to the server: a TCP connection, a unix socket (a local
// server, Docker's engine API), or a tunnel through a proxy: HTTP CONNECT, or SOCKS5 as `ssh -D` offers it.
// wss:// puts TLS on top of any of them. A proxy's dialogue before its tunnel opens is written like the
// connection itself, without I/O (bytes to send, the proxy's answers in); openTunnel() only moves bytes.

/** The socket is read into one buffer of this size, reused for every read. */
const READ_BUFFER_SIZE = 256 * 1024;

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
    case 'ENOENT': return 'no such socket';
    case 'EACCES': return 'permission denied';
    default: return error.message;
  }
}

/** Errno-style codes (ECONNRESET, ...) are the network's; any other code on a TLS socket is TLS's own. */
function isSystemErrorCode(code: string | undefined): boolean {
  return code !== undefined && /^E[A-Z0-9]+$/.test(code);
}

/** Where the attempt connects, as its lines name it: host:port, or the unix socket's path. */
export function describeDestination(target: Target): string {
  return target.unixSocket ? `unix socket ${target.unixSocket}` : authority(target.host, target.port);
}

/** A plain socket to the target, TCP or a unix socket, read into one reused buffer (the connection copies what it keeps). */
function connectSocket(target: Target, onData: (chunk: Buffer) => void): net.Socket {
  const where = target.unixSocket ? { path: target.unixSocket } : { host: target.host, port: target.port };
  return net.connect({
    ...where,
    onread: {
      buffer: Buffer.allocUnsafe(READ_BUFFER_SIZE),
      callback: (n: number, buffer: Uint8Array) => {
        onData(Buffer.from(buffer.buffer, buffer.byteOffset, n));
        return true;
      },
    },
  });
}

/** TLS to the target, over a tunnel, a unix socket or TCP: verified against the system's CAs and --ca, with SNI. */
function connectTls(tls: typeof import('node:tls'), target: Target, options: TlsOptions, tunnel: net.Socket | null): net.Socket {
  const where = tunnel ? { socket: tunnel } : target.unixSocket ? { path: target.unixSocket } : { port: target.port };
  return tls.connect({
    ...where,
    host: target.host,
    servername: net.isIP(target.host) ? undefined : target.host,
    rejectUnauthorized: !options.insecure,
    ca: options.ca !== null ? [...tls.rootCertificates, options.ca] : undefined,
    cert: options.certificate ?? undefined,
    key: options.privateKey ?? undefined,
    passphrase: options.passphrase ?? undefined,
  });
}

// ---- proxies

/** Why a tunnel did not open: a failure of the attempt, before there is a connection to fail. */
type TunnelFailure = Pick<Failure, 'kind' | 'message'>;

/** What a proxy's answer so far calls for: more bytes, bytes to send back, an open tunnel, or a failure. */
type TunnelStep = { wait: true } | { send: Buffer; used: number } | { open: true; used: number } | TunnelFailure;

/**
 * A proxy's dialogue before its tunnel opens, without I/O: `opening` is sent first; receive() gets the
 * proxy's unread bytes and says what to do (`used` counts the bytes it has dealt with).
 */
interface TunnelDialogue {
  readonly opening: Buffer;
  receive(bytes: Buffer): TunnelStep;
}

/** HTTP CONNECT (RFC 9110 9.3.6): a 2xx answer opens the tunnel. */
function httpConnectDialogue(proxy: ProxyAddress, destination: string): TunnelDialogue {
  const auth = proxy.auth ? `Proxy-Authorization: Basic ${Buffer.from(proxy.auth).toString('base64')}\r\n` : '';
  return {
    opening: Buffer.from(`CONNECT ${destination} HTTP/1.1\r\nHost: ${destination}\r\n${auth}\r\n`, 'latin1'),
    receive(bytes) {
      const end = bytes.indexOf('\r\n\r\n');
      if (end < 0) return bytes.length > MAX_RESPONSE_HEAD ? { message: `proxy ${proxy.display} sent an over-long response`, kind: 'handshake' } : { wait: true };
      const statusLine = bytes.subarray(0, bytes.indexOf('\r\n')).toString('latin1');
      if (!/^HTTP\/1\.[01] 2\d\d/.test(statusLine)) return { message: `proxy ${proxy.display} refused CONNECT to ${destination}: ${statusLine}`, kind: 'handshake' };
      return { open: true, used: end + 4 };
    },
  };
}

/** SOCKS5 reply codes (RFC 1928 section 6), as the error line says them. */
const SOCKS5_REPLIES: Record<number, string> = {
  1: 'general failure', 2: 'connection not allowed by the proxy\'s rules', 3: 'network unreachable', 4: 'host unreachable',
  5: 'connection refused', 6: 'TTL expired', 7: 'command not supported', 8: 'address type not supported',
};

/**
 * SOCKS5 (RFC 1928), with user name and password (RFC 1929) when the proxy URL has them: a greeting with the
 * methods offered, the proxy's choice, the credentials if it asks, then CONNECT to `host` (a name the proxy
 * resolves, socks5h, or an address resolved here, socks5) and the proxy's reply.
 */
function socks5Dialogue(proxy: ProxyAddress, host: string, port: number): TunnelDialogue {
  const failed = (why: string, kind: FailureKind = 'handshake'): TunnelFailure => ({ message: `proxy ${proxy.display}: ${why}`, kind });
  const request = socks5Request(host, port);
  let state: 'method' | 'auth' | 'reply' = 'method';
  return {
    opening: Buffer.from(proxy.auth ? [5, 2, 0x00, 0x02] : [5, 1, 0x00]),
    receive(bytes) {
      if (bytes.length < 2) return { wait: true };
      const [version = 0, answer = 0] = bytes;
      if (state === 'reply') return socks5Reply(bytes, failed);
      if (state === 'auth' && answer !== 0x00) return failed(`the proxy refused the user name and password (SOCKS5 authentication status ${answer})`);
      if (state === 'method' && version !== 5) return failed('not a SOCKS5 proxy');
      if (state === 'method' && answer === 0x02 && proxy.auth !== null) {
        state = 'auth';
        return { send: socks5Credentials(proxy.auth), used: 2 };
      }
      if (state === 'method' && answer !== 0x00) {
        return failed(answer === 0x02 ? 'the proxy asks for a user name and password (socks5://USER:PASSWORD@HOST:PORT)' : 'the proxy accepts none of the offered ways to authenticate');
      }
      // No authentication, or the credentials accepted: now the CONNECT.
      state = 'reply';
      return { send: request, used: 2 };
    },
  };
}

/** CONNECT to host:port: the address as a name (ATYP 3), or as the IPv4 or IPv6 address it is. */
function socks5Request(host: string, port: number): Buffer {
  const family = net.isIP(host);
  const address = family === 4 ? Buffer.from(host.split('.').map(Number)) : family === 6 ? ipv6Bytes(host) : Buffer.from(host, 'utf8');
  const type = family === 4 ? 1 : family === 6 ? 4 : 3;
  const portBytes = Buffer.from([port >> 8, port & 0xff]);
  return Buffer.concat([Buffer.from(type === 3 ? [5, 1, 0, 3, address.length] : [5, 1, 0, type]), address, portBytes]);
}

/** RFC 1929: version 1, then the user name and the password, each with its length. */
function socks5Credentials(auth: string): Buffer {
  const colon = auth.indexOf(':');
  const user = Buffer.from(auth.slice(0, colon), 'utf8');
  const password = Buffer.from(auth.slice(colon + 1), 'utf8');
  return Buffer.concat([Buffer.from([1, user.length]), user, Buffer.from([password.length]), password]);
}

/** The reply to CONNECT: whole once its bound address (whose length its type gives) is there. */
function socks5Reply(bytes: Buffer, failed: (why: string, kind?: FailureKind) => TunnelFailure): TunnelStep {
  if (bytes.length < 5) return { wait: true };
  const [version = 0, reply = 0, , type = 0, nameLength = 0] = bytes;
  if (version !== 5) return failed('not a SOCKS5 proxy');
  if (reply !== 0) {
    const unreachable = reply === 1 || (reply >= 3 && reply <= 6);
    return failed(`${SOCKS5_REPLIES[reply] ?? 'an unknown failure'} (SOCKS5 reply ${reply})`, unreachable ? 'unreachable' : 'handshake');
  }
  const addressLength = type === 1 ? 4 : type === 4 ? 16 : type === 3 ? 1 + nameLength : -1;
  if (addressLength < 0) return failed(`a reply with address type ${type}`);
  const used = 4 + addressLength + 2;
  return bytes.length < used ? { wait: true } : { open: true, used };
}

/** An IPv6 address's 16 bytes: "::" stands for the zero groups left out, and an IPv4 tail for the last two. */
export function ipv6Bytes(address: string): Buffer {
  let text = address.replace(/%.*$/, ''); // a zone (fe80::1%eth0) is the local host's business
  const v4 = /(\d+)\.(\d+)\.(\d+)\.(\d+)$/.exec(text);
  if (v4) {
    const [a, b, c, d] = v4.slice(1).map(Number) as [number, number, number, number];
    text = `${text.slice(0, v4.index)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const groups = head === '' ? [] : head.split(':');
  const after = tail === undefined || tail === '' ? [] : tail.split(':');
  const all = tail === undefined ? groups : [...groups, ...Array<string>(8 - groups.length - after.length).fill('0'), ...after];
  return Buffer.from(all.map((group) => group.padStart(4, '0')).join(''), 'hex');
}

type TunnelResult = { socket: net.Socket } | TunnelFailure;

/**
 * Open a tunnel through the proxy to the target; resolves with the socket (paused, at the tunnel's first
 * byte) or a failure. With socks5:// the client resolves the name itself first; socks5h:// and HTTP
 * CONNECT leave it to the proxy (a name only the far network knows).
 */
async function openTunnel(proxy: ProxyAddress, target: Target, timeoutMs: number): Promise<TunnelResult> {
  let host = target.host;
  if (proxy.kind === 'socks5' && net.isIP(host) === 0) {
    try {
      host = (await lookup(host)).address;
    } catch (error) {
      return { message: `cannot resolve ${host}: ${describeSocketError(error as NodeJS.ErrnoException)}`, kind: 'unreachable' };
    }
  }
  const dialogue = proxy.kind === 'http' ? httpConnectDialogue(proxy, authority(target.host, target.port)) : socks5Dialogue(proxy, host, target.port);
  return new Promise((resolve) => {
    const socket = net.connect({ host: proxy.host, port: proxy.port });
    let unread: Buffer = EMPTY;
    const settle = (result: TunnelResult) => {
      clearTimeout(timer);
      socket.removeAllListeners('data').removeAllListeners('error').removeAllListeners('close');
      if ('message' in result) socket.destroy();
      resolve(result);
    };
    const timer = setTimeout(() => settle({ message: `no answer from proxy ${proxy.display} within ${timeoutMs / 1000} s`, kind: 'timeout' }), timeoutMs);
    socket.on('connect', () => socket.write(dialogue.opening));
    socket.on('data', (chunk: Buffer) => {
      unread = unread.length === 0 ? chunk : Buffer.concat([unread, chunk]);
      for (;;) {
        const step = dialogue.receive(unread);
        if ('wait' in step) return;
        if ('message' in step) return settle(step);
        unread = unread.subarray(step.used);
        if ('send' in step) {
          socket.write(step.send);
          continue;
        }
        // The tunnel is open: what came after the proxy's answer is the server's, and waits for the attempt.
        socket.pause();
        if (unread.length > 0) socket.unshift(unread);
        return settle({ socket });
      }
    });
    socket.on('error', (error: NodeJS.ErrnoException) => settle({ message: `cannot connect to proxy ${proxy.display}: ${describeSocketError(error)}`, kind: 'unreachable' }));
    socket.on('close', () => settle({ message: `proxy ${proxy.display} closed the connection`, kind: 'lost' }));
  });
}

// § 8  The connection attempt
//
// The I/O shell around one ClientConnection, after python-websockets' asyncio layer: a class whose methods
// are the socket's and the timers' callbacks. Each feeds the connection, then calls step(), the body of
// the select loop: write what the connection wants sent, show its events, and act on a change of state.
// It keeps sockets and timers; how its events read is describeEvent's (§ 6), and the lines go to a Display
// (Output, § 9). What it needs from its owner (send what waited at OPEN, count messages, pause input) goes
// to an AttemptHost (ChatClient, § 12; a stub in tests). It is told only its slice of the options.

/**
 * After the closing handshake the client half-closes TCP at once (RFC 6455 7.1.1 allows it once both CLOSE
 * frames are exchanged) and waits this long for the server's FIN before it lets go of the socket.
 */
const CLOSE_GRACE_MS = 50;
/** A one-shot timer with one callback: armed again, it restarts; cleared, it never fires. */
export class Timer {
  private handle: NodeJS.Timeout | null = null;
  private readonly callback: () => void;

  constructor(callback: () => void) {
    this.callback = callback;
  }

  arm(ms: number): void {
    this.clear();
    this.handle = setTimeout(() => {
      this.handle = null;
      this.callback();
    }, ms);
  }

  clear(): void {
    if (this.handle !== null) clearTimeout(this.handle);
    this.handle = null;
  }

  get armed(): boolean {
    return this.handle !== null;
  }
}

// ---- how an attempt ended

/** What a connection attempt ended with, for the exit status and the reconnect decision. */
export interface AttemptResult {
  status: number;
  /** A 3xx answer to the upgrade request, with where it points. */
  redirect: { status: number; location: string } | null;
  /** An abnormal end worth retrying with --reconnect (see attemptOutcome). */
  retry: boolean;
  /** How long the connection was OPEN (0 if it never opened). */
  openMs: number;
}

/** Failures after which --reconnect tries again: the network or the server may come back. */
const RETRY_FAILURES: ReadonlySet<FailureKind> = new Set<FailureKind>(['lost', 'unreachable', 'timeout']);
/** Server close codes after which --reconnect tries again: going away, internal error, restart, try later. */
const RETRY_CLOSE_CODES = new Set([1001, 1011, 1012, 1013]);

/** How an attempt ended, decided in one place: exit status, retry or not, redirect, time open. */
export function attemptOutcome(connection: ClientConnection, openedAt: number, now = Date.now()): AttemptResult {
  const { failure } = connection;
  const closeCode = connection.closeReceived?.code ?? null;
  const retry = failure !== null ? RETRY_FAILURES.has(failure.kind) : closeCode !== null && RETRY_CLOSE_CODES.has(closeCode);
  return { status: exitStatusFor(connection), retry, redirect: connection.redirect, openMs: openedAt ? now - openedAt : 0 };
}

// ---- the attempt

/** What an attempt shows (Output, § 9, is the real one), and stdout's backpressure, which it must respect. */
export interface Display {
  /** A status, error, -v or --json line (see describeEvent). */
  show(line: Shown): void;
  /** Received messages; their bytes are borrowed (see MessageEvent) until flush() and, if mustWait, until drained. */
  message(event: MessageEvent): void;
  flush(): void;
  /** stdout holds borrowed bytes or is full: the socket must not be read until whenDrained(). */
  readonly mustWait: boolean;
  whenDrained(callback: () => void): void;
}

/** What an attempt needs from its owner (ChatClient; a stub in tests). */
export interface AttemptHost {
  /** stdin is a terminal and the role sends what is typed (the status line then says how to quit). */
  readonly interactive: boolean;
  /** The connection is OPEN: send what waited, then carry out a quit that came meanwhile. */
  opened(attempt: Attempt): void;
  /** Of the messages of an event, those to print (--filter, and what --count still allows), counted as printed; null: none. */
  pick(event: MessageEvent): MessageEvent | null;
  /** The socket's send buffer is full: stop reading input until resumeInput(). */
  pauseInput(): void;
  resumeInput(): void;
}

/** What an attempt needs to know of the options: timeouts, the handshake's offers, the way to the server, and what to show. */
export interface AttemptOptions {
  readonly connectTimeoutMs: number;
  readonly closeTimeoutMs: number;
  /** 0: the client sends no PINGs of its own. */
  readonly pingIntervalMs: number;
  readonly pingTimeoutMs: number;
  readonly maxMessageSize: number;
  readonly subprotocols: readonly string[];
  /** Offer permessage-deflate. */
  readonly deflate: boolean;
  readonly proxy: ProxyAddress | null;
  readonly tls: TlsOptions;
  /** --binary: the lines sent are BINARY messages. */
  readonly sendBinary: boolean;
  readonly verbose: boolean;
  readonly showHeartbeats: boolean;
  readonly followRedirects: boolean;
}

/**
 * One connection attempt: a socket, a ClientConnection, and the timers of the shell's half of the state
 * machine. `run()` resolves with how the attempt ended once the state is CLOSED and the socket is closed.
 */
export class Attempt implements EventContext {
  readonly connection: ClientConnection;
  readonly url: string;
  readonly address: string;
  private readonly options: AttemptOptions;
  private readonly target: Target;
  private readonly display: Display;
  private readonly owner: AttemptHost;
  private socket: net.Socket | null = null;
  private tls: typeof import('node:tls') | null = null;
  /** The state the shell last entered; step() enters the connection's state when it differs. */
  private entered: State | null = null;
  private socketClosed = false;
  /** The TCP (or unix socket) connection was made: an error now is not "cannot connect". */
  private connected = false;
  /** Socket reading paused until stdout drains (see Output). */
  private readingPaused = false;
  /** A 'drain' listener is on the socket (one at a time). */
  private awaitingDrain = false;
  private stepping = false;
  private stepAgain = false;
  private done = false;
  private openedAt = 0;
  private pingCounter = 0;
  /** When each of the client's own PINGs went out, by payload: the PONG gives the round-trip time. */
  private readonly pingsSent = new Map<string, number>();
  private resolve: (result: AttemptResult) => void = () => {};
  private readonly connectTimer = new Timer(() => this.abort('timeout', `no WebSocket connection to ${this.address} within ${this.options.connectTimeoutMs / 1000} s`));
  private readonly keepaliveTimer = new Timer(() => this.onKeepalive());
  private readonly pongTimer = new Timer(() => this.abort('timeout', `connection dead: no PONG within ${this.options.pingTimeoutMs / 1000} s`));
  private readonly closeTimer = new Timer(() => this.abort('close-timeout', `no CLOSE from the server within ${this.options.closeTimeoutMs / 1000} s; closing the connection`));
  /** After the closing handshake: how long the server may take to close TCP. */
  private readonly graceTimer = new Timer(() => this.socket?.destroy());

  constructor(options: AttemptOptions, target: Target, display: Display, owner: AttemptHost, headers: readonly HeaderField[]) {
    this.options = options;
    this.target = target;
    this.display = display;
    this.owner = owner;
    this.url = targetUrl(target);
    this.address = describeDestination(target);
    this.connection = new ClientConnection({
      peer: `the server at ${this.address}`,
      hostHeader: hostHeader(target),
      path: target.path,
      maxMessageSize: options.maxMessageSize,
      subprotocols: options.subprotocols,
      headers,
      traceFrames: options.verbose,
      extensions: options.deflate && deflateAvailable() ? [permessageDeflate] : [],
    });
  }

  get state(): State {
    return this.connection.state;
  }

  /** The attempt is over (its result is out): input must wait for the next one. */
  get finished(): boolean {
    return this.done;
  }

  get acceptsMessages(): boolean {
    return this.connection.acceptsMessages;
  }

  // ---- what its events are worded with (EventContext)

  get verbose(): boolean {
    return this.options.verbose;
  }

  get showHeartbeats(): boolean {
    return this.options.showHeartbeats;
  }

  get followRedirects(): boolean {
    return this.options.followRedirects;
  }

  get interactive(): boolean {
    return this.owner.interactive;
  }

  get opened(): boolean {
    return this.openedAt !== 0;
  }

  roundTrip(payload: Buffer): number | null {
    const sentAt = this.pingsSent.get(payload.toString('latin1'));
    return sentAt === undefined ? null : performance.now() - sentAt;
  }

  async run(): Promise<AttemptResult> {
    const { options } = this;
    this.show({ type: 'connecting', proxy: options.proxy });
    this.show({ type: 'request', proxy: options.proxy });
    // node:tls is loaded only for wss://: a ws:// run starts without it.
    if (this.target.secure) this.tls = await import('node:tls');
    const tunnel = options.proxy === null ? null : await openTunnel(options.proxy, this.target, options.connectTimeoutMs);
    return new Promise<AttemptResult>((resolve) => {
      this.resolve = resolve;
      if (tunnel !== null && 'message' in tunnel) {
        this.socketClosed = true;
        this.abort(tunnel.kind, tunnel.message);
      } else {
        this.connect(tunnel?.socket ?? null);
      }
    });
  }

  private connect(tunnel: net.Socket | null): void {
    if (this.options.tls.insecure) this.show({ type: 'insecure' });
    let socket: net.Socket;
    try {
      socket = this.tls ? connectTls(this.tls, this.target, this.options.tls, tunnel) : tunnel ?? connectSocket(this.target, this.onData);
    } catch (error) {
      // The TLS files were checked when read; whatever else TLS refuses to start with is one line too.
      tunnel?.destroy();
      this.socketClosed = true;
      return this.abort('tls', `cannot connect to ${this.address}: TLS: ${(error as Error).message}`);
    }
    this.socket = socket;
    this.connected = tunnel !== null; // a tunnel is a connection made
    socket.setNoDelay(true);
    socket.on('connect', this.onConnect);
    socket.on('secureConnect', this.onConnect);
    if (this.tls || tunnel) socket.on('data', this.onData);
    socket.on('end', this.onEnd);
    socket.on('error', this.onError);
    socket.on('close', this.onClose);
    this.enter('HANDSHAKING');
    if (tunnel) {
      tunnel.resume();
      if (!this.tls) this.step();
    }
  }

  // ---- the socket's listeners

  private readonly onConnect = (): void => {
    this.connected = true;
    this.step();
  };

  private readonly onData = (chunk: Buffer): void => {
    this.connection.receiveData(chunk);
    // Any bytes from the server show it is alive.
    if (this.pongTimer.armed) this.armKeepalive();
    this.pongTimer.clear();
    this.step();
  };

  private readonly onEnd = (): void => {
    this.connection.receiveEof();
    this.step();
  };

  private readonly onError = (error: NodeJS.ErrnoException): void => {
    const { connection } = this;
    const tlsFailure = this.target.secure && !isSystemErrorCode(error.code);
    if (connection.state === 'HANDSHAKING' && connection.failure === null && (tlsFailure || !this.connected)) {
      const why = tlsFailure ? `TLS: ${error.message}` : describeSocketError(error);
      connection.abort(tlsFailure ? 'tls' : 'unreachable', `cannot connect to ${this.address}: ${why}`);
    } else {
      connection.receiveEof(describeSocketError(error));
    }
    this.step();
  };

  private readonly onClose = (): void => {
    this.socketClosed = true;
    this.connection.receiveEof();
    this.step();
  };

  private readonly onSocketDrain = (): void => {
    this.awaitingDrain = false;
    this.connection.resumeWriting();
    this.owner.resumeInput();
    this.step();
  };

  // ---- the select loop

  /**
   * Write what the connection wants sent, show its events, and act on a change of state. An action taken
   * while showing (a line flushed at OPEN, a quit) calls step() again: that call only asks for one more
   * round here, so the loop never re-enters itself.
   */
  step(): void {
    if (this.stepping) {
      this.stepAgain = true;
      return;
    }
    this.stepping = true;
    try {
      do {
        this.stepAgain = false;
        this.stepOnce();
      } while (this.stepAgain && !this.done);
    } finally {
      this.stepping = false;
    }
  }

  private stepOnce(): void {
    if (this.done) return;
    this.writeOutgoing();
    for (const event of this.connection.eventsReceived()) {
      if (isMessageEvent(event)) {
        this.showMessages(event);
        continue;
      }
      if (event.type === 'open') this.openedAt = Date.now();
      this.show(event);
      if (event.type === 'pong') this.pingsSent.delete(event.payload.toString('latin1'));
      // What waited for OPEN goes now, before the messages that came in the same read as the 101.
      if (event.type === 'open') this.enter('OPEN');
    }
    this.display.flush();
    if (this.display.mustWait) this.pauseReadingForStdout();
    if (this.connection.state !== this.entered) this.enter(this.connection.state);
    if (this.entered === 'CLOSED' && this.socketClosed) this.finish();
  }

  /** The shell's half of the state machine: what each state arms and clears. */
  private enter(state: State): void {
    this.entered = state;
    switch (state) {
      case 'HANDSHAKING':
        this.connectTimer.arm(this.options.connectTimeoutMs);
        break;
      case 'OPEN':
        this.connectTimer.clear();
        this.armKeepalive();
        this.owner.opened(this);
        break;
      case 'CLOSING':
        this.connectTimer.clear();
        this.keepaliveTimer.clear();
        this.pongTimer.clear();
        this.closeTimer.arm(this.options.closeTimeoutMs);
        break;
      case 'CLOSED':
        for (const timer of [this.connectTimer, this.keepaliveTimer, this.pongTimer, this.closeTimer]) timer.clear();
        if (this.connection.closeReceived !== null && this.connection.failure === null && !this.socketClosed) {
          // The closing handshake is complete: send FIN now (after the CLOSE echo still in the socket's
          // buffer), then give the server a short grace to close its side.
          this.socket?.end();
          this.graceTimer.arm(Math.min(CLOSE_GRACE_MS, this.options.closeTimeoutMs));
        } else {
          this.socket?.destroy();
        }
        break;
    }
  }

  private writeOutgoing(): void {
    const data = this.connection.dataToSend();
    const socket = this.socket;
    if (data.length === 0 || socket === null || socket.destroyed) return;
    if (socket.write(data.length === 1 ? data[0]! : Buffer.concat(data)) || this.awaitingDrain) return;
    this.awaitingDrain = true;
    this.connection.pauseWriting();
    this.owner.pauseInput();
    socket.once('drain', this.onSocketDrain);
  }

  /** Backpressure: stop reading the socket until stdout drains (memory stays bounded; see Output). */
  private pauseReadingForStdout(): void {
    if (this.readingPaused) return;
    this.readingPaused = true;
    this.socket?.pause();
    this.display.whenDrained(() => {
      this.readingPaused = false;
      if (!this.done) this.socket?.resume();
    });
  }

  private finish(): void {
    this.done = true;
    this.graceTimer.clear();
    this.socket?.destroy();
    if (this.awaitingDrain) this.onSocketDrain();
    this.show({ type: 'ended' });
    this.display.flush();
    this.resolve(attemptOutcome(this.connection, this.openedAt));
  }

  // ---- keepalive

  private armKeepalive(): void {
    if (this.options.pingIntervalMs > 0) this.keepaliveTimer.arm(this.options.pingIntervalMs);
  }

  private onKeepalive(): void {
    // While reading waits for stdout, a PONG could not be read in time: try at the next interval.
    if (this.readingPaused) return this.armKeepalive();
    this.pongTimer.arm(this.options.pingTimeoutMs);
    this.ping(Buffer.from(`wsc-${++this.pingCounter}-${Date.now()}`));
  }

  // ---- actions: each ends in step()

  /** Send text messages in order; returns how many were sent (the rest came after the closing handshake began). */
  sendLines(lines: readonly Buffer[]): number {
    let sent = 0;
    const connection = this.connection;
    const binary = this.options.sendBinary;
    for (const line of lines) {
      if (!(binary ? connection.sendBinary(line) : connection.sendText(line))) break;
      sent++;
    }
    this.step();
    return sent;
  }

  /** A fragment of a message still arriving (a long line); `last` ends it. */
  sendFragment(fragment: Buffer, { last }: { last: boolean }): boolean {
    const sent = this.connection.sendFragment(fragment, { binary: this.options.sendBinary, last });
    this.step();
    return sent;
  }

  ping(payload: Buffer): boolean {
    const sent = this.connection.sendPing(payload);
    if (sent) {
      this.pingsSent.set(payload.toString('latin1'), performance.now());
      this.show({ type: 'ping-sent', payload });
    }
    this.step();
    return sent;
  }

  pong(payload: Buffer): boolean {
    const sent = this.connection.sendPong(payload);
    this.step();
    return sent;
  }

  close(code: number, reason: string): void {
    this.connection.close(code, reason);
    this.step();
  }

  /** Give up: after an earlier failure the connection reports nothing new, so the reason is said here. */
  abort(kind: FailureKind, message: string): void {
    if (this.connection.failure !== null) this.show({ type: 'gave-up', message });
    this.connection.abort(kind, message);
    this.step();
  }

  // ---- showing events

  private show(event: ShownEvent): void {
    for (const line of describeEvent(event, this)) this.display.show(line);
  }

  /** The messages the owner picks (--filter, --count); a producer prints none. */
  private showMessages(event: MessageEvent): void {
    const picked = this.target.role === 'producer' ? null : this.owner.pick(event);
    if (picked !== null) this.display.message(picked);
  }
}

// § 9  Output
//
// Everything the user sees, and the contract it keeps: stdout carries received messages only (exact bytes
// off a terminal, marked and made safe on one, or JSON lines); everything else is one line on stderr. The
// process's streams come in a ClientIo, so the tests run the whole client in-process with stand-ins.

/** The process's streams, signals and environment, or stand-ins (tests run the client in-process). */
export interface ClientIo {
  stdin: Readable & { isTTY?: boolean };
  stdout: Writable & { isTTY?: boolean; columns?: number; rows?: number };
  stderr: Writable & { isTTY?: boolean };
  env: NodeJS.ProcessEnv;
  /** Where SIGINT, SIGTERM, SIGHUP and SIGCONT, and the process's exit, are heard: the process, or a test's stand-in. */
  signals: SignalSource;
  /** Stop the process as Ctrl-Z would have (raw mode turns the key into a byte). */
  suspend?: () => void;
  /** Rename the process as `ps` shows it (the real process only). */
  setTitle?: (title: string) => void;
  /** The name the program was started by, for the usage text (default "wsc"). */
  program?: string;
}

export type ProcessEvent = 'SIGINT' | 'SIGTERM' | 'SIGHUP' | 'SIGCONT' | 'exit';

export interface SignalSource {
  on(event: ProcessEvent, listener: () => void): unknown;
  once(event: ProcessEvent, listener: () => void): unknown;
  removeListener(event: ProcessEvent, listener: () => void): unknown;
}

export function processIo(): ClientIo {
  return {
    stdin: process.stdin,
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
    signals: process,
    // The whole process group, as the terminal would: a tsx or npx parent stops too, so the shell sees the job stop.
    suspend: () => process.kill(0, 'SIGTSTP'),
    setTitle: (title) => {
      process.title = title;
    },
    // `wsc` installed (dist/wsc.mjs behind a link named wsc), `client.ts` through tsx or Node's type stripping.
    program: basename(process.argv[1] ?? 'wsc').replace(/\.mjs$/, ''),
  };
}

/** A batch of messages at least this big is handed to stdout as it is instead of copied (see Output). */
const COPY_LIMIT = 64 * 1024;
/** A line break, written after a message laid out on a terminal. */
const NEWLINE = Buffer.from('\n');

/**
 * Everything the user sees: messages on stdout (plain, terminal or JSON lines), the rest on stderr.
 *
 * Messages of one step are gathered and written at once by flush(); a status line first flushes what came
 * before it, so on a terminal the two streams appear in the order things happened.
 *
 * The buffer-lifetime rule, in one place: message bytes are borrowed from the connection, valid until its
 * next receiveData(). A batch under COPY_LIMIT is copied into one write. A bigger one is handed to stdout
 * as it is; if stdout could not write it all at once (writableLength > 0 after the write), it still holds
 * borrowed bytes, so `mustWait` stays true until 'drain' and the shell reads no more from the socket
 * meanwhile. `mustWait` also carries ordinary backpressure (write() returned false). No stream's
 * highWaterMark is assumed.
 */
/** What Output needs to know of the options: how messages are printed, what else is said, and what never is. */
export interface OutputOptions {
  /** What ends a message on stdout: a newline (0x0a), or NUL with -0. */
  readonly separator: number;
  readonly quiet: boolean;
  readonly json: boolean;
  readonly timestamps: boolean;
  /** --color, --no-color; null: decide from the terminal and NO_COLOR. */
  readonly color: boolean | null;
  /** --hex / --base64: how a binary message is printed (null: its size and a preview). */
  readonly binaryEncoding: 'hex' | 'base64' | null;
  /** --pretty, --no-pretty: a JSON object or array laid out on lines of its own; null: on a terminal. */
  readonly pretty: boolean | null;
  /** Never shown in a status, error or -v line, nor in a JSON event other than a message (see secretsOf). */
  readonly secrets: readonly string[];
}

export class Output implements Display {
  readonly stdout: ClientIo['stdout'];
  private readonly stderr: ClientIo['stderr'];
  readonly tty: boolean;
  /** Colour on stdout (the input line's prompt follows it), and on stderr. */
  readonly colorful: boolean;
  private readonly stderrColor: boolean;
  /** JSON objects and arrays are laid out (see layoutJson). */
  private readonly pretty: boolean;
  private readonly options: OutputOptions;
  private pending: Buffer[] = [];
  private pendingSize = 0;
  private pendingBorrowed = false;
  /** stdout holds borrowed bytes or is over its high-water mark: read nothing more until it drains. */
  mustWait = false;
  private drainWaiters: (() => void)[] = [];
  /** What ends a message on stdout: a newline, or NUL with -0. */
  private readonly separator: Buffer;
  /** The input line at the bottom of the terminal, if any: cleared before each write and drawn again after. */
  private inputLine: { hide(): void; show(): void } | null = null;
  private terminalGone = false;

  constructor(options: OutputOptions, io: ClientIo) {
    this.separator = Buffer.from([options.separator]);
    this.options = options;
    this.stdout = io.stdout;
    this.stderr = io.stderr;
    this.tty = this.stdout.isTTY === true && !options.json;
    const noColorEnv = (io.env.NO_COLOR ?? '') !== '';
    this.colorful = options.color ?? (this.tty && !noColorEnv);
    this.stderrColor = options.color ?? (this.stderr.isTTY === true && !noColorEnv);
    this.pretty = !options.json && (options.pretty ?? this.tty);
    // 'close': the reader went away; whoever waits must go on (the closing handshake still has to be read).
    this.stdout.on('drain', this.onDrained);
    this.stdout.on('close', this.onDrained);
  }

  /** Everything printed goes above this line from now on (null: there is none). */
  setInputLine(line: { hide(): void; show(): void } | null): void {
    this.inputLine = line;
  }

  /** The terminal is gone (SIGHUP): nothing more is written to a stream that was one; files and pipes go on. */
  loseTerminal(): void {
    this.terminalGone = true;
    this.inputLine = null;
  }

  private readonly onDrained = (): void => {
    this.mustWait = false;
    const waiters = this.drainWaiters;
    this.drainWaiters = [];
    for (const waiter of waiters) waiter();
  };

  /** Run `callback` once stdout has drained (at once if it need not be waited for). */
  whenDrained(callback: () => void): void {
    if (this.mustWait) this.drainWaiters.push(callback);
    else callback();
  }

  show(line: Shown): void {
    if (line.to === 'json') this.json(line.event);
    else this[line.to](line.text);
  }

  status(text: string): void {
    if (!this.options.quiet) this.stderrLine(SGR.dim, text);
  }

  error(text: string): void {
    this.stderrLine(SGR.red, text);
  }

  /** -v lines: shown even with --quiet. */
  trace(text: string): void {
    this.stderrLine(SGR.cyan, text);
  }

  /** --timestamps: the local time and a space, dimmed where colour is on; '' without the option. */
  private timePrefix(color = this.colorful): string {
    if (!this.options.timestamps) return '';
    const now = new Date();
    const time = [now.getHours(), now.getMinutes(), now.getSeconds()].map((n) => String(n).padStart(2, '0')).join(':');
    return color ? `${SGR.dim}${time}${SGR.reset} ` : `${time} `;
  }

  /**
   * Every status, error and -v line: secrets redacted, and control characters shown, not obeyed, newlines
   * included. Peer text reaches these lines (a close reason, a refused upgrade's status line, -v headers):
   * it must not move the cursor, retitle the terminal or forge a line of its own.
   */
  private stderrLine(code: string, text: string): void {
    this.flush();
    if (this.terminalGone && this.stderr.isTTY) return;
    const line = `wsc: ${neutraliseControls(this.redact(text)).replace(/\n/g, '^J')}`;
    this.inputLine?.hide();
    this.stderr.write(this.timePrefix(this.stderrColor) + (this.stderrColor ? `${code}${line}${SGR.reset}` : line) + '\n');
    this.inputLine?.show();
  }

  redact(text: string): string {
    let safe = redactUrlPasswords(text);
    for (const secret of this.options.secrets) if (safe.includes(secret)) safe = safe.replaceAll(secret, redacted(secret));
    return safe;
  }

  private paint(code: string, text: string): string {
    return this.colorful ? `${code}${text}${SGR.reset}` : text;
  }

  private push(chunk: Buffer): void {
    this.pending.push(chunk);
    this.pendingSize += chunk.length;
  }

  /** Received messages: exact text and a separator each, marked and made safe on a terminal, or JSON. */
  message(event: MessageEvent): void {
    const { bytes, ranges } = event;
    const size = (ranges[1] ?? 0) - (ranges[0] ?? 0);
    if (event.type === 'text' && !this.tty && !this.options.json && !this.options.timestamps && !this.pretty) {
      // Plain text, the flood's path: the messages of an event are joined by one copy.
      if (ranges.length > 2 || size < COPY_LIMIT) return this.push(joinLines(bytes, ranges, this.options.separator));
      this.push(bytes.subarray(ranges[0], ranges[1]));
      this.push(this.separator);
      this.pendingBorrowed = true;
      return;
    }
    for (const data of messagesOf(event)) this.oneMessage(event.type, data);
  }

  /** One message on a terminal, as JSON, with a time, or binary (never raw). */
  private oneMessage(type: MessageEvent['type'], data: Buffer): void {
    if (this.options.json) {
      this.pushJson(type === 'text' ? { type: 'message', text: data.toString('utf8') } : { type: 'binary', base64: data.toString('base64') }, false);
    } else if (type === 'binary') {
      const line = showBinary(data, this.options.binaryEncoding);
      this.push(this.tty ? Buffer.from(this.timePrefix() + this.paint(SGR.cyan, '< ') + line + '\n') : Buffer.concat([Buffer.from(this.timePrefix() + line), this.separator]));
    } else if (this.tty) {
      const marker = this.timePrefix() + this.paint(SGR.green, '< ');
      // Laid out under the marker as it is written: a 10 MB message is never a string, nor copied again.
      const laidOut = this.pretty ? layoutJson(data, { colors: this.colorful ? JSON_COLORS : null, neutralise: true, margin: 2 }) : null;
      if (laidOut === null) return this.push(Buffer.from(marker + neutraliseControls(data.toString('utf8')).replace(/\n/g, '\n  ') + '\n'));
      this.push(Buffer.from(marker));
      this.push(laidOut);
      this.push(NEWLINE);
    } else if (this.pretty) {
      // --pretty in a pipe: laid out (one message may then span lines), exact tokens, no controls touched.
      this.push(Buffer.from(this.timePrefix()));
      this.push(layoutJson(data, { colors: this.colorful ? JSON_COLORS : null, neutralise: false }) ?? data);
      this.push(this.separator);
      this.pendingBorrowed = true;
    } else {
      // --timestamps off a terminal: the time, then the exact text.
      this.push(Buffer.from(this.timePrefix()));
      this.push(data);
      this.push(this.separator);
      this.pendingBorrowed = true;
    }
  }

  /** A JSON event about the connection (messages go through message()): scrubbed of secrets. */
  json(event: Record<string, unknown>): void {
    if (this.options.json) this.pushJson(event, true);
  }

  /** One JSON line; `ts` with --timestamps. A message's own text is exact: only connection events are scrubbed. */
  private pushJson(event: Record<string, unknown>, scrub: boolean): void {
    const stamped = this.options.timestamps ? { ...event, ts: new Date().toISOString() } : event;
    const replacer = scrub ? (_: string, value: unknown) => (typeof value === 'string' ? this.redact(value) : value) : undefined;
    this.push(Buffer.from(JSON.stringify(stamped, replacer) + '\n'));
  }

  /** Write what was gathered (see the class comment for when `mustWait` is set). */
  flush(): void {
    if (this.pending.length === 0) return;
    const chunks = this.pending, size = this.pendingSize, borrowed = this.pendingBorrowed;
    this.pending = [];
    this.pendingSize = 0;
    this.pendingBorrowed = false;
    if (this.stdout.destroyed || (this.terminalGone && this.stdout.isTTY)) return;
    this.inputLine?.hide();
    let ok: boolean;
    if (size < COPY_LIMIT) {
      ok = this.stdout.write(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)); // pending is not empty
    } else {
      ok = true;
      this.stdout.cork();
      for (const chunk of chunks) ok = this.stdout.write(chunk) && ok;
      this.stdout.uncork();
      if (borrowed && this.stdout.writableLength > 0) ok = false;
    }
    this.inputLine?.show();
    if (!ok) this.mustWait = true;
  }
}

// § 10  Input
//
// What the user sends: stdin split into lines (or NUL-separated messages with -0, or JSON values with
// --json-input), made valid UTF-8, and handed to the client; or, on a terminal, the lines the input line's
// editor produces (§ 11). Nothing
// accepted is dropped silently: lines wait in one queue while no connection is open (before OPEN, between
// reconnects), a full queue pauses stdin instead of growing, and lines that could not be sent are counted.
// A line of any size goes out while it is still arriving, as a fragmented message, so memory does not grow
// with its length.

/** Bytes of input queued before OPEN past which stdin is paused until the connection opens. */
const QUEUE_HIGH_WATER = 4 * 1024 * 1024;
/** Lines queued while no connection is open past which stdin is paused too (many short lines, little memory each). */
const MAX_WAITING_LINES = 100_000;
/**
 * A line is held until it ends, or until this much of it has come: then it goes out while it is still
 * arriving, in fragments of about this size (small enough to bound memory, large enough for servers that
 * limit a message's fragments: ws allows 16,384, so 16 GiB). Shorter lines go whole, one frame each.
 */
const FRAGMENT_SIZE = 1024 * 1024;

/** What LineInput needs to know of the options. */
export interface InputOptions {
  /** The role sends what is read (producer, both); a consumer only listens for Ctrl-D on a terminal. */
  readonly sends: boolean;
  /** What ends a message: newline (0x0a), or NUL with -0. */
  readonly separator: number;
  /** --binary: messages are bytes, sent exactly (no CR stripping, no UTF-8 repair). */
  readonly sendBinary: boolean;
  /** -x and -f: messages sent first each time a connection opens, before any line read. */
  readonly execute: readonly Buffer[];
  /** `-f -` took stdin as one message: input has ended before it began. */
  readonly stdinIsMessage: boolean;
  /** --json-input: stdin is JSON values, not lines (see JsonValueReader). */
  readonly jsonInput: boolean;
}

/** What LineInput needs from its owner (ChatClient). */
export interface InputHost {
  /**
   * Lines to send now: returns how many of them could not be sent (the closing handshake had begun), or
   * null when no connection is open (they wait in the queue, in order).
   */
  sendLines(lines: readonly Buffer[]): number | null;
  /**
   * A fragment of a line still arriving, to send now (`first` starts the message, `last` ends it): true when
   * sent, false when it could not be (the line is then lost), null for a first fragment while no connection
   * is open (the line waits).
   */
  sendFragment(fragment: Buffer, position: { first: boolean; last: boolean }): boolean | null;
  /** End of input: stdin's EOF when lines are read, or Ctrl-D on a terminal. */
  inputEnded(): void;
}

type InputPause = 'socket' | 'queue';

/** A line, with --slash: a message (`//` sends one that starts with a slash), or a command and its words. */
export type SlashLine = { type: 'message'; text: Buffer } | { type: 'command'; name: string; words: string[]; rest: string };

/** What a line is, with --slash. Lines that do not start with "/" are never turned into text to find out. */
export function parseSlashLine(line: Buffer): SlashLine {
  if (line[0] !== 0x2f) return { type: 'message', text: line };
  if (line[1] === 0x2f) return { type: 'message', text: line.subarray(1) };
  const text = line.toString('utf8').slice(1);
  const [name = '', ...words] = text.split(/\s+/).filter(Boolean);
  return { type: 'command', name, words, rest: text.replace(/^\S+\s?/, '') };
}

/**
 * Where LineInput is with stdin: not read yet, read (by this class, or by the terminal line), at its end,
 * or let go of.
 */
type StdinState = 'unread' | 'reading' | 'ended' | 'stopped';

/**
 * Where LineInput is with the line being read, which has not ended yet:
 *   holding    its pieces are kept (none, at first) until it ends, or grows past FRAGMENT_SIZE
 *   streaming  it goes out in fragments as it arrives (a cut character or a CR is held back between them)
 *   dropping   the connection closed under it while it went out: the rest of it is read and dropped
 */
type LineState = 'holding' | 'streaming' | 'dropping';

/**
 * The end of the last complete UTF-8 sequence in `data`: the bytes after it (at most three) begin a
 * character that the next piece may complete.
 */
function completeUtf8Length(data: Buffer): number {
  for (let back = 1; back <= Math.min(3, data.length); back++) {
    const byte = data.readUInt8(data.length - back);
    if ((byte & 0xc0) === 0x80) continue; // a continuation byte: its lead is further back
    const length = byte >= 0xf0 ? 4 : byte >= 0xe0 ? 3 : byte >= 0xc0 ? 2 : 1;
    return length > back ? data.length - back : data.length;
  }
  return data.length;
}

/** A --json-input value is held whole until it ends (it goes as one message): past this, it is an error. */
const MAX_JSON_INPUT_VALUE = DEFAULT_MAX_MESSAGE_SIZE;

/** What a read of --json-input gave: the values it completed (compacted), and what was wrong, if something was. */
export interface JsonInputStep {
  values: Buffer[];
  error: string | null;
}

/**
 * stdin as a stream of JSON values in any layout, as jq reads it: pretty-printed, one per line, or run
 * together. Bytes in as they arrive; out come the values that ended, each checked and compacted (every token
 * as it came, see rewriteJson), or, where one is not JSON, the line and column that say where. Only the
 * value being read is held: a value ends where its last bracket closes (strings and escapes followed byte by
 * byte), or, a number or a literal at the top, where something else begins.
 */
export class JsonValueReader {
  /** The bytes of the value being read, and where it began. */
  private pieces: Buffer[] = [];
  private held = 0;
  private startLine = 1;
  private startColumn = 1;
  /** Where the next byte is (1-based; a column is a character, not a byte). */
  private line = 1;
  private column = 1;
  /** 'none' between values; 'bare' in a number or literal at the top; 'nested' inside brackets or a string. */
  private within: 'none' | 'bare' | 'nested' = 'none';
  private depth = 0;
  private inString = false;
  private escaped = false;
  private failed = false;

  push(chunk: Buffer): JsonInputStep {
    const step: JsonInputStep = { values: [], error: null };
    let from = 0; // the first byte of chunk that belongs to the value being read
    for (let i = 0; i < chunk.length && !this.failed; i++) {
      const byte = chunk[i]!;
      if (this.within === 'bare' && (JSON_SPACE[byte] === 1 || byte === 0x7b || byte === 0x5b || byte === 0x22 || byte === 0x7d || byte === 0x5d || byte === 0x2c || byte === 0x3a)) {
        this.finishValue(chunk, from, i, step); // a number or literal ends where something else begins
      }
      if (this.within === 'none') {
        if (JSON_SPACE[byte] === 1) {
          this.advance(byte);
          continue;
        }
        [from, this.startLine, this.startColumn] = [i, this.line, this.column];
        this.within = byte === 0x7b || byte === 0x5b || byte === 0x22 ? 'nested' : 'bare';
      }
      this.advance(byte);
      if (this.within === 'nested' && this.closes(byte)) this.finishValue(chunk, from, i + 1, step);
    }
    if (this.within !== 'none' && !this.failed) this.hold(chunk.subarray(from), step);
    return step;
  }

  /** The end of input: a number or literal at the end is whole; a value still open is not. */
  end(): JsonInputStep {
    const step: JsonInputStep = { values: [], error: null };
    if (this.failed) return step;
    if (this.within === 'bare') this.finishValue(EMPTY, 0, 0, step);
    else if (this.within === 'nested') this.fail(step, this.startLine, this.startColumn, 'the value that begins here does not end');
    return step;
  }

  /** Line and column, past one byte. */
  private advance(byte: number): void {
    if (byte === 0x0a) [this.line, this.column] = [this.line + 1, 1];
    else if ((byte & 0xc0) !== 0x80) this.column++;
  }

  /** Whether `byte` closes the value being read (its last bracket, or the quote ending a string at the top). */
  private closes(byte: number): boolean {
    if (this.inString) {
      if (this.escaped) this.escaped = false;
      else if (byte === 0x5c) this.escaped = true;
      else if (byte === 0x22) this.inString = false;
      return !this.inString && this.depth === 0;
    }
    if (byte === 0x22) this.inString = true;
    else if (byte === 0x7b || byte === 0x5b) this.depth++;
    else if (byte === 0x7d || byte === 0x5d) this.depth--;
    return this.depth <= 0 && !this.inString;
  }

  private hold(piece: Buffer, step: JsonInputStep): void {
    this.pieces.push(Buffer.from(piece));
    this.held += piece.length;
    if (this.held > MAX_JSON_INPUT_VALUE) this.fail(step, this.startLine, this.startColumn, `a value of more than ${MAX_JSON_INPUT_VALUE} bytes begins here (each value is held whole, to go as one message)`);
  }

  /** The value ends at chunk[end): checked and compacted, or the place where it is not JSON. */
  private finishValue(chunk: Buffer, from: number, end: number, step: JsonInputStep): void {
    const value = this.pieces.length === 0 ? chunk.subarray(from, end) : Buffer.concat([...this.pieces, chunk.subarray(from, end)]);
    [this.pieces, this.held, this.within, this.depth, this.inString, this.escaped] = [[], 0, 'none', 0, false, false];
    try {
      step.values.push(Buffer.from(rewriteJson(value, 0, value.length, { colors: null, neutralise: false, compact: true })));
    } catch (error) {
      if (!(error instanceof JsonError)) throw error;
      // Where: the value's start, moved on over its bytes before the one that cannot be.
      let [line, column] = [this.startLine, this.startColumn];
      for (let i = 0; i < error.offset; i++) {
        if (value[i] === 0x0a) [line, column] = [line + 1, 1];
        else if ((value[i]! & 0xc0) !== 0x80) column++;
      }
      this.fail(step, line, column, error.message);
    }
  }

  private fail(step: JsonInputStep, line: number, column: number, why: string): void {
    this.failed = true;
    step.error = `stdin:${line}:${column}: ${why}`;
  }
}

/**
 * stdin as lines: split at the separator (CR LF too), made valid UTF-8 (unless --binary), and handed to the
 * owner, or held in the one queue while no connection is open. A line longer than FRAGMENT_SIZE is
 * handed over in fragments as it arrives. Owns the count of lines not sent.
 */
export class LineInput {
  private readonly stdin: ClientIo['stdin'];
  private readonly output: Output;
  private readonly owner: InputHost;
  private readonly options: InputOptions;
  private executeSent = false;
  private stdinState: StdinState = 'unread';
  private readonly pausedFor = new Set<InputPause>();
  /** Lines waiting for a connection, in order. */
  private queue: Buffer[] = [];
  private queueBytes = 0;
  private lineState: LineState = 'holding';
  /** What of the line being read is not sent yet: the pieces that arrived, joined once. */
  private partial: Buffer[] = [];
  private partialBytes = 0;
  /** Streaming: the end of what was sent, held back (an incomplete UTF-8 sequence, or a CR that may begin CR LF). */
  private held: Buffer = EMPTY;
  private warnedInvalid = false;
  private warnedConsumer = false;
  /** Lines accepted but never sent: after the closing handshake began, or left in the queue at the end. */
  private notSent = 0;
  /** --json-input: the reader of stdin's values, and whether one was not JSON (input stopped there). */
  private readonly jsonValues: JsonValueReader | null;
  private jsonFailed = false;

  constructor(io: ClientIo, output: Output, options: InputOptions, owner: InputHost) {
    this.stdin = io.stdin;
    this.output = output;
    this.owner = owner;
    this.options = options;
    this.jsonValues = options.jsonInput ? new JsonValueReader() : null;
  }

  /** --json-input met a value that is not JSON: what came before it was sent, and the run has failed. */
  get failed(): boolean {
    return this.jsonFailed;
  }

  /** stdin has ended, or is a terminal (never ends by itself), or is not read at all (a consumer). */
  get finished(): boolean {
    return this.stdinState === 'ended' || this.isTTY || !this.options.sends;
  }

  get isTTY(): boolean {
    return this.stdin.isTTY === true;
  }

  get queued(): number {
    return this.queue.length;
  }

  /** Input read and not sent yet: queued lines, a line begun, or the -x and -f messages before any connection. */
  get pending(): boolean {
    return this.queue.length > 0 || this.partial.length > 0 || (!this.executeSent && this.options.execute.length > 0);
  }

  /** Lines accepted that were not sent, so far (stop() adds what is still waiting). */
  get unsent(): number {
    return this.notSent;
  }

  /**
   * Start reading: stdin here, or, when `typed`, the terminal line reads it (raw mode) and hands its
   * lines to typed() and its Ctrl-D to end().
   */
  start(typed: boolean): void {
    if (this.options.stdinIsMessage) return this.end();
    if (!this.options.sends && !this.isTTY) return;
    this.stdinState = 'reading';
    if (typed) return;
    this.stdin.on('data', this.onData);
    this.stdin.on('end', this.onEnd);
  }

  /** Stop reading, and say how many lines were not sent. */
  stop(): void {
    const waiting = (this.executeSent ? 0 : this.options.execute.length) + this.queue.length;
    // A line read in part, or going out when the connection ended, was not sent either.
    this.notSent += waiting + (this.partial.length > 0 || this.lineState === 'streaming' ? 1 : 0);
    this.queue = [];
    this.partial = [];
    this.lineState = 'holding';
    if (this.notSent > 0) this.output.error(`${this.notSent} input line${this.notSent === 1 ? ' was' : 's were'} not sent`);
    if (this.stdinState === 'unread' || this.stdinState === 'stopped') return;
    this.stdinState = 'stopped';
    this.stdin.removeListener('data', this.onData);
    this.stdin.removeListener('end', this.onEnd);
    this.stdin.destroy();
  }

  /** Lines typed on the input line (already valid UTF-8). */
  typed(lines: readonly string[]): void {
    if (lines.length > 0) this.sendOrQueue(lines.map((line) => Buffer.from(line, 'utf8')));
  }

  /** Ctrl-D on the input line. */
  end(): void {
    this.stdinState = 'ended';
    this.owner.inputEnded();
  }

  /** The user quits: a line held whole is complete and goes; one going out in fragments never ends, and counts as not sent. */
  quit(): void {
    if (this.lineState === 'streaming') this.loseLine();
    this.finishLine();
  }

  private readonly onData = (chunk: Buffer): void => {
    if (!this.options.sends) {
      if (!this.warnedConsumer) this.output.status('consumer: typed input is not sent (use the producer or both role)');
      this.warnedConsumer = true;
      return;
    }
    if (this.jsonValues !== null) return this.takeJson(this.jsonValues.push(chunk));
    const separator = this.options.separator;
    const lines: Buffer[] = [];
    let start = 0;
    for (let end = chunk.indexOf(separator); end !== -1; end = chunk.indexOf(separator, start)) {
      const line = this.endLine(chunk.subarray(start, end));
      if (line !== null) lines.push(line);
      start = end + 1;
    }
    if (lines.length > 0) this.sendOrQueue(lines);
    if (start < chunk.length) this.continueLine(chunk.subarray(start));
  };

  private readonly onEnd = (): void => {
    if (this.stdinState !== 'reading') return; // --json-input stopped at a value that is not JSON
    this.stdinState = 'ended';
    // EOF of a pipe or /dev/null is no request to a consumer; Ctrl-D on a terminal is.
    if (!this.options.sends && !this.isTTY) return;
    if (this.jsonValues !== null) this.takeJson(this.jsonValues.end(), true);
    else this.finishLine(); // a last line without a separator is still a line
    this.owner.inputEnded();
  };

  /**
   * --json-input: the values that ended go, each one message; at one that is not JSON, input stops: what came
   * before it goes, nothing after it, and the run fails (it is said where, in one line).
   */
  private takeJson(step: JsonInputStep, atEnd = false): void {
    if (step.values.length > 0) this.sendOrQueue(step.values);
    if (step.error === null) return;
    this.output.error(step.error);
    this.jsonFailed = true;
    if (atEnd) return;
    this.stdinState = 'ended';
    this.stdin.removeListener('data', this.onData);
    this.stdin.pause();
    this.owner.inputEnded();
  }

  /** The line being read ends with `last`: a whole line to send, or null when it went (or was lost) in fragments. */
  private endLine(last: Buffer): Buffer | null {
    if (this.lineState === 'dropping') {
      this.lineState = 'holding';
      return null;
    }
    if (this.lineState === 'streaming') {
      this.sendHeld(last, true);
      return null;
    }
    const line = this.partial.length === 0 ? last : Buffer.concat([...this.partial, last]);
    this.partial = [];
    this.partialBytes = 0;
    return this.normalise(line);
  }

  /** A line that has not ended (cut by a read, or at the end of input) ends here, if anything of it came. */
  private finishLine(): void {
    if (this.partial.length === 0 && this.lineState !== 'streaming') return;
    const line = this.endLine(EMPTY);
    if (line !== null) this.sendOrQueue([line]);
  }

  /** More of a line that has not ended: held (kept as pieces, joined once), and sent as a fragment once long. */
  private continueLine(piece: Buffer): void {
    if (this.lineState === 'dropping') return;
    this.partial.push(piece);
    this.partialBytes += piece.length;
    if (this.partialBytes >= FRAGMENT_SIZE && this.queue.length === 0) this.sendHeld(EMPTY, false);
    // Waiting for a connection: a long line pauses stdin as a full queue does.
    if (this.partialBytes > QUEUE_HIGH_WATER) this.pause('queue');
  }

  /** What is held of the line, and `more`, go out as its next fragment; a first one waits while no connection is open. */
  private sendHeld(more: Buffer, last: boolean): void {
    const first = this.lineState !== 'streaming';
    const data = Buffer.concat([...this.partial, more]);
    this.partial = [];
    this.partialBytes = 0;
    const sent = this.owner.sendFragment(this.prepareFragment(data, last), { first, last });
    if (sent === null) {
      // No connection yet: the line waits whole, as it came (nothing of it was held back before).
      this.held = EMPTY;
      this.partial = [data];
      this.partialBytes = data.length;
    } else if (sent) {
      this.lineState = last ? 'holding' : 'streaming';
    } else {
      this.loseLine();
      if (last) this.lineState = 'holding'; // it has ended: the next line is not this one's rest
    }
  }

  /** The connection closed under a line going out: it is counted once, and what is left of it dropped. */
  private loseLine(): void {
    this.notSent++;
    this.lineState = 'dropping';
    this.held = EMPTY;
    this.partial = [];
    this.partialBytes = 0;
  }

  /**
   * A fragment of a streamed line, ready to send: valid UTF-8 (repaired as a whole line would be), without the
   * line's final CR; an incomplete character or a CR at its end is held back for the next one.
   */
  private prepareFragment(piece: Buffer, last: boolean): Buffer {
    if (this.options.sendBinary) return piece;
    const data = this.held.length === 0 ? piece : Buffer.concat([this.held, piece]);
    let end = data.length;
    if (this.options.separator === 0x0a && data[end - 1] === 0x0d) end--;
    if (!last) end = completeUtf8Length(data.subarray(0, end));
    this.held = last ? EMPTY : Buffer.from(data.subarray(end));
    return this.validUtf8(data.subarray(0, end));
  }

  private normalise(line: Buffer): Buffer {
    if (this.options.sendBinary) return line;
    if (this.options.separator === 0x0a && line[line.length - 1] === 0x0d) line = line.subarray(0, line.length - 1);
    return this.validUtf8(line);
  }

  /** A TEXT frame must be valid UTF-8: invalid bytes are sent as U+FFFD rather than the line lost. */
  private validUtf8(bytes: Buffer): Buffer {
    if (isUtf8(bytes)) return bytes;
    if (!this.warnedInvalid) this.output.error('warning: input is not valid UTF-8; invalid bytes are sent as U+FFFD');
    this.warnedInvalid = true;
    return Buffer.from(bytes.toString('utf8'), 'utf8');
  }

  /** Lines go to the owner, or, while no connection is open (or older lines still wait), to the queue. */
  private sendOrQueue(lines: Buffer[]): void {
    if (this.queue.length === 0) {
      const lost = this.owner.sendLines(lines);
      if (lost !== null) {
        this.notSent += lost;
        return;
      }
    }
    for (const line of lines) {
      this.queue.push(Buffer.from(line)); // its own copy: a view would keep the whole stdin chunk alive
      this.queueBytes += line.length;
    }
    // Nothing accepted is dropped: a full queue stops the reading instead (a pipe's writer then waits).
    if (this.queueBytes > QUEUE_HIGH_WATER || this.queue.length >= MAX_WAITING_LINES) this.pause('queue');
  }

  /**
   * A connection is open: the -x messages (at every connection), then the queued lines go to the owner, in
   * order, then a long line that waited starts going out, and reading goes on.
   */
  sendQueued(): void {
    const lines = this.options.execute.concat(this.queue);
    this.executeSent = true;
    this.queue = [];
    this.queueBytes = 0;
    if (lines.length > 0) this.sendOrQueue(lines);
    if (this.partialBytes >= FRAGMENT_SIZE && this.queue.length === 0) this.sendHeld(EMPTY, false);
    this.resume('queue');
  }

  pause(reason: InputPause): void {
    if (this.stdinState !== 'reading' || !this.options.sends) return;
    this.pausedFor.add(reason);
    this.stdin.pause();
  }

  resume(reason: InputPause): void {
    this.pausedFor.delete(reason);
    if (this.pausedFor.size === 0 && this.stdinState === 'reading' && this.options.sends && !this.stdin.destroyed) this.stdin.resume();
  }
}

// § 11  The terminal
//
// When a person types, stdin is a terminal. In raw mode the client gets every key as bytes and keeps its
// own input line at the bottom of the screen, so that arriving messages are printed above a half-typed
// line instead of through it. KeyReader turns the bytes into keys (the one decoder, shared with the
// password prompt), LineEditor turns keys into lines without any I/O, and TerminalLine does the drawing,
// raw mode, Ctrl-Z and putting the terminal back.

/** The terminal's side of stdin, in raw mode. */
type RawTerminalInput = ClientIo['stdin'] & { setRawMode(raw: boolean): unknown };

/** stdin, when both it and stdout are terminals that raw mode can be set on; null otherwise. */
function rawTerminal(io: ClientIo): RawTerminalInput | null {
  const stdin = io.stdin as Partial<RawTerminalInput> & ClientIo['stdin'];
  return io.stdin.isTTY === true && io.stdout.isTTY === true && typeof stdin.setRawMode === 'function' ? (stdin as RawTerminalInput) : null;
}

/** Keys by the byte a terminal in raw mode sends for them. */
const CONTROL_KEYS: Record<string, string> = {
  '\r': 'enter', '\n': 'enter', '\x7f': 'backspace', '\x08': 'backspace', '\x01': 'home', '\x05': 'end',
  '\x02': 'left', '\x06': 'right', '\x10': 'up', '\x0e': 'down', '\x04': 'delete-or-eof', '\x03': 'interrupt',
  '\x15': 'kill-start', '\x0b': 'kill-end', '\x17': 'kill-word-back', '\x19': 'yank', '\x1a': 'suspend', '\x0c': 'clear-screen',
};
/** CSI and SS3 sequences by their final byte (and parameters: ;5 is Ctrl, ;3 Alt). */
const CURSOR_KEYS: Record<string, string> = { A: 'up', B: 'down', C: 'right', D: 'left', H: 'home', F: 'end' };
const TILDE_KEYS: Record<string, string> = { '1': 'home', '7': 'home', '4': 'end', '8': 'end', '3': 'delete', '200': 'paste-start', '201': 'paste-end' };
/** Alt (ESC) + a key: word-wise moves and kills, as in readline. */
const ALT_KEYS: Record<string, string> = { b: 'word-left', f: 'word-right', d: 'kill-word-forward', '\x7f': 'kill-word-back', '\x08': 'kill-word-back', '\r': 'newline', '\n': 'newline' };

/** A key as KeyReader decodes it: text to insert (a run of printable characters), or a named key. */
export type KeyPress = { type: 'text'; text: string } | { type: 'key'; name: string };

/**
 * Raw-mode input (decoded UTF-8) as keys: printable runs, control keys, and escape sequences (cursor keys,
 * Alt combinations, bracketed paste markers), which may be cut anywhere by the end of a chunk. An unknown
 * sequence is the key 'none', never text. Inside a bracketed paste only text comes out, its line breaks as
 * "\n" (a pasted Ctrl-C or Ctrl-D is no key), and its end is the key 'paste-end'.
 */
export class KeyReader {
  /** The start of an escape sequence that the end of a chunk cut off. */
  private pending = '';
  private pasting = false;

  read(input: string): KeyPress[] {
    const keys: KeyPress[] = [];
    const data = this.pending + input;
    this.pending = '';
    let run = '';
    const endRun = () => {
      if (run !== '') keys.push({ type: 'text', text: run });
      run = '';
    };
    for (let i = 0; i < data.length; ) {
      const char = data.charAt(i);
      const code = char.charCodeAt(0);
      if ((code >= 0x20 && (code < 0x7f || code > 0x9f)) || char === '\t') {
        run += char;
        i++;
        continue;
      }
      endRun();
      let name: string;
      if (char !== '\x1b') {
        i += char === '\r' && data[i + 1] === '\n' ? 2 : 1;
        name = CONTROL_KEYS[char] ?? 'none';
      } else {
        const sequence = this.escapeSequence(data, i);
        if (sequence === null) {
          this.pending = data.slice(i);
          break;
        }
        i += sequence.length;
        name = sequence.key;
      }
      if (name === 'paste-start' || name === 'paste-end') {
        if (name === 'paste-end' && this.pasting) keys.push({ type: 'key', name });
        this.pasting = name === 'paste-start';
      } else if (this.pasting && name === 'enter') {
        run += '\n'; // a pasted line break stays in the message
      } else if (!this.pasting) {
        keys.push({ type: 'key', name });
      }
    }
    endRun();
    return keys;
  }

  /** The escape sequence at `at`, or null if the chunk ended inside it. */
  private escapeSequence(data: string, at: number): { length: number; key: string } | null {
    const next = data[at + 1];
    // A lone ESC at the end of a chunk is the Escape key (terminals send a sequence in one write),
    // unless a paste is under way, whose end marker may be split.
    if (next === undefined) return this.pasting ? null : { length: 1, key: 'none' };
    if (next === '[') {
      const match = /^\x1b\[([0-9;?]*)([\x40-\x7e])?/.exec(data.slice(at, at + 32));
      const [all = '', params = '', final] = match ?? [];
      if (final === undefined) return all.length > 0 && all.length < 32 && at + all.length >= data.length ? null : { length: 2, key: 'none' };
      const modified = /;[35]$/.test(params);
      let key = final === '~' ? TILDE_KEYS[params] : CURSOR_KEYS[final];
      if (modified && (key === 'left' || key === 'right')) key = key === 'left' ? 'word-left' : 'word-right';
      return { length: all.length, key: key ?? 'none' };
    }
    if (next === 'O') {
      const final = data[at + 2];
      if (final === undefined) return null;
      return { length: 3, key: CURSOR_KEYS[final] ?? 'none' };
    }
    return { length: 2, key: ALT_KEYS[next] ?? 'none' };
  }
}

// ---- graphemes and widths

/** Made on first use: only the line editor needs it, and ICU's break data costs start-up time. */
let graphemeSegmenter: Intl.Segmenter | null = null;

/**
 * Runs of printable ASCII long enough to be worth splitting by hand: by UAX #29 there is always a grapheme
 * break between two of these characters (neither extends, joins nor prepends).
 */
const ASCII_RUN = /[\x20-\x7e]{8,}/g;

/**
 * User-perceived characters: an emoji with its modifiers, or a letter with its accents, is one. Intl.Segmenter
 * costs about 2 µs a character, so a pasted megabyte of ASCII would take two seconds: inside long ASCII runs
 * each character is split off by hand, and only the rest (with the run's first and last character, which may
 * belong to their neighbours) goes to the segmenter.
 */
export function splitGraphemes(text: string): string[] {
  const graphemes: string[] = [];
  let from = 0;
  for (const run of text.matchAll(ASCII_RUN)) {
    const first = run.index, last = run.index + run[0].length - 1;
    segmentGraphemes(text.slice(from, first + 1), graphemes);
    for (let at = first + 1; at < last; at++) graphemes.push(text[at]!);
    from = last;
  }
  segmentGraphemes(text.slice(from), graphemes);
  return graphemes;
}

/** Intl.Segmenter slows down sharply on long strings (51 s for 64 Ki UTF-16 units on Node 20): cut them. */
const SEGMENT_SPAN = 2048;

function segmentGraphemes(text: string, graphemes: string[]): void {
  graphemeSegmenter ??= new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  let carried = '';
  for (let at = 0; at < text.length; at += SEGMENT_SPAN) {
    for (const piece of graphemeSegmenter.segment(carried + text.slice(at, at + SEGMENT_SPAN))) graphemes.push(piece.segment);
    // The last one may go on in the next span (or be half a surrogate pair): segment it again with it.
    carried = at + SEGMENT_SPAN < text.length ? graphemes.pop() ?? '' : '';
  }
}

/** East Asian Wide and Fullwidth code points (Unicode's EastAsianWidth W and F, in short). */
const WIDE_RANGES: [number, number][] = [
  [0x1100, 0x115f], [0x231a, 0x231b], [0x2329, 0x232a], [0x2e80, 0x303e], [0x3041, 0x33ff], [0x3400, 0x4dbf],
  [0x4e00, 0x9fff], [0xa000, 0xa4cf], [0xa960, 0xa97f], [0xac00, 0xd7a3], [0xf900, 0xfaff], [0xfe10, 0xfe19],
  [0xfe30, 0xfe6f], [0xff00, 0xff60], [0xffe0, 0xffe6], [0x1f300, 0x1f64f], [0x1f900, 0x1f9ff], [0x20000, 0x3fffd],
];

/** Terminal columns a grapheme takes: 2 for wide ones (CJK, fullwidth, emoji), 0 for a lone combining mark, else 1. */
export function graphemeWidth(grapheme: string): number {
  const code = grapheme.codePointAt(0) ?? 0;
  if (code < 0x300) return 1; // the common case, first
  if (/\p{Emoji_Presentation}|\uFE0F/u.test(grapheme)) return 2;
  for (const [from, to] of WIDE_RANGES) if (code >= from && code <= to) return 2;
  return /^[\p{Mn}\p{Me}\u200b-\u200f]/u.test(grapheme) ? 0 : 1;
}

function graphemeWidthOf(graphemes: string[]): number {
  return graphemes.reduce((sum, grapheme) => sum + graphemeWidth(grapheme), 0);
}

const isSpace = (grapheme: string | undefined) => grapheme !== undefined && /^\s$/u.test(grapheme);

// ---- the editor

/** What a key (or a pasted block) asks of the client. */
export type EditorAction = { type: 'line'; text: string } | { type: 'eof' } | { type: 'interrupt' } | { type: 'suspend' } | { type: 'clear-screen' };

const HISTORY_LIMIT = 1000;

/**
 * The input line on a terminal, without I/O: keys in (feed), lines and requests out (EditorAction), and
 * what the line looks like in a window of a given width (render). The line is kept as graphemes, so the
 * cursor moves over an emoji or an accented letter as one character and wide ones take two columns. A line
 * wider than the window scrolls sideways. Pasted text is inserted as it is, and each pasted newline ends a line.
 */
export class LineEditor {
  private readonly keys = new KeyReader();
  private line: string[] = [];
  private cursor = 0;
  /** The first grapheme shown: a long line scrolls sideways to keep the cursor in view. */
  private scroll = 0;
  private readonly history: string[];
  /** Where Up/Down are in the history; history.length is the line being written. */
  private historyAt: number;
  /** The line being written, kept while Up/Down show older ones. */
  private draft: string[] = [];
  /** What Ctrl-U/K/W or Alt-D last removed: Ctrl-Y puts it back. */
  private killed: string[] = [];
  readonly prompt: string;
  readonly promptWidth: number;

  constructor(history: string[] = [], prompt = '> ') {
    this.history = history.slice(-HISTORY_LIMIT);
    this.historyAt = this.history.length;
    this.prompt = prompt;
    this.promptWidth = graphemeWidthOf(splitGraphemes(prompt));
  }

  get text(): string {
    return this.line.join('');
  }

  /** Keys as the terminal sent them (decoded UTF-8); returns what they ask for, in order. */
  feed(input: string): EditorAction[] {
    const actions: EditorAction[] = [];
    for (const key of this.keys.read(input)) {
      if (key.type === 'text') this.insert(key.text);
      else this.press(key.name, actions);
    }
    return actions;
  }

  private press(key: string, actions: EditorAction[]): void {
    const line = this.line;
    switch (key) {
      case 'enter': return this.enter(actions);
      case 'interrupt':
      case 'suspend':
      case 'clear-screen':
        actions.push({ type: key });
        return;
      case 'delete-or-eof':
        if (line.length === 0) actions.push({ type: 'eof' });
        else line.splice(this.cursor, 1);
        return;
      case 'delete': line.splice(this.cursor, 1); return;
      case 'backspace': if (this.cursor > 0) line.splice(--this.cursor, 1); return;
      case 'left': this.cursor = Math.max(0, this.cursor - 1); return;
      case 'right': this.cursor = Math.min(line.length, this.cursor + 1); return;
      case 'home': this.cursor = this.rowStart(this.cursor); return;
      case 'end': this.cursor = this.rowEnd(this.cursor); return;
      case 'word-left': this.cursor = this.wordStart(); return;
      case 'word-right': this.cursor = this.wordEnd(); return;
      case 'kill-start': this.kill(this.rowStart(this.cursor), this.cursor); return;
      case 'kill-end': this.kill(this.cursor, this.rowEnd(this.cursor)); return;
      case 'kill-word-back': this.kill(this.wordStart(), this.cursor); return;
      case 'kill-word-forward': this.kill(this.cursor, this.wordEnd()); return;
      case 'yank': this.insert(this.killed.join('')); return;
      case 'newline': this.insert('\n'); return;
      case 'paste-end': return this.endPaste();
      case 'up': case 'down': return this.moveVertically(key === 'up' ? -1 : 1);
    }
  }

  /** A paste that ended with a line break: the break is dropped (what was copied was lines; Enter sends them). */
  private endPaste(): void {
    if (this.line[this.cursor - 1] === '\n') this.line.splice(--this.cursor, 1);
  }

  /** Up and Down move between the rows of a message of several lines; past its first or last row, through the history. */
  private moveVertically(step: -1 | 1): void {
    const start = this.rowStart(this.cursor);
    const target = step < 0 ? (start === 0 ? -1 : this.rowStart(start - 1)) : this.rowEnd(this.cursor) === this.line.length ? -1 : this.rowEnd(this.cursor) + 1;
    if (target < 0) return this.browseHistory(step);
    // The same column, as far as the other row goes.
    this.cursor = Math.min(target + (this.cursor - start), this.rowEnd(target));
  }

  /** Where the row (of a message of several lines) that holds index `at` starts, and where it ends (its "\n", or the end). */
  private rowStart(at: number): number {
    return at === 0 ? 0 : this.line.lastIndexOf('\n', at - 1) + 1;
  }

  private rowEnd(at: number): number {
    const end = this.line.indexOf('\n', at);
    return end < 0 ? this.line.length : end;
  }

  private enter(actions: EditorAction[]): void {
    const text = this.text;
    if (text !== '' && text !== this.history.at(-1)) this.history.push(text);
    if (this.history.length > HISTORY_LIMIT) this.history.shift();
    this.historyAt = this.history.length;
    this.line = [];
    this.cursor = this.scroll = 0;
    actions.push({ type: 'line', text });
  }

  private insert(text: string): void {
    // Segment with the grapheme before the cursor: a combining mark or an emoji modifier joins it.
    const before = this.line[this.cursor - 1] ?? '';
    const pieces = splitGraphemes(before + text);
    const start = this.cursor - (before ? 1 : 0);
    // concat, not splice(...pieces): a pasted chunk may be more graphemes than a call takes arguments.
    this.line = this.line.slice(0, start).concat(pieces, this.line.slice(this.cursor));
    this.cursor = start + pieces.length;
  }

  private kill(from: number, to: number): void {
    if (to <= from) return;
    this.killed = this.line.splice(from, to - from);
    this.cursor = from;
  }

  /** Words are separated by white space (as Ctrl-W in a shell). */
  private wordStart(): number {
    let at = this.cursor;
    while (at > 0 && isSpace(this.line[at - 1])) at--;
    while (at > 0 && !isSpace(this.line[at - 1])) at--;
    return at;
  }

  private wordEnd(): number {
    let at = this.cursor;
    while (at < this.line.length && isSpace(this.line[at])) at++;
    while (at < this.line.length && !isSpace(this.line[at])) at++;
    return at;
  }

  private browseHistory(step: -1 | 1): void {
    const to = this.historyAt + step;
    if (to < 0 || to > this.history.length) return;
    if (this.historyAt === this.history.length) this.draft = this.line;
    this.historyAt = to;
    const entry = this.history[to]; // none at history.length: the draft
    this.line = entry === undefined ? this.draft : splitGraphemes(entry);
    this.cursor = this.line.length;
  }

  /**
   * What the text looks like in a window `columns` wide and `maxRows` high: its rows (a message of several lines
   * has several; the prompts not included: `this.prompt` goes before the first row, as many spaces before the
   * others), which of them the cursor is on, and its column after the prompt. A row wider than the window
   * scrolls sideways on the cursor's row; a message of more rows than fit shows the ones up to the cursor's.
   * The last column stays free, so the terminal never wraps.
   */
  render(columns: number, maxRows = 1000): { rows: string[]; firstRow: number; cursorRow: number; cursorColumn: number } {
    const room = Math.max(1, columns - this.promptWidth - 1);
    const starts = [0];
    for (let at = this.line.indexOf('\n'); at >= 0; at = this.line.indexOf('\n', at + 1)) starts.push(at + 1);
    let cursorRow = 0;
    while (cursorRow + 1 < starts.length && starts[cursorRow + 1]! <= this.cursor) cursorRow++;
    const shownRows = Math.max(1, maxRows);
    const firstRow = Math.max(0, cursorRow - shownRows + 1);
    const rows: string[] = [];
    let cursorColumn = 0;
    for (let row = firstRow; row < starts.length && row < firstRow + shownRows; row++) {
      const start = starts[row]!, end = row + 1 < starts.length ? starts[row + 1]! - 1 : this.line.length;
      if (row === cursorRow) {
        const shown = this.renderRow(start, end, room);
        rows.push(shown.visible);
        cursorColumn = shown.cursorColumn;
      } else {
        let at = start;
        for (let used = 0; at < end && used + graphemeWidth(this.line[at]!) <= room; at++) used += graphemeWidth(this.line[at]!);
        rows.push(this.line.slice(start, at).join('').replace(/\t/g, ' '));
      }
    }
    return { rows, firstRow, cursorRow: cursorRow - firstRow, cursorColumn };
  }

  /** The cursor's row, line[start, end), scrolled sideways to keep the cursor in view (one window's worth of work). */
  private renderRow(start: number, end: number, room: number): { visible: string; cursorColumn: number } {
    const { line, cursor } = this;
    // Each index below is within start..end-1 by its loop's own bounds; width() reads one grapheme.
    const width = (i: number) => graphemeWidth(line[i]!);
    if (this.scroll < start || this.scroll > cursor) this.scroll = Math.min(Math.max(this.scroll, start), cursor);
    let used = 0, first = cursor;
    while (first > this.scroll && used + width(first - 1) <= room) used += width(--first);
    this.scroll = first; // the cursor is in view
    let rest = 0;
    for (let i = this.scroll; i < end && rest < room; i++) rest += width(i);
    // A shorter row (or a jump back) leaves room at the right: scroll back to use it.
    while (this.scroll > start && rest + width(this.scroll - 1) < room) rest += width(--this.scroll);
    let last = this.scroll, shown = 0, cursorColumn = 0;
    for (; last < end && shown + width(last) <= room; last++) {
      if (last === cursor) cursorColumn = shown;
      shown += width(last);
    }
    if (cursor >= last) cursorColumn = shown;
    return { visible: line.slice(this.scroll, last).join('').replace(/\t/g, ' '), cursorColumn };
  }
}

// ---- the input line on the screen

const BRACKETED_PASTE_ON = '\x1b[?2004h';
const BRACKETED_PASTE_OFF = '\x1b[?2004l';
/** Back to column 0 and clear from there to the end of the screen: where a one-row input line was. */
const CLEAR_BELOW = '\r\x1b[J';
const CLEAR_SCREEN = '\x1b[H\x1b[2J';

/**
 * The input line at the bottom of the terminal (producer and both, when stdin and stdout are terminals):
 * raw-mode keys go through a LineEditor; anything else printed goes above it, because Output calls hide()
 * before and show() after every write. The terminal is put back (cooked mode, no bracketed paste, the
 * row cleared) by stop(), on every way out, and at process exit as a last resort. Its process hooks (exit,
 * SIGCONT, suspending) come through ClientIo, so a test can drive it with a stand-in terminal.
 */
export class TerminalLine {
  private readonly stdin: RawTerminalInput;
  private readonly io: ClientIo;
  private readonly editor: LineEditor;
  private readonly decoder = new StringDecoder('utf8');
  private readonly prompt: string;
  /** What stands before a row after the first: as wide as the prompt. */
  private readonly continuation: string;
  private readonly onActions: (actions: EditorAction[]) => void;
  private readonly historyFile: string | null;
  /** Says, once, that the history could not be written. */
  private readonly warn: (text: string) => void;
  private historyFailed = false;
  private active = false;
  /** Output is writing: the row is cleared and will be drawn again by show(). */
  private hidden = false;
  /** How many rows below the first drawn row the cursor was left: where clearDrawn() goes back from. */
  private drawnCursorRow = 0;

  constructor(stdin: RawTerminalInput, io: ClientIo, options: { color: boolean; historyFile: string | null; warn: (text: string) => void }, onActions: (actions: EditorAction[]) => void) {
    this.stdin = stdin;
    this.io = io;
    this.historyFile = options.historyFile;
    this.warn = options.warn;
    this.editor = new LineEditor(this.loadHistory());
    this.prompt = options.color ? `${SGR.bold}${this.editor.prompt}${SGR.reset}` : this.editor.prompt;
    this.continuation = ' '.repeat(this.editor.promptWidth);
    this.onActions = onActions;
  }

  start(): void {
    this.active = true;
    this.enterRaw();
    this.stdin.on('data', this.onData);
    this.io.stdout.on('resize', this.draw);
    this.io.signals.once('exit', this.restore);
    this.draw();
  }

  stop(): void {
    if (!this.active) return;
    this.detach();
    this.restore();
  }

  /** The terminal is gone (SIGHUP): nothing more is drawn, and there is nothing to put back. */
  lose(): void {
    if (this.active) this.detach();
  }

  private detach(): void {
    this.active = false;
    this.stdin.removeListener('data', this.onData);
    this.io.stdout.removeListener('resize', this.draw);
    this.io.signals.removeListener('exit', this.restore);
    this.io.signals.removeListener('SIGCONT', this.onContinue);
  }

  /** Clear the input row so that a line can be printed in its place (show() draws it again below). */
  hide(): void {
    if (!this.active || this.hidden) return;
    this.hidden = true;
    this.io.stdout.write(this.clearDrawn());
  }

  show(): void {
    if (!this.hidden) return;
    this.hidden = false;
    this.draw();
  }

  private enterRaw(): void {
    this.stdin.setRawMode(true);
    this.io.stdout.write(BRACKETED_PASTE_ON);
  }

  private readonly restore = (): void => {
    this.io.stdout.write(this.clearDrawn() + BRACKETED_PASTE_OFF);
    this.stdin.setRawMode(false);
  };

  /**
   * Draw the line's rows (a line holds a line break once pasted or typed with Alt-Enter) and put the cursor
   * where the editor says. The rows shown are at most the terminal's height less two, so the output above
   * is never pushed out of sight entirely.
   */
  private readonly draw = (): void => {
    if (!this.active || this.hidden) return;
    const maxRows = Math.max(1, (this.io.stdout.rows ?? 24) - 2);
    const { rows, firstRow, cursorRow, cursorColumn } = this.editor.render(this.io.stdout.columns ?? 80, maxRows);
    const drawn = rows.map((row, i) => (i === 0 && firstRow === 0 ? this.prompt : this.continuation) + row).join('\n');
    const up = rows.length - 1 - cursorRow;
    const column = this.editor.promptWidth + cursorColumn;
    this.io.stdout.write(`${this.clearDrawn()}${drawn}${up > 0 ? `\x1b[${up}A` : ''}\r${column > 0 ? `\x1b[${column}C` : ''}`);
    this.drawnCursorRow = cursorRow;
  };

  /** Back to the first row drawn, and clear from there down. */
  private clearDrawn(): string {
    const up = this.drawnCursorRow;
    this.drawnCursorRow = 0;
    return up > 0 ? `\r\x1b[${up}A\x1b[J` : CLEAR_BELOW;
  }

  private readonly onData = (chunk: Buffer): void => {
    const actions = this.editor.feed(this.decoder.write(chunk));
    for (const action of actions) {
      if (action.type === 'line') this.commit(action.text);
      if (action.type === 'suspend') this.suspend();
      if (action.type === 'clear-screen') this.io.stdout.write(CLEAR_SCREEN);
    }
    this.draw();
    this.onActions(actions);
  };

  /** A line sent: it stays on screen above the new, empty input line. */
  private commit(text: string): void {
    this.io.stdout.write(`${this.clearDrawn()}${this.prompt}${text.replace(/\t/g, ' ').replace(/\n/g, '\n' + this.continuation)}\n`);
    this.saveHistory(text);
  }

  /** Ctrl-Z: raw mode turns the key into a byte, so stop the process as the terminal would have. */
  private suspend(): void {
    const suspend = this.io.suspend;
    if (suspend === undefined) return;
    this.restore();
    this.io.signals.once('SIGCONT', this.onContinue);
    suspend();
  }

  private readonly onContinue = (): void => {
    if (!this.active) return;
    this.enterRaw();
    this.draw();
  };

  private loadHistory(): string[] {
    if (this.historyFile === null) return [];
    let text: string;
    try {
      text = readFileSync(this.historyFile, 'utf8');
    } catch {
      return []; // no history yet
    }
    return text.split('\n').map(decodeHistoryEntry).filter((entry) => entry !== '');
  }

  private saveHistory(text: string): void {
    if (this.historyFile === null || text === '' || this.historyFailed) return;
    try {
      // The default file's directory (~/.local/state/wsc) may not exist yet; it holds what was typed, so 0700.
      mkdirSync(dirname(this.historyFile), { recursive: true, mode: 0o700 });
      appendFileSync(this.historyFile, encodeHistoryEntry(text) + '\n', { mode: 0o600 });
    } catch (error) {
      // The session goes on without it, and the user is told once.
      this.warn(`cannot write the history to ${this.historyFile}: ${describeFileError(error as NodeJS.ErrnoException)}; going on without it`);
      this.historyFailed = true;
    }
  }
}

/**
 * The history file holds one entry per line, as typed. An entry of several lines (pasted, or Alt-Enter)
 * is written as RS (0x1e) and its JSON string, which holds no line break; RS never starts a typed line.
 */
function encodeHistoryEntry(text: string): string {
  return text.includes('\n') ? '\x1e' + JSON.stringify(text) : text;
}

/** An entry as the editor holds it; the file may have been edited, so no control character gets through. */
function decodeHistoryEntry(line: string): string {
  if (!line.startsWith('\x1e')) return neutraliseControls(line);
  try {
    const text: unknown = JSON.parse(line.slice(1));
    return typeof text === 'string' ? text.split('\n').map(neutraliseControls).join('\n') : '';
  } catch {
    return '';
  }
}

// ---- the password prompt

/** --auth USER without a password: ask on the terminal, as ssh does. Returns the password, or an exit status. */
async function askForPassword(user: string, io: ClientIo): Promise<string | number> {
  if (io.stdin.isTTY !== true) {
    io.stderr.write(`wsc: --auth ${user} has no password and stdin is not a terminal to ask for it; give USER:PASSWORD in WSC_AUTH or --auth-file FILE\n`);
    return ExitStatus.USAGE;
  }
  const password = await readHidden(io.stdin as RawTerminalInput, io.stderr, `Password for ${user}: `);
  if (password !== null) return password;
  io.stderr.write('wsc: no password given\n');
  return ExitStatus.FAILURE;
}

/**
 * One line typed without echo (raw mode), through the editor's KeyReader, so that no escape sequence (an
 * arrow key, say) ever becomes part of the password. Backspace and Ctrl-U edit; Ctrl-C, or Ctrl-D on
 * nothing, cancel (null). What was typed after Enter is left on stdin, for the chat.
 */
function readHidden(stdin: RawTerminalInput, stderr: Writable, prompt: string): Promise<string | null> {
  // Raw mode (no echo) first: what is typed as soon as the prompt shows must not be echoed.
  stdin.setRawMode(true);
  stderr.write(prompt);
  return new Promise((resolve) => {
    const keys = new KeyReader();
    const decoder = new StringDecoder('utf8');
    let typed: string[] = [];
    const finish = (value: string | null, ahead: string) => {
      stdin.removeListener('data', onData);
      stdin.setRawMode(false);
      stdin.pause();
      if (ahead !== '') stdin.unshift(Buffer.from(ahead));
      stderr.write('\n');
      resolve(value);
    };
    const onData = (chunk: Buffer) => {
      const text = decoder.write(chunk);
      // Enter ends the password (no escape sequence holds a CR or an LF).
      const enter = text.search(/[\r\n]/);
      for (const key of keys.read(enter < 0 ? text : text.slice(0, enter))) {
        if (key.type === 'text') typed.push(...key.text);
        else if (key.name === 'interrupt' || (key.name === 'delete-or-eof' && typed.length === 0)) return finish(null, '');
        else if (key.name === 'backspace') typed.pop();
        else if (key.name === 'kill-start') typed = [];
      }
      // Typed ahead after Enter: chat input, as lines.
      if (enter >= 0) finish(typed.join(''), text.slice(enter + 1).replace(/^\n/, '').replace(/\r/g, '\n'));
    };
    stdin.on('data', onData);
    stdin.resume();
  });
}

// § 12  The client
//
// The life of the process, which outlives any one connection: stdin, stdout, the terminal and the signals
// stay while attempts come and go. ChatClient wires the parts together: input to the open attempt, the
// terminal line to Output, a quit to whichever attempt is current. Its run() is a loop: attempt, follow a
// redirect (-L), back off (--reconnect), attempt again.

const RECONNECT_BASE_MS = 500;
const RECONNECT_MAX_MS = 30_000;
/** A connection open this long resets the backoff. */
const STABLE_CONNECTION_MS = 10_000;

/** Exponential backoff with jitter: about 0.5 s, doubling, capped at 30 s. */
export function reconnectDelay(attempt: number, random = Math.random): number {
  const base = Math.min(RECONNECT_MAX_MS, RECONNECT_BASE_MS * 2 ** Math.min(attempt, 16));
  return Math.round(base * (0.75 + random() * 0.5));
}

/**
 * The client's life: the loop over attempts, the routing of input (--slash commands included) to the open
 * attempt, --count, -w, and quitting (Ctrl-D, Ctrl-C, SIGTERM, a second Ctrl-C).
 */
class ChatClient implements AttemptHost, InputHost {
  private readonly options: CliOptions;
  private readonly output: Output;
  private readonly io: ClientIo;
  private readonly input: LineInput;
  /** The input line, when both ends are terminals and the role sends. */
  private readonly terminalLine: TerminalLine | null;
  readonly interactive: boolean;
  /** Where to connect: the command line's target, or where redirects led (-L). */
  private target: Target;
  /** False once a redirect led to another host: credentials are not sent there. */
  private sendCredentials = true;
  private attempt: Attempt | null = null;
  /**
   * The client is to close with this, as soon as the connection is open: because input ended (what was read
   * goes first, and --reconnect retries until it has), or because the user quit (which ends the retrying).
   */
  private quitRequest: { code: number; reason: string; byUser: boolean } | null = null;
  private interrupts = 0;
  private readonly backoffTimer = new Timer(() => this.endBackoff());
  /** -w: after input ended, how long to keep receiving before closing. */
  private readonly waitTimer = new Timer(() => this.quit(CloseCode.NORMAL));
  /** A connection has opened, so the -x messages have gone out. */
  private everOpened = false;
  /** Messages printed, for --count. */
  private shown = 0;
  private wakeFromBackoff: (() => void) | null = null;
  /** Where the first fragment of the line going out in pieces went. */
  private fragmentsTo: Attempt | null = null;

  constructor(options: CliOptions, output: Output, io: ClientIo) {
    this.options = options;
    this.output = output;
    this.io = io;
    this.target = options.target;
    const sends = options.target.role !== 'consumer';
    // `-f -`: main() has read stdin, to its end, into its message.
    const execute = options.execute.map((message) => (message === 'stdin' ? options.stdinMessage ?? EMPTY : message));
    this.input = new LineInput(io, output, { ...options, sends, execute, stdinIsMessage: options.stdinMessage !== null, jsonInput: options.jsonInput }, this);
    const raw = sends ? rawTerminal(io) : null;
    const warn = (text: string) => output.error(text);
    this.terminalLine = raw && new TerminalLine(raw, io, { color: output.colorful, historyFile: options.historyFile, warn }, this.onEditorActions);
    this.interactive = sends && this.input.isTTY;
  }

  async run(): Promise<number> {
    this.listen(true);
    const replaced = this.options.replacedHeaders;
    // A browser's "Copy as cURL" carries the handshake's own headers: each attempt makes its own.
    if (this.options.verbose && replaced.length > 0) this.output.trace(`-H ${[...new Set(replaced)].join(', ')}: replaced by the client's own`);
    let status: number;
    try {
      status = await this.attempts();
    } finally {
      // Whatever happened, stdin, the terminal and the signals are let go.
      this.waitTimer.clear();
      this.backoffTimer.clear();
      this.listen(false);
    }
    // A script must be able to tell that input was lost or refused, or that the answer never came (a failure says why itself).
    if (this.input.unsent > 0 || this.input.failed) status = ExitStatus.FAILURE;
    if (status === ExitStatus.OK && this.shown < this.options.count && this.options.count !== Infinity) {
      this.output.error(`got ${this.shown} of ${this.options.count} message${this.options.count === 1 ? '' : 's'}`);
      status = ExitStatus.FAILURE;
    }
    return status;
  }

  /**
   * Attempt, follow a redirect (-L), back off (--reconnect), attempt again; the last attempt's status. With
   * --reconnect, input that ended before it could be sent is retried until it is; the user's quit stops that.
   */
  private async attempts(): Promise<number> {
    let redirects = 0;
    for (let attempt = 0; ; attempt++) {
      const result = await this.connectOnce();
      if (result.redirect) {
        if (!this.followRedirect(result.redirect, redirects++)) return result.status;
        attempt--;
        continue;
      }
      if (!this.options.reconnect || !result.retry || this.quitRequest?.byUser) return result.status;
      if (this.quitRequest !== null && !this.input.pending) return result.status;
      if (result.openMs >= STABLE_CONNECTION_MS) attempt = 0;
      await this.backOff(attempt);
      if (this.quitRequest?.byUser) return result.status;
    }
  }

  /** Input, signals, stdout errors and the terminal line: on for the client's life, then off. */
  private listen(on: boolean): void {
    if (on) {
      this.input.start(this.terminalLine !== null);
      this.output.setInputLine(this.terminalLine);
      this.terminalLine?.start();
    } else {
      // The terminal first: stopping the input destroys stdin, after which raw mode cannot be left.
      this.terminalLine?.stop();
      this.output.setInputLine(null);
      this.input.stop();
    }
    const method = on ? 'on' : 'removeListener';
    this.io.signals[method]('SIGINT', this.interrupt);
    this.io.signals[method]('SIGTERM', this.interrupt);
    this.io.signals[method]('SIGHUP', this.hangUp);
    this.output.stdout[method]('error', this.onStdoutError);
    this.io.stdin[method]('error', this.onStdinError);
  }

  /**
   * SIGHUP: the terminal is gone (its window was closed). A quit with 1001, going away, that writes nothing
   * more to it; with no connection open, the attempt ends at once, as an interrupt does.
   */
  private readonly hangUp = (): void => {
    this.terminalLine?.lose();
    this.output.loseTerminal();
    if (this.openAttempt === null) return this.interrupt();
    this.quit(CloseCode.GOING_AWAY);
  };

  /** stdin failed (EIO from a terminal that hung up, say): for the client, input has ended. */
  private readonly onStdinError = (): void => {
    if (!this.input.finished) this.input.end();
  };

  private readonly onStdoutError = (error: NodeJS.ErrnoException): void => {
    // The reader went away (`| head -1`): leave quietly, telling the server we are going away.
    if (error.code !== 'EPIPE') this.output.error(`cannot write to stdout: ${error.message}`);
    this.output.stdout.destroy();
    this.quit(CloseCode.GOING_AWAY);
  };

  private async connectOnce(): Promise<AttemptResult> {
    const attempt = new Attempt(this.options, this.target, this.output, this, requestHeaders(this.options, this.sendCredentials));
    this.attempt = attempt;
    const result = await attempt.run();
    this.attempt = null;
    return result;
  }

  // ---- redirects and backoff

  /** Whether to follow a 3xx answer; says why not, or where to. */
  private followRedirect(redirect: { status: number; location: string }, followed: number): boolean {
    const next = redirectTarget(this.target, redirect.location);
    if (typeof next === 'string') {
      this.output.error(next);
      return false;
    }
    if (!this.options.followRedirects) {
      this.output.error(`the server redirects to ${targetUrl(next)} (use -L to follow redirects)`);
      return false;
    }
    if (followed >= this.options.maxRedirects) {
      this.output.error(`too many redirects (more than ${this.options.maxRedirects}; see --max-redirects)`);
      return false;
    }
    // Credentials go only to the host they were given for.
    if (next.host !== this.options.target.host) this.sendCredentials = false;
    const dropped = !this.sendCredentials && hasCredentials(this.options) ? ' (credentials are not sent to another host)' : '';
    this.output.status(`redirected (${redirect.status}) to ${targetUrl(next)}${dropped}`);
    this.target = next;
    return true;
  }

  private backOff(attempt: number): Promise<void> {
    const delay = reconnectDelay(attempt);
    const queued = this.input.queued;
    this.output.status(`reconnecting in ${(delay / 1000).toFixed(1)} s (attempt ${attempt + 1}${queued ? `, ${queued} line${queued === 1 ? '' : 's'} queued` : ''})`);
    return new Promise<void>((resolve) => {
      this.wakeFromBackoff = resolve;
      this.backoffTimer.arm(delay);
    });
  }

  private endBackoff(): void {
    this.backoffTimer.clear();
    const wake = this.wakeFromBackoff;
    this.wakeFromBackoff = null;
    wake?.();
  }


  // ---- AttemptHost

  /** OPEN: the -x messages and the lines that waited go first, then a quit that waited. */
  opened(attempt: Attempt): void {
    this.everOpened = true;
    this.input.sendQueued();
    if (this.shown >= this.options.count) this.quit(CloseCode.NORMAL); // --count 0: connect, send what waited, close
    if (this.quitRequest) attempt.close(this.quitRequest.code, this.quitRequest.reason);
    else this.startWaitWhenInputDone();
  }

  /** The messages to print: those --filter matches, up to what --count still allows; then the count is done. */
  pick(event: MessageEvent): MessageEvent | null {
    const left = this.options.count - this.shown;
    let ranges = this.options.filter === null ? event.ranges : this.matching(event, this.options.filter);
    if (ranges.length > 2 * left) ranges = ranges.slice(0, 2 * left);
    if (ranges.length === 0) return null;
    this.shown += ranges.length / 2;
    if (this.shown >= this.options.count) this.quit(CloseCode.NORMAL);
    return ranges === event.ranges ? event : { ...event, ranges };
  }

  /** --filter: the ranges of the messages it matches, tested on the text (a binary message: as it is printed). */
  private matching(event: MessageEvent, filter: RegExp): number[] {
    const ranges: number[] = [];
    const { bytes } = event;
    for (let i = 0; i < event.ranges.length; i += 2) {
      const start = event.ranges[i]!, end = event.ranges[i + 1]!; // ranges holds [start, end) pairs
      const shown = event.type === 'text' ? bytes.toString('utf8', start, end) : showBinary(bytes.subarray(start, end), this.options.binaryEncoding);
      if (filter.test(shown)) ranges.push(start, end);
    }
    return ranges;
  }

  pauseInput(): void {
    this.input.pause('socket');
  }

  resumeInput(): void {
    this.input.resume('socket');
  }

  // ---- InputHost

  /** The attempt lines can go to now: an open one (before OPEN or between attempts, lines wait). */
  private get openAttempt(): Attempt | null {
    const attempt = this.attempt;
    return attempt === null || attempt.finished || attempt.state === 'HANDSHAKING' ? null : attempt;
  }

  sendLines(lines: readonly Buffer[]): number | null {
    const attempt = this.openAttempt;
    return attempt === null ? null : this.deliver(attempt, lines);
  }

  /** A long line's fragments go to the connection its first one went to: on another, the line is lost. */
  sendFragment(fragment: Buffer, { first, last }: { first: boolean; last: boolean }): boolean | null {
    const attempt = this.openAttempt;
    if (first) this.fragmentsTo = attempt;
    if (attempt === null) return first ? null : false;
    if (attempt !== this.fragmentsTo) return false;
    if (first && this.options.slash) {
      // A command is never this long: it is not sent, and the line counts as not sent.
      const line = parseSlashLine(fragment);
      if (line.type === 'command') return false;
      fragment = line.text;
    }
    return attempt.sendFragment(fragment, { last });
  }

  /**
   * End of input (its last line is complete). Then quit at once (Ctrl-D on a terminal, or with neither -w
   * nor --count), or keep receiving: for the -w wait, or until --count messages came.
   */
  inputEnded(): void {
    if (this.input.isTTY || (this.options.waitMs === null && this.options.count === Infinity)) this.quit(CloseCode.NORMAL, '', false);
    else this.startWaitWhenInputDone();
  }

  /** -w: once the -x messages went out and stdin is done, receive for the wait, then close. */
  private startWaitWhenInputDone(): void {
    const waitMs = this.options.waitMs;
    if (waitMs === null || waitMs === Infinity || !this.everOpened || !this.input.finished || this.waitTimer.armed) return;
    this.waitTimer.arm(waitMs);
  }

  /** Keys from the input line: lines in order, then Ctrl-D (end of input) or Ctrl-C where they came. */
  private readonly onEditorActions = (actions: EditorAction[]): void => {
    let lines: string[] = [];
    for (const action of actions) {
      if (action.type === 'line') {
        lines.push(action.text);
        continue;
      }
      this.input.typed(lines);
      lines = [];
      if (action.type === 'eof') this.input.end();
      else if (action.type === 'interrupt') this.interrupt();
    }
    this.input.typed(lines);
  };

  /** Lines on an open connection: chat messages, or with --slash possibly commands, in order. Returns how many were not sent. */
  private deliver(attempt: Attempt, lines: readonly Buffer[]): number {
    if (!this.options.slash) return lines.length - attempt.sendLines(lines);
    let unsent = 0;
    let messages: Buffer[] = [];
    for (const line of lines.map(parseSlashLine)) {
      if (line.type === 'message') {
        messages.push(line.text);
        continue;
      }
      unsent += messages.length - attempt.sendLines(messages);
      messages = [];
      this.runCommand(attempt, line);
    }
    return unsent + messages.length - attempt.sendLines(messages);
  }

  /** --slash commands: control frames by hand. Invalid ones are refused here, never sent. */
  private runCommand(attempt: Attempt, { name, words, rest }: Extract<SlashLine, { type: 'command' }>): void {
    const refuse = (why: string) => this.output.error(`/${name}: ${why}`);
    switch (name) {
      case 'ping':
      case 'pong': {
        const payload = Buffer.from(rest, 'utf8');
        if (payload.length > MAX_CONTROL_PAYLOAD) return refuse(`payload of ${payload.length} bytes; a control frame carries at most 125`);
        if (!attempt.acceptsMessages) return refuse('not connected');
        if (name === 'ping') attempt.ping(payload);
        else attempt.pong(payload);
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

  // ---- quitting

  private quit(code: number, reason = '', byUser = true): void {
    this.input.quit();
    this.quitRequest = { code, reason, byUser };
    this.endBackoff();
    // Before OPEN the quit waits, so that the lines typed before it go first (see opened).
    if (this.attempt && this.attempt.state !== 'HANDSHAKING') this.attempt.close(code, reason);
  }

  /**
   * Ctrl-C or SIGTERM: close with 1000. While no connection is open there is nothing to close: the attempt
   * ends at once (exit 1). A second one exits without waiting for the server.
   */
  private readonly interrupt = (): void => {
    this.interrupts++;
    const open = this.openAttempt !== null;
    if (this.interrupts > 1 || !open) {
      if (open) this.output.error('interrupted again: exiting without waiting for the server');
      this.input.quit();
      this.quitRequest = { code: CloseCode.NORMAL, reason: '', ...this.quitRequest, byUser: true };
      this.endBackoff();
      this.attempt?.abort('interrupted', open ? 'interrupted' : 'interrupted while connecting');
      return;
    }
    this.quit(CloseCode.NORMAL);
  };
}

// § 13  main
//
// The program: parse the command line, complete and freeze the options (a password typed at the prompt
// included, so that Output knows every secret it must keep out of what it prints), run the client, and
// return the exit status. Importing this file runs nothing: main() runs only when the file is the program.

/** Parse the command line and run the client; returns the exit status (0 closed normally, 1 failed, 2 usage). */
export async function main(argv: string[], io: ClientIo = processIo()): Promise<number> {
  const program = io.program ?? 'wsc';
  let options: CliOptions | 'help' | 'version';
  const usageError = (error: UsageError) => {
    io.stderr.write(`wsc: ${redactUrlPasswords(error.message)}\nTry '${program} --help' for more information.\n`);
    return ExitStatus.USAGE;
  };
  try {
    options = parseCommandLine(argv, io.env);
  } catch (error) {
    if (!(error instanceof UsageError)) throw error;
    return usageError(error);
  }
  if (options === 'help' || options === 'version') {
    io.stdout.write(options === 'help' ? `${usage(program)}\n` : `wsc ${VERSION}\n`);
    return ExitStatus.OK;
  }
  // The arguments may hold a password: `ps` shows only the URL from here on (other users can run ps).
  io.setTitle?.(`wsc ${targetUrl(options.target)}`);
  if (options.authUser !== null) {
    const password = await askForPassword(options.authUser, io);
    if (typeof password === 'number') return password;
    options = withPassword(options, password);
  }
  for (const warning of options.warnings) io.stderr.write(`wsc: ${warning}\n`);
  if (options.execute.includes('stdin')) {
    const message = await readToEnd(io.stdin);
    if (!options.sendBinary && !isUtf8(message)) return usageError(new UsageError('-f -: stdin is not UTF-8 text (--binary sends it as a BINARY message)'));
    options = Object.freeze({ ...options, stdinMessage: message });
  }
  const output = new Output(Object.freeze({ ...options, secrets: secretsOf(options) }), io);
  return new ChatClient(options, output, io).run();
}

/** `-f -`: stdin to its end, as one message. */
async function readToEnd(stdin: Readable): Promise<Buffer> {
  const chunks: Buffer[] = [];
  for await (const chunk of stdin) chunks.push(typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer));
  return Buffer.concat(chunks);
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

/**
 * The process does not outlive its answer by more than a second, whatever is left open (a stdin that never
 * ends, a socket): only stdout and stderr still handing their last bytes to a slow reader are waited for.
 */
function exitWhenWritten(): void {
  if (process.stdout.writableLength > 0 || process.stderr.writableLength > 0) setTimeout(exitWhenWritten, 100).unref();
  else process.exit();
}

if (isEntryPoint()) {
  main(process.argv.slice(2))
    .then(
      (code) => {
        process.exitCode = code;
      },
      (error: unknown) => {
        // Not an expected failure (those are one line and an exit status): one line still; WSC_DEBUG=1 shows where.
        const debug = Boolean(process.env.WSC_DEBUG);
        const detail = error instanceof Error ? (debug ? error.stack : error.message) : String(error);
        process.stderr.write(`wsc: internal error: ${detail}${debug ? '' : ' (WSC_DEBUG=1 shows where)'}\n`);
        process.exitCode = ExitStatus.FAILURE;
      },
    )
    .finally(() => setTimeout(exitWhenWritten, 1000).unref());
}

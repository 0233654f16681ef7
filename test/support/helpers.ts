// Test helpers: run the real client as a child process (the same file a user runs, loaded through tsx),
// or in this process through main() with stand-in streams, where the process boundary is not under test.

import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import { readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo, Server as NetServer } from 'node:net';
import { join } from 'node:path';
import { PassThrough, type Writable } from 'node:stream';
import type { TLSSocket } from 'node:tls';
import { fileURLToPath } from 'node:url';
import { WebSocketServer, type PerMessageDeflateOptions } from 'ws';
import { main, parseCommandLine, type CliOptions } from '../../client.ts';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const CLIENT = fileURLToPath(new URL('../../client.ts', import.meta.url));
/** The client as a user's `npx tsx client.ts` runs it, in one process: Node with tsx's loader. */
export const CLIENT_COMMAND: readonly string[] = [process.execPath, '--import', 'tsx', CLIENT];

/** `script` (util-linux), which gives a command a pseudo-terminal; terminal tests skip without it. */
export const hasScript = spawnSync('script', ['--version']).status === 0;
/** openssl, which makes the certificates of the TLS tests; they skip without it. */
export const hasOpenssl = spawnSync('openssl', ['version']).status === 0;

/** One word for `sh -c`, whatever it holds. */
export const shellQuote = (word: string) => `'${word.replace(/'/g, `'\\''`)}'`;

/** A process's peak resident memory so far, from the kernel (VmHWM in /proc/PID/status), in MB; NaN if unknown. */
export function peakResidentMB(pid: number): number {
  try {
    return Number(/^VmHWM:\s+(\d+) kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]) / 1024;
  } catch {
    return NaN;
  }
}

/** A run of the client, in a child process or in-process: what it printed, and how it ended. */
export interface RunHandle {
  /** The client's stdin (null when it was given /dev/null). */
  stdin: Writable | null;
  /** Send the client SIGINT or SIGTERM. */
  kill(signal: 'SIGINT' | 'SIGTERM'): void;
  /** Everything the client wrote to stdout / stderr so far. */
  stdout(): string;
  stdoutBytes(): Buffer;
  stderr(): string;
  /** Resolves when some output matches; rejects after timeoutMs. */
  waitFor(stream: 'stdout' | 'stderr', pattern: RegExp | string, timeoutMs?: number): Promise<void>;
  /** Resolves with the exit status (a killed process gives 128 + signal number). */
  exit: Promise<number>;
  /** Milliseconds from spawn to exit, once exited. */
  elapsedMs(): number;
}

export interface ClientRun extends RunHandle {
  child: ChildProcess;
}

export interface RunOptions {
  /** Text written to stdin, then stdin is closed; omit to keep stdin open (a pipe) until the test ends it. */
  input?: string | Buffer;
  /** 'ignore' gives the client /dev/null as stdin, as CI does. */
  stdin?: 'pipe' | 'ignore';
  env?: NodeJS.ProcessEnv;
  /** Kill the client if it has not exited by then (a test that hangs must fail, not stall the suite). */
  killAfterMs?: number;
  /** Run `node client.ts` with this Node (>= 22.18, type stripping) instead of Node + tsx. */
  nodeBinary?: string;
}

/** Proxy settings of the test's own environment must not reroute the client's 127.0.0.1 connections. */
const PROXY_VARIABLES = ['http_proxy', 'https_proxy', 'no_proxy', 'HTTP_PROXY', 'HTTPS_PROXY', 'NO_PROXY'];

const SIGNALS: Record<string, number> = { SIGINT: 2, SIGKILL: 9, SIGTERM: 15 };

export function runClient(args: string[], options: RunOptions = {}): ClientRun {
  const env: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '' };
  for (const name of PROXY_VARIABLES) delete env[name];
  const command = options.nodeBinary ? [options.nodeBinary, CLIENT] : CLIENT_COMMAND;
  const child = spawn(command[0]!, [...command.slice(1), ...args], {
    cwd: ROOT,
    stdio: [options.stdin ?? 'pipe', 'pipe', 'pipe'],
    env: { ...env, ...options.env },
  });
  if (child.stdin) {
    child.stdin.on('error', () => {}); // the client may exit before reading all input
    if (options.input !== undefined) child.stdin.end(options.input);
  }
  const exit = new Promise<number>((resolve) => {
    child.on('close', (code, signal) => resolve(code ?? 128 + (SIGNALS[signal ?? ''] ?? 0)));
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), options.killAfterMs ?? 20_000);
  void exit.then(() => clearTimeout(killer));
  return { child, stdin: child.stdin, kill: (signal) => child.kill(signal), ...watchRun(child.stdout!, child.stderr!, exit) };
}

/**
 * The client's main() in this process, with stand-ins for stdin, stdout and stderr (never terminals) and
 * an environment without proxy settings. A run that does not end within killAfterMs gives status 137.
 */
export function runInProcess(args: string[], options: Pick<RunOptions, 'input' | 'env' | 'killAfterMs' | 'stdin'> = {}): RunHandle {
  const stdin = new PassThrough();
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  if (options.input !== undefined) stdin.end(options.input);
  else if (options.stdin === 'ignore') stdin.end();
  const signals = new EventEmitter();
  const base: NodeJS.ProcessEnv = { ...process.env, NO_COLOR: '' };
  for (const name of PROXY_VARIABLES) delete base[name];
  const env = { ...base, ...options.env };
  let killer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<number>((resolve) => {
    killer = setTimeout(() => resolve(137), options.killAfterMs ?? 20_000);
  });
  const exit = Promise.race([main(args, { stdin, stdout, stderr, env, signals }), timedOut]).then((status) => {
    clearTimeout(killer);
    // Let the stand-in streams hand over what was written last.
    return new Promise<number>((resolve) => setImmediate(() => resolve(status)));
  });
  return { stdin, kill: (signal) => signals.emit(signal), ...watchRun(stdout, stderr, exit) };
}

/** Collect a run's output; waitFor() resolves when it matches. */
function watchRun(stdoutStream: NodeJS.ReadableStream, stderrStream: NodeJS.ReadableStream, exitStatus: Promise<number>): Omit<RunHandle, 'stdin' | 'kill'> {
  const started = Date.now();
  let ended = 0;
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const waiters: (() => void)[] = [];
  const notify = () => {
    for (const waiter of [...waiters]) waiter();
  };
  stdoutStream.on('data', (chunk: Buffer) => {
    // A copy: once written, the client may reuse its memory (a real stdout has its own copy by then).
    out.push(Buffer.from(chunk));
    notify();
  });
  stderrStream.on('data', (chunk: Buffer) => {
    err.push(chunk);
    notify();
  });
  const exit = exitStatus.then((status) => {
    ended = Date.now();
    notify();
    return status;
  });
  const stdout = () => Buffer.concat(out).toString('utf8');
  const stderr = () => Buffer.concat(err).toString('utf8');
  return {
    stdout,
    stdoutBytes: () => Buffer.concat(out),
    stderr,
    exit,
    elapsedMs: () => (ended || Date.now()) - started,
    waitFor(stream, pattern, timeoutMs = 10_000) {
      return new Promise<void>((resolve, reject) => {
        const test = () => {
          const text = stream === 'stdout' ? stdout() : stderr();
          return typeof pattern === 'string' ? text.includes(pattern) : pattern.test(text);
        };
        if (test()) return resolve();
        const check = () => {
          if (test()) {
            done();
            resolve();
          } else if (ended) {
            done();
            reject(new Error(`client exited before ${stream} matched ${pattern}; stderr: ${stderr()}`));
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for ${stream} to match ${pattern}; stderr so far: ${stderr()}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.splice(waiters.indexOf(check), 1);
        };
        waiters.push(check);
      });
    },
  };
}

/** The options a command line gives (with an empty environment); --help or --version throw. */
export function parsedOptions(argv: string[]): CliOptions {
  const options = parseCommandLine(argv, {});
  if (typeof options === 'string') throw new Error(`${argv.join(' ')} asks for --${options}`);
  return options;
}

export function delay(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** Run async jobs with at most `limit` at a time (the spawned clients are CPU-bound while starting). */
export async function inBatches<T>(items: T[], limit: number, job: (item: T) => Promise<void>): Promise<void> {
  const queue = [...items];
  await Promise.all(
    Array.from({ length: Math.min(limit, queue.length) }, async () => {
      for (let item = queue.shift(); item !== undefined; item = queue.shift()) await job(item);
    }),
  );
}

/**
 * A self-signed certificate `DIR/NAME.pem` with its key `DIR/NAME.key` (unencrypted), made by openssl;
 * `extra` adds to the request (e.g. a subjectAltName). Returns whether openssl succeeded.
 */
export function makeCertificate(dir: string, name: string, subject: string, extra: string[] = []): boolean {
  const args = ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-days', '2', '-subj', subject, ...extra, '-keyout', join(dir, `${name}.key`), '-out', join(dir, `${name}.pem`)];
  return spawnSync('openssl', args, { stdio: 'ignore' }).status === 0;
}

/** The client on a pseudo-terminal (`script` from util-linux): what reached the screen, typed input, the exit status. */
export interface PtyRun {
  child: ChildProcess;
  /** Everything the terminal showed so far. */
  screen(): string;
  /** Type on the terminal. */
  type(text: string): void;
  /** Resolves when the screen shows `text`; rejects after timeoutMs. */
  waitForScreen(text: string, timeoutMs?: number): Promise<void>;
  exit: Promise<number | null>;
}

/** Where a client on a pseudo-terminal keeps its default history: the test's, never the user's (removed at exit). */
const PTY_STATE_HOME = join(tmpdir(), `wsc-test-state-${process.pid}`);
process.once('exit', () => rmSync(PTY_STATE_HOME, { recursive: true, force: true }));

export function runOnPty(args: string[], env: NodeJS.ProcessEnv = {}, killAfterMs = 20_000): PtyRun {
  const command = [...CLIENT_COMMAND, ...args].map(shellQuote).join(' ');
  const base = { ...process.env, NO_COLOR: '', TERM: 'xterm', XDG_STATE_HOME: PTY_STATE_HOME };
  const child = spawn('script', ['-qfec', command, '/dev/null'], { cwd: ROOT, env: { ...base, ...env }, stdio: ['pipe', 'pipe', 'pipe'] });
  const out: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  const killer = setTimeout(() => child.kill('SIGKILL'), killAfterMs);
  const exit = new Promise<number | null>((resolve) => child.on('close', resolve)).finally(() => clearTimeout(killer));
  const screen = () => Buffer.concat(out).toString('utf8');
  return {
    child,
    screen,
    type: (text) => child.stdin!.write(text),
    async waitForScreen(text, timeoutMs = 10_000) {
      for (const started = Date.now(); !screen().includes(text); await delay(20)) {
        if (Date.now() - started > timeoutMs) throw new Error(`the screen never showed ${JSON.stringify(text)}; it shows ${JSON.stringify(screen())}`);
      }
    },
    exit,
  };
}

/**
 * A ws echo server on 127.0.0.1 (closed at teardown): each message comes back with its frame type, prefixed by
 * it with `tagged` ("text:…", "binary:…", so a test sees how it was sent). With `perMessageDeflate` it agrees
 * on compression, and compresses what it sends when it is at least `compressFrom` bytes.
 */
export async function startEchoServer(t: { teardown(fn: () => unknown): void }, options: { tagged?: boolean; perMessageDeflate?: PerMessageDeflateOptions; compressFrom?: number } = {}) {
  const wss = new WebSocketServer({ host: '127.0.0.1', port: 0, perMessageDeflate: options.perMessageDeflate ?? false });
  await new Promise<void>((resolve) => wss.once('listening', () => resolve()));
  const requests: string[] = [];
  const extensions: string[] = [];
  const received: { binary: boolean; data: Buffer }[] = [];
  wss.on('headers', (headers) => extensions.push(headers.find((h) => /^sec-websocket-extensions:/i.test(h)) ?? ''));
  wss.on('connection', (ws, request) => {
    requests.push(request.url ?? '');
    ws.on('message', (data: Buffer, binary) => {
      received.push({ binary, data });
      const echo = !options.tagged ? data : binary ? Buffer.concat([Buffer.from('binary:'), data]) : `text:${data.toString()}`;
      ws.send(echo, { binary, compress: data.length >= (options.compressFrom ?? 0) });
    });
  });
  t.teardown(() => new Promise<void>((resolve) => wss.close(() => resolve())));
  return { url: `ws://127.0.0.1:${(wss.address() as AddressInfo).port}`, requests, received, extensions };
}

/** Listen on 127.0.0.1 at a free port; resolves with the port. */
export async function listenOnLoopback(server: NetServer): Promise<number> {
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return (server.address() as AddressInfo).port;
}

/**
 * A wss:// server on 127.0.0.1 whose certificate (DIR/server.pem, for 127.0.0.1) is made now: it greets each
 * connection with "hello" and the client certificate's CN, if `clientCa` asks for one. Closed at teardown.
 */
export async function startTlsServer(t: { teardown(fn: () => unknown): void }, dir: string, clientCa?: string): Promise<{ port: number; url: string; ca: string }> {
  if (!makeCertificate(dir, 'server', '/CN=wsc server', ['-addext', 'subjectAltName=IP:127.0.0.1'])) throw new Error('openssl could not make a certificate');
  const httpsServer = createHttpsServer({
    key: readFileSync(join(dir, 'server.key')),
    cert: readFileSync(join(dir, 'server.pem')),
    ...(clientCa ? { ca: readFileSync(clientCa), requestCert: true, rejectUnauthorized: true } : {}),
  });
  const wss = new WebSocketServer({ server: httpsServer });
  wss.on('connection', (ws, request) => {
    const peer = (request.socket as TLSSocket).getPeerCertificate();
    ws.send(clientCa ? `hello ${peer.subject.CN}` : 'hello');
  });
  const port = await listenOnLoopback(httpsServer);
  t.teardown(() => {
    for (const client of wss.clients) client.terminate();
    httpsServer.close();
  });
  return { port, url: `wss://127.0.0.1:${port}/consumer`, ca: join(dir, 'server.pem') };
}

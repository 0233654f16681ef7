// The local chat server: the counterpart of the course's test server, built on the `ws` library.
// Paths /producer, /consumer and /both; text from producer/both connections goes to every consumer/both
// connection except the sender (--echo includes the sender). Run: npm run server -- [PORT] [--echo]
// [--ping-interval SECONDS]. Importing this file starts nothing; tests call startChatServer().

import { realpathSync } from 'node:fs';
import type { IncomingMessage } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { WebSocketServer, type WebSocket } from 'ws';

export interface ChatServerOptions {
  port?: number; // 0 picks a free port
  host?: string;
  echo?: boolean;
  /** Seconds between the server's PINGs; -1 (or 0) disables them. */
  pingInterval?: number;
  log?: (line: string) => void;
}

export interface ChatServer {
  port: number;
  wss: WebSocketServer;
  /** The next connection accepted (on `path`, if given), with its upgrade request: for tests. */
  nextConnection(path?: string): Promise<{ ws: WebSocket; request: IncomingMessage }>;
  close(): Promise<void>;
}

const ROLES = new Set(['producer', 'consumer', 'both']);

/** The next upgrade request the server accepts, with the connection (for tests). */
export async function nextRequest(server: ChatServer) {
  const { ws, request } = await server.nextConnection();
  return { ws, headers: request.headers, rawHeaders: request.rawHeaders, url: request.url ?? '' };
}

export async function startChatServer(options: ChatServerOptions = {}): Promise<ChatServer> {
  const log = options.log ?? (() => {});
  const wss = new WebSocketServer({ host: options.host ?? '127.0.0.1', port: options.port ?? 8001 });
  const receivers = new Set<WebSocket>();
  let nextId = 1;

  wss.on('connection', (ws, request) => {
    const id = nextId++;
    const role = (request.url ?? '').replace(/^\//, '').replace(/\?.*$/, '');
    const peer = `${request.socket.remoteAddress}:${request.socket.remotePort}`;
    if (!ROLES.has(role)) {
      log(`#${id} ${peer} ${request.url}: unknown path, closing with 1008`);
      ws.close(1008, 'path must be /producer, /consumer or /both');
      return;
    }
    log(`#${id} ${peer} connected as ${role}`);
    if (role !== 'producer') receivers.add(ws);
    let timer: NodeJS.Timeout | undefined;
    const interval = options.pingInterval ?? 20;
    if (interval > 0) timer = setInterval(() => ws.ping(`ping-${Date.now()}`), interval * 1000);
    ws.on('message', (data, isBinary) => {
      if (role === 'consumer') return;
      for (const receiver of receivers) {
        if ((receiver !== ws || options.echo) && receiver.readyState === receiver.OPEN) receiver.send(data, { binary: isBinary });
      }
    });
    ws.on('close', (code, reason) => {
      clearInterval(timer);
      receivers.delete(ws);
      log(`#${id} ${peer} closed: ${code}${reason.length ? ' ' + reason.toString() : ''}`);
    });
    ws.on('error', (error) => log(`#${id} ${peer} error: ${error.message}`));
  });

  await new Promise<void>((resolve, reject) => {
    wss.once('listening', resolve);
    wss.once('error', reject);
  });
  return {
    port: (wss.address() as AddressInfo).port,
    wss,
    nextConnection: (path) =>
      new Promise((resolve) => {
        const onConnection = (ws: WebSocket, request: IncomingMessage) => {
          if (path !== undefined && request.url !== path) return;
          wss.off('connection', onConnection);
          resolve({ ws, request });
        };
        wss.on('connection', onConnection);
      }),
    close: () =>
      new Promise<void>((resolve) => {
        for (const client of wss.clients) client.terminate();
        wss.close(() => resolve());
      }),
  };
}

async function main(argv: string[]): Promise<number> {
  let parsed;
  try {
    parsed = parseArgs({
      args: argv,
      allowPositionals: true,
      options: {
        echo: { type: 'boolean' },
        'ping-interval': { type: 'string' },
        host: { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
  } catch (error) {
    process.stderr.write(`server: ${(error as Error).message}\n`);
    return 2;
  }
  const usage = 'Usage: npm run server -- [PORT] [--echo] [--ping-interval SECONDS] [--host ADDRESS]';
  if (parsed.values.help) {
    process.stdout.write(usage + '\n');
    return 0;
  }
  const portText = parsed.positionals[0] ?? '8001';
  const port = Number(portText);
  const pingInterval = Number(parsed.values['ping-interval'] ?? '20');
  if (!/^\d+$/.test(portText) || port > 65535 || !Number.isFinite(pingInterval)) {
    process.stderr.write(`server: bad arguments\n${usage}\n`);
    return 2;
  }
  const server = await startChatServer({
    port,
    host: parsed.values.host ?? '127.0.0.1',
    echo: parsed.values.echo ?? false,
    pingInterval,
    log: (line) => process.stderr.write(`server: ${line}\n`),
  }).catch((error: Error) => {
    process.stderr.write(`server: cannot listen on port ${port}: ${error.message}\n`);
    return null;
  });
  if (!server) return 1;
  process.stderr.write(`server: listening on ws://${parsed.values.host ?? '127.0.0.1'}:${server.port}/ (paths /producer /consumer /both)${parsed.values.echo ? ', echo on' : ''}\n`);
  await new Promise<void>((resolve) => {
    const stop = () => resolve();
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  await server.close();
  return 0;
}

const entry = process.argv[1];
if (entry && realpathSync(entry) === realpathSync(fileURLToPath(import.meta.url))) {
  main(process.argv.slice(2)).then((code) => {
    process.exitCode = code;
  });
}

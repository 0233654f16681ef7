// A SOCKS5 proxy for the tests, written from RFC 1928 (and RFC 1929 for a user name and password) with
// node:net only, separately from the client's dialogue so that the client is not checked against itself.
// It records each CONNECT request (address type, host, port, user) and either refuses it with the reply
// code a test asks for, or connects to the destination and pipes bytes both ways. It is strict, as a real
// proxy may be: a greeting, a request or RFC 1929's message with the wrong version byte ends the dialogue.

import * as net from 'node:net';
import { listenOnLoopback } from './helpers.ts';

export interface SocksServerOptions {
  /** The user name and password the proxy requires (RFC 1929); without them it asks for none. */
  credentials?: { user: string; password: string };
  /** Refuse every CONNECT with this reply code (RFC 1928 section 6). */
  refuse?: number;
  /** The bound address in a successful reply: an IPv4 address (the default), an IPv6 one, or a name. */
  bound?: 'ipv4' | 'ipv6' | 'domain';
}

export interface SocksRequest {
  type: 'ipv4' | 'domain' | 'ipv6';
  host: string;
  port: number;
  user: string | null;
}

export interface SocksServer {
  port: number;
  requests: SocksRequest[];
  /** Connections that offered methods, with the methods they offered. */
  greetings: number[][];
  close(): Promise<void>;
}

const ADDRESS_TYPES: Record<number, SocksRequest['type']> = { 1: 'ipv4', 3: 'domain', 4: 'ipv6' };

/** A reply with the given code, and a bound address of the given type (RFC 1928 section 6). */
function reply(code: number, bound: SocksServerOptions['bound'] = 'ipv4'): Buffer {
  const address = bound === 'ipv6' ? Buffer.from([4, ...Buffer.alloc(15), 1]) : bound === 'domain' ? Buffer.from([3, 9, ...Buffer.from('localhost')]) : Buffer.from([1, 127, 0, 0, 1]);
  return Buffer.concat([Buffer.from([5, code, 0]), address, Buffer.from([0x1f, 0x90])]);
}

export async function startSocksServer(options: SocksServerOptions = {}): Promise<SocksServer> {
  const requests: SocksRequest[] = [];
  const greetings: number[][] = [];
  const sockets = new Set<net.Socket>();
  const server = net.createServer((client) => {
    sockets.add(client);
    client.on('close', () => sockets.delete(client));
    client.on('error', () => {});
    let buffer = Buffer.alloc(0);
    let state: 'greeting' | 'auth' | 'request' | 'done' = 'greeting';
    let user: string | null = null;
    const onData = (chunk: Buffer) => {
      buffer = Buffer.concat([buffer, chunk]);
      for (;;) {
        const used = step();
        if (used === 0) return;
        buffer = buffer.subarray(used);
        if (state === 'done') {
          client.off('data', onData);
          return;
        }
      }
    };
    /** One message of the dialogue, if it is all there: returns the bytes it took (0: wait for more). */
    const step = (): number => {
      if (state === 'greeting') {
        if (buffer.length < 2 || buffer.length < 2 + buffer[1]!) return 0;
        if (buffer[0] !== 5) return end(); // not SOCKS5
        const methods = [...buffer.subarray(2, 2 + buffer[1]!)];
        greetings.push(methods);
        const wanted = options.credentials ? 0x02 : 0x00;
        client.write(Buffer.from([5, methods.includes(wanted) ? wanted : 0xff]));
        if (!methods.includes(wanted)) client.end();
        state = methods.includes(wanted) ? (options.credentials ? 'auth' : 'request') : 'done';
        return 2 + methods.length;
      }
      if (state === 'auth') {
        if (buffer.length < 2) return 0;
        if (buffer[0] !== 1) return end(); // RFC 1929: the subnegotiation's version is 1
        const userLength = buffer[1]!;
        if (buffer.length < 3 + userLength) return 0;
        const passwordLength = buffer[2 + userLength]!;
        const total = 3 + userLength + passwordLength;
        if (buffer.length < total) return 0;
        user = buffer.subarray(2, 2 + userLength).toString('utf8');
        const password = buffer.subarray(3 + userLength, total).toString('utf8');
        const ok = user === options.credentials?.user && password === options.credentials?.password;
        client.write(Buffer.from([1, ok ? 0 : 1]));
        if (!ok) client.end();
        state = ok ? 'request' : 'done';
        return total;
      }
      return request();
    };
    /** A message that breaks the protocol: no answer, the connection closed. */
    const end = (): number => {
      state = 'done';
      client.end();
      return buffer.length;
    };
    const request = (): number => {
      if (buffer.length < 5) return 0;
      if (buffer[0] !== 5 || buffer[2] !== 0) return end();
      const type = ADDRESS_TYPES[buffer[3]!];
      const addressLength = type === 'ipv4' ? 4 : type === 'ipv6' ? 16 : 1 + buffer[4]!;
      const total = 4 + addressLength + 2;
      if (buffer.length < total) return 0;
      const address = buffer.subarray(4, 4 + addressLength);
      const host = type === 'ipv4' ? [...address].join('.')
        : type === 'ipv6' ? (address.toString('hex').match(/..../g) ?? []).join(':')
        : address.subarray(1).toString('utf8');
      const port = buffer.readUInt16BE(4 + addressLength);
      requests.push({ type: type ?? 'domain', host, port, user });
      state = 'done';
      if (options.refuse !== undefined || buffer[1] !== 1) {
        client.end(reply(options.refuse ?? 7));
        return total;
      }
      // Hold what the client sends next until the destination is connected; pipe() resumes it.
      client.pause();
      const rest = Buffer.from(buffer.subarray(total));
      const upstream = net.connect({ host, port }, () => {
        client.write(reply(0, options.bound));
        if (rest.length > 0) upstream.write(rest);
        upstream.pipe(client);
        client.pipe(upstream);
      });
      upstream.on('error', () => client.end(reply(5)));
      return total;
    };
    client.on('data', onData);
  });
  const port = await listenOnLoopback(server);
  return {
    port,
    requests,
    greetings,
    close: () => new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      server.close(() => resolve());
    }),
  };
}

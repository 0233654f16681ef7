// npm run demo: the local chat server (with --echo) on a free port, and an interactive `both` client
// attached to it in this terminal. Leaving the client (Ctrl-D or Ctrl-C) stops the server too.

import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { startChatServer } from './server.ts';

const client = fileURLToPath(new URL('../../client.ts', import.meta.url));
const server = await startChatServer({ port: 0, echo: true, pingInterval: 20 });
process.stderr.write(`demo: chat server on ws://127.0.0.1:${server.port}/ with --echo; starting a "both" client.\n`);
process.stderr.write('demo: type a line and press Enter: the server echoes it back. Ctrl-D or Ctrl-C leaves.\n');
// The client gets the terminal; the demo itself ignores Ctrl-C so that the client can close gracefully.
process.on('SIGINT', () => {});
const child = spawn(process.execPath, ['--import', 'tsx', client, '127.0.0.1', String(server.port), 'both', ...process.argv.slice(2)], {
  stdio: 'inherit',
});
child.on('close', async (code) => {
  await server.close();
  process.stderr.write('demo: client exited; server stopped.\n');
  process.exitCode = code ?? 1;
});

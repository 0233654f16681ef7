// Credentials: where they may come from (each source must reach the server's upgrade request), and where
// they must never go (the process list, -v, status and error lines, --json events).

import t from 'tap';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { hasScript, runClient, runInProcess, runOnPty } from './support/helpers.ts';
import { close, runAgainstFakeServer, validResponse } from './support/fake-server.ts';
import { startChatServer } from './support/server.ts';

const basic = (credentials: string) => `Basic ${Buffer.from(credentials).toString('base64')}`;
const SECRET = 's3cret-Pa55';

const dir = mkdtempSync(join(tmpdir(), 'wsc-credentials-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** The Authorization header of the one upgrade request a client run makes. */
async function authorizationSent(args: string[], env: NodeJS.ProcessEnv = {}) {
  const server = await startChatServer({ port: 0 });
  try {
    const seen = server.nextConnection();
    const client = runInProcess([...args, `ws://127.0.0.1:${server.port}/consumer`], { env });
    const connection = await Promise.race([seen, client.exit.then(() => null)]);
    // Once it is open: a quit before OPEN ends the attempt at once, with exit 1.
    if (connection !== null) await client.waitFor('stderr', 'connected to').catch(() => {});
    client.kill('SIGTERM');
    return { authorization: connection?.request.headers.authorization, status: await client.exit, stderr: client.stderr() };
  } finally {
    await server.close();
  }
}

t.test('Basic credentials from WSC_AUTH, from --auth-file, and --auth on the command line', async (t) => {
  const fromEnv = await authorizationSent([], { WSC_AUTH: `alice:${SECRET}` });
  t.equal(fromEnv.authorization, basic(`alice:${SECRET}`), 'WSC_AUTH');
  t.equal(fromEnv.status, 0);

  const file = join(dir, 'auth');
  writeFileSync(file, `bob:${SECRET}\n`, { mode: 0o600 });
  chmodSync(file, 0o600);
  const fromFile = await authorizationSent(['--auth-file', file]);
  t.equal(fromFile.authorization, basic(`bob:${SECRET}`), '--auth-file (its first line)');
  t.notMatch(fromFile.stderr, /warning/, 'a file only its owner reads: no warning');

  chmodSync(file, 0o644);
  const readable = await authorizationSent(['--auth-file', file]);
  t.equal(readable.authorization, basic(`bob:${SECRET}`), 'still used');
  t.match(readable.stderr, `wsc: warning: ${file} can be read by other users (mode 0644); chmod 600 ${file}\n`, 'but a warning, as ssh gives for keys');

  const commandLine = await authorizationSent(['--auth', `carol:${SECRET}`], { WSC_AUTH: 'ignored:x' });
  t.equal(commandLine.authorization, basic(`carol:${SECRET}`), '--auth wins over WSC_AUTH');
});

t.test('bad credential sources are usage errors, one line each', async (t) => {
  const empty = join(dir, 'empty');
  writeFileSync(empty, '', { mode: 0o600 });
  const noColon = join(dir, 'no-colon');
  writeFileSync(noColon, 'justauser\n', { mode: 0o600 });
  for (const [args, env, message] of [
    [['--auth-file', join(dir, 'missing')], {}, /^wsc: --auth-file: cannot read [^ ]*missing: no such file or directory\n/],
    [['--auth-file', empty], {}, /^wsc: the --auth-file file .* is empty\n/],
    [['--auth-file', noColon], {}, /^wsc: --auth-file .* must hold USER:PASSWORD on its first line\n/],
    [['--auth', 'a:b', '--auth-file', noColon], {}, /^wsc: --auth and --auth-file are alternatives: give one\n/],
    [[], { WSC_AUTH: 'nocolon' }, /^wsc: WSC_AUTH must be USER:PASSWORD\n/],
    [['--auth', 'alice'], {}, /^wsc: --auth alice has no password and stdin is not a terminal to ask for it; give USER:PASSWORD in WSC_AUTH or --auth-file FILE\n$/],
  ] as const) {
    const client = runInProcess([...args, 'ws://127.0.0.1:9/consumer'], { env, stdin: 'ignore' });
    t.equal(await client.exit, 2, `${args.join(' ') || JSON.stringify(env)}: exit 2`);
    t.match(client.stderr(), message);
  }
});

t.test('-v shows credential headers by size only; no line or JSON event carries a secret', async (t) => {
  const token = 'tok-9f8e7d6c5b4a';
  const { stderr, stdout, status } = await runAgainstFakeServer(
    async (session) => {
      // A server that echoes the password back, in a close reason.
      await session.send(close(1000, `bye alice ${SECRET}`));
      await session.waitForClose();
    },
    ['-v', '--json', '-H', `Authorization: Bearer ${token}`, '-H', 'Cookie: sid=abcdef123456', '--auth', `alice:${SECRET}`, 'consumer'],
    { respond: (key) => validResponse(key, ['Set-Cookie: sid=server-side-secret']) },
  );
  t.equal(status, 0);
  const everything = stderr + stdout;
  for (const secret of [SECRET, token, 'abcdef123456', 'server-side-secret', Buffer.from(`alice:${SECRET}`).toString('base64')]) {
    t.notOk(everything.includes(secret), `${secret} appears nowhere`);
  }
  t.match(stderr, `wsc: > Authorization: <redacted, ${`Bearer ${token}`.length} bytes>`);
  t.match(stderr, 'wsc: > Cookie: <redacted, 16 bytes>');
  t.match(stderr, 'wsc: < Set-Cookie: <redacted, 22 bytes>');
  t.match(stdout, `"reason":"bye alice <redacted, ${SECRET.length} bytes>"`, 'the echoed password is scrubbed from --json');
});

t.test('a URL password never appears: not in status lines, not in a usage error', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const client = runInProcess([`ws://alice:${SECRET}@127.0.0.1:${server.port}/consumer`]);
  await client.waitFor('stderr', 'connected');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
  t.notOk(client.stderr().includes(SECRET));
  const bad = runInProcess([`ws://alice:${SECRET}@[bad/consumer`]);
  t.equal(await bad.exit, 2);
  t.match(bad.stderr(), `wsc: not a valid URL: ws://alice:<redacted, ${SECRET.length} bytes>@[bad/consumer\n`);
});

t.test('while it runs, the process list shows the URL, not the arguments that hold a secret', async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const client = runClient(['--auth', `alice:${SECRET}`, '--passphrase', SECRET, `ws://127.0.0.1:${server.port}/consumer`]);
  await client.waitFor('stderr', 'connected to');
  const commandLine = readFileSync(`/proc/${client.child.pid}/cmdline`, 'utf8');
  client.kill('SIGTERM');
  t.equal(await client.exit, 0);
  t.notOk(commandLine.includes(SECRET), `ps shows ${JSON.stringify(commandLine.replace(/\0+$/, ''))}`);
  t.match(commandLine, `wsc ws://127.0.0.1:${server.port}/consumer`);
});


t.test('--auth USER on a terminal: the password is asked for without echo', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const seen = server.nextConnection();
  const run = runOnPty(['--auth', 'alice', `ws://127.0.0.1:${server.port}/consumer`], { NO_COLOR: '1' });
  t.teardown(() => run.child.kill('SIGKILL'));
  await run.waitForScreen('Password for alice: ');
  run.type(`${SECRET}\r`);
  const { request, ws } = await seen;
  t.equal(request.headers.authorization, basic(`alice:${SECRET}`), 'the typed password is sent');
  ws.close(1000);
  t.equal(await run.exit, 0);
  t.notOk(run.screen().includes(SECRET), `the password never reached the screen: ${JSON.stringify(run.screen())}`);
  t.match(run.screen(), /Password for alice: \r?\n/, 'a newline after the hidden input');

  // Keys that send escape sequences (Up, Left) are keys, never part of the password: "pw", Up, Left, "x".
  const again = server.nextConnection();
  const keys = runOnPty(['--auth', 'alice', `ws://127.0.0.1:${server.port}/consumer`], { NO_COLOR: '1' });
  t.teardown(() => keys.child.kill('SIGKILL'));
  await keys.waitForScreen('Password for alice: ');
  keys.type('pw\x1b[A\x1b[Dx\r');
  const second = await again;
  t.equal(second.request.headers.authorization, basic('alice:pwx'), 'the password is "pwx"');
  second.ws.close(1000);
  t.equal(await keys.exit, 0);
});

t.test('the password typed at the prompt is never in the history; the line typed after it is', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const server = await startChatServer({ port: 0 });
  t.teardown(() => server.close());
  const state = mkdtempSync(join(tmpdir(), 'wsc-state-'));
  t.teardown(() => rmSync(state, { recursive: true, force: true }));
  const seen = server.nextConnection();
  const run = runOnPty(['--auth', 'alice', `ws://127.0.0.1:${server.port}/both`], { NO_COLOR: '1', XDG_STATE_HOME: state });
  t.teardown(() => run.child.kill('SIGKILL'));
  await run.waitForScreen('Password for alice: ');
  run.type(`${SECRET}\r`);
  const { ws } = await seen;
  const message = new Promise((resolve) => ws.once('message', (data) => resolve(data.toString())));
  await run.waitForScreen('> ');
  run.type('after the password\r');
  t.equal(await message, 'after the password');
  run.type('\x04');
  t.equal(await run.exit, 0);
  t.equal(readFileSync(join(state, 'wsc', 'history'), 'utf8'), 'after the password\n', 'only the line typed into the input line');
});

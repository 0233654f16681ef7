// The input line as a person meets it: the real client in a tmux pane (a real pseudo-terminal and a real
// terminal emulator), keys sent with send-keys, pastes with paste-buffer, and the screen read back with
// capture-pane. The other end is the ws chat server, driven from here.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { WebSocket } from 'ws';
import { CLIENT_COMMAND, ROOT, delay, shellQuote } from './support/helpers.ts';
import { startChatServer } from './support/server.ts';
import { startFakeServer } from './support/fake-server.ts';

const hasTmux = spawnSync('tmux', ['-V']).status === 0;
const skip = !hasTmux && 'tmux is not installed (apt-get install tmux)';
const dir = mkdtempSync(join(tmpdir(), 'wsc-tmux-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

let sessions = 0;

/**
 * The client in a fresh tmux server of its own (80×24), its output bytes recorded, `stty -a` saved after it
 * exits. Its XDG_STATE_HOME is a folder of the test's own (the default history goes there, never the user's).
 */
function startPane(args: string[], env: Record<string, string> = {}) {
  const name = `wsc-test-${process.pid}-${sessions++}`;
  const socket = join(dir, name);
  const tmux = (...tmuxArgs: string[]) => spawnSync('tmux', ['-S', socket, ...tmuxArgs], { encoding: 'utf8' });
  const stty = join(dir, `${name}.stty`);
  const status = join(dir, `${name}.status`);
  const client = [...CLIENT_COMMAND, ...args].map(shellQuote).join(' ');
  // stty first: the status file's appearance means both are written.
  const assignments = Object.entries({ NO_COLOR: '1', XDG_STATE_HOME: join(dir, `${name}.state`), ...env }).map(([key, value]) => `${key}=${shellQuote(value)}`).join(' ');
  const command = `cd ${shellQuote(ROOT)} && ${assignments} ${client}; s=$?; stty -a > ${shellQuote(stty)}; echo $s > ${shellQuote(status)}; sleep 600`;
  const started = tmux('-f', '/dev/null', 'new-session', '-d', '-x', '80', '-y', '24', '-s', 'wsc', command);
  if (started.status !== 0) throw new Error(`tmux: ${started.stderr}`);
  const raw = join(dir, `${name}.raw`);
  tmux('pipe-pane', '-t', 'wsc', '-o', `cat >> ${shellQuote(raw)}`);
  const pane = {
    keys: (...keys: string[]) => tmux('send-keys', '-t', 'wsc', ...keys),
    text: (text: string) => tmux('send-keys', '-t', 'wsc', '-l', text),
    /** Paste as a terminal does (bracketed, since the client asks for it). */
    paste(text: string) {
      const file = join(dir, `${name}.paste`);
      writeFileSync(file, text);
      tmux('load-buffer', '-b', 'p', file);
      tmux('paste-buffer', '-p', '-d', '-b', 'p', '-t', 'wsc');
    },
    /** The visible screen, rows without trailing blanks, and the cursor. */
    screen() {
      const rows = tmux('capture-pane', '-p', '-t', 'wsc').stdout.split('\n').map((row) => row.trimEnd());
      while (rows.length && rows.at(-1) === '') rows.pop();
      const [x, y] = tmux('display', '-p', '-t', 'wsc', '#{cursor_x} #{cursor_y}').stdout.trim().split(' ').map(Number);
      return { rows, cursor: { x: x!, y: y! } };
    },
    async waitForScreen(test: (rows: string[]) => boolean, what: string, timeoutMs = 10_000) {
      for (const started = Date.now(); Date.now() - started < timeoutMs; await delay(25)) {
        if (test(pane.screen().rows)) return pane.screen();
      }
      throw new Error(`screen never showed ${what}:\n${pane.screen().rows.join('\n')}`);
    },
    /** The client's exit status, once it has exited. */
    async exitStatus(timeoutMs = 10_000): Promise<number> {
      for (const started = Date.now(); Date.now() - started < timeoutMs; await delay(25)) {
        try {
          const text = readFileSync(status, 'utf8').trim();
          if (text !== '') return Number(text);
        } catch {}
      }
      throw new Error(`the client did not exit:\n${pane.screen().rows.join('\n')}`);
    },
    stty: () => readFileSync(stty, 'utf8'),
    rawOutput: () => readFileSync(raw, 'latin1'),
    kill: () => tmux('kill-server'),
  };
  return pane;
}

/** A chat server and the client in a pane as `both`, connected; `peer` is the server's side of it. */
async function connected(t: { teardown(fn: () => unknown): void }, extraArgs: string[] = [], env: Record<string, string> = {}) {
  const server = await startChatServer({ port: 0, pingInterval: -1 });
  t.teardown(() => server.close());
  const next = server.nextConnection('/both');
  const pane = startPane([...extraArgs, '127.0.0.1', String(server.port), 'both'], env);
  t.teardown(() => pane.kill());
  const { ws: peer } = await next;
  const received: string[] = [];
  const closed = new Promise<number>((resolve) => peer.on('close', (code) => resolve(code)));
  peer.on('message', (data) => received.push(data.toString()));
  await pane.waitForScreen((rows) => rows.at(-1) === '>' && rows.some((row) => row.includes('connected to')), 'the prompt, connected');
  return { server, pane, peer, received, closed };
}

async function until(test: () => boolean, what: string, timeoutMs = 10_000): Promise<void> {
  for (const started = Date.now(); !test(); await delay(25)) {
    if (Date.now() - started > timeoutMs) throw new Error(`timed out waiting for ${what}`);
  }
}

t.test('a message arriving while a line is half typed goes above it; the half line and the cursor stay', { skip }, async (t) => {
  const { pane, peer, received, closed } = await connected(t);
  pane.text('half-typ');
  await pane.waitForScreen((rows) => rows.at(-1) === '> half-typ', 'the half line');
  pane.keys('Left', 'Left');
  peer.send('incoming from someone else');
  const screen = await pane.waitForScreen((rows) => rows.some((row) => row.includes('incoming')), 'the message');
  t.equal(screen.rows.at(-2), '< incoming from someone else', 'the message on its own row, above');
  t.equal(screen.rows.at(-1), '> half-typ', 'the half line intact, below');
  t.same(screen.cursor, { x: 8, y: screen.rows.length - 1 }, 'the cursor where it was (two left of the end)');
  pane.text('X');
  pane.keys('End');
  pane.text('ed');
  pane.keys('Enter');
  await until(() => received.length === 1, 'the line');
  t.same(received, ['half-tXyped'], 'Enter sends the whole line, edits included');
  pane.keys('C-d');
  t.equal(await closed, 1000);
  t.equal(await pane.exitStatus(), 0);
});

t.test('Up + Enter sends the previous line again; Left + insert edits; Ctrl-W, Ctrl-U', { skip }, async (t) => {
  const { pane, received } = await connected(t);
  pane.text('hello world');
  pane.keys('Enter');
  await until(() => received.length === 1, 'the first line');
  pane.keys('Up');
  await pane.waitForScreen((rows) => rows.at(-1) === '> hello world', 'the recalled line');
  pane.keys('Enter');
  await until(() => received.length === 2, 'the recalled line sent');
  pane.text('helo wrld');
  pane.keys('Left', 'Left', 'Left');
  pane.text('o');
  pane.keys('M-b', 'M-b', 'Right', 'Right', 'Right');
  pane.text('l');
  pane.keys('Enter');
  await until(() => received.length === 3, 'the edited line');
  pane.text('drop these words');
  pane.keys('C-w', 'C-w');
  pane.text('keep');
  pane.keys('Enter');
  await until(() => received.length === 4, 'after Ctrl-W');
  t.same(received, ['hello world', 'hello world', 'hello world', 'drop keep']);
  const screen = pane.screen();
  t.ok(screen.rows.includes('> drop keep'), 'each sent line stays on screen after the prompt');
  t.notOk(screen.rows.join('\n').includes('^['), 'no arrow key shown as an escape');
});

t.test('pastes: a 10,000-character line arrives whole; a block of lines arrives as one message', { skip }, async (t) => {
  const { pane, received } = await connected(t);
  const long = Array.from({ length: 1000 }, (_, i) => String(i % 10).repeat(9) + ' ').join('');
  pane.paste(long);
  pane.keys('Enter');
  await until(() => received.length === 1, 'the long line', 15_000);
  t.equal(received[0]!.length, 10_000);
  t.equal(received[0], long, 'not cut at 4,095 (the terminal\'s canonical-mode limit)');
  pane.paste('first line\nsecond line\nthird line\n');
  pane.keys('Enter');
  await until(() => received.length === 2, 'the block');
  t.same(received.slice(1), ['first line\nsecond line\nthird line'], 'one message, its lines in order');
  const screen = pane.screen();
  t.ok(screen.rows.at(-1)!.length < 80, 'the input line never wraps');
});

t.test('wide characters: emoji and CJK are edited as one character and measured as two columns', { skip }, async (t) => {
  const { pane, received } = await connected(t);
  pane.text('日本語😀!');
  pane.keys('Left', 'Left', 'BSpace');
  const screen = await pane.waitForScreen((rows) => rows.at(-1) === '> 日本😀!', 'the edit');
  t.equal(screen.cursor.x, 2 + 4, 'cursor after two wide characters');
  pane.keys('Enter');
  await until(() => received.length === 1, 'the line');
  t.same(received, ['日本😀!']);
});

t.test('Ctrl-C closes with 1000 and restores the terminal; nothing is left in raw or paste mode', { skip }, async (t) => {
  const { pane, closed } = await connected(t);
  pane.text('unsent draft');
  pane.keys('C-c');
  t.equal(await closed, 1000, 'CLOSE 1000');
  t.equal(await pane.exitStatus(), 0, 'exit 0');
  const stty = pane.stty();
  t.match(stty, /(^|\s)icanon(\s|$)/, 'canonical mode back on');
  t.match(stty, /(^|\s)echo(\s|$)/, 'echo back on');
  const raw = pane.rawOutput();
  t.ok(raw.includes('\x1b[?2004h'), 'bracketed paste was on while editing');
  t.ok(raw.lastIndexOf('\x1b[?2004l') > raw.lastIndexOf('\x1b[?2004h'), 'and is off at the end');
});

t.test('a lost connection (exit 1) restores the terminal too', { skip }, async (t) => {
  const { pane, peer } = await connected(t);
  pane.text('typing when the server vanishes');
  await pane.waitForScreen((rows) => rows.at(-1) === '> typing when the server vanishes', 'the line');
  peer.terminate();
  t.equal(await pane.exitStatus(), 1, 'exit 1: connection lost');
  t.match(pane.stty(), /(^|\s)icanon(\s|$)/, 'canonical mode back on');
  t.match(pane.screen().rows.join('\n'), /wsc: connection lost \(1006\)/, 'the failure is reported');
});

t.test('a second Ctrl-C exits at once when the server does not answer the CLOSE', { skip }, async (t) => {
  let closeSeen = false;
  const server = await startFakeServer({
    script: async (session) => {
      await session.waitForClose(10_000);
      closeSeen = true; // and never answered
      await session.waitForEnd(10_000);
    },
  });
  t.teardown(() => server.close());
  const pane = startPane(['127.0.0.1', String(server.port), 'both']);
  t.teardown(() => pane.kill());
  await pane.waitForScreen((rows) => rows.at(-1) === '>' && rows.some((row) => row.includes('connected to')), 'the prompt, connected');
  pane.keys('C-c');
  await until(() => closeSeen, 'the CLOSE');
  pane.keys('C-c');
  t.equal(await pane.exitStatus(3000), 1, 'exit 1 at once, not after the 5 s close timeout');
  t.match(pane.screen().rows.join('\n'), 'wsc: interrupted again: exiting without waiting for the server');
  t.match(pane.stty(), /(^|\s)icanon(\s|$)/, 'the terminal restored');
});

t.test('history is kept across runs by default (a message of several rows whole), mode 600', { skip }, async (t) => {
  const state = join(dir, 'state');
  const first = await connected(t, [], { XDG_STATE_HOME: state });
  first.pane.text('remember me');
  first.pane.keys('Enter');
  first.pane.paste('{\n  "id": 7\n}');
  first.pane.keys('Enter');
  await until(() => first.received.length === 2, 'the lines');
  first.pane.keys('C-d');
  t.equal(await first.pane.exitStatus(), 0);
  const file = join(state, 'wsc', 'history');
  t.equal(readFileSync(file, 'utf8'), 'remember me\n\x1e"{\\n  \\"id\\": 7\\n}"\n', 'in $XDG_STATE_HOME/wsc/history; several rows as one entry');
  t.equal(statSync(file).mode & 0o777, 0o600, 'the file: mode 600');
  t.equal(statSync(join(state, 'wsc')).mode & 0o777, 0o700, 'its folder: mode 700');
  const second = await connected(t, [], { XDG_STATE_HOME: state });
  second.pane.keys('Up');
  await second.pane.waitForScreen((rows) => rows.at(-1) === '  }' && rows.at(-3) === '> {', 'the recalled message, on its rows');
  second.pane.keys('Enter', 'Up', 'Up', 'Up', 'Up'); // into the message recalled (its last row), up its rows, to the one before
  await second.pane.waitForScreen((rows) => rows.at(-1) === '> remember me', 'the line before it');
  second.pane.keys('Enter');
  await until(() => second.received.length === 2, 'the recalled lines');
  t.same(second.received, ['{\n  "id": 7\n}', 'remember me'], 'Up recalls the last run\'s messages, whole');
});

t.test('a pasted block of lines stays one message of several rows; Alt-Enter adds a row; Enter sends it whole', { skip }, async (t) => {
  const { pane, received } = await connected(t);
  pane.paste('{\n  "method": "ping",\n  "id": 7\n}\n');
  const screen = await pane.waitForScreen((rows) => rows.at(-1) === '  }', 'the block on its rows');
  t.same(screen.rows.slice(-4), ['> {', '    "method": "ping",', '    "id": 7', '  }'], 'each row under the prompt, indented as far as it');
  t.same(received, [], 'nothing sent by the paste\'s own line breaks');
  pane.keys('Up', 'End');
  pane.text(',');
  pane.keys('M-Enter');
  pane.text('  "x": 1');
  await pane.waitForScreen((rows) => rows.at(-2) === '    "x": 1', 'a row added with Alt-Enter');
  pane.keys('Enter');
  await until(() => received.length === 1, 'the message');
  t.same(received, ['{\n  "method": "ping",\n  "id": 7,\n  "x": 1\n}'], 'one message, edited, as shown');
  const after = await pane.waitForScreen((rows) => rows.at(-1) === '>', 'a new prompt');
  t.same(after.rows.slice(-6, -1), ['> {', '    "method": "ping",', '    "id": 7,', '    "x": 1', '  }'], 'the message stays on screen as sent');
  pane.keys('C-d');
  t.equal(await pane.exitStatus(), 0);
});

t.test('Ctrl-C while connecting: a status line says where it connects; Ctrl-C ends at once, exit 1, terminal restored', { skip }, async (t) => {
  const { createServer } = await import('node:net');
  const silent = createServer((socket) => socket.on('error', () => {})); // accepts, never answers
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', resolve));
  t.teardown(() => silent.close());
  const { port } = silent.address() as import('node:net').AddressInfo;
  const pane = startPane(['127.0.0.1', String(port), 'both']);
  t.teardown(() => pane.kill());
  await pane.waitForScreen((rows) => rows.some((row) => row === `wsc: connecting to ws://127.0.0.1:${port}/both`), 'the connecting line');
  pane.keys('C-c');
  t.equal(await pane.exitStatus(2000), 1, 'exit 1 at once, not after the 10 s connect timeout');
  t.match(pane.screen().rows.join('\n'), 'wsc: interrupted while connecting');
  t.match(pane.stty(), /(^|\s)icanon(\s|$)/, 'the terminal restored');
});

t.test('closing the terminal (SIGHUP: tmux kill-server) is a quit: CLOSE 1001, going away, reaches the server', { skip }, async (t) => {
  const { pane, closed } = await connected(t);
  pane.kill();
  t.equal(await closed, 1001);
});

t.test('--history that cannot be written: said once, and the session goes on', { skip }, async (t) => {
  writeFileSync(join(dir, 'a-file'), '');
  const { pane, received } = await connected(t, ['--history', join(dir, 'a-file', 'history')]);
  for (const line of ['one', 'two', 'three']) {
    pane.text(line);
    pane.keys('Enter');
  }
  await until(() => received.length === 3, 'the lines');
  const screen = await pane.waitForScreen((rows) => rows.some((row) => row.includes('cannot write the history')), 'the warning');
  t.equal(screen.rows.filter((row) => row.includes('cannot write the history')).length, 1, 'once');
  // The line is wider than the pane: joined again, as the terminal wrapped it.
  t.match(screen.rows.join('').replace(/ /g, ''), /wsc:cannotwritethehistoryto\S*a-file\/history:apartofthepathisnotadirectory;goingonwithoutit/);
  t.same(received, ['one', 'two', 'three']);
  pane.keys('C-d');
  t.equal(await pane.exitStatus(), 0);
});

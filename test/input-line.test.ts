// The input line's I/O in-process, with a stand-in terminal (a stream that says it is a TTY and records raw
// mode) and stand-in process hooks (exit, SIGCONT, suspending): what TerminalLine writes and when. The tmux
// tests (terminal-line.test.ts) keep what only a real terminal emulator shows.

import t, { type Test } from 'tap';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { OP, close, startFakeServer } from './support/fake-server.ts';
import { Output, TerminalLine, main, type ClientIo, type EditorAction } from '../client.ts';
import { delay } from './support/helpers.ts';

/** A terminal stand-in: stdin records raw mode, stdout records what was written; process hooks are recorded too. */
function fakeTerminal() {
  const rawModes: boolean[] = [];
  const stdin = Object.assign(new PassThrough(), { isTTY: true, setRawMode: (raw: boolean) => rawModes.push(raw) });
  const written: string[] = [];
  const stdout = Object.assign(new PassThrough(), { isTTY: true, columns: 40 });
  stdout.on('data', (chunk: Buffer) => written.push(chunk.toString('utf8')));
  const signals = new EventEmitter();
  let suspended = 0;
  const io: ClientIo = { stdin, stdout, stderr: new PassThrough(), env: { NO_COLOR: '1' }, signals, suspend: () => suspended++ };
  return {
    io, stdin, rawModes, signals,
    /** What was written since the last call (after the stream hands it over). */
    async output(): Promise<string> {
      await delay(5);
      return written.splice(0).join('');
    },
    suspensions: () => suspended,
  };
}

function startLine(term: ReturnType<typeof fakeTerminal>) {
  const actions: EditorAction[] = [];
  const line = new TerminalLine(term.stdin, term.io, { color: false, historyFile: null, warn: () => {} }, (more) => actions.push(...more));
  line.start();
  return { line, actions };
}

t.test('start: raw mode and bracketed paste on, the prompt drawn; typed keys redraw; Enter leaves the line above', async (t) => {
  const term = fakeTerminal();
  const { line, actions } = startLine(term);
  t.same(term.rawModes, [true]);
  t.equal(await term.output(), '\x1b[?2004h\r\x1b[J> \r\x1b[2C', 'bracketed paste on, then the prompt with the cursor after it');
  term.stdin.write('hi');
  t.equal(await term.output(), '\r\x1b[J> hi\r\x1b[4C');
  term.stdin.write('\r');
  t.equal(await term.output(), '\r\x1b[J> hi\n\r\x1b[J> \r\x1b[2C', 'the sent line stays, a new prompt below');
  t.same(actions, [{ type: 'line', text: 'hi' }]);
  line.stop();
  t.equal(await term.output(), '\r\x1b[J\x1b[?2004l', 'stop: the row cleared, bracketed paste off');
  t.same(term.rawModes, [true, false], 'and raw mode off');
  t.equal(term.signals.listenerCount('exit'), 0, 'the exit hook removed');
});

t.test('Output writes above the line: hide, the message, show', async (t) => {
  const term = fakeTerminal();
  const { line } = startLine(term);
  const output = new Output({ separator: 0x0a, quiet: false, json: false, timestamps: false, color: false, binaryEncoding: null, pretty: null, secrets: [] }, term.io);
  output.setInputLine(line);
  term.stdin.write('half');
  await term.output();
  output.message({ type: 'text', bytes: Buffer.from('xxhello'), ranges: [2, 7] });
  output.flush();
  t.equal(await term.output(), '\r\x1b[J< hello\n\r\x1b[J> half\r\x1b[6C', 'row cleared, the message, the half line drawn again');
  line.stop();
});

t.test('Ctrl-Z: the terminal put back, the process suspended; SIGCONT: raw mode again and the line redrawn', async (t) => {
  const term = fakeTerminal();
  const { line, actions } = startLine(term);
  term.stdin.write('draft');
  await term.output();
  term.stdin.write('\x1a');
  const before = await term.output();
  t.match(before, '\r\x1b[J\x1b[?2004l', 'restored before stopping');
  t.equal(term.suspensions(), 1, 'the process was suspended');
  t.same(term.rawModes, [true, false]);
  t.same(actions, [{ type: 'suspend' }]);
  term.signals.emit('SIGCONT');
  t.same(term.rawModes, [true, false, true], 'raw again after fg');
  t.equal(await term.output(), '\x1b[?2004h\r\x1b[J> draft\r\x1b[7C', 'the line, as it was');
  line.stop();
  t.equal(term.signals.listenerCount('SIGCONT'), 0);
});

t.test('a message of several rows: each drawn below the prompt; the cursor moved up to its row; cleared from the first row down', async (t) => {
  const term = fakeTerminal();
  const { line, actions } = startLine(term);
  await term.output();
  term.stdin.write('\x1b[200~ab\ncd\x1b[201~');
  t.equal(await term.output(), '\r\x1b[J> ab\n  cd\r\x1b[4C', 'the rows, the second indented as far as the prompt; the cursor on it');
  term.stdin.write('\x1b[A');
  t.equal(await term.output(), '\r\x1b[1A\x1b[J> ab\n  cd\x1b[1A\r\x1b[4C', 'Up: cleared from the first row; drawn; the cursor one row up');
  const output = new Output({ separator: 0x0a, quiet: false, json: false, timestamps: false, color: false, binaryEncoding: null, pretty: null, secrets: [] }, term.io);
  output.setInputLine(line);
  output.message({ type: 'text', bytes: Buffer.from('news'), ranges: [0, 4] });
  output.flush();
  t.equal(await term.output(), '\r\x1b[J< news\n\r\x1b[J> ab\n  cd\x1b[1A\r\x1b[4C', 'a message goes where the first row was; the rows below it again');
  term.stdin.write('\x1b[B\r');
  t.equal(await term.output(), '\r\x1b[J> ab\n  cd\n\r\x1b[J> \r\x1b[2C', 'Enter (the cursor was drawn on the first row): the message stays, as typed, above a new prompt');
  t.same(actions.filter((action) => action.type === 'line'), [{ type: 'line', text: 'ab\ncd' }]);
  line.stop();
});

t.test('a message taller than the window: at most its height less two rows, around the cursor', async (t) => {
  const term = fakeTerminal();
  Object.assign(term.io.stdout, { rows: 5 });
  const { line } = startLine(term);
  await term.output();
  term.stdin.write('\x1b[200~1\n2\n3\n4\n5\n6\x1b[201~');
  t.equal(await term.output(), '\r\x1b[J  4\n  5\n  6\r\x1b[3C', 'the last three rows (the prompt\'s row is above them)');
  line.stop();
});

t.test('Ctrl-L clears the screen and draws the line again at the top', async (t) => {
  const term = fakeTerminal();
  const { line } = startLine(term);
  term.stdin.write('keep');
  await term.output();
  term.stdin.write('\x0c');
  t.equal(await term.output(), '\x1b[H\x1b[2J\r\x1b[J> keep\r\x1b[6C');
  line.stop();
});

t.test('process exit while the line is up puts the terminal back', async (t) => {
  const term = fakeTerminal();
  startLine(term);
  await term.output();
  term.signals.emit('exit');
  t.equal(await term.output(), '\r\x1b[J\x1b[?2004l');
  t.same(term.rawModes, [true, false]);
});

/** The whole client on a stand-in terminal, against a fake server that answers the CLOSE; `keys` typed once connected. */
async function typeIntoClient(t: Test, args: string[], keys: string, env: NodeJS.ProcessEnv = {}) {
  const server = await startFakeServer({
    script: async (session) => {
      await session.waitForClose();
      await session.send(close(1000));
      session.end();
    },
  });
  t.teardown(() => server.close());
  const term = fakeTerminal();
  term.io.env = { ...term.io.env, ...env };
  const status = main([...args, '127.0.0.1', String(server.port), 'both'], term.io);
  for (let waited = 0; server.sessions.length === 0 || server.sessions[0]!.request === ''; waited += 10) {
    if (waited > 5000) throw new Error('no connection');
    await delay(10);
  }
  await delay(50);
  term.stdin.write(keys);
  return { term, status: await status, frames: server.sessions[0]!.frames.map((f) => [f.opcode, f.payload.toString('latin1')]) };
}

t.test('the whole client on a stand-in terminal: typed lines are sent, Ctrl-D closes with 1000, the terminal is put back', async (t) => {
  const { term, status, frames } = await typeIntoClient(t, [], 'typed on the line\r\x04');
  t.equal(status, 0);
  t.same(frames, [[OP.TEXT, 'typed on the line'], [OP.CLOSE, '\x03\xe8']]);
  t.same(term.rawModes, [true, false], 'raw mode on, then off');
  t.match(await term.output(), /\x1b\[\?2004l/, 'bracketed paste off at the end');
});

t.test('--history FILE is where the history goes; --no-history keeps none (the default place stays empty)', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wsc-history-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const state = { XDG_STATE_HOME: join(dir, 'state') };
  const chosen = await typeIntoClient(t, ['--history', join(dir, 'chosen')], 'into the chosen file\r\x04', state);
  t.equal(chosen.status, 0);
  t.equal(readFileSync(join(dir, 'chosen'), 'utf8'), 'into the chosen file\n', '--history FILE');
  const none = await typeIntoClient(t, ['--no-history'], 'kept nowhere\r\x04', state);
  t.equal(none.status, 0);
  t.same(none.frames[0], [OP.TEXT, 'kept nowhere']);
  t.notOk(existsSync(state.XDG_STATE_HOME), 'nothing written in the default place by either');
  const byDefault = await typeIntoClient(t, [], 'kept\r\x04', state);
  t.equal(byDefault.status, 0);
  t.equal(readFileSync(join(state.XDG_STATE_HOME, 'wsc', 'history'), 'utf8'), 'kept\n', 'without either: $XDG_STATE_HOME/wsc/history');
});

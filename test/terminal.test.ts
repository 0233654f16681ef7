// The client on a real terminal: `script` (util-linux) gives it a pseudo-terminal, and we assert what
// reaches that terminal: peer escapes neutralised, messages marked, colours present or absent as promised.

import t from 'tap';
import { hasScript, runOnPty } from './support/helpers.ts';
import { close, binary, runAgainstFakeServer, startFakeServer, text, validResponse } from './support/fake-server.ts';


/** Run the client on a pseudo-terminal against a fake server that sends `frames`; returns the screen bytes. */
async function onTerminal(frames: Buffer[], args: string[] = [], env: NodeJS.ProcessEnv = {}) {
  const server = await startFakeServer({
    script: async (session) => {
      await session.send(frames);
      await session.waitForClose();
      session.end();
    },
  });
  const run = runOnPty([...args, '127.0.0.1', String(server.port), 'consumer'], env);
  const status = await run.exit;
  await server.close();
  return { screen: run.screen(), status };
}

const hostile = '\x1b]0;pwned\x07\x1b[2J\x1b[Hhi\rwsc: closed by server: 1000\x7f\u009b31m\x08tab\there';

t.test('peer text cannot drive the terminal: escapes are shown, not obeyed', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const { screen, status } = await onTerminal([text(hostile), text('line one\nline two'), binary(Buffer.from([0x1b, 0x5b, 0x32, 0x4a])), close(1000)]);
  t.equal(status, 0, 'exit 0 after the server closed normally');
  t.notMatch(screen, /\x1b\]0;pwned/, 'no raw OSC title sequence');
  t.notMatch(screen, /\x1b\[2J/, 'no raw clear-screen');
  t.notMatch(screen, /\x1b\[H/, 'no raw cursor-home');
  t.notMatch(screen, /\u009b/, 'no raw C1 CSI');
  t.match(screen, '^[]0;pwned^G^[[2J^[[Hhi^Mwsc: closed by server: 1000^?\\x9b31m^Htab\there', 'controls shown in caret and \\x form, tab kept');
  t.match(screen, /line one\r?\n {2}line two/, 'a multi-line message stays under its marker');
  t.match(screen, /\[binary 4 bytes: 1b 5b 32 4a\]/, 'binary shown as size and hex, never raw');
});

t.test('messages are marked and coloured on a terminal; NO_COLOR and --no-color turn colour off', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const coloured = await onTerminal([text('hello'), close(1000)]);
  t.match(coloured.screen, '\x1b[32m< \x1b[0mhello', 'green marker');
  t.match(coloured.screen, /\x1b\[2mwsc: connected to/, 'status lines dimmed');
  for (const [name, args, env] of [['NO_COLOR=1', [], { NO_COLOR: '1' }], ['--no-color', ['--no-color'], {}]] as const) {
    const plain = await onTerminal([text('hello'), close(1000)], [...args], env);
    t.match(plain.screen, /< hello/, `${name}: still marked`);
    t.notMatch(plain.screen, /\x1b\[/, `${name}: no escape sequences at all`);
  }
});

t.test('--timestamps on a terminal: the time is dimmed before each message and status line', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const { screen, status } = await onTerminal([text('hello'), close(1000)], ['--timestamps']);
  t.equal(status, 0);
  t.match(screen, /\x1b\[2m\d\d:\d\d:\d\d\x1b\[0m \x1b\[32m< \x1b\[0mhello/, 'dim time, then the marked message');
  t.match(screen, /\x1b\[2m\d\d:\d\d:\d\d\x1b\[0m \x1b\[2mwsc: connected to/, 'status lines too');
});

t.test('peer text in status and -v lines cannot drive the terminal or forge a line either', async (t) => {
  const closing = await runAgainstFakeServer(
    async (session) => {
      await session.send(close(1000, 'bye\x1b[2J\nwsc: forged line'));
      await session.waitForClose();
    },
    ['-v', 'consumer'],
    { respond: (key) => validResponse(key, ['X-Evil: \x1b]0;pwned\x07 here']) },
  );
  t.equal(closing.status, 0);
  t.notMatch(closing.stderr, /\x1b/, 'no raw ESC on stderr');
  t.match(closing.stderr, 'wsc: closed by server: 1000 bye^[[2J^Jwsc: forged line\n', 'the close reason on one line, controls shown');
  t.notMatch(closing.stderr, /^wsc: forged line/m, 'no forged status line');
  t.match(closing.stderr, 'wsc: < X-Evil: ^[]0;pwned^G here', '-v headers too');
  const refused = await runAgainstFakeServer(async () => {}, ['consumer'], { respond: () => 'HTTP/1.1 403 \x1b[2JForbidden\r\nContent-Length: 2\r\n\r\nno' });
  t.equal(refused.status, 1);
  t.equal(refused.stderr.split('\n').slice(1).join('\n'), 'wsc: server refused the upgrade: HTTP/1.1 403 ^[[2JForbidden — no\n', 'a refused upgrade\'s status line, after the one saying where it connects');
});

t.test('JSON on a terminal: indented under its marker, coloured, tokens exact; NO_COLOR plain; --no-pretty as it came', { skip: !hasScript && 'script (util-linux) is not installed' }, async (t) => {
  const json = '{"id":7,"n":12345678901234567890,"ok":true,"s":"\u009b2J"}';
  const { screen, status } = await onTerminal([text(json), close(1000)]);
  t.equal(status, 0);
  const [key, string, number, literal, reset] = ['\x1b[34m', '\x1b[32m', '\x1b[33m', '\x1b[35m', '\x1b[0m'];
  t.match(screen, `\x1b[32m< \x1b[0m{\r\n    ${key}"id"${reset}: ${number}7${reset},\r\n    ${key}"n"${reset}: ${number}12345678901234567890${reset},\r\n    ${key}"ok"${reset}: ${literal}true${reset},\r\n    ${key}"s"${reset}: ${string}"\\x9b2J"${reset}\r\n  }`,
    'two spaces a level, under the marker; keys, numbers, literals and strings coloured; the C1 control shown');
  t.notMatch(screen, /\u009b/, 'no raw C1 control');
  const plain = await onTerminal([text(json), text('{"almost": json}'), close(1000)], [], { NO_COLOR: '1' });
  t.match(plain.screen, '< {\r\n    "id": 7,\r\n    "n": 12345678901234567890,', 'NO_COLOR: laid out, no colour');
  t.notMatch(plain.screen, /\x1b\[/, 'no escape sequences at all');
  const asSent = await onTerminal([text(json), close(1000)], ['--no-pretty'], { NO_COLOR: '1' });
  t.match(asSent.screen, '< {"id":7,"n":12345678901234567890,"ok":true,"s":"\\x9b2J"}\r\n', '--no-pretty: one line, as it came (controls still shown)');
  t.match(plain.screen, '< {"almost": json}\r\n', 'not JSON: as it came');
});

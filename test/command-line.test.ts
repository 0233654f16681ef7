// The command line in-process (main() with stand-in streams): usage errors, --help and --version, and the
// usage text kept in step with the options the parser accepts.

import t from 'tap';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPTION_NAMES, VERSION, main, parseCommandLine, usage } from '../client.ts';
import { ROOT, runInProcess } from './support/helpers.ts';
import { PassThrough } from 'node:stream';
import { EventEmitter } from 'node:events';

t.test('usage errors: one line naming the problem, then where to read more; exit 2, nothing on stdout', async (t) => {
  const cases: [string[], RegExp][] = [
    [['127.0.0.1', '8001', 'spectator'], /^ROLE must be producer, consumer or both, not "spectator"$/],
    [['127.0.0.1', '0', 'consumer'], /^PORT must be a number from 1 to 65535, not "0"$/],
    [['127.0.0.1', '65536', 'consumer'], /^PORT must be a number from 1 to 65535/],
    [['127.0.0.1', 'http', 'consumer'], /^PORT must be a number/],
    [[], /^no server given: HOST PORT ROLE, or a URL$/],
    [['127.0.0.1', '8001'], /^HOST PORT ROLE are three arguments, got 2: 127\.0\.0\.1 8001$/],
    [['127.0.0.1', '8001', 'consumer', 'extra'], /^unexpected argument 'extra' after HOST PORT ROLE$/],
    [['ws://127.0.0.1:8001/', 'extra'], /^unexpected argument 'extra' after the URL$/],
    [['-c', 'ws://127.0.0.1:8001/', 'extra'], /^unexpected argument 'extra' after -c URL$/],
    [['--bogus', '127.0.0.1', '8001', 'consumer'], /^unknown option --bogus$/],
    [['-Z', 'ws://127.0.0.1:8001/'], /^unknown option -Z$/],
    [['ws://127.0.0.1:8001/', '--header'], /^--header needs a value$/],
    [['--header', '-x', 'ws://127.0.0.1:8001/'], /^--header needs a value \(one that starts with a dash is written --header=VALUE\)$/],
    [['--quiet=yes', 'ws://127.0.0.1:8001/'], /^--quiet takes no value$/],
    [['--close-timeout', 'soon', '127.0.0.1', '8001', 'consumer'], /^--close-timeout must be a number of seconds, got "soon"$/],
    [['--connect-timeout', '-5', 'ws://127.0.0.1:8001/'], /^--connect-timeout must be more than 0 seconds, got -5$/],
    [['--connect-timeout', '0', 'ws://127.0.0.1:8001/'], /^--connect-timeout must be more than 0 seconds, got 0$/],
    [['-w', '-1', 'ws://127.0.0.1:8001/'], /^-w\/--wait must be 0 or more seconds, got -1$/],
    [['--ping-interval', '-1', 'ws://127.0.0.1:8001/'], /^--ping-interval must be 0 or more seconds, got -1$/],
    [['--count', '-1', 'ws://127.0.0.1:8001/'], /^--count must be 0 or more, got -1$/],
    [['--count', '1.5', 'ws://127.0.0.1:8001/'], /^--count must be a whole number, got "1\.5"$/],
    [['--max-redirects', '-2', 'ws://127.0.0.1:8001/'], /^--max-redirects must be 0 or more, got -2$/],
    [['--max-message-size', '1.5', '127.0.0.1', '8001', 'consumer'], /^--max-message-size must be a whole number of bytes, got "1\.5"$/],
    [['--max-message-size', '0', '127.0.0.1', '8001', 'consumer'], /^--max-message-size must be 1 or more, got 0$/],
    [['http://127.0.0.1:8001/consumer'], /^URL scheme must be ws:\/\/, wss:\/\/ or ws\+unix:, not http:\/\/$/],
    [['--role', 'consumer', '127.0.0.1', '8001', 'both'], /^--role goes with a URL/],
    [['-x', 'hi', 'ws://127.0.0.1:8001/consumer'], /^-x and -f send messages, which a consumer does not/],
    [['--count', '2', 'ws://127.0.0.1:8001/producer'], /^--count counts received messages/],
    [['--hex', '--base64', 'ws://127.0.0.1:8001/'], /^--hex and --base64 exclude each other$/],
    [['--proxy', 'ftp://proxy:21', 'ws://127.0.0.1:8001/'], /^the proxy must be http:\/\/, socks5:\/\/ or socks5h:\/\/, not ftp:\/\/$/],
    [['--proxy', 'socks5h://127.0.0.1:1080', '--unix-socket', '/tmp/wsc.sock', 'ws://localhost/'], /^--proxy does not go with a unix socket$/],
    [['--unix-socket', '/tmp/a.sock', 'ws+unix:///tmp/b.sock:/chat'], /both name a socket/],
    [['ws+unix:///:/chat'], /^a ws\+unix: URL names the socket's path/],
    [['-s', 'bad protocol', 'ws://127.0.0.1:8001/'], /^--subprotocol must be a token/],
    [['-f', '-', '-f', '-', 'ws://127.0.0.1:8001/'], /^-f - reads stdin to its end: it can be given once$/],
    [['-f', '/nonexistent/message.json', 'ws://127.0.0.1:8001/'], /^--file: cannot read \/nonexistent\/message\.json: no such file or directory$/],
  ];
  for (const [args, reason] of cases) {
    const run = runInProcess(args, { stdin: 'ignore' });
    t.equal(await run.exit, 2, `${args.join(' ')}: exit 2`);
    const lines = run.stderr().split('\n');
    t.match(lines[0], /^wsc: /, `${args.join(' ')}: one line`);
    t.match(lines[0]?.slice('wsc: '.length), reason, `${args.join(' ')}: the reason`);
    t.same(lines.slice(1), ["Try 'wsc --help' for more information.", ''], 'then where to read more, and nothing else');
    t.equal(run.stdout(), '');
  }
});

t.test('durations are held to what a timer can hold: past it, a usage error names the largest (or inf, for -w)', async (t) => {
  for (const option of ['--ping-interval', '--ping-timeout', '--connect-timeout', '--close-timeout']) {
    const run = runInProcess([option, '3000000', 'ws://127.0.0.1:8001/'], { stdin: 'ignore' });
    t.equal(await run.exit, 2);
    t.match(run.stderr(), new RegExp(`^wsc: ${option} must be at most 2147483 \\(seconds; about 24\\.8 days\\), got 3000000\\n`));
  }
  const wait = runInProcess(['-w', '3000000', 'ws://127.0.0.1:8001/'], { stdin: 'ignore' });
  t.equal(await wait.exit, 2);
  t.match(wait.stderr(), /^wsc: -w\/--wait must be at most 2147483, or inf \(seconds; about 24\.8 days\), got 3000000\n/);
  const largest = parseCommandLine(['--ping-interval', '2147483', '-w', 'inf', 'ws://127.0.0.1:8001/'], {});
  t.match(largest, { pingIntervalMs: 2_147_483_000, waitMs: Infinity }, 'the largest, and inf, are taken');
  t.match(parseCommandLine(['--close-timeout', '0.0001', 'ws://127.0.0.1:8001/'], {}), { closeTimeoutMs: 1 }, 'a fraction of a millisecond is one millisecond, not zero');
});

t.test('--help and --version go to stdout with exit 0; the usage names the program as it was started', async (t) => {
  const help = runInProcess(['--help']);
  t.equal(await help.exit, 0);
  t.equal(help.stdout(), usage('wsc') + '\n');
  const version = runInProcess(['--version']);
  t.equal(await version.exit, 0);
  t.equal(version.stdout(), `wsc ${VERSION}\n`);
  const stdout = new PassThrough();
  const chunks: Buffer[] = [];
  stdout.on('data', (chunk: Buffer) => chunks.push(chunk));
  const io = { stdin: new PassThrough(), stdout, stderr: new PassThrough(), env: {}, signals: new EventEmitter(), program: 'client.ts' };
  t.equal(await main(['-h'], io), 0);
  t.match(Buffer.concat(chunks).toString(), /^Usage: client\.ts \[options\] HOST PORT ROLE\n {7}client\.ts \[options\] URL/);
});

t.test('every option the parser accepts is in the usage text and the README, under the group it belongs to', async (t) => {
  const text = usage('wsc');
  const readme = readFileSync(join(ROOT, 'README.md'), 'utf8');
  for (const name of OPTION_NAMES) {
    const flag = name.length === 1 ? `-${name}` : `--${name}`;
    t.ok(new RegExp(`(^|[\\s,(])${flag.replace(/[-]/g, '\\-')}([\\s,=]|$)`, 'm').test(text), `${flag} in the usage text`);
    t.ok(readme.includes(`\`${flag}`) || readme.includes(`, ${flag}`) || readme.includes(` ${flag} `), `${flag} in the README`);
  }
  const group = (title: string) => text.slice(text.indexOf(`${title}:\n`), text.indexOf(':\n', text.indexOf(`${title}:\n`) + title.length + 2));
  t.match(group('Connection'), /-c, --connect URL[\s\S]*--role ROLE/, '-c and --role are connection options');
  t.notMatch(group('Liveness'), /--connect|--role/, 'not liveness ones');
});

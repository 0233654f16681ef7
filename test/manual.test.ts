// The manual page (dist/wsc.1, made from the README by test/support/manual.ts) kept in step with the options the
// client accepts, and well-formed roff where groff can check it.

import t from 'tap';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { OPTION_NAMES, VERSION } from '../client.ts';
import { ROOT } from './support/helpers.ts';
import { manualPage } from './support/manual.ts';

const page = manualPage(readFileSync(join(ROOT, 'README.md'), 'utf8'), VERSION, '2026-12-01');

t.test('every option the client accepts is described in the manual page', async (t) => {
  const options = page.slice(page.indexOf('.SH OPTIONS'), page.indexOf('.SH KEYS'));
  for (const name of OPTION_NAMES) {
    const flag = (name.length === 1 ? `-${name}` : `--${name}`).replace(/-/g, '\\-');
    t.ok(options.includes(`\\fB${flag}`) || options.includes(`, ${flag}`) || options.includes(` ${flag}`), `${flag.replace(/\\/g, '')} is in OPTIONS`);
  }
});

t.test('the page has the sections a man page has, the exit statuses and the recipes', async (t) => {
  for (const heading of ['.SH NAME', '.SH SYNOPSIS', '.SH DESCRIPTION', '.SH OPTIONS', '.SH EXIT STATUS', '.SH ENVIRONMENT', '.SH EXAMPLES', '.SH SEE ALSO']) {
    t.ok(page.includes(`\n${heading}\n`), heading);
  }
  t.match(page, /^\.TH WSC 1 "2026-12-01" "wsc \d+\.\d+\.\d+" "User Commands"\n/);
  t.match(page, /\.SH SYNOPSIS\n\.nf\nwsc \[options\] HOST PORT ROLE\n\.fi\n\.nf\nwsc \[options\] URL\n\.fi/);
  const exit = page.slice(page.indexOf('.SH EXIT STATUS'), page.indexOf('.SH ENVIRONMENT'));
  t.match(exit, /\.TP\n0\n[\s\S]*\.TP\n1\n[\s\S]*\.TP\n2\n/, 'statuses 0, 1 and 2');
  t.match(page, /wsc \\-x '\{"subscribe":"prices"\}' \\-\\-count 10/, 'the scripting recipes');
  const examples = page.slice(page.indexOf('.SH EXAMPLES'), page.indexOf('.SH SEE ALSO'));
  t.match(examples, /wsc \\-x '\{"id":7,"method":"ping"\}' \\-\\-filter/, 'the JSON APIs recipes: request and reply');
  t.match(examples, /wsc \\-\\-json\\-input \\-w 2/, 'and --json-input');
  t.notMatch(page, /[^\x00-\x7f]/, 'ASCII only: other characters as \\[uXXXX]');
  t.notMatch(page, /^[.'](?!(TH|SH|SS|TP|PP|RS|RE|nf|fi|BR) |TP$|PP$|RS$|RE$|nf$|fi$)/m, 'no text line that roff would take for a request');
});

const hasGroff = spawnSync('groff', ['--version']).status === 0;

t.test('groff reads it without a warning', { skip: !hasGroff && 'groff is not installed' }, async (t) => {
  const check = spawnSync('groff', ['-man', '-Tutf8', '-ww', '-z'], { input: page, encoding: 'utf8' });
  t.equal(check.status, 0);
  t.equal(check.stderr, '', 'no warnings');
  const text = spawnSync('groff', ['-man', '-Tutf8'], { input: page, encoding: 'utf8' }).stdout;
  t.match(text, /wsc . a WebSocket chat client that speaks RFC 6455 itself/);
});

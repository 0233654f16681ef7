// The input line's editor without a terminal: keys in, lines and a rendered row out.

import t from 'tap';
import { graphemeWidth, LineEditor, splitGraphemes } from '../client.ts';

const KEYS = {
  left: '\x1b[D', right: '\x1b[C', up: '\x1b[A', down: '\x1b[B', home: '\x1b[H', end: '\x1b[F', del: '\x1b[3~',
  ctrlLeft: '\x1b[1;5D', ctrlRight: '\x1b[1;5C', altB: '\x1bb', altF: '\x1bf', altD: '\x1bd',
  backspace: '\x7f', ctrlA: '\x01', ctrlE: '\x05', ctrlU: '\x15', ctrlK: '\x0b', ctrlW: '\x17', ctrlY: '\x19', ctrlD: '\x04', ctrlC: '\x03',
  pasteStart: '\x1b[200~', pasteEnd: '\x1b[201~',
};

/** Feed keys one chunk each; returns the lines sent and the editor. */
function type(keys: string[], editor = new LineEditor()) {
  const lines: string[] = [];
  const others: string[] = [];
  for (const key of keys) {
    for (const action of editor.feed(key)) {
      if (action.type === 'line') lines.push(action.text);
      else others.push(action.type);
    }
  }
  return { lines, others, editor };
}

t.test('moving and inserting', async (t) => {
  t.same(type(['helo world', KEYS.ctrlA, KEYS.right, KEYS.right, KEYS.right, 'l', '\r']).lines, ['hello world'], 'Ctrl-A, Right, insert');
  t.same(type(['world', KEYS.home, 'hello ', KEYS.end, '!', '\r']).lines, ['hello world!'], 'Home and End');
  t.same(type(['ab', KEYS.left, KEYS.left, KEYS.left, 'x', KEYS.right, KEYS.right, KEYS.right, 'y', '\r']).lines, ['xaby'], 'moves stop at both ends');
  t.same(type(['one two three', KEYS.ctrlLeft, KEYS.ctrlLeft, '>', KEYS.altF, '<', '\r']).lines, ['one >two< three'], 'word-wise with Ctrl-Left and Alt-F');
  t.same(type(['one two', KEYS.altB, KEYS.altB, KEYS.ctrlRight, '|', '\r']).lines, ['one| two']);
});

t.test('deleting and killing; Ctrl-Y puts back what was killed', async (t) => {
  t.same(type(['hello', KEYS.backspace, KEYS.backspace, 'p!', '\r']).lines, ['help!']);
  t.same(type(['hello', KEYS.home, KEYS.del, KEYS.ctrlD, '\r']).lines, ['llo'], 'Delete and Ctrl-D on a non-empty line delete under the cursor');
  t.same(type(['one two three', KEYS.ctrlW, '\r']).lines, ['one two '], 'Ctrl-W: the word before the cursor');
  t.same(type(['one two three', KEYS.ctrlW, KEYS.ctrlW, '\r']).lines, ['one '], 'and the one before, over the space');
  t.same(type(['keep this', KEYS.left, KEYS.left, KEYS.left, KEYS.left, KEYS.ctrlK, '\r']).lines, ['keep '], 'Ctrl-K: to the end');
  t.same(type(['drop keep', KEYS.left, KEYS.left, KEYS.left, KEYS.left, KEYS.ctrlU, '\r']).lines, ['keep'], 'Ctrl-U: to the start');
  t.same(type(['a b', KEYS.home, KEYS.altD, KEYS.end, KEYS.ctrlY, '\r']).lines, [' ba'], 'Alt-D, then Ctrl-Y');
});

t.test('Ctrl-D on an empty line ends input; Ctrl-C and Ctrl-Z are requests, not text', async (t) => {
  t.same(type([KEYS.ctrlD]).others, ['eof']);
  t.same(type(['x', KEYS.ctrlD]).others, [], 'not on a non-empty line');
  t.same(type([KEYS.ctrlC, '\x1a']).others, ['interrupt', 'suspend']);
  const other = type(['a\x07b\x1b[5~c\x00\r']);
  t.same(other.lines, ['abc'], 'other controls and unknown sequences are not inserted');
});

t.test('history: Up and Down, with the line being written kept', async (t) => {
  const { editor } = type(['first\r', 'second\r', 'second\r', '\r']);
  t.same(type([KEYS.up, '\r'], editor).lines, ['second'], 'Up: the last line (a repeat and an empty line are not stored twice)');
  t.same(type([KEYS.up, KEYS.up, KEYS.up, KEYS.up, '\r'], editor).lines, ['first'], 'Up stops at the oldest');
  t.same(type(['draft', KEYS.up, KEYS.down, '\r'], editor).lines, ['draft'], 'Down returns to the line being written');
  t.same(type([KEYS.up, KEYS.ctrlA, '>', '\r'], editor).lines, ['>draft'], 'a recalled line can be edited');
  const loaded = new LineEditor(['from a file']);
  t.same(type([KEYS.up, '\r'], loaded).lines, ['from a file'], 'history given at start (--history)');
});

t.test('paste: text as it is, a block of lines one message; controls inside a paste are not keys', async (t) => {
  const long = 'x'.repeat(10_000);
  t.same(type([KEYS.pasteStart + long + KEYS.pasteEnd, '\r']).lines, [long], 'a long line whole');
  const block = type([KEYS.pasteStart + 'one\rtwo\r\nthree' + KEYS.pasteEnd]);
  t.same(block.lines, [], 'a pasted block is not sent by its own line breaks');
  t.same(type(['\r'], block.editor).lines, ['one\ntwo\nthree'], 'Enter sends it whole, CR and CR LF as line breaks');
  const json = '{\n  "id": 7,\n  "method": "ping"\n}\n';
  t.same(type([KEYS.pasteStart + json + KEYS.pasteEnd, '\r']).lines, [json.slice(0, -1)], 'one line break at the very end is dropped');
  t.same(type(['say: ', KEYS.pasteStart + 'a\nb' + KEYS.pasteEnd, '!', '\r']).lines, ['say: a\nb!'], 'pasted into what is typed, the cursor after it');
  const hostile = type([KEYS.pasteStart + 'a\x03b\x04c' + KEYS.pasteEnd, '\r']);
  t.same(hostile.lines, ['abc'], 'a pasted Ctrl-C or Ctrl-D does nothing');
  t.same(hostile.others, []);
  t.same(type([KEYS.pasteStart + 'split', ' here\x1b[20', '1~', '\r']).lines, ['split here'], 'the end marker split between chunks');
  t.same(type(['\x1b[', 'D!', '\r']).lines, ['!'], 'an escape sequence split between chunks is still a key');
});

t.test('graphemes and widths: emoji and accents are one character, CJK and emoji two columns', async (t) => {
  t.same(splitGraphemes('é👍🏽漢'), ['é', '👍🏽', '漢']);
  t.same(['a', 'é', '漢', '😀', '👍🏽', '\u0301'].map(graphemeWidth), [1, 1, 2, 2, 2, 0]);
  t.same(type(['日本語😀e\u0301', KEYS.left, KEYS.backspace, '\r']).lines, ['日本語e\u0301'], 'Backspace removes the emoji whole');
  const { editor } = type(['漢字', KEYS.left]);
  t.same(editor.render(80), { rows: ['漢字'], firstRow: 0, cursorRow: 0, cursorColumn: 2 }, 'the cursor sits after one wide character');
  type(['e', '\u0301'], editor);
  t.equal(editor.text, '漢e\u0301字', 'a combining accent typed after a letter joins it');
});

t.test('a line wider than the window scrolls sideways, keeping the cursor in view', async (t) => {
  const { editor } = type(['0123456789abcdefghij']);
  const shown = (columns: number) => {
    const { rows, cursorRow, cursorColumn } = editor.render(columns);
    return { visible: rows[cursorRow], cursorColumn };
  };
  t.same(shown(12), { visible: 'bcdefghij', cursorColumn: 9 }); // room: 12 - 2 (prompt) - 1 = 9 columns
  type([KEYS.home], editor);
  t.same(shown(12), { visible: '012345678', cursorColumn: 0 });
  type([KEYS.end, KEYS.ctrlU, 'short'], editor);
  t.same(shown(12), { visible: 'short', cursorColumn: 5 }, 'scrolls back when the line fits again');
});

t.test('a message of several rows: Alt-Enter, rows drawn, Up/Down, Home/End and Ctrl-U/K by row, history whole', async (t) => {
  const altEnter = '\x1b\r';
  t.same(type(['{', altEnter, '  "id": 7', altEnter, '}', '\r']).lines, ['{\n  "id": 7\n}'], 'Alt-Enter: a line break, Enter sends all the rows');
  const { editor } = type(['first row', altEnter, 'second']);
  t.same(editor.render(80), { rows: ['first row', 'second'], firstRow: 0, cursorRow: 1, cursorColumn: 6 }, 'each row drawn, the cursor on the last');
  type([KEYS.up], editor);
  t.same(editor.render(80), { rows: ['first row', 'second'], firstRow: 0, cursorRow: 0, cursorColumn: 6 }, 'Up: the row above, the same column');
  type([KEYS.end, '!', KEYS.down, KEYS.home, '>'], editor);
  t.equal(editor.text, 'first row!\n>second', 'End and Home are the row\'s; Down: the row below');
  type([KEYS.ctrlK], editor);
  t.equal(editor.text, 'first row!\n>', 'Ctrl-K: to the end of the row only');
  type([KEYS.up, KEYS.ctrlU], editor);
  t.equal(editor.text, 'irst row!\n>', 'Ctrl-U: to the start of the row only (Up kept the column)');
  type([KEYS.down, KEYS.backspace], editor);
  t.equal(editor.text, 'irst row!>', 'Backspace at a row\'s start joins it to the row above');

  const history = type(['one', '\r', 'a', altEnter, 'b', '\r']);
  t.same(type([KEYS.up, '\r'], history.editor).lines, ['a\nb'], 'Up recalls a message of several rows whole');
  t.same(type(['x', altEnter, 'y', KEYS.up, KEYS.up, '\r'], history.editor).lines, ['a\nb'], 'Up from the first row: the history, at its last row');
  t.same(type(['x', altEnter, 'y', KEYS.up, KEYS.up, KEYS.up, KEYS.up, '\r'], history.editor).lines, ['one'], 'and up its rows to the entry before');

  const tall = type([Array.from({ length: 30 }, (_, i) => `row ${i}`).join(altEnter)]).editor;
  const window = tall.render(80, 5);
  t.same(window, { rows: ['row 25', 'row 26', 'row 27', 'row 28', 'row 29'], firstRow: 25, cursorRow: 4, cursorColumn: 6 }, 'at most maxRows, around the cursor');
});

t.test('graphemes around long ASCII runs (split by hand) are the ones Intl.Segmenter finds', async (t) => {
  const segmenter = new Intl.Segmenter(undefined, { granularity: 'grapheme' });
  const run = 'abcdefghijklmnop';
  const neighbours = ['\u0301', '\u200d👍', '\ufe0f\u20e3', '\u0600', '\u0903', '🇫🇷', '\r\n', '漢', '\u1100\u1161', '👍🏽', '\t'];
  for (const before of neighbours) {
    for (const after of neighbours) {
      const text = `${before}${run}${after}${run}${before}`;
      t.same(splitGraphemes(text), [...segmenter.segment(text)].map((piece) => piece.segment), JSON.stringify(text));
    }
  }
  const ascii = '{"a":1,"b":"hello world"} '.repeat(40_000);
  const graphemes = splitGraphemes(ascii);
  t.ok(graphemes.length === ascii.length && graphemes.every((grapheme, i) => grapheme === ascii[i]), 'a megabyte of ASCII, one grapheme per character');
});

t.test('a pasted megabyte, drawn after every chunk as the terminal line does, arrives whole', async (t) => {
  const editor = new LineEditor();
  const text = 'abcdefghij漢字😀 '.repeat(80_000); // about 1.3 MB of UTF-8, 1.1 million graphemes
  editor.feed('\x1b[200~');
  for (let at = 0; at < text.length; at += 65_536) {
    editor.feed(text.slice(at, at + 65_536));
    const { rows, cursorColumn } = editor.render(80);
    t.ok(cursorColumn <= 77 && rows.length === 1, 'the cursor stays in the window');
  }
  t.same(editor.feed('\x1b[201~\r'), [{ type: 'line', text }]);
});

import { CONTROL_CHARACTER, displayWidth, fitWidth, jsonLine, printable } from '../../../lib/printable';

const ESC = '\u001b';

describe('printable', () => {
  test('writes every control character, bidi override and separator as \\uXXXX, and leaves the rest', () => {
    // Act
    const shown = printable(
      `${ESC}[2J${ESC}]0;pwned\u0007 \u009b31m \u202eevil\u202c \u2066x\u2069 a\u2028b\tc\nd café 写真 😀`,
    );

    // Assess
    expect(shown).toBe(
      '\\u001b[2J\\u001b]0;pwned\\u0007 \\u009b31m \\u202eevil\\u202c \\u2066x\\u2069 a\\u2028b\\u0009c\\u000ad café 写真 😀',
    );
  });

  test('keeps newlines of a multi-line message when asked', () => {
    expect(printable(`one${ESC}\ntwo`, { keepNewlines: true })).toBe('one\\u001b\ntwo');
  });
});

describe('jsonLine', () => {
  test('is the same value for a JSON reader, with no raw control character in the line', () => {
    // Prepare
    const value = { name: `${ESC}[31mred\u009b\u202e\u2028`, n: 1 };

    // Act
    const line = jsonLine(value);

    // Assess
    expect(JSON.parse(line)).toEqual(value);
    expect(line.slice(0, -1)).not.toMatch(CONTROL_CHARACTER);
    expect(line.endsWith('}\n')).toBe(true);
  });
});

describe('fitWidth', () => {
  test('keeps text that fits, and cuts longer text in the middle with an ellipsis', () => {
    expect(fitWidth('short.jpg', 20)).toBe('short.jpg');
    const cut = fitWidth(`holiday/${'x'.repeat(100)}/IMG_0001.jpg`, 30);
    expect(displayWidth(cut)).toBe(30);
    expect(cut).toBe(`holiday/${'x'.repeat(7)}…x/IMG_0001.jpg`);
  });

  test('counts wide characters as two columns and never splits a character', () => {
    // Prepare
    const name = `${'写真'.repeat(20)}😀😀😀.jpg`;

    // Act
    const cut = fitWidth(name, 21);

    // Assess
    expect(displayWidth('写真😀a')).toBe(7);
    expect(cut).toBe('写真写真写…😀😀😀.jpg');
    expect(displayWidth(cut)).toBe(21);
    expect(cut).not.toMatch(/\p{Cs}/u);
  });
});

import path from 'node:path';
import { memoiseExpressionParsers } from '../../../../../lib/adapters/local/dynaliteExpressions';

interface Parser {
  parse(text: string, options: { context: Record<string, unknown> }): unknown;
}

const root = path.dirname(require.resolve('dynalite'));
const load = (name: string) => require(path.join(root, 'db', name)) as Parser;
const dynaliteDb = require(path.join(root, 'db')) as { compare: unknown };

/** dynalite's own parser and a memoised parser over the same parse function (dynalite's module is left as it is). */
function parsers(name: string) {
  const real = load(name);
  const memoised: Parser = { parse: real.parse };
  memoiseExpressionParsers([memoised]);
  return { real, memoised };
}

/** A parse context as dynalite's validations build it: every name and value unused until an expression uses it. */
function contextOf(names: Record<string, string>, values: Record<string, Record<string, unknown>>) {
  return {
    attrNames: names,
    attrVals: values,
    unusedAttrNames: Object.fromEntries(Object.keys(names).map((n) => [n, true])),
    unusedAttrVals: Object.fromEntries(Object.keys(values).map((n) => [n, true])),
    isReserved: (name: string) => name.toUpperCase() === 'NAME',
    compare: dynaliteDb.compare,
  };
}

/** Parses with both; returns both results and what each left unused. */
function both(parser: ReturnType<typeof parsers>, text: string, make: () => ReturnType<typeof contextOf>) {
  const realContext = make();
  const memoContext = make();
  const expected = (() => {
    try {
      return parser.real.parse(text, { context: realContext });
    } catch (error) {
      return `threw ${(error as Error).name}`;
    }
  })();
  const actual = (() => {
    try {
      return parser.memoised.parse(text, { context: memoContext });
    } catch (error) {
      return `threw ${(error as Error).name}`;
    }
  })();
  return { expected, actual, realContext, memoContext };
}

describe("dynalite's expression parsers, memoised", () => {
  it('give every request the tree of its own values, and mark the same names and values used', () => {
    // Prepare
    const update = parsers('updateParser');
    const text = 'SET #emotion = :emotion, GSI2PK = :gsi2pk';
    const names = { '#emotion': 'emotion', '#unused': 'x' };
    const requests = ['happy', 'sad', 'angry'].map(
      (label) => () =>
        contextOf(names, {
          ':emotion': { M: { label: { S: label } } },
          ':gsi2pk': { S: `EMOTION#${label}` },
          ':no': { S: 'x' },
        }),
    );

    // Act
    const outcomes = requests.map((make) => both(update, text, make));

    // Assess: the same trees and marks as dynalite's own parse, each holding its own request's value objects.
    for (const { expected, actual, realContext, memoContext } of outcomes) {
      expect(actual).toEqual(expected);
      expect(memoContext.unusedAttrNames).toEqual(realContext.unusedAttrNames);
      expect(memoContext.unusedAttrVals).toEqual(realContext.unusedAttrVals);
      expect(memoContext.unusedAttrVals).toEqual({ ':no': true });
      const tree = actual as { sections: { val: unknown }[] };
      expect(tree.sections[0]?.val).toBe(memoContext.attrVals[':emotion']);
    }
    expect(JSON.stringify(outcomes[2]?.actual)).toContain('angry');
    expect(JSON.stringify(outcomes[2]?.actual)).not.toContain('happy');
  });

  it('parse again when a value has another type, and refuse what dynalite refuses', () => {
    // Prepare
    const update = parsers('updateParser');
    const text = 'SET #n = #n + :step';
    const withStep = (step: Record<string, unknown>) => () => contextOf({ '#n': 'n' }, { ':step': step });

    // Act
    const number = both(update, text, withStep({ N: '1' }));
    const text_ = both(update, text, withStep({ S: 'one' }));
    const numberAgain = both(update, text, withStep({ N: '2' }));

    // Assess
    expect(number.actual).toEqual(number.expected);
    expect(typeof text_.expected).toBe('string');
    expect(text_.actual).toBe(text_.expected);
    expect(numberAgain.actual).toEqual(numberAgain.expected);
  });

  it('always parse BETWEEN, whose bounds are compared, and syntax errors', () => {
    // Prepare
    const condition = parsers('conditionParser');
    const text = '#t BETWEEN :a AND :b';
    const bounds = (a: string, b: string) => () => contextOf({ '#t': 't' }, { ':a': { S: a }, ':b': { S: b } });

    // Act
    const ordered = both(condition, text, bounds('2026-01', '2026-12'));
    const reversed = both(condition, text, bounds('2026-12', '2026-01'));
    const broken = both(condition, '#t = = :a', bounds('a', 'b'));

    // Assess
    expect(ordered.actual).toEqual(ordered.expected);
    expect(typeof reversed.expected).toBe('string');
    expect(reversed.actual).toBe(reversed.expected);
    expect(broken.actual).toBe('threw SyntaxError');
    expect(broken.expected).toBe('threw SyntaxError');
  });
});

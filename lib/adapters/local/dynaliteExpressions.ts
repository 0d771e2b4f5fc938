/**
 * dynalite parses every expression of every request (update, condition, key condition, filter, projection) with a
 * PEG parser: a twelfth of the main thread's CPU in `npm run bench:pipeline`, for the same few dozen expressions the
 * results store sends again and again with other values. This keeps each parse as a template and gives later
 * requests a copy with their own values.
 *
 * A parse depends on the expression, the attribute names (resolved into the tree), whether it is a key condition,
 * and of the values only on their types (the checks compare types), except in BETWEEN (which compares the bounds)
 * and attribute_type (which reads its argument): expressions naming those are always parsed. The values appear in
 * the tree as the request's own value objects (by reference), which is how the template finds and replaces them.
 * The parse also marks which names and values the expression used (so that dynalite can refuse unused ones): a
 * template replays those marks. Errors (a string or a thrown SyntaxError) are never kept: such requests are parsed
 * every time and fail as before.
 */

interface ParseContext {
  attrNames?: Record<string, string>;
  attrVals?: Record<string, Record<string, unknown>>;
  unusedAttrNames?: Record<string, boolean>;
  unusedAttrVals?: Record<string, boolean>;
  isKeyCondition?: boolean;
  [other: string]: unknown;
}

interface Parser {
  parse(text: string, options: { context: ParseContext }): unknown;
}

interface Template {
  tree: unknown;
  usedNames: string[];
  usedValues: string[];
}

/** Where a template holds one of the request's values. */
class ValueSlot {
  constructor(readonly name: string) {}
}

/** Templates kept per parser at most; past it the cache starts again (the store sends a few dozen expressions). */
const MAX_TEMPLATES = 2000;

/** Expressions whose parse reads the values themselves, not only their types. */
const READS_VALUES = /between|attribute_type/i;

/** Replaces each parser's `parse` (dynalite's own modules, shared by its validations) with the memoised one. */
export function memoiseExpressionParsers(parsers: readonly Parser[]): void {
  for (const parser of parsers) {
    if ((parser as { memoised?: boolean }).memoised) continue;
    const parse = parser.parse.bind(parser);
    const templates = new Map<string, Template>();
    parser.parse = (text, options) => parseWithTemplates(parse, templates, text, options.context);
    (parser as { memoised?: boolean }).memoised = true;
  }
}

function parseWithTemplates(
  parse: Parser['parse'],
  templates: Map<string, Template>,
  text: string,
  context: ParseContext,
): unknown {
  if (READS_VALUES.test(text)) return parse(text, { context });
  const values = context.attrVals ?? {};
  const key = templateKey(text, context, values);
  const known = templates.get(key);
  if (known) {
    for (const name of known.usedNames) delete context.unusedAttrNames?.[name];
    for (const name of known.usedValues) delete context.unusedAttrVals?.[name];
    return instantiate(known.tree, values);
  }
  // Parsed once with sets of its own, to learn exactly which names and values this expression uses.
  const unusedNames: Record<string, boolean> = {};
  for (const name of Object.keys(context.attrNames ?? {})) unusedNames[name] = true;
  const unusedValues: Record<string, boolean> = {};
  for (const name of Object.keys(values)) unusedValues[name] = true;
  const tree = parse(text, { context: { ...context, unusedAttrNames: unusedNames, unusedAttrVals: unusedValues } });
  const usedNames = Object.keys(context.attrNames ?? {}).filter((name) => !unusedNames[name]);
  const usedValues = Object.keys(values).filter((name) => !unusedValues[name]);
  for (const name of usedNames) delete context.unusedAttrNames?.[name];
  for (const name of usedValues) delete context.unusedAttrVals?.[name];
  if (typeof tree === 'string') return tree;
  if (templates.size >= MAX_TEMPLATES) templates.clear();
  const slots = new Map<unknown, ValueSlot>();
  for (const name of usedValues) slots.set(values[name], new ValueSlot(name));
  templates.set(key, { tree: templateOf(tree, slots), usedNames, usedValues });
  return tree;
}

/** What the parse depends on: the text, key condition or not, the names, and the types of the values. */
function templateKey(text: string, context: ParseContext, values: Record<string, Record<string, unknown>>): string {
  let types = '';
  for (const [name, value] of Object.entries(values)) {
    types += `${name}:`;
    for (const type of Object.keys(value ?? {})) if (value[type] != null) types += `${type},`;
    types += ';';
  }
  return `${context.isKeyCondition ? 'K' : 'E'}\u0000${text}\u0000${JSON.stringify(context.attrNames ?? null)}\u0000${types}`;
}

/**
 * A copy of a tree with each value of the request in a slot; nodes it shares (a path both in a section and in the
 * list of paths) stay shared, and objects keep their prototype (dynalite makes some with none, as maps).
 */
function templateOf(tree: unknown, slots: Map<unknown, ValueSlot>): unknown {
  return copyTree(tree, (node) => slots.get(node));
}

/** A tree of a template with the request's own value objects in its slots, as the parser puts them there. */
function instantiate(template: unknown, values: Record<string, unknown>): unknown {
  return copyTree(template, (node) => (node instanceof ValueSlot ? { value: values[node.name] } : undefined));
}

function copyTree(tree: unknown, replace: (node: unknown) => { value: unknown } | ValueSlot | undefined): unknown {
  const copies = new Map<object, unknown>();
  const copy = (node: unknown): unknown => {
    const replaced = replace(node);
    if (replaced instanceof ValueSlot) return replaced;
    if (replaced) return replaced.value;
    if (node === null || typeof node !== 'object') return node;
    const done = copies.get(node);
    if (done !== undefined) return done;
    if (Array.isArray(node)) {
      const list: unknown[] = [];
      copies.set(node, list);
      for (const child of node) list.push(copy(child));
      return list;
    }
    const object = Object.create(Object.getPrototypeOf(node)) as Record<string, unknown>;
    copies.set(node, object);
    for (const key of Object.keys(node)) object[key] = copy((node as Record<string, unknown>)[key]);
    return object;
  };
  return copy(tree);
}

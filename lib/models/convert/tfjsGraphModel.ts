import { decodeWeightGroups, type TfjsTensor } from './tfjsWeights';

/**
 * A TensorFlow.js graph model (`model.json` with `format: "graph-model"`, as written by tensorflowjs_converter): its
 * nodes in an order where every node comes after its inputs, and its weights. Attribute values keep TensorFlow's
 * JSON form (int64 as strings, strings as base64); the accessors below read them.
 */
export interface TfjsGraphNode {
  name: string;
  op: string;
  /** Data inputs by node name (`:0` dropped; control inputs `^x` left out). */
  inputs: string[];
  attr: Record<string, TfjsAttrValue>;
}

export interface TfjsAttrValue {
  s?: string;
  i?: string | number;
  f?: number;
  b?: boolean;
  type?: string;
  list?: { s?: string[]; i?: (string | number)[]; f?: number[] };
  shape?: { dim?: { size: string | number }[]; unknownRank?: boolean };
  tensor?: unknown;
}

export interface TfjsGraphModel {
  nodes: TfjsGraphNode[];
  /** Const nodes' values, by node name. */
  weights: Map<string, TfjsTensor>;
  /** sha256 of the weight shards, concatenated in manifest order. */
  weightsSha256: string;
  /** Placeholder node names. */
  inputs: string[];
  /** The nodes the signature names as outputs, else those no other node reads. */
  outputs: string[];
}

interface GraphJson {
  format?: unknown;
  modelTopology?: { node?: unknown };
  weightsManifest?: unknown;
  userDefinedMetadata?: { signature?: { outputs?: Record<string, { name?: string }> } };
}

function isNodeJson(n: unknown): n is { name: string; op: string; input?: unknown; attr?: unknown } {
  const node = n as { name?: unknown; op?: unknown };
  return typeof node?.name === 'string' && typeof node.op === 'string';
}

/** `x:0` → `x`; an input naming another output of a multi-output op is refused (none of the supported ops has one). */
function inputName(input: string, node: string): string | undefined {
  if (input.startsWith('^')) return undefined;
  const [name, port] = input.split(':');
  if (port !== undefined && port !== '0')
    throw new Error(`node ${node}: input ${input} (output ${port}) is not supported`);
  return name;
}

/** Nodes ordered so that every node follows its inputs; fails on a cycle or an input no node produces. */
function topologicalOrder(nodes: TfjsGraphNode[]): TfjsGraphNode[] {
  const byName = new Map(nodes.map((n) => [n.name, n]));
  const state = new Map<string, 'visiting' | 'done'>();
  const ordered: TfjsGraphNode[] = [];
  const visit = (node: TfjsGraphNode) => {
    const seen = state.get(node.name);
    if (seen === 'done') return;
    if (seen === 'visiting') throw new Error(`the graph has a cycle through ${node.name}`);
    state.set(node.name, 'visiting');
    for (const input of node.inputs) {
      const from = byName.get(input);
      if (!from) throw new Error(`node ${node.name}: no node produces its input ${input}`);
      visit(from);
    }
    state.set(node.name, 'done');
    ordered.push(node);
  };
  for (const node of nodes) visit(node);
  return ordered;
}

/**
 * Parses a graph model's JSON and decodes its weights; `readShard` returns a weights file named by the manifest
 * (from a folder, or from an archive in memory).
 */
export async function parseTfjsGraphModel(
  json: unknown,
  where: string,
  readShard: (shard: string) => Promise<{ bytes: Buffer; file: string }>,
): Promise<TfjsGraphModel> {
  const model = json as GraphJson;
  if (model?.format !== 'graph-model' || !Array.isArray(model.modelTopology?.node)) {
    throw new Error(`${where} is not a TensorFlow.js graph model`);
  }
  const nodes = (model.modelTopology.node as unknown[]).map((raw): TfjsGraphNode => {
    if (!isNodeJson(raw)) throw new Error(`${where}: a node has no name or op`);
    const inputs = Array.isArray(raw.input) ? raw.input : [];
    return {
      name: raw.name,
      op: raw.op,
      inputs: inputs.flatMap((i: unknown) => {
        const name = inputName(String(i), raw.name);
        return name === undefined ? [] : [name];
      }),
      attr: (raw.attr ?? {}) as Record<string, TfjsAttrValue>,
    };
  });
  const names = new Set<string>();
  for (const node of nodes) {
    if (names.has(node.name)) throw new Error(`${where}: node ${node.name} appears twice`);
    names.add(node.name);
  }
  const weights = await decodeWeightGroups(model.weightsManifest, where, readShard);
  for (const node of nodes) {
    if (node.op === 'Const' && !weights.tensors.has(node.name)) {
      throw new Error(`${where}: constant ${node.name} has no value in the weights manifest`);
    }
  }
  const consumed = new Set(nodes.flatMap((n) => n.inputs));
  const signature = Object.values(model.userDefinedMetadata?.signature?.outputs ?? {}).flatMap((o) =>
    typeof o.name === 'string' ? [o.name.split(':')[0] as string] : [],
  );
  const outputs = signature.length > 0 ? signature : nodes.filter((n) => !consumed.has(n.name)).map((n) => n.name);
  for (const output of outputs) if (!names.has(output)) throw new Error(`${where}: no node is the output ${output}`);
  return {
    nodes: topologicalOrder(nodes),
    weights: weights.tensors,
    weightsSha256: weights.sha256,
    inputs: nodes.filter((n) => n.op === 'Placeholder').map((n) => n.name),
    outputs,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// Attribute accessors

function attribute(node: TfjsGraphNode, name: string): TfjsAttrValue {
  const value = node.attr[name];
  if (value === undefined) throw new Error(`node ${node.name} (${node.op}) has no attribute ${name}`);
  return value;
}

const decodeBase64 = (s: string) => Buffer.from(s, 'base64').toString('utf8');

export function attrString(node: TfjsGraphNode, name: string, fallback?: string): string {
  if (fallback !== undefined && node.attr[name] === undefined) return fallback;
  const value = attribute(node, name).s;
  if (typeof value !== 'string') throw new Error(`node ${node.name}: attribute ${name} is not a string`);
  return decodeBase64(value);
}

export function attrStrings(node: TfjsGraphNode, name: string): string[] {
  if (node.attr[name] === undefined) return [];
  return (attribute(node, name).list?.s ?? []).map(decodeBase64);
}

export function attrInts(node: TfjsGraphNode, name: string, fallback?: number[]): number[] {
  if (fallback !== undefined && node.attr[name] === undefined) return fallback;
  return (attribute(node, name).list?.i ?? []).map(Number);
}

export function attrInt(node: TfjsGraphNode, name: string, fallback: number): number {
  const value = node.attr[name]?.i;
  return value === undefined ? fallback : Number(value);
}

export function attrBool(node: TfjsGraphNode, name: string, fallback: boolean): boolean {
  const value = node.attr[name]?.b;
  return value === undefined ? fallback : value;
}

/** A Placeholder's shape; -1 for an unknown dimension. */
export function attrShape(node: TfjsGraphNode, name: string): number[] {
  const shape = attribute(node, name).shape;
  if (!shape?.dim || shape.unknownRank) throw new Error(`node ${node.name}: attribute ${name} has no known rank`);
  return shape.dim.map((d) => Number(d.size));
}

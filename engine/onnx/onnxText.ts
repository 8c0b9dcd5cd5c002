// Prints a model in the ONNX textual syntax (onnx.ai "ONNX Textual Syntax"): the `< ... >` model
// header, the graph signature, initializers as typed declarations (values elided: the view is for
// reading), and one line per node with its `[name]`, outputs, op, attributes and inputs.
import { dataTypeName } from './dataType';
import { int64ToNumber, onnx } from './proto';

/** The text and where each node's line is (0-based), by node index. */
export interface OnnxText {
  readonly text: string;
  readonly nodeLines: readonly number[];
}

/** Prints `model`; `annotate(nodeIndex)` may add a trailing `#` comment to a node's line. */
export function printOnnxText(model: onnx.IModelProto, annotate: (nodeIndex: number) => string | undefined = () => undefined): OnnxText {
  const graph = model.graph ?? {};
  const lines: string[] = ['<', ...modelHeader(model).map((entry, i, all) => `  ${entry}${i < all.length - 1 ? ',' : ''}`), '>'];
  const initializerNames = new Set((graph.initializer ?? []).map((t) => t.name));
  const inputs = (graph.input ?? []).filter((i) => !initializerNames.has(i.name));
  lines.push(`${quoteId(graph.name || 'main_graph')} (${inputs.map(valueDeclaration).join(', ')}) => (${(graph.output ?? []).map(valueDeclaration).join(', ')})`);
  if (graph.initializer?.length) {
    lines.push('  <');
    graph.initializer.forEach((t, i, all) => lines.push(`    ${tensorType(t.dataType ?? 0, (t.dims ?? []).map(int64ToNumber))} ${quoteId(t.name ?? '')}${i < all.length - 1 ? ',' : ''}`));
    lines.push('  >');
  }
  lines.push('{');
  const nodeLines: number[] = [];
  (graph.node ?? []).forEach((node, index) => {
    nodeLines.push(lines.length);
    const note = annotate(index);
    lines.push(`  ${nodeStatement(node)}${note ? `  # ${note}` : ''}`);
  });
  lines.push('}');
  return { text: `${lines.join('\n')}\n`, nodeLines };
}

function modelHeader(model: onnx.IModelProto): string[] {
  const opsets = (model.opsetImport ?? []).map((o) => `"${o.domain ?? ''}" : ${int64ToNumber(o.version)}`).join(', ');
  const entries = [`ir_version: ${int64ToNumber(model.irVersion)}`, `opset_import: [${opsets}]`];
  if (model.producerName) entries.push(`producer_name: ${JSON.stringify(model.producerName)}`);
  if (model.producerVersion) entries.push(`producer_version: ${JSON.stringify(model.producerVersion)}`);
  if (model.domain) entries.push(`domain: ${JSON.stringify(model.domain)}`);
  if (int64ToNumber(model.modelVersion)) entries.push(`model_version: ${int64ToNumber(model.modelVersion)}`);
  return entries;
}

function nodeStatement(node: onnx.INodeProto): string {
  const name = node.name ? `[${quoteId(node.name)}] ` : '';
  const outputs = (node.output ?? []).map(quoteId).join(', ');
  const op = node.domain ? `${node.domain}.${node.opType ?? ''}` : (node.opType ?? '');
  const attributes = node.attribute?.length ? ` <${node.attribute.map(attributeText).join(', ')}>` : '';
  return `${name}${outputs} = ${op}${attributes} (${(node.input ?? []).map(quoteId).join(', ')})`;
}

function attributeText(attribute: onnx.IAttributeProto): string {
  const T = onnx.AttributeProto.AttributeType;
  const name = attribute.name ?? '';
  switch (attribute.type) {
    case T.INT: return `${name}: int = ${int64ToNumber(attribute.i)}`;
    case T.FLOAT: return `${name}: float = ${formatFloat(attribute.f ?? 0)}`;
    case T.STRING: return `${name}: string = ${JSON.stringify(Buffer.from(attribute.s ?? []).toString('utf8'))}`;
    case T.INTS: return `${name}: ints = [${(attribute.ints ?? []).map(int64ToNumber).join(', ')}]`;
    case T.FLOATS: return `${name}: floats = [${(attribute.floats ?? []).map(formatFloat).join(', ')}]`;
    case T.STRINGS: return `${name}: strings = [${(attribute.strings ?? []).map((s) => JSON.stringify(Buffer.from(s).toString('utf8'))).join(', ')}]`;
    case T.TENSOR: {
      const t = attribute.t ?? {};
      return `${name}: tensor = ${tensorType(t.dataType ?? 0, (t.dims ?? []).map(int64ToNumber))} {...}`;
    }
    case T.GRAPH: return `${name}: graph = ${quoteId(attribute.g?.name || 'subgraph')} {...}`;
    default: return `${name}: ...`;
  }
}

function valueDeclaration(info: onnx.IValueInfoProto): string {
  const tensor = info.type?.tensorType;
  if (!tensor) return quoteId(info.name ?? '');
  const dims = tensor.shape ? (tensor.shape.dim ?? []).map((d) => (d.dimParam ? d.dimParam : (d as { value?: string }).value === 'dimValue' ? String(int64ToNumber(d.dimValue)) : '?')) : undefined;
  return `${dataTypeName(tensor.elemType ?? 0)}${dims ? `[${dims.join(',')}]` : ''} ${quoteId(info.name ?? '')}`;
}

function tensorType(dataType: number, dims: readonly number[]): string {
  return `${dataTypeName(dataType)}[${dims.join(',')}]`;
}

function formatFloat(value: number): string {
  return Number.isInteger(value) ? `${value}.0` : String(Math.fround(value) === value ? Number(value.toPrecision(7)) : value);
}

/** A name as the syntax writes it: bare when it is an identifier, else in double quotes. */
export function quoteId(name: string): string {
  return /^[A-Za-z_][A-Za-z0-9_]*$/.test(name) ? name : JSON.stringify(name);
}

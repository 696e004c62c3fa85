import { parser } from '@prometheus-io/lezer-promql';

type SyntaxNode = ReturnType<typeof parser.parse>['topNode'];

/** A metric an expression selects, with the labels its matchers name. */
export interface Selection {
  metric: string;
  labels: string[];
}

/** Labels an aggregation (`by`, `without`) or a vector match (`on`, `ignoring`, `group_left`) names, with the metrics they apply to. */
export interface Grouping {
  clause: string;
  labels: string[];
  metrics: string[];
}

export interface PromqlReferences {
  selections: Selection[];
  groupings: Grouping[];
  /** Syntax errors, as the text around each; empty for a valid expression. */
  errors: string[];
}

/**
 * What a PromQL expression refers to, read from Prometheus's own grammar (the parser of its web UI),
 * so that functions, strings and durations are never taken for metric names.
 */
export function promqlReferences(expr: string): PromqlReferences {
  const tree = parser.parse(expr);
  const references: PromqlReferences = { selections: [], groupings: [], errors: [] };
  const text = (node: SyntaxNode): string => expr.slice(node.from, node.to);
  const visit = (node: SyntaxNode): void => {
    if (node.type.isError) references.errors.push(`at ${node.from}: "${expr.slice(Math.max(0, node.from - 20), node.to + 20)}"`);
    if (node.name === 'VectorSelector') references.selections.push(selection(node, text));
    if (node.name === 'AggregateExpr') {
      const modifier = node.getChild('AggregateModifier');
      const body = node.getChild('FunctionCallBody');
      if (modifier && body) references.groupings.push(grouping(modifier, body, text));
    }
    if (node.name === 'BinaryExpr') {
      const modifier = node.getChild('MatchingModifierClause');
      if (modifier) references.groupings.push(grouping(modifier, node, text));
    }
    for (let child = node.firstChild; child; child = child.nextSibling) visit(child);
  };
  visit(tree.topNode);
  return references;
}

function selection(node: SyntaxNode, text: (node: SyntaxNode) => string): Selection {
  let metric = node.getChild('Identifier') ? text(node.getChild('Identifier')!) : '';
  const labels: string[] = [];
  for (const matcher of node.getChild('LabelMatchers')?.getChildren('UnquotedLabelMatcher') ?? []) {
    const name = text(matcher.getChild('LabelName')!);
    const value = matcher.getChild('StringLiteral');
    // {__name__="x"} is another spelling of x; a regex on __name__ cannot be checked, so it is kept as a label.
    if (name === '__name__' && value && matcher.getChild('MatchOp')?.getChild('EqlSingle')) metric = unquote(text(value));
    else labels.push(name);
  }
  for (const matcher of node.getChild('LabelMatchers')?.getChildren('QuotedLabelMatcher') ?? []) {
    const name = matcher.getChild('QuotedLabelName');
    if (name) labels.push(unquote(text(name)));
  }
  return { metric, labels };
}

function grouping(modifier: SyntaxNode, scope: SyntaxNode, text: (node: SyntaxNode) => string): Grouping {
  const labels = modifier.getChildren('GroupingLabels').flatMap((group) => [...group.getChildren('LabelName'), ...group.getChildren('QuotedLabelName')].map((label) => unquote(text(label))));
  const metrics = new Set<string>();
  const collect = (node: SyntaxNode): void => {
    if (node.name === 'VectorSelector') metrics.add(selection(node, text).metric);
    for (let child = node.firstChild; child; child = child.nextSibling) collect(child);
  };
  collect(scope);
  return { clause: text(modifier), labels, metrics: [...metrics] };
}

function unquote(literal: string): string {
  if (!/^["'`]/.test(literal)) return literal;
  // PromQL strings are Go strings: JSON reads the double-quoted ones; raw `...` and '...' have no escapes here.
  return literal.startsWith('"') ? (JSON.parse(literal) as string) : literal.slice(1, -1);
}

/**
 * The series of a Prometheus text exposition (what /metrics answers): each sample's name (a
 * histogram's `_bucket`, `_sum`, `_count`, a counter's `_total`, as exported) with the label names
 * seen on it, and the families of the `# TYPE` lines.
 */
export function exposedSeries(exposition: string): { series: Map<string, Set<string>>; types: Map<string, string> } {
  const series = new Map<string, Set<string>>();
  const types = new Map<string, string>();
  for (const line of exposition.split('\n')) {
    const type = /^# TYPE (\S+) (\S+)$/.exec(line);
    if (type) types.set(type[1], type[2]);
    if (!line || line.startsWith('#')) continue;
    const sample = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s/.exec(line);
    if (!sample) throw new Error(`not a sample line: ${line}`);
    const labels = series.get(sample[1]) ?? new Set<string>();
    for (const [, name] of (sample[2] ?? '').matchAll(/([a-zA-Z_][a-zA-Z0-9_]*)="(?:[^"\\]|\\.)*"/g)) labels.add(name);
    series.set(sample[1], labels);
  }
  return { series, types };
}

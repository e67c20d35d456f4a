/**
 * The Firestore queries the code runs, read from its `store.list(...)` and `store.count(...)` calls, and the
 * composite indexes they need. Firestore serves a query on one field (an equality or an order) from its automatic
 * single-field indexes; anything more needs a composite index: the equality fields, then the ordered field in
 * the query's direction (Firestore appends `__name__` in the same direction, which is the id tie-break the
 * adapter adds).
 */
import ts from 'typescript';
import { findCalls, readSource, resolveConst, resolveFunctionResult, sourceFiles, unwrap, where, type SourceFile } from './terraform-source.ts';

export interface StoreQuery {
  /** `file:line` of the call. */
  readonly at: string;
  readonly method: 'list' | 'count';
  /** The collection group: the last segment of the collection path (`assets`, `results`, `outbox`). */
  readonly collection: string;
  readonly equalities: readonly string[];
  readonly orderBy?: { readonly field: string; readonly direction: 'ASCENDING' | 'DESCENDING' };
}

export interface IndexField {
  readonly field_path: string;
  readonly order: 'ASCENDING' | 'DESCENDING';
}

/** Where the code that queries lives: everything but the adapters (which implement the port) and tests. */
export const QUERYING_FOLDERS = ['cli', 'functions', 'shared', 'scripts'] as const;
const EXCLUDED = [/^shared\/adapters\//, /^scripts\/deploy\//];

export function storeQueries(files: readonly string[] = sourceFiles(QUERYING_FOLDERS).filter((file) => !EXCLUDED.some((re) => re.test(file)))): StoreQuery[] {
  const queries: StoreQuery[] = [];
  for (const file of files) {
    const source = readSource(file);
    const calls = findCalls(
      source,
      (_call, { receiver, name }) => receiver !== undefined && /(?:^|\.)store$/.test(receiver) && (name === 'list' || name === 'count'),
    );
    for (const call of calls) {
      const method = (unwrap(call.expression) as ts.PropertyAccessExpression).name.text as 'list' | 'count';
      const [collectionArg, queryArg] = call.arguments;
      if (!collectionArg) throw new Error(`${where(source, call)}: store.${method} without a collection`);
      const collection = collectionOf(source, collectionArg);
      for (const shape of queryShapes(source, queryArg)) {
        queries.push({ at: where(source, call), method, collection, ...shape });
      }
    }
  }
  return queries;
}

function fail(source: SourceFile, node: ts.Node, what: string): never {
  throw new Error(
    `${where(source, node)}: cannot read ${what} statically ('${node.getText(source.ast)}'); write it as a literal or a same-file const/function`,
  );
}

/** The collection group of a path expression: its last segment, which must be literal. */
function collectionOf(source: SourceFile, node: ts.Expression): string {
  const expression = unwrap(node);
  if (ts.isStringLiteralLike(expression)) return lastSegment(expression.text, source, expression);
  if (ts.isTemplateExpression(expression)) {
    const tail = expression.templateSpans.at(-1)!.literal.text;
    if (!tail.startsWith('/') || tail.length < 2) fail(source, expression, 'the collection');
    return lastSegment(tail, source, expression);
  }
  if (ts.isIdentifier(expression)) {
    const init = resolveConst(source, expression.text, expression);
    if (init) return collectionOf(source, init);
  }
  if (ts.isCallExpression(expression) && ts.isIdentifier(expression.expression)) {
    const result = resolveFunctionResult(source, expression.expression.text);
    if (result) return collectionOf(source, result);
  }
  return fail(source, expression, 'the collection');
}

function lastSegment(pathText: string, source: SourceFile, node: ts.Node): string {
  const segments = pathText.split('/').filter(Boolean);
  // A collection path has an odd number of segments; only the last one matters for the index.
  const last = segments.at(-1);
  if (!last) fail(source, node, 'the collection');
  return last;
}

type Shape = { equalities: string[]; orderBy?: StoreQuery['orderBy'] };

/** Every shape the query argument can take (a conditional spread gives two). */
function queryShapes(source: SourceFile, node: ts.Expression | undefined): Shape[] {
  if (!node) return [{ equalities: [] }];
  const expression = unwrap(node);
  if (ts.isIdentifier(expression)) {
    const init = resolveConst(source, expression.text, expression);
    if (!init) fail(source, expression, 'the query');
    return queryShapes(source, init);
  }
  if (ts.isConditionalExpression(expression)) return [...queryShapes(source, expression.whenTrue), ...queryShapes(source, expression.whenFalse)];
  if (!ts.isObjectLiteralExpression(expression)) fail(source, expression, 'the query');
  let shapes: Shape[] = [{ equalities: [] }];
  for (const property of expression.properties) {
    if (ts.isSpreadAssignment(property)) {
      const options = queryShapes(source, property.expression);
      shapes = shapes.flatMap((shape) => options.map((option) => merge(shape, option)));
      continue;
    }
    if (!ts.isPropertyAssignment(property) && !ts.isShorthandPropertyAssignment(property)) fail(source, property, 'the query');
    const name = property.name.getText(source.ast);
    if (name === 'limit') continue;
    if (!ts.isPropertyAssignment(property)) fail(source, property, `the query's ${name}`);
    const value = unwrap(property.initializer);
    if (name === 'where') {
      const fields = whereFields(source, value);
      shapes = shapes.map((shape) => ({ ...shape, equalities: [...shape.equalities, ...fields] }));
    } else if (name === 'orderBy') {
      const orderBy = orderOf(source, value);
      shapes = shapes.map((shape) => ({ ...shape, orderBy }));
    } else {
      fail(source, property, `the query's ${name}`);
    }
  }
  return shapes;
}

function merge(a: Shape, b: Shape): Shape {
  const orderBy = b.orderBy ?? a.orderBy;
  return { equalities: [...a.equalities, ...b.equalities], ...(orderBy ? { orderBy } : {}) };
}

function literalString(source: SourceFile, node: ts.Expression | undefined, what: string): string {
  const expression = node && unwrap(node);
  if (!expression || !ts.isStringLiteralLike(expression)) return fail(source, node ?? source.ast, what);
  return expression.text;
}

function whereFields(source: SourceFile, node: ts.Expression): string[] {
  if (!ts.isArrayLiteralExpression(node)) fail(source, node, 'the where clause');
  return node.elements.map((element) => {
    const clause = unwrap(element);
    if (!ts.isArrayLiteralExpression(clause)) fail(source, clause, 'a where clause');
    const op = literalString(source, clause.elements[1], 'the where operator');
    if (op !== '==') fail(source, clause, 'a non-equality filter (add its index rule here)');
    return literalString(source, clause.elements[0], 'the where field');
  });
}

function orderOf(source: SourceFile, node: ts.Expression): StoreQuery['orderBy'] {
  if (!ts.isObjectLiteralExpression(node)) fail(source, node, 'the orderBy');
  let field: string | undefined;
  let direction: 'ASCENDING' | 'DESCENDING' = 'ASCENDING';
  for (const property of node.properties) {
    if (!ts.isPropertyAssignment(property)) fail(source, property, 'the orderBy');
    const name = property.name.getText(source.ast);
    if (name === 'field') field = literalString(source, property.initializer, 'the orderBy field');
    else if (name === 'direction') direction = literalString(source, property.initializer, 'the orderBy direction') === 'desc' ? 'DESCENDING' : 'ASCENDING';
    else fail(source, property, 'the orderBy');
  }
  if (!field) fail(source, node, 'the orderBy field');
  return { field, direction };
}

/** The composite index a query needs, or undefined when the automatic single-field indexes serve it. */
export function requiredIndex(query: StoreQuery): { collection: string; fields: IndexField[] } | undefined {
  const equalities = [...new Set(query.equalities)];
  const ordered = query.orderBy && !equalities.includes(query.orderBy.field) ? [query.orderBy] : [];
  if (equalities.length + ordered.length <= 1) return undefined;
  return {
    collection: query.collection,
    fields: [
      ...equalities.map((field) => ({ field_path: field, order: 'ASCENDING' as const })),
      ...ordered.map((o) => ({ field_path: o.field, order: o.direction })),
    ],
  };
}

/**
 * Whether a composite index serves a query: the query's equality fields first (in any order, any direction),
 * then its ordered field in its direction, and nothing else but Firestore's own `__name__` at the end.
 */
export function indexServes(
  index: { collection: string; fields: readonly IndexField[] },
  need: { collection: string; fields: readonly IndexField[] },
): boolean {
  if (index.collection !== need.collection) return false;
  const fields = index.fields.filter((field) => field.field_path !== '__name__');
  if (fields.length !== need.fields.length) return false;
  const needEqualities = need.fields.slice(0, -1);
  const needOrder = need.fields.at(-1)!;
  const haveEqualities = fields.slice(0, -1);
  const haveOrder = fields.at(-1)!;
  const sameSet = new Set(needEqualities.map((f) => f.field_path));
  return haveEqualities.every((f) => sameSet.has(f.field_path)) && haveOrder.field_path === needOrder.field_path && haveOrder.order === needOrder.order;
}

// Small readers over libpg-query's JSON parse tree. Nodes are `{ Tag: { …fields } }`; protobuf defaults
// are omitted from the JSON (integer 0 is `{ ival: {} }`, false is `{ boolval: {} }`), so every reader here
// treats a missing field as its default rather than as "absent".

/** A node or node body of the JSON parse tree (shapes are documented in @pgsql/types). */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export type AstNode = { readonly [field: string]: any };

/** The tag and body of a node: `{ SelectStmt: body }` → ['SelectStmt', body]. */
export function unwrap(node: AstNode | undefined | null): [string, AstNode] | undefined {
  if (node === undefined || node === null || typeof node !== 'object') return undefined;
  const keys = Object.keys(node);
  if (keys.length !== 1) return undefined;
  const tag = keys[0]!;
  return [tag, node[tag] as AstNode];
}

/** The body of `node` when it has tag `tag`. */
export function as(node: AstNode | undefined | null, tag: string): AstNode | undefined {
  const u = unwrap(node);
  return u !== undefined && u[0] === tag ? u[1] : undefined;
}

/** `[{String:{sval:'pg_catalog'}}, {String:{sval:'int8'}}]` → ['pg_catalog', 'int8']; undefined if any item is not a String. */
export function stringList(items: readonly AstNode[] | undefined): string[] | undefined {
  if (items === undefined) return [];
  const out: string[] = [];
  for (const item of items) {
    const s = as(item, 'String');
    if (s === undefined) return undefined;
    out.push(typeof s.sval === 'string' ? s.sval : '');
  }
  return out;
}

/** A constant as written in SQL, before it meets a column type. */
export type RawValue =
  | { kind: 'string'; text: string }
  | { kind: 'integer'; text: string }
  | { kind: 'decimal'; text: string }
  | { kind: 'boolean'; value: boolean }
  | { kind: 'null' };

/** An `A_Const` body as a RawValue; undefined for bit strings. */
export function constValue(c: AstNode): RawValue | undefined {
  if (c.isnull === true) return { kind: 'null' };
  if (c.ival !== undefined) return { kind: 'integer', text: String(c.ival.ival ?? 0) };
  if (c.fval !== undefined) {
    const text = String(c.fval.fval ?? '0');
    return /^-?\d+$/.test(text) ? { kind: 'integer', text } : { kind: 'decimal', text };
  }
  if (c.sval !== undefined) return { kind: 'string', text: String(c.sval.sval ?? '') };
  if (c.boolval !== undefined) return { kind: 'boolean', value: c.boolval.boolval === true };
  return undefined;
}

/** The conjuncts of an AND tree: `a AND (b AND c)` → [a, b, c]; anything else is one conjunct. */
export function conjuncts(expr: AstNode | undefined): AstNode[] {
  if (expr === undefined) return [];
  const b = as(expr, 'BoolExpr');
  if (b !== undefined && b.boolop === 'AND_EXPR') return (b.args as AstNode[]).flatMap((a) => conjuncts(a));
  return [expr];
}

/** Calls `visit` for every node (tag, body) below `node`, depth first; `visit` returns false to skip a subtree. */
export function walkNodes(node: unknown, visit: (tag: string, body: AstNode) => boolean | void): void {
  if (node === null || typeof node !== 'object') return;
  if (Array.isArray(node)) {
    for (const item of node) walkNodes(item, visit);
    return;
  }
  const obj = node as Record<string, unknown>;
  for (const key in obj) {
    const value = obj[key];
    if (value === null || typeof value !== 'object') continue;
    // A tagged node is an object whose key starts with an upper-case letter (SelectStmt, A_Expr, String).
    const first = key.charCodeAt(0);
    if (first >= 65 && first <= 90 && !Array.isArray(value)) {
      if (visit(key, value as AstNode) === false) continue;
    }
    walkNodes(value, visit);
  }
}

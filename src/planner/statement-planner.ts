// Walks parsed statements and produces one FetchPlan per Keap table reference, with the conditions that
// every row the statement could need from that reference satisfies.
//
// Where a condition applies (the rules behind "fetched rows ⊇ needed rows"):
// - WHERE conjuncts of a query level restrict every table reference of that level's FROM. On the nullable
//   side of an outer join only strict conditions are safe (a NULL-extended row fails them anyway); IS NULL
//   is not strict (`a LEFT JOIN t … WHERE t.x IS NULL` is an anti-join).
// - ON conjuncts restrict the references on the side the join filters: both sides of an inner join, the
//   right side of a LEFT JOIN, the left side of a RIGHT JOIN, neither side of a FULL JOIN.
// - A subquery's conditions apply to its own references. Outer conditions reach into a derived table, a view
//   or a once-used CTE only through output columns that pass a Keap column through a plain filter/projection.
// - `a.x = b.y` (WHERE or inner ON) carries comparisons on a.x to b.y and back: every kept row has both.
// - Anything else (OR across columns, functions of a column, correlated values) is left to the engine.
// Whatever is not provably implied is not pushed: pushing less only costs API calls.
import type { BatchPlan, FetchPlan, PushedValue, WriteTarget } from './types.js';
import { as, conjuncts, stringList, unwrap, walkNodes, type AstNode } from './ast.js';
import { KEAP_SCHEMA, normaliseSearchPath, type PlannerContext } from './context.js';
import { analyseConjunct, valueOf, type AnalysedConjunct, type ColumnHit, type ParamValues } from './conjunct-analysis.js';
import { pushRequirement } from './filter-pushdown.js';
import { parseSqlCached } from './parse-cache.js';
import { normaliseConditions, normaliseFetches } from './plan-normalisation.js';
import {
  countReferences,
  hasSubLink,
  isCountStar,
  ORDER_SAFE_TYPES,
  outputNameShadows,
  passThroughColumns,
  rowPreserving,
  sameComparison,
} from './query-shape.js';
import { allRefs, columnOf, isKeapRef, type DerivedRef, type FromRef, type KeapRef, type Level } from './references.js';
import { isUtcTimeZone, RelationResolver } from './relation-resolver.js';
import type { CoercionOptions } from './value-coercion.js';
import {
  bodyMentions,
  bodyWrites,
  DEFINITION_CHANGES,
  readOnlyRejection,
  RELATION_OBJECT_TYPES,
  writeRejection,
  type Rejection,
} from './write-guard.js';

interface Scope {
  ctes: ReadonlySet<string>;
  /** pass-through columns of the CTEs in `ctes` that the statement references exactly once */
  cteColumns?: ReadonlyMap<string, DerivedRef['columns']>;
  /** nesting of view expansions, bounded against cyclic definitions */
  viewDepth: number;
}

const MAX_VIEW_DEPTH = 16;
const DEFAULT_SEARCH_PATH = ['$user', 'public'];

/** Plan state for one batch; definitions made earlier in the batch are visible to later statements. */
export class BatchPlanner {
  readonly fetches: FetchPlan[] = [];
  readonly writes: WriteTarget[] = [];
  rejection: Rejection | undefined;
  private readonly resolver: RelationResolver;
  private readonly views: Map<string, string>;
  private readonly prepared: Map<string, string>;
  private readonly functions: Map<string, string>;
  private readonly coercion: CoercionOptions;

  constructor(private readonly ctx: PlannerContext) {
    this.views = new Map(ctx.views ?? []);
    this.prepared = new Map(ctx.preparedStatements ?? []);
    this.functions = new Map(ctx.functions ?? []);
    this.resolver = new RelationResolver({ ...ctx, views: this.views }, normaliseSearchPath(ctx.searchPath));
    this.coercion = { utc: isUtcTimeZone(ctx.timeZone) };
  }

  planStatement(stmt: AstNode, text: string, params: ParamValues): void {
    new StatementWalker(this, params, true).statement(stmt, { ctes: new Set(), viewDepth: 0 }, true);
    if (this.functions.size > 0) this.userFunctionCalls(stmt);
    this.remember(stmt, text);
  }

  /**
   * A user function may run any SQL: every Keap table its definition (or a user function it calls) mentions
   * is loaded in full, and a definition writing to one is refused. Functions are not parsed: a mention is
   * enough, since loading too much only costs API calls.
   */
  private userFunctionCalls(stmt: AstNode): void {
    const called: string[] = [];
    walkNodes(stmt, (tag, body) => {
      if (tag === 'FuncCall') {
        const name = stringList(body.funcname)?.at(-1);
        if (name !== undefined && this.functions.has(name) && !called.includes(name)) called.push(name);
      }
    });
    if (unwrap(stmt)?.[0] === 'CreateFunctionStmt') return;
    const tables = [...this.ctx.catalog.tables.keys()];
    for (let i = 0; i < called.length; i++) {
      const definition = this.functions.get(called[i]!)!;
      const written = bodyWrites(definition, tables);
      if (written !== undefined) this.reject(readOnlyRejection(written, `a write inside function ${called[i]}()`));
      for (const table of bodyMentions(definition, tables)) this.fetches.push({ table, conditions: [] });
      for (const other of bodyMentions(definition, this.functions.keys())) if (!called.includes(other)) called.push(other);
    }
  }

  result(): BatchPlan {
    if (this.rejection) return { fetches: [], rejection: this.rejection };
    return this.writes.length ? { fetches: normaliseFetches(this.fetches), writes: this.writes } : { fetches: normaliseFetches(this.fetches) };
  }

  reject(r: Rejection): void {
    this.rejection ??= r;
  }

  /** A write to a writable Keap table that will run (not under PREPARE or CREATE VIEW). */
  write(w: WriteTarget): void {
    this.writes.push(w);
  }

  get context(): PlannerContext {
    return this.ctx;
  }
  get relations(): RelationResolver {
    return this.resolver;
  }
  get coercionOptions(): CoercionOptions {
    return this.coercion;
  }
  preparedSql(name: string): string | undefined {
    return this.prepared.get(name);
  }

  /** Later statements of the same batch see views, prepared statements and search_path set by earlier ones. */
  private remember(stmt: AstNode, text: string): void {
    const u = unwrap(stmt);
    if (u === undefined) return;
    const [tag, body] = u;
    if (tag === 'ViewStmt' || (tag === 'CreateTableAsStmt' && body.objtype === 'OBJECT_MATVIEW')) {
      const rel = tag === 'ViewStmt' ? body.view : body.into?.rel;
      if (rel?.relname) this.views.set(qualifiedName(rel), text);
    } else if (tag === 'CreateFunctionStmt') {
      const name = stringList(body.funcname)?.at(-1);
      if (name !== undefined) this.functions.set(name, text);
    } else if (tag === 'PrepareStmt' && typeof body.name === 'string') {
      this.prepared.set(body.name, text);
    } else if (tag === 'VariableSetStmt' && body.name === 'search_path') {
      if (body.kind === 'VAR_SET_VALUE') {
        const names = ((body.args ?? []) as AstNode[]).map((a) => {
          const c = as(a, 'A_Const');
          return typeof c?.sval?.sval === 'string' ? (c.sval.sval as string) : undefined;
        });
        // quoted or not, the parser already gives the schema names as PostgreSQL will read them; a single
        // string with commas ('crm, public') names one odd schema, but reading it as a list too only adds
        // schemas, so no Keap table goes unloaded either way
        if (names.every((n) => n !== undefined)) {
          const list = names as string[];
          const split = list.filter((n) => n.includes(',')).flatMap((n) => normaliseSearchPath([n]));
          this.resolver.searchPath = [...list, ...split];
        }
      } else if (body.kind === 'VAR_SET_DEFAULT' || body.kind === 'VAR_RESET') {
        this.resolver.searchPath = DEFAULT_SEARCH_PATH;
      }
    } else if (tag === 'VariableSetStmt' && body.kind === 'VAR_RESET_ALL') {
      this.resolver.searchPath = DEFAULT_SEARCH_PATH;
    } else if (tag === 'DiscardStmt' && body.target === 'DISCARD_ALL') {
      this.resolver.searchPath = DEFAULT_SEARCH_PATH;
      this.prepared.clear();
    }
  }
}

export function qualifiedName(rel: AstNode): string {
  const name = String(rel.relname ?? '');
  return rel.schemaname ? `${rel.schemaname}.${name}` : name;
}

class StatementWalker {
  constructor(
    private readonly batch: BatchPlanner,
    private readonly params: ParamValues,
    /** false inside EXPLAIN without ANALYZE and PREPARE: nothing runs, so nothing is written */
    private readonly executes: boolean,
  ) {}

  /** `top` marks the statement itself (not a CTE or sub-statement): only there may count(*) use the API's count. */
  statement(node: AstNode | undefined, scope: Scope, top = false): void {
    const u = unwrap(node);
    if (u === undefined) return;
    const [tag, body] = u;
    switch (tag) {
      case 'SelectStmt':
        this.select(body, scope, top);
        return;
      case 'InsertStmt': {
        const action = body.onConflictClause?.action;
        const cols = ((body.cols ?? []) as AstNode[]).map((c) => String(as(c, 'ResTarget')?.name ?? ''));
        if (!this.keapWrite(body.relation, 'insert', cols, action === 'ONCONFLICT_NOTHING', action === 'ONCONFLICT_UPDATE')) this.guardWrite(body.relation, 'INSERT');
        const inner = this.withClause(body.withClause, scope, body);
        this.statement(body.selectStmt, inner);
        this.expressions([body.onConflictClause, body.returningList], inner);
        return;
      }
      case 'UpdateStmt': {
        const cols = ((body.targetList ?? []) as AstNode[]).map((c) => String(as(c, 'ResTarget')?.name ?? ''));
        const keap = this.keapWrite(body.relation, 'update', cols);
        if (!keap) this.guardWrite(body.relation, 'UPDATE');
        const inner = this.withClause(body.withClause, scope, body);
        // the target's rows are fetched with the WHERE clause pushed down, as for a SELECT
        if (keap) this.level([{ RangeVar: body.relation }, ...((body.fromClause ?? []) as AstNode[])], body.whereClause, inner, 0);
        else this.level(body.fromClause ?? [], body.whereClause, inner, 1);
        this.expressions([body.targetList, body.returningList], inner);
        return;
      }
      case 'DeleteStmt': {
        const keap = this.keapWrite(body.relation, 'delete', []);
        if (!keap) this.guardWrite(body.relation, 'DELETE');
        const inner = this.withClause(body.withClause, scope, body);
        if (keap) this.level([{ RangeVar: body.relation }, ...((body.usingClause ?? []) as AstNode[])], body.whereClause, inner, 0);
        else this.level(body.usingClause ?? [], body.whereClause, inner, 1);
        this.expressions([body.returningList], inner);
        return;
      }
      case 'MergeStmt': {
        this.guardWrite(body.relation, 'MERGE');
        const inner = this.withClause(body.withClause, scope, body);
        // rows of the source that match nothing still drive WHEN NOT MATCHED: ON does not filter the source
        this.level([body.sourceRelation], undefined, inner, 1);
        this.expressions([body.joinCondition, body.mergeWhenClauses, body.returningList], inner);
        return;
      }
      case 'ExplainStmt': {
        const analyse = ((body.options ?? []) as AstNode[]).some((o) => {
          const d = as(o, 'DefElem');
          if (d?.defname !== 'analyze') return false;
          const arg = unwrap(d.arg);
          if (arg === undefined) return true;
          if (arg[0] === 'Boolean') return arg[1].boolval === true;
          const word = String(arg[1].sval ?? arg[1].ival ?? 'true').toLowerCase();
          return !['false', 'off', '0', 'no'].includes(word);
        });
        new StatementWalker(this.batch, this.params, this.executes && analyse).statement(body.query, scope);
        return;
      }
      case 'CopyStmt':
        if (body.query !== undefined) this.statement(body.query, scope, false);
        else if (body.relation !== undefined) {
          if (body.is_from === true) this.guardWrite(body.relation, 'COPY … FROM');
          else {
            const table = this.batch.relations.keapTable(String(body.relation.relname ?? ''), body.relation.schemaname);
            if (table !== undefined) this.batch.fetches.push({ table: table.name, conditions: [] });
          }
        }
        return;
      case 'DeclareCursorStmt':
        this.statement(body.query, scope, false);
        return;
      case 'PrepareStmt':
        // nothing runs yet; writes are refused now, since EXECUTE could only fail
        new StatementWalker(new WriteCheckOnly(this.batch), this.params, true).statement(body.query, scope);
        return;
      case 'ExecuteStmt':
        this.execute(body, scope);
        return;
      case 'CreateTableAsStmt':
        if (body.into?.skipData === true) new StatementWalker(new WriteCheckOnly(this.batch), this.params, true).statement(body.query, scope);
        else this.statement(body.query, scope, false);
        return;
      case 'ViewStmt':
        new StatementWalker(new WriteCheckOnly(this.batch), this.params, true).statement(body.query, scope);
        return;
      case 'RefreshMatViewStmt':
        if (body.skipData !== true && body.relation !== undefined) {
          this.expandViews(this.batch.relations.resolve(body.relation, new Set()).viewDefinitions, scope);
        }
        return;
      case 'TruncateStmt':
        for (const rel of (body.relations ?? []) as AstNode[]) this.guardWrite(as(rel, 'RangeVar'), 'TRUNCATE');
        return;
      case 'DropStmt':
        this.guardDrop(body);
        return;
      case 'CommentStmt':
        this.guardComment(body);
        return;
      case 'GrantStmt':
        this.guardGrant(body);
        return;
      case 'DoStmt':
        this.proceduralBody(body);
        return;
      default: {
        const change = DEFINITION_CHANGES[tag];
        if (change !== undefined) {
          const rel = body[change.field];
          this.guardWrite(as(rel, 'RangeVar') ?? rel, change.action);
        }
      }
    }
  }

  private execute(body: AstNode, scope: Scope): void {
    const sql = this.batch.preparedSql(String(body.name ?? ''));
    if (sql === undefined) return; // the engine reports the unknown statement
    const parsed = parseSqlCached(sql);
    const prepare = parsed?.length === 1 ? as(parsed[0]!.stmt, 'PrepareStmt') : undefined;
    if (prepare === undefined) return;
    const args: Array<string | null | undefined> = ((body.params ?? []) as AstNode[]).map((p) => {
      const v = valueOf(p, this.params);
      if (v === undefined) return undefined;
      switch (v.raw.kind) {
        case 'null':
          return null;
        case 'boolean':
          return v.raw.value ? 'true' : 'false';
        default:
          return v.raw.text;
      }
    });
    new StatementWalker(this.batch, args, this.executes).statement(prepare.query, { ctes: new Set(), viewDepth: scope.viewDepth });
  }

  /**
   * Plans the CTEs of a WITH clause; `statement` is the node the WITH belongs to. A CTE the statement uses
   * exactly once behaves like a derived table: conditions on its pass-through columns reach the Keap table
   * below (used twice, each use would need its own conditions, OR-ed).
   */
  private withClause(withClause: AstNode | undefined, scope: Scope, statement?: AstNode): Scope {
    if (withClause === undefined) return scope;
    const ctes = ((withClause.ctes ?? []) as AstNode[]).map((c) => as(c, 'CommonTableExpr')).filter((c) => c !== undefined);
    const names = new Set(scope.ctes);
    const cteColumns = new Map(scope.cteColumns ?? []);
    const recursive = withClause.recursive === true;
    for (const c of ctes) cteColumns.delete(String(c.ctename));
    if (recursive) for (const c of ctes) names.add(String(c.ctename));
    for (const c of ctes) {
      const name = String(c.ctename);
      // a non-recursive CTE sees only the CTEs before it: in `WITH contacts AS (SELECT … FROM contacts)` the inner name is the table
      const inner: Scope = { ...scope, ctes: new Set(names), cteColumns: new Map(cteColumns) };
      const sel = as(c.ctequery, 'SelectStmt');
      const columns = sel !== undefined ? this.select(sel, inner, false, true) : (this.statement(c.ctequery, inner), undefined);
      names.add(name);
      if (!recursive && columns !== undefined && statement !== undefined && c.aliascolnames === undefined && countReferences(statement, name) === 1) {
        cteColumns.set(name, columns);
      }
    }
    return { ...scope, ctes: names, cteColumns };
  }

  /** Plans a SELECT; returns its pass-through output columns when it is a plain filter/projection. */
  private select(sel: AstNode, outerScope: Scope, top: boolean, wantColumns = false): DerivedRef['columns'] | undefined {
    const scope = this.withClause(sel.withClause, outerScope, sel);
    if (sel.op !== undefined && sel.op !== 'SETOP_NONE') {
      this.statement({ SelectStmt: sel.larg }, scope);
      this.statement({ SelectStmt: sel.rarg }, scope);
      this.expressions([sel.sortClause, sel.limitCount, sel.limitOffset], scope);
      return undefined;
    }
    if (sel.valuesLists !== undefined) {
      this.expressions([sel.valuesLists], scope);
      return undefined;
    }
    const from = (sel.fromClause ?? []) as AstNode[];
    const start = this.batch.fetches.length;
    const result = this.level(from, sel.whereClause, scope, 0);
    this.expressions(
      [sel.targetList, sel.groupClause, sel.havingClause, sel.sortClause, sel.windowClause, sel.distinctClause, sel.limitCount, sel.limitOffset],
      scope,
    );
    // LIMIT and count(*) are decided for a query over exactly one Keap table and nothing else
    if (result.level.refs.length === 1 && result.level.opaqueItems === 0 && from.length === 1 && as(from[0], 'RangeVar') !== undefined) {
      const plan = result.plans[0]!;
      if (this.batch.fetches.length === start + 1 && !result.whereLeft && !result.level.refs[0]!.inexact) {
        this.singleTableExtras(sel, result.level.refs[0]!, plan, top);
      }
    }
    if (!wantColumns) return undefined;
    return passThroughColumns(sel, result.level, (ref) => this.resolveColumn(allRefs(result.level), result.level, ref));
  }

  /**
   * Plans the FROM items of one query level and pushes its WHERE conjuncts. `extraOpaque` counts relations of
   * the level that are not in `from` (the target of UPDATE/DELETE).
   */
  private level(from: AstNode[], where: AstNode | undefined, scope: Scope, extraOpaque: number): { level: Level; plans: FetchPlan[]; whereLeft: boolean } {
    const level: Level = { refs: [], derived: [], touched: new Set(), opaqueItems: extraOpaque, mergedColumns: false, equalities: [], outerEqualities: [], facts: [] };
    for (const item of from) this.fromItem(item, level, scope);
    let whereLeft = false;
    for (const c of conjuncts(where)) {
      const resolve = (ref: AstNode): ColumnHit<KeapRef> | undefined => this.resolveColumn(allRefs(level), level, ref);
      const a = analyseConjunct(c, resolve, this.params);
      if (a === undefined || (!a.strict && (a.rel.nullable || a.via !== undefined))) whereLeft = true;
      else this.apply(a, level);
      this.noteForTransfer(level, c, a, resolve);
    }
    this.transferThroughEqualities(level);
    for (const ref of level.refs) {
      ref.plan.conditions = ref.sampled ? [] : normaliseConditions(ref);
      if (ref.split !== undefined && !ref.sampled) this.splitPlan(ref, ref.split);
    }
    for (const ref of level.touched) ref.plan.conditions = normaliseConditions(ref);
    this.expressions([where], scope);
    return { level, plans: level.refs.map((r) => r.plan), whereLeft };
  }

  /**
   * Remembers `a.x = b.y` and single-table comparisons of WHERE and inner-join ON clauses. Every row the
   * query keeps satisfies both, so `a.x = b.y AND a.x = 5` implies `b.y = 5` for every row of b it keeps,
   * whichever side of an outer join b is on (comparisons are strict: a NULL-extended row fails them).
   */
  private noteForTransfer(
    level: Level,
    conjunct: AstNode,
    analysed: AnalysedConjunct<KeapRef> | undefined,
    resolve: (ref: AstNode) => ColumnHit<KeapRef> | undefined,
  ): void {
    if (analysed !== undefined) {
      if (analysed.requirements.every((r) => r.kind === 'compare' || r.kind === 'in')) level.facts.push(analysed);
      return;
    }
    const e = as(conjunct, 'A_Expr');
    if (e === undefined || e.kind !== 'AEXPR_OP' || stringList(e.name)?.join('.') !== '=') return;
    const left = as(e.lexpr, 'ColumnRef');
    const right = as(e.rexpr, 'ColumnRef');
    const a = left && resolve(left);
    const b = right && resolve(right);
    if (a === undefined || b === undefined || a.rel === b.rel || !sameComparison(a.column, b.column)) return;
    level.equalities.push([a, b]);
  }

  private transferThroughEqualities(level: Level): void {
    const facts = [...level.facts];
    const carry = (fact: AnalysedConjunct<KeapRef>, from: ColumnHit<KeapRef>, to: ColumnHit<KeapRef>): void => {
      if (fact.rel === from.rel && fact.column === from.column && fact.via === from.via) {
        this.apply({ rel: to.rel, column: to.column, via: to.via, requirements: fact.requirements, strict: true }, level);
      }
    };
    for (const [a, b] of level.equalities) {
      for (const fact of facts) {
        carry(fact, a, b);
        carry(fact, b, a);
      }
    }
    for (const { from, to, onFacts } of level.outerEqualities) {
      for (const fact of [...facts, ...onFacts]) carry(fact, from, to);
    }
  }

  /** Replaces the reference's plan by one plan per IN value, in place (plans keep statement order). */
  private splitPlan(ref: KeapRef, split: { column: string; values: PushedValue[] }): void {
    const column = split.column;
    // an equality on the column already narrows the fetch more than the list
    if (ref.plan.conditions.some((c) => c.column === column && (c.op === '=' || c.op === 'in'))) return;
    const rest = ref.plan.conditions.filter((c) => c.column !== column);
    if (rest.length !== ref.plan.conditions.length) ref.inexact = true;
    const plans = split.values.map((value): FetchPlan => ({ table: ref.table.name, conditions: [...rest, { column, op: '=', value }] }));
    const at = this.batch.fetches.indexOf(ref.plan);
    ref.plan.conditions = plans[0]!.conditions;
    this.batch.fetches.splice(at + 1, 0, ...plans.slice(1));
  }

  private apply(a: AnalysedConjunct<KeapRef>, level: Level): void {
    if (a.via !== undefined) {
      // the reference's plan is already final (its level is done): only plain conditions are added to it
      if (a.rel.split !== undefined || a.rel.sampled) return;
      level.touched.add(a.rel);
    }
    for (const req of a.requirements) {
      const pushed = pushRequirement(a.rel.table, a.column, req, this.batch.coercionOptions);
      if (a.via !== undefined && pushed.split !== undefined) continue;
      a.rel.conditions.push(...pushed.conditions);
      if (!pushed.exact) a.rel.inexact = true;
      if (pushed.split !== undefined) {
        if (a.rel.split === undefined) a.rel.split = pushed.split;
        else a.rel.inexact = true;
      }
    }
  }

  /** Adds a FROM item's table references to the level; returns the references inside it. */
  private fromItem(node: AstNode, level: Level, scope: Scope): FromRef[] {
    const u = unwrap(node);
    if (u === undefined) return [];
    const [tag, body] = u;
    switch (tag) {
      case 'RangeVar':
        return this.rangeVar(body, level, scope, false);
      case 'RangeTableSample': {
        this.expressions([body.args, body.repeatable], scope);
        const rv = as(body.relation, 'RangeVar');
        return rv ? this.rangeVar(rv, level, scope, true) : [];
      }
      case 'JoinExpr':
        return this.join(body, level, scope);
      case 'RangeSubselect': {
        level.opaqueItems++;
        const sel = as(body.subquery, 'SelectStmt');
        if (sel === undefined) {
          this.statement(body.subquery, scope);
          return [];
        }
        const columns = this.select(sel, scope, false, true);
        const alias = body.alias as AstNode | undefined;
        if (columns === undefined || alias?.aliasname === undefined || alias.colnames !== undefined) return [];
        return [this.addDerived(level, String(alias.aliasname), columns)];
      }
      default:
        // functions in FROM, XMLTABLE, JSON_TABLE: only their argument subqueries matter
        level.opaqueItems++;
        this.expressions([body], scope);
        return [];
    }
  }

  private addDerived(level: Level, refname: string, columns: DerivedRef['columns']): DerivedRef {
    const derived: DerivedRef = { refname, nameHidden: false, nullable: false, columns };
    level.derived.push(derived);
    return derived;
  }

  private rangeVar(rv: AstNode, level: Level, scope: Scope, sampled: boolean): FromRef[] {
    const alias = rv.alias as AstNode | undefined;
    const cte = rv.schemaname === undefined && scope.ctes.has(String(rv.relname)) ? scope.cteColumns?.get(String(rv.relname)) : undefined;
    if (cte !== undefined && !sampled && alias?.colnames === undefined) {
      level.opaqueItems++;
      return [this.addDerived(level, alias?.aliasname ?? String(rv.relname), cte)];
    }
    const resolved = this.batch.relations.resolve(rv, scope.ctes);
    if (resolved.keapTable === undefined && resolved.viewDefinitions.length === 1 && !sampled) {
      level.opaqueItems++;
      const columns = this.expandView(resolved.viewDefinitions[0]!, scope);
      if (columns === undefined || alias?.colnames !== undefined) return [];
      return [this.addDerived(level, alias?.aliasname ?? String(rv.relname), columns)];
    }
    for (const sql of resolved.viewDefinitions) this.expandView(sql, scope);
    if (resolved.keapTable === undefined) {
      level.opaqueItems++;
      return [];
    }
    const ref: KeapRef = {
      table: resolved.keapTable,
      refname: alias?.aliasname ?? String(rv.relname),
      hasAlias: alias !== undefined,
      nameHidden: false,
      renamedColumns: (alias?.colnames?.length ?? 0) > 0,
      sampled,
      nullable: false,
      conditions: [],
      inexact: false,
      plan: { table: resolved.keapTable.name, conditions: [] },
    };
    level.refs.push(ref);
    this.batch.fetches.push(ref.plan);
    return [ref];
  }

  private join(j: AstNode, level: Level, scope: Scope): FromRef[] {
    const left = this.fromItem(j.larg, level, scope);
    const right = this.fromItem(j.rarg, level, scope);
    const both = [...left, ...right];
    if (j.usingClause !== undefined || j.isNatural === true) level.mergedColumns = true;
    const filtered =
      j.jointype === 'JOIN_LEFT' ? right : j.jointype === 'JOIN_RIGHT' ? left : j.jointype === 'JOIN_FULL' ? [] : both;
    const outer = j.jointype === 'JOIN_LEFT' || j.jointype === 'JOIN_RIGHT';
    const onFacts: AnalysedConjunct<KeapRef>[] = [];
    const onEqualities: Array<[ColumnHit<KeapRef>, ColumnHit<KeapRef>]> = [];
    for (const c of conjuncts(j.quals)) {
      const resolve = (ref: AstNode): ColumnHit<KeapRef> | undefined => this.resolveColumn(both, level, ref);
      const a = analyseConjunct(c, resolve, this.params);
      if (j.jointype === 'JOIN_INNER') this.noteForTransfer(level, c, a, resolve);
      else if (outer) {
        const scratch = { ...level, equalities: onEqualities, facts: onFacts };
        this.noteForTransfer(scratch, c, a, resolve);
      }
      if (a === undefined || !filtered.includes((a.via as DerivedRef | undefined) ?? a.rel)) continue;
      if (!a.strict && (a.rel.nullable || a.via !== undefined)) continue;
      this.apply(a, level);
    }
    if (outer) {
      const nullableSide = j.jointype === 'JOIN_LEFT' ? right : left;
      const inNullable = (h: ColumnHit<KeapRef>): boolean => nullableSide.includes((h.via as DerivedRef | undefined) ?? h.rel);
      for (const [x, y] of onEqualities) {
        if (inNullable(x) !== inNullable(y)) {
          const [from, to] = inNullable(y) ? [x, y] : [y, x];
          level.outerEqualities.push({ from, to, onFacts });
        }
      }
    }
    this.expressions([j.quals], scope);
    if (j.jointype === 'JOIN_LEFT' || j.jointype === 'JOIN_FULL') for (const r of right) r.nullable = true;
    if (j.jointype === 'JOIN_RIGHT' || j.jointype === 'JOIN_FULL') for (const r of left) r.nullable = true;
    if (j.alias !== undefined) for (const r of both) r.nameHidden = true;
    return both;
  }

  /**
   * The Keap column a ColumnRef names among `refs`. An unqualified name found in exactly one Keap reference
   * is that reference's column: had another FROM item of the level the same column, the statement would fail
   * as ambiguous, and an inner level's names hide outer ones.
   */
  private resolveColumn(refs: readonly FromRef[], level: Level, ref: AstNode): ColumnHit<KeapRef> | undefined {
    const fields = stringList(ref.fields);
    if (fields === undefined) return undefined;
    let candidates: FromRef[];
    let name: string;
    if (fields.length === 1) {
      if (level.mergedColumns) return undefined;
      name = fields[0]!;
      candidates = refs.filter((r) => (isKeapRef(r) ? r.renamedColumns || columnOf(r.table, name) !== undefined : r.columns.has(name)));
    } else if (fields.length === 2) {
      name = fields[1]!;
      candidates = refs.filter((r) => !r.nameHidden && r.refname === fields[0]);
    } else if (fields.length === 3) {
      name = fields[2]!;
      candidates = refs.filter((r) => isKeapRef(r) && !r.nameHidden && !r.hasAlias && r.refname === fields[1] && fields[0] === KEAP_SCHEMA);
    } else return undefined;
    if (candidates.length !== 1) return undefined;
    const found = candidates[0]!;
    if (!isKeapRef(found)) {
      const hit = found.columns.get(name);
      return hit ? { rel: hit.rel, column: hit.column, via: found } : undefined;
    }
    if (found.renamedColumns) return undefined;
    const column = columnOf(found.table, name);
    return column && { rel: found, column };
  }

  expandViews(definitions: readonly string[], scope: Scope): void {
    for (const sql of definitions) this.expandView(sql, scope);
  }

  /** Plans a view's query (a view sees no CTEs or parameters of the statement using it); returns its pass-through columns. */
  private expandView(sql: string, scope: Scope): DerivedRef['columns'] | undefined {
    if (scope.viewDepth >= MAX_VIEW_DEPTH) return undefined;
    const parsed = parseSqlCached(sql);
    const stmt = parsed?.length === 1 ? unwrap(parsed[0]!.stmt) : undefined;
    if (stmt === undefined) return undefined;
    const query = stmt[0] === 'ViewStmt' || stmt[0] === 'CreateTableAsStmt' ? (stmt[1].query as AstNode) : undefined;
    const inner: Scope = { ctes: new Set(), viewDepth: scope.viewDepth + 1 };
    const walker = new StatementWalker(this.batch, undefined, this.executes);
    const sel = as(query, 'SelectStmt');
    // a view's own column list renames its columns: no pass-through then
    if (sel === undefined || stmt[1].aliases !== undefined) {
      walker.statement(query, inner);
      return undefined;
    }
    return walker.select(sel, inner, false, true);
  }

  /** Plans the subqueries inside expressions (SubLinks); they are query levels of their own. */
  private expressions(nodes: unknown[], scope: Scope): void {
    for (const node of nodes) {
      if (node === undefined) continue;
      walkNodes(node, (tag, body) => {
        if (tag !== 'SubLink') return true;
        this.statement(body.subselect, scope);
        this.expressions([body.testexpr], scope);
        return false;
      });
    }
  }

  private singleTableExtras(sel: AstNode, ref: KeapRef, plan: FetchPlan, top: boolean): void {
    if (ref.sampled || ref.renamedColumns || hasSubLink(sel)) return;
    if (sel.groupClause !== undefined || sel.havingClause !== undefined || sel.distinctClause !== undefined) return;
    if (sel.windowClause !== undefined) return;
    if (top && isCountStar(sel) && ref.table.source.count !== undefined && sel.limitCount === undefined && sel.limitOffset === undefined) {
      plan.countOnly = true;
      return;
    }
    if (sel.limitCount === undefined || sel.limitOption === 'LIMIT_OPTION_WITH_TIES') return;
    if (!((sel.targetList ?? []) as AstNode[]).every((t) => rowPreserving(t))) return;
    const limit = this.integerValue(sel.limitCount);
    const offset = sel.limitOffset === undefined ? 0 : this.integerValue(sel.limitOffset);
    if (limit === undefined || offset === undefined || !Number.isSafeInteger(limit + offset)) return;
    const sort = (sel.sortClause ?? []) as AstNode[];
    if (sort.length > 1) return;
    if (sort.length === 1) {
      const orderBy = this.apiOrder(as(sort[0], 'SortBy'), ref, (sel.targetList ?? []) as AstNode[]);
      if (orderBy === undefined) return;
      plan.orderBy = orderBy;
    }
    plan.limit = limit + offset;
  }

  /** ORDER BY one column the API sorts the way PostgreSQL does: a non-null number or time. */
  private apiOrder(sortBy: AstNode | undefined, ref: KeapRef, targets: AstNode[]): FetchPlan['orderBy'] {
    if (sortBy === undefined || sortBy.useOp !== undefined) return undefined;
    const colref = as(sortBy.node, 'ColumnRef');
    if (colref === undefined) return undefined;
    const fields = stringList(colref.fields);
    // an unqualified ORDER BY name means an output column first: `SELECT id::text … ORDER BY id` sorts text
    if (fields?.length === 1 && targets.some((t) => outputNameShadows(as(t, 'ResTarget'), fields[0]!))) return undefined;
    const hit = this.resolveColumn([ref], { refs: [ref], derived: [], touched: new Set(), opaqueItems: 0, mergedColumns: false, equalities: [], outerEqualities: [], facts: [] }, colref);
    if (hit === undefined) return undefined;
    const column = hit.column;
    if (!ref.table.sort.some((s) => s.column === column.name)) return undefined;
    if (!ORDER_SAFE_TYPES.has(column.type)) return undefined;
    // NULLs sort last ascending in PostgreSQL; an API may put them first: only non-null columns are safe
    if (!(column.notNull === true || ref.table.primaryKey.includes(column.name))) return undefined;
    const direction = sortBy.sortby_dir === 'SORTBY_DESC' ? 'desc' : sortBy.sortby_dir === 'SORTBY_USING' ? undefined : 'asc';
    if (direction === undefined) return undefined;
    return { column: column.name, direction };
  }

  /** A LIMIT/OFFSET value: a non-negative integer constant or bound parameter; LIMIT ALL/NULL → undefined. */
  private integerValue(node: AstNode): number | undefined {
    const v = valueOf(node, this.params);
    if (v === undefined || v.cast !== undefined) return undefined;
    if ((v.raw.kind === 'integer' || v.raw.kind === 'string') && /^\s*\+?\d+\s*$/.test(v.raw.text)) {
      const n = Number(v.raw.text.trim());
      return Number.isSafeInteger(n) ? n : undefined;
    }
    return undefined;
  }

  /**
   * A write to a Keap table whose schema makes the operation writable: recorded for src/writes, after checking
   * the columns it sets. False when the target is not such a table (guardWrite then decides).
   */
  private keapWrite(rel: AstNode | undefined, op: WriteTarget['op'], columns: string[], onConflictNothing = false, upsert = false): boolean {
    if (!this.executes || rel === undefined || rel.relname === undefined) return false;
    const table = this.batch.relations.keapTable(String(rel.relname), rel.schemaname);
    const spec = table?.write;
    if (!table || !spec || !spec[op]) return false;
    const action = op.toUpperCase();
    if (upsert && !spec.insert?.upsert) {
      this.batch.reject(writeRejection(table.name, `INSERT … ON CONFLICT DO UPDATE on Keap table "${table.name}" is not supported`, 'Keap has no upsert for this table; UPDATE the existing rows and INSERT the new ones.'));
      return true;
    }
    for (const c of columns) {
      if (!table.columns.some((x) => x.name === c)) continue; // the engine reports an unknown column
      const custom = spec.customFields === true && table.columns.some((x) => x.name === c && x.customFieldId !== undefined);
      const writable = (spec.columns.includes(c) || custom) && !(op === 'update' && spec.insertOnly.includes(c));
      if (!writable) {
        const allowed = spec.columns.filter((x) => op !== 'update' || !spec.insertOnly.includes(x));
        this.batch.reject(writeRejection(table.name, `column "${c}" of Keap table "${table.name}" cannot be written by ${action}`,
          `Columns ${action} can set: ${allowed.join(', ')}.`));
        return true;
      }
    }
    this.batch.write(upsert ? { table: table.name, op, upsert } : onConflictNothing ? { table: table.name, op, onConflictNothing } : { table: table.name, op });
    return true;
  }

  private guardWrite(rel: AstNode | undefined, action: string): void {
    if (!this.executes || rel === undefined || rel.relname === undefined) return;
    const table = this.batch.relations.keapTable(String(rel.relname), rel.schemaname);
    if (table !== undefined) {
      this.batch.reject(readOnlyRejection(table.name, action));
      return;
    }
    // an updatable view writes through to the table it selects from
    const views = this.batch.relations.resolve(rel, new Set()).viewDefinitions;
    if (views.length === 0) return;
    const probe = new BatchPlanner(this.batch.context);
    new StatementWalker(probe, undefined, false).expandViews(views, { ctes: new Set(), viewDepth: 0 });
    const through = probe.fetches[0];
    if (through !== undefined) this.batch.reject(readOnlyRejection(through.table, `${action} through view "${String(rel.relname)}"`));
  }

  private guardName(names: string[] | undefined, action: string): void {
    if (names === undefined || names.length === 0 || names.length > 3) return;
    const relname = names[names.length - 1]!;
    const schemaname = names.length >= 2 ? names[names.length - 2] : undefined;
    this.guardWrite({ relname, schemaname }, action);
  }

  private guardDrop(body: AstNode): void {
    const objects = (body.objects ?? []) as AstNode[];
    if (RELATION_OBJECT_TYPES.has(body.removeType)) {
      for (const o of objects) this.guardName(stringList(as(o, 'List')?.items), 'DROP');
    } else if (body.removeType === 'OBJECT_SCHEMA' && this.executes) {
      for (const o of objects) {
        if (as(o, 'String')?.sval === KEAP_SCHEMA && this.batch.context.catalog.tables.size > 0) {
          const first = this.batch.context.catalog.tables.keys().next().value as string;
          this.batch.reject(readOnlyRejection(first, `DROP SCHEMA ${KEAP_SCHEMA}`));
        }
      }
    }
  }

  private guardComment(body: AstNode): void {
    const names = stringList(as(body.object, 'List')?.items);
    if (RELATION_OBJECT_TYPES.has(body.objtype)) this.guardName(names, 'COMMENT ON');
    else if (body.objtype === 'OBJECT_COLUMN' && names !== undefined) this.guardName(names.slice(0, -1), 'COMMENT ON COLUMN');
  }

  private guardGrant(body: AstNode): void {
    if (body.objtype !== 'OBJECT_TABLE') return;
    const action = body.is_grant === true ? 'GRANT' : 'REVOKE';
    if (body.targtype === 'ACL_TARGET_ALL_IN_SCHEMA') {
      for (const o of (body.objects ?? []) as AstNode[]) {
        if (as(o, 'String')?.sval === KEAP_SCHEMA && this.executes && this.batch.context.catalog.tables.size > 0) {
          const first = this.batch.context.catalog.tables.keys().next().value as string;
          this.batch.reject(readOnlyRejection(first, `${action} ON ALL TABLES IN SCHEMA ${KEAP_SCHEMA}`));
        }
      }
      return;
    }
    for (const o of (body.objects ?? []) as AstNode[]) this.guardWrite(as(o, 'RangeVar'), action);
  }

  /** DO blocks run any SQL: the Keap tables they mention are loaded in full, and writes to them refused. */
  private proceduralBody(body: AstNode): void {
    const code = ((body.args ?? []) as AstNode[])
      .map((a) => as(a, 'DefElem'))
      .filter((d) => d?.defname === 'as')
      .map((d) => String(as(d!.arg, 'String')?.sval ?? ''))
      .join('\n');
    const names = [...this.batch.context.catalog.tables.keys()];
    const written = bodyWrites(code, names);
    if (written !== undefined && this.executes) {
      this.batch.reject(readOnlyRejection(written, 'a write inside a DO block'));
      return;
    }
    for (const name of bodyMentions(code, names)) this.batch.fetches.push({ table: name, conditions: [] });
  }
}

/** A planner that only looks for writes (PREPARE, CREATE VIEW): what it would fetch is dropped. */
class WriteCheckOnly extends BatchPlanner {
  constructor(private readonly parent: BatchPlanner) {
    super(parent.context);
    this.relations.searchPath = parent.relations.searchPath;
  }
  override reject(r: Rejection): void {
    this.parent.reject(r);
  }
  override preparedSql(name: string): string | undefined {
    return this.parent.preparedSql(name);
  }
  override write(): void {
    // nothing runs yet (PREPARE): EXECUTE plans the write
  }
}

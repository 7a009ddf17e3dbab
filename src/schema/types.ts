// The shape of one table definition in schemas/*.yaml, after loading and validation.
// A Keap table is data, not code: this is the contract between schemas/, the planner,
// the Keap connector and the loader.

/** PostgreSQL types a Keap column may have. */
export type PgType =
  | 'bigint'
  | 'integer'
  | 'numeric'
  | 'double precision'
  | 'boolean'
  | 'text'
  | 'date'
  | 'timestamptz'
  | 'jsonb'
  | 'text[]'
  | 'bigint[]';

/** How a raw JSON value becomes the column's value (applied before type conversion). */
export type ValueTransform =
  /**
   * v2 CurrencyValue {amount (smallest unit), currency_code}: amount / 100 as numeric (the currency's
   * minor unit: / 1 for zero-decimal currencies such as JPY, / 1000 for BHD, KWD, …).
   */
  | 'currency_amount'
  /** epoch milliseconds → timestamptz */
  | 'epoch_millis'
  /** a comma-separated string ("1,2,3") → array (for text[]/bigint[] columns; v1 `order_ids`, v2 `groups`) */
  | 'comma_list';

export interface ColumnSchema {
  /** snake_case column name */
  name: string;
  type: PgType;
  /**
   * Where the value comes from in the API record: a dot path ("company.id", "origin.date").
   * In a child table (source.unnest) paths are relative to the array element; "$parent.<path>"
   * reads from the parent record. In a per-parent table "$parent.<path>" reads the parent row.
   */
  path: string;
  description: string;
  transform?: ValueTransform;
  /** NOT NULL in the DDL (primary key columns are NOT NULL anyway). */
  notNull?: boolean;
  /** v2 `fields=` / v1 `optional_properties=` name that must be requested for this column to be filled. */
  optionalProperty?: string;
  /**
   * Added: a custom field column. The value is the `content` of the record's `custom_fields[]` item whose
   * `id` equals this (as text); `path` is then "custom_fields" (where the list lives).
   */
  customFieldId?: string;
  /** Added: the custom field's `field_name` from `/model` (the v2 `filter=` name of the field). */
  customFieldName?: string;
}

/** Operators a pushed-down condition can carry. `prefix` is LIKE 'abc%'; `isnull` is IS NULL. */
export type FilterOp = '=' | 'in' | '<' | '<=' | '>' | '>=' | 'prefix' | 'isnull';

export interface PushableFilter {
  column: string;
  ops: FilterOp[];
  /**
   * The API's name for it: in v2 the `filter=` field name (e.g. "email", "contact_id", "ids" for an `in`
   * on id), in v1 the query parameter (e.g. "email", "contact_id").
   * Per-op overrides go in `params` (e.g. {"in": "ids", ">=": "contact_id"}).
   */
  param: string;
  params?: Partial<Record<FilterOp, string>>;
  /** how the value is written on the wire; default 'text'. */
  format?: 'text' | 'id' | 'iso_timestamp' | 'date' | 'boolean';
  /** maximum list length for `in` (e.g. opportunities take at most 100 ids) */
  maxList?: number;
  /**
   * Added: the operator written on the wire for an op when it is not the op itself. v2 range parameters
   * such as `start_update_time` carry the bound with `==` (`filter=start_update_time==2024-01-01T00:00:00Z`):
   * {">=": "==", "<=": "=="}. Unset: `=` is written `==` in v2 and every other op as itself; v1 parameters
   * are always `param=value` (the op is implied by the parameter).
   */
  wireOps?: Partial<Record<FilterOp, string>>;
}

export interface SortableColumn {
  column: string;
  /** the API's order field (v2 `order_by=<param> asc|desc`, v1 `order=<param>&order_direction=`) */
  param: string;
}

export interface ForeignKey {
  columns: string[];
  references: { table: string; columns: string[] };
}

export interface TableSource {
  /** REST version of the list endpoint */
  version: 1 | 2;
  /** list endpoint path relative to the API base, e.g. "/v2/contacts" or "/v2/tags/{tag_id}/contacts" */
  path: string;
  /** envelope key holding the array ("contacts"); null when the body is a bare array */
  listKey: string | null;
  /** largest page the endpoint accepts (v2: page_size max, v1: limit) */
  pageSizeMax: number;
  /** optional properties always requested (v2 `fields=`, v1 `optional_properties=`) */
  fields?: string[];
  /** extra constant query parameters */
  query?: Record<string, string>;
  /**
   * Child table made of an array inside each record of another table's endpoint
   * (contact_email_addresses from contacts.email_addresses). Rows come from `path` records.
   */
  unnest?: string;
  /**
   * One list call per row of another table (contact_tags: GET /v2/tags/{tag_id}/contacts for each tag).
   * `param` is the path placeholder; `column` the parent table's column that fills it.
   * A PushableFilter whose `param` is the placeholder in braces ("{tag_id}") says which of this table's
   * columns picks the parents: its `=`/`in` values fill the placeholder instead of going into `filter=`.
   */
  perParent?: { table: string; column: string; param: string };
  /**
   * A per-parent table whose rows another table's listing carries too, without the columns only the
   * per-parent endpoint gives (contact_tags from contacts.tag_ids, without applied_time). A scan that
   * reads none of those columns, and does not pin the parents, reads that listing instead: what the
   * parent scan costs, not a call per parent. `columns` maps each column it gives to a path in the
   * listing's record: "$parent.<path>" reads the record, "$element" the array element itself. Without
   * `unnest` each record of the listing is one row and plain paths read it (contact_credit_cards from
   * payment_methods, contact_lead_scores from contacts).
   */
  viaListing?: { table: string; unnest?: string; fields?: string[]; columns: Record<string, string> };
  /** Where the API can count matching records without paging (v1 `count`). */
  count?: { version: 1; path: string; key: string };
  /** record type for custom fields: the `/model` endpoint, e.g. "/v2/contacts/model" */
  customFieldsModel?: string;
  /**
   * The column whose `>=` filter asks Keap for the records changed since a time (contacts: update_time). The
   * shared cache refreshes such a table by its changes instead of fetching it whole.
   */
  changedSince?: string;
  /**
   * Added: further endpoints whose records (same shape, same listKey) are rows of this table too.
   * `custom_fields` reads every `/model` endpoint: rows = records of `path` then of each extra path.
   */
  extraPaths?: string[];
  /**
   * Added: v2 `filter=` clauses always sent, joined with the pushed ones by `;`
   * (users: ["include_inactive==true", "include_partners==true"] so the table holds every user).
   */
  baseFilter?: string[];
  /** Added: the endpoint is not paged (one GET returns everything; no page_size/limit parameters). */
  unpaged?: boolean;
  /**
   * Added: the body is one record, not a list (GET /v2/businessProfile; per parent, a user's signature). A
   * bare JSON value (a signature is a string) becomes the record {"value": …}. Needs unpaged and listKey null.
   */
  single?: boolean;
}

export interface TableSchema {
  name: string;
  description: string;
  source: TableSource;
  primaryKey: string[];
  foreignKeys: ForeignKey[];
  columns: ColumnSchema[];
  /** conditions the API can evaluate */
  filters: PushableFilter[];
  /** orderings the API can do */
  sort: SortableColumn[];
  /** how INSERT, UPDATE and DELETE on the table become Keap calls; absent: the table is read-only */
  write?: TableWrite;
}

/** One Keap call per row (or per group of rows, `bulk`). `{column}` in the path is the row's value. */
export interface WriteCall {
  method: 'POST' | 'PATCH' | 'PUT' | 'DELETE';
  path: string;
  /**
   * Rows with the same value of `by` share one call whose body is `{ [list]: [values of column] }`
   * (contact_tags: one applyTags per tag, with up to `max` contact ids).
   */
  bulk?: { by: string; column: string; list: string; max: number };
  /** a v2 PATCH: the written columns' top-level body names as repeated `update_mask` parameters */
  updateMask?: boolean;
  /**
   * The rows are elements of this list of the parent record (a contact's email_addresses): Keap replaces the whole
   * list, so the parent's list is read (GET `path`), changed and written back (PATCH `path`), one pair per parent.
   */
  through?: string;
  /** INSERT … ON CONFLICT DO UPDATE: query parameters that make the insert Keap's own upsert (contacts: duplicate_option=Email) */
  upsert?: Record<string, string>;
}

/** Writability of a table (schemas/*.yaml `write:`). */
export interface TableWrite {
  insert?: WriteCall;
  update?: WriteCall;
  delete?: WriteCall;
  /** columns an INSERT or UPDATE may set */
  columns: string[];
  /** of those, the ones only an INSERT may set */
  insertOnly: string[];
  /** columns an INSERT must give (not NULL) */
  required: string[];
  /** body paths where the write body names a column differently than the record read (dot paths) */
  paths: Record<string, string>;
  /** the account's custom fields (custom_* columns) can be written, as the body's custom_fields list */
  customFields?: boolean;
}

/** A set of tables, as loaded from one Profile directory (plus the account's custom fields). */
export interface Catalog {
  tables: ReadonlyMap<string, TableSchema>;
}

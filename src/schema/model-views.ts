// The *_model views: Keap's per-resource custom-field models (GET /v2/contacts/model, …; CData's ContactModel,
// …) as views over custom_fields, which already holds every definition with its record type. A view, not a
// table, so the definitions are fetched once and the two can never disagree. The planner reads each view's
// definition like a user's view, so querying one loads custom_fields.
import { qualifiedName, quoteIdent, quoteLiteral } from './ddl.js';
import type { Catalog } from './types.js';

export interface ModelView {
  name: string;
  /** custom_fields.record_type of the resource's fields */
  recordType: string;
  /** the full CREATE VIEW text (what the planner parses) */
  sql: string;
  description: string;
}

/** Resource (as in its /model path) → the record type Keap files its custom fields under. */
const RESOURCES: ReadonlyArray<[resource: string, recordType: string, note: string]> = [
  ['affiliates', 'REFERRAL_PARTNER', 'affiliates (referral partners)'],
  ['appointments', 'TASK_NOTE_APPOINTMENT', 'appointments (shared with tasks and notes)'],
  ['companies', 'COMPANY', 'companies'],
  ['contacts', 'CONTACT', 'contacts'],
  ['notes', 'TASK_NOTE_APPOINTMENT', 'notes (shared with tasks and appointments)'],
  ['opportunities', 'OPPORTUNITY', 'opportunities'],
  ['orders', 'ORDER', 'orders'],
  ['subscriptions', 'SUBSCRIPTION', 'subscriptions'],
  ['tasks', 'TASK_NOTE_APPOINTMENT', 'tasks (shared with notes and appointments)'],
];

const SOURCE_TABLE = 'custom_fields';

/** The model views of a catalog: none unless it has custom_fields; a table of the same name wins. */
const cached = new WeakMap<Catalog, ModelView[]>();

export function modelViews(catalog: Catalog): ModelView[] {
  let views = cached.get(catalog);
  if (!views) cached.set(catalog, (views = buildViews(catalog)));
  return views;
}

function buildViews(catalog: Catalog): ModelView[] {
  const fields = catalog.tables.get(SOURCE_TABLE);
  if (!fields) return [];
  const columns = fields.columns.filter((c) => c.customFieldId === undefined).map((c) => quoteIdent(c.name));
  return RESOURCES.filter(([resource]) => !catalog.tables.has(`${resource}_model`)).map(([resource, recordType, note]) => {
    const name = `${resource}_model`;
    return {
      name,
      recordType,
      sql: `CREATE VIEW ${qualifiedName(name)} AS SELECT ${columns.join(', ')} FROM ${qualifiedName(SOURCE_TABLE)} WHERE record_type = ${quoteLiteral(recordType)}`,
      description: `Custom field definitions of ${note} (GET /v2/${resource}/model): the ${recordType} rows of custom_fields. Values are the custom_* columns of ${resource}.`,
    };
  });
}

/**
 * DDL for the views with their comments (the columns keep custom_fields' descriptions). `nameOf` places a
 * relation in another schema (keapgres export --schema); by default they are in public, as the engine has them.
 */
export function modelViewsDdl(catalog: Catalog, nameOf: (relation: string) => string = qualifiedName): string {
  const fields = catalog.tables.get(SOURCE_TABLE);
  const columns = (fields?.columns ?? []).filter((c) => c.customFieldId === undefined);
  return modelViews(catalog)
    .map((v) => [
      `CREATE VIEW ${nameOf(v.name)} AS SELECT ${columns.map((c) => quoteIdent(c.name)).join(', ')} FROM ${nameOf(SOURCE_TABLE)} WHERE record_type = ${quoteLiteral(v.recordType)};`,
      `COMMENT ON VIEW ${nameOf(v.name)} IS ${quoteLiteral(v.description)};`,
      ...columns.map((c) => `COMMENT ON COLUMN ${nameOf(v.name)}.${quoteIdent(c.name)} IS ${quoteLiteral(c.description)};`),
    ].join('\n'))
    .join('\n\n');
}

// A per-parent table as read through another table's listing (TableSource.viaListing): the same table to
// the engine (name, columns, key), with the listing's endpoint as its source and the columns only the
// per-parent endpoint gives left empty. The loader uses it for scans that read none of those columns.
import type { Catalog, TableSchema } from './types.js';

const variants = new WeakMap<TableSchema, TableSchema>();

export function listingVariant(catalog: Catalog, table: TableSchema): TableSchema | undefined {
  const via = table.source.viaListing;
  if (!via) return undefined;
  const cached = variants.get(table);
  if (cached) return cached;
  const listing = catalog.tables.get(via.table);
  if (!listing) return undefined;
  const variant: TableSchema = {
    ...table,
    source: {
      version: listing.source.version,
      path: listing.source.path,
      listKey: listing.source.listKey,
      pageSizeMax: listing.source.pageSizeMax,
      ...(via.fields ? { fields: via.fields } : listing.source.fields ? { fields: listing.source.fields } : {}),
      ...(listing.source.query ? { query: listing.source.query } : {}),
      ...(listing.source.baseFilter ? { baseFilter: listing.source.baseFilter } : {}),
      // no unnest: each record of the listing is one row
      ...(via.unnest !== undefined ? { unnest: via.unnest } : {}),
    },
    columns: table.columns.map((c) => ({ ...c, path: via.columns[c.name] ?? '$none' })),
    // the listing's filters name its own columns: none of this table's conditions go to the API
    filters: [],
    sort: [],
  };
  variants.set(table, variant);
  return variant;
}

/** The columns a scan through the listing cannot give. */
export function columnsOnlyPerParent(table: TableSchema): string[] {
  const via = table.source.viaListing;
  return via ? table.columns.filter((c) => !(c.name in via.columns)).map((c) => c.name) : [];
}

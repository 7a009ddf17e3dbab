// Serialises contacts into the fragment cache in the background, a slice at a time between requests, so a large
// sandbox serves its first full scan from memory instead of building a million records while a benchmark watches.
import type { SandboxStore } from './store.js';
import { contactV2Json, CONTACT_DEFAULT_FIELDS, CONTACT_FIELDS } from './serialize-v2.js';

const SLICE = 256;

/** The field sets warmed by default, in order: every field (what keapgres asks for), then what a client gets without
 *  `fields`. Up to ~400,000 contacts both fit the default cache budget; beyond, the first gets the most. */
export const PREWARM_FIELD_SETS: readonly (readonly string[])[] = [['id', ...CONTACT_FIELDS.filter((f) => f !== 'id')], CONTACT_DEFAULT_FIELDS];

export interface Prewarm { readonly done: Promise<void>; stop(): void }

export function prewarmContacts(store: SandboxStore, fieldSets: readonly (readonly string[])[]): Prewarm {
  let stopped = false;
  const done = (async () => {
    for (const list of fieldSets) {
      const fields = new Set(list);
      // the same key listV2 uses for this field set
      const variant = [...fields].sort().join(',');
      let id = 0;
      const max = store.contacts.generatedCount;
      while (!stopped && id < max) {
        const end = Math.min(max, id + SLICE);
        for (id++; id <= end; id++) {
          if (store.contactJson.get(variant, id) !== undefined) continue;
          const c = store.contacts.get(id);
          if (!c) continue;
          if (store.contactJson.set(variant, id, contactV2Json(store, c, fields)) === undefined) { id = max; break; } // budget full
        }
        id = end;
        await new Promise<void>((resolve) => setImmediate(resolve));
      }
    }
  })();
  return { done, stop: () => { stopped = true; } };
}

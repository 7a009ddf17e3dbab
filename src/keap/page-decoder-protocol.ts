// Messages between the connector and its page decoder threads.
import type { TableSchema } from '../schema/types.js';

export type DecoderRequest =
  /** a fetch begins: its table's encoder */
  | { type: 'open'; fetch: number; table: TableSchema }
  | { type: 'close'; fetch: number }
  /** one page's body, transferred */
  | { type: 'page'; fetch: number; seq: number; bytes: ArrayBuffer; listKey: string | null; idPath: string | undefined };

export type DecoderReply =
  | {
      type: 'page';
      seq: number;
      /** the body's top-level scalars besides the list (next_page_token, count) */
      scalars: Record<string, string | number | boolean | null>;
      /** whether the list was there, and a list */
      list: 'ok' | 'absent' | 'invalid';
      /** each record's value at the id path */
      ids: unknown[];
      /** the page's COPY text, UTF-8 */
      copy: Uint8Array;
      /** per record: where its lines end in the text (UTF-16 units), and rows so far in the page */
      ends: Uint32Array;
      rows: Uint32Array;
      /** the primary key of each row written, in order (a page's own duplicates are already left out) */
      keys: Array<string | number>;
    }
  | { type: 'failed'; seq: number; notJson: boolean; message: string };

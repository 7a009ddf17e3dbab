// When a write to Keap may run at all. Keap has no transactions: a ROLLBACK could not undo a call, so inside an
// explicit transaction block a write is refused unless the session opted in (keapgres.keap_writes = 'immediate');
// read-only transactions, default_transaction_read_only and a ReadOnly=true connection refuse every Keap write.
import { SqlError } from '../errors.js';
import type { EngineInstance } from '../engine/instance.js';

export const KEAP_WRITES_SETTING = 'keapgres.keap_writes';

/** `beginsReadOnly`: the batch begins a read-only transaction just before the write (pgjdbc's pipelined BEGIN READ ONLY). */
export async function checkWriteAllowed(engine: EngineInstance, table: string, txStatus: string, readOnlyConnection: boolean, beginsReadOnly = false): Promise<void> {
  if (readOnlyConnection) {
    throw new SqlError('25006', `cannot write to Keap table "${table}": the connection is read-only`, {
      detail: 'The connection string sets ReadOnly=true.',
      hint: 'Remove ReadOnly=true from the connection string to write to Keap.',
    });
  }
  if (beginsReadOnly) throw new SqlError('25006', `cannot execute a write to Keap table "${table}" in a read-only transaction`);
  // one round trip for both settings: it is on every write's path
  const { rows } = await engine.query(`SELECT pg_catalog.current_setting('${KEAP_WRITES_SETTING}', true) AS mode, pg_catalog.current_setting('transaction_read_only') AS ro`);
  const mode = String(rows[0]?.mode ?? '').trim().toLowerCase();
  if (mode !== '' && mode !== 'refuse' && mode !== 'immediate') {
    throw new SqlError('22023', `invalid value for parameter "${KEAP_WRITES_SETTING}": "${mode}"`, { hint: "Use 'refuse' (the default) or 'immediate'." });
  }
  if (txStatus === 'T' && mode !== 'immediate') {
    throw new SqlError('25000', `cannot write to Keap table "${table}" inside a transaction block`, {
      detail: 'Keap has no transactions: its calls are made when the statement runs, and ROLLBACK could not undo them.',
      hint: `Run the statement outside BEGIN … COMMIT (autocommit), or SET ${KEAP_WRITES_SETTING} = 'immediate' to make Keap writes inside transactions at once, knowing ROLLBACK will not undo them.`,
    });
  }
  if (rows[0]?.ro === 'on') {
    throw new SqlError('25006', `cannot execute a write to Keap table "${table}" in a read-only transaction`, {
      hint: txStatus === 'T' ? 'Write outside the read-only transaction.' : 'default_transaction_read_only is on: SET default_transaction_read_only = off to write.',
    });
  }
}

// Every failure a client sees is a PostgreSQL error: SQLSTATE, message, DETAIL with the facts, HINT with what to do.

export interface SqlErrorFields {
  detail?: string;
  hint?: string;
  /** ErrorResponse severity; FATAL closes the session */
  severity?: 'ERROR' | 'FATAL';
}

export class SqlError extends Error {
  readonly sqlstate: string;
  readonly detail?: string;
  readonly hint?: string;
  readonly severity: 'ERROR' | 'FATAL';

  constructor(sqlstate: string, message: string, fields: SqlErrorFields = {}) {
    super(message);
    this.name = 'SqlError';
    this.sqlstate = sqlstate;
    this.detail = fields.detail;
    this.hint = fields.hint;
    this.severity = fields.severity ?? 'ERROR';
  }
}

/** SQLSTATEs keapgres raises itself (the engine raises the rest). */
export const SQLSTATE = {
  protocolViolation: '08P01',
  invalidPassword: '28P01',
  invalidAuthorization: '28000',
  unknownDatabase: '3D000',
  undefinedTable: '42P01',
  insufficientPrivilege: '42501',
  featureNotSupported: '0A000',
  tooManyConnections: '53300',
  configurationLimitExceeded: '53400',
  queryCanceled: '57014',
  adminShutdown: '57P01',
  idleSessionTimeout: '57P05',
  idleInTransactionTimeout: '25P03',
  transactionTimeout: '25P04',
  systemError: '58000',
  connectionFailure: '08006',
  internalError: 'XX000',
  invalidParameterValue: '22023',
  /** a schemas/ file (or a Profile directory) is malformed */
  configFileError: 'F0000',
} as const;

// The Keap connector's public face; see connector.ts for how fetches work.
export { KeapConnector, truncationNotice, type KeapConnectorOptions, type KeapFetch, type FetchOptions } from './connector.js';
export type { CredentialSource, FetchResult, KeapErrorInfo } from './types.js';
export { encodeFilter, encodeOrder, type EncodedFilter } from './filter-encoding.js';

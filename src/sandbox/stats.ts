// Counts of API calls, so tests and benchmarks can assert what a query cost.
export interface SandboxStats {
  total: number;
  /** 'GET /v2/contacts' → n, with path parameters templated: 'GET /v2/contacts/{contact_id}' */
  byEndpoint: Record<string, number>;
  byVersion: Record<'v1' | 'v2' | 'oauth' | 'other', number>;
  /** '200' → n; connection resets count as 'reset' */
  byStatus: Record<string, number>;
  tokenRefreshes: number;
  tokenCodeExchanges: number;
}

export class StatsCounter {
  private s = StatsCounter.empty();
  static empty(): SandboxStats {
    return { total: 0, byEndpoint: {}, byVersion: { v1: 0, v2: 0, oauth: 0, other: 0 }, byStatus: {}, tokenRefreshes: 0, tokenCodeExchanges: 0 };
  }
  record(endpoint: string, version: keyof SandboxStats['byVersion'], status: number | 'reset'): void {
    this.s.total++;
    this.s.byEndpoint[endpoint] = (this.s.byEndpoint[endpoint] ?? 0) + 1;
    this.s.byVersion[version]++;
    this.s.byStatus[String(status)] = (this.s.byStatus[String(status)] ?? 0) + 1;
  }
  tokenRefresh(): void { this.s.tokenRefreshes++; }
  codeExchange(): void { this.s.tokenCodeExchanges++; }
  snapshot(): SandboxStats { return structuredClone(this.s); }
  reset(): void { this.s = StatsCounter.empty(); }
}

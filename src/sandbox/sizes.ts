// How many records of each kind a sandbox holds: everything scales with the number of contacts.
export interface DataSizes {
  contacts: number; companies: number; users: number; tagCategories: number; tags: number; products: number;
  orders: number; subscriptions: number; stages: number; opportunities: number; tasks: number; notes: number;
  campaigns: number; emails: number; appointments: number; files: number; affiliates: number; leadSources: number; leadSourceCategories: number;
}

const clamp = (lo: number, x: number, hi: number): number => Math.max(lo, Math.min(hi, x));

export function sizesFor(contacts: number): DataSizes {
  const n = Math.max(0, Math.floor(contacts));
  return {
    contacts: n,
    companies: Math.ceil(n / 10),
    users: clamp(3, Math.ceil(n / 500), 100),
    tagCategories: 8,
    tags: clamp(20, Math.ceil(n / 100), 300),
    products: clamp(15, Math.ceil(n / 200), 500),
    orders: Math.ceil(n * 0.6),
    subscriptions: Math.ceil(n / 10),
    stages: 6,
    opportunities: Math.ceil(n / 10),
    tasks: Math.ceil(n / 2),
    notes: n,
    campaigns: 10,
    emails: n * 2,
    appointments: Math.ceil(n / 5),
    files: Math.ceil(n / 10),
    affiliates: clamp(3, Math.ceil(n / 200), 1000),
    leadSources: 8,
    leadSourceCategories: 3,
  };
}

// The sandbox's own record shapes: one neutral form per resource (numeric ids, epoch-millisecond times), from which
// the v1 and v2 serialisers produce each version's JSON. Generators and writes both produce these.

export type CustomValue = string | number | boolean | null;

export interface EmailAddress { email: string; field: 'EMAIL1' | 'EMAIL2' | 'EMAIL3'; status: EmailStatus; optInReason: string | null }
export interface PhoneNumber { number: string; e164: string; extension: string | null; type: string; field: string }
export interface FaxNumber { number: string; type: string; field: 'FAX1' | 'FAX2' }
export interface PostalAddress {
  field: 'BILLING' | 'SHIPPING' | 'OTHER'; line1: string; line2: string | null; locality: string; region: string;
  regionCode: string; countryCode: string; country: string; postalCode: string; zipFour: string | null;
}
export interface SocialAccount { name: string; type: 'FACEBOOK' | 'LINKED_IN' | 'TWITTER' | 'INSTAGRAM' }
/** v2 UPPER_SNAKE names; v1 maps them to its CamelCase enum */
export type EmailStatus = 'UNENGAGED_MARKETABLE' | 'SINGLE_OPT_IN' | 'DOUBLE_OPT_IN' | 'CONFIRMED' | 'UNENGAGED_NON_MARKETABLE' | 'NON_MARKETABLE' | 'LOCKDOWN' | 'BOUNCE' | 'HARD_BOUNCE' | 'MANUAL' | 'ADMIN' | 'SYSTEM' | 'LIST_UNSUBSCRIBE' | 'FEEDBACK' | 'SPAM' | 'INVALID' | 'DEACTIVATED';

export interface Contact {
  id: number;
  givenName: string; middleName: string | null; familyName: string; preferredName: string | null;
  prefix: string | null; suffix: string | null; spouseName: string | null; jobTitle: string | null;
  contactType: string; website: string | null; timeZone: string; preferredLocale: string;
  emails: EmailAddress[]; phones: PhoneNumber[]; faxes: FaxNumber[]; addresses: PostalAddress[]; social: SocialAccount[];
  companyId: number | null; ownerId: number | null; leadSourceId: number | null;
  sourceType: 'API' | 'IMPORT' | 'MANUAL' | 'WEBFORM' | 'LANDING_PAGE' | 'INTERNAL_FORM' | 'APPOINTMENT';
  origin: { date: number; ipAddress: string } | null;
  birthDate: string | null; anniversaryDate: string | null;
  scoreValue: string | null; referralCode: string | null;
  /** null: the generated values (SandboxStore.contactCustomFields builds them on demand) */
  customFields: Record<number, CustomValue> | null;
  createdAt: number; updatedAt: number;
}

export interface TagApplication { tagId: number; appliedAt: number }

export interface Company {
  id: number; name: string; email: string | null; emailStatus: EmailStatus; phone: string | null; phoneExt: string | null;
  fax: string | null; address: PostalAddress | null; website: string | null; notes: string | null; ownerId: number | null;
  customFields: Record<number, CustomValue>; createdAt: number; updatedAt: number;
}
export interface TagCategory { id: number; name: string; description: string; createdAt: number; updatedAt: number }
export interface Tag { id: number; name: string; description: string; categoryId: number; createdAt: number; updatedAt: number }
export interface SubscriptionPlan { id: number; productId: number; name: string; cycle: 'YEAR' | 'MONTH' | 'WEEK' | 'DAY'; frequency: number; cycles: number; priceCents: number; active: boolean; index: number }
export interface Product {
  id: number; name: string; description: string; shortDescription: string; sku: string; priceCents: number;
  active: boolean; shippable: boolean; taxable: boolean; weight: number; subscriptionOnly: boolean;
  plans: SubscriptionPlan[]; createdAt: number; updatedAt: number;
}
export interface OrderItem { id: number; productId: number; name: string; description: string; quantity: number; priceCents: number; costCents: number; discountCents: number; type: 'PRODUCT' | 'SERVICE' | 'SHIPPING' | 'TAX' }
export interface Order {
  id: number; contactId: number; title: string; status: 'DRAFT' | 'SENT' | 'VIEWED' | 'PAID'; orderType: 'ONLINE' | 'OFFLINE';
  sourceType: 'INVOICE' | 'API' | 'CHECKOUT_FORM' | 'MANUAL_PAYMENT'; items: OrderItem[];
  totalCents: number; paidCents: number; refundCents: number; invoiceNumber: number; leadAffiliateId: number | null; salesAffiliateId: number | null;
  notes: string | null; terms: string | null; orderedAt: number; createdAt: number; updatedAt: number;
  customFields: Record<number, CustomValue>;
}
export interface Payment {
  id: number; orderId: number; contactId: number; amountCents: number; payStatus: 'APPROVED' | 'MANUAL_PAID' | 'REFUNDED' | 'FAILED';
  method: 'CREDIT_CARD' | 'CASH' | 'CHECK'; gateway: string; note: string | null; paidAt: number; updatedAt: number;
}
export interface Subscription {
  id: number; contactId: number; productId: number; planId: number; active: boolean; billingAmountCents: number;
  cycle: 'YEAR' | 'MONTH' | 'WEEK' | 'DAY'; frequency: number; quantity: number; autoCharge: boolean; allowTax: boolean;
  startDate: number; nextBillDate: number | null; lastBillDate: number | null; endDate: number | null; saleAffiliateId: number | null;
}
export interface Stage { id: number; name: string; order: number; probability: number; targetDays: number; createdAt: number; updatedAt: number }
export interface Opportunity {
  id: number; title: string; contactId: number; stageId: number; userId: number; notes: string | null; nextActionNotes: string | null;
  nextActionAt: number | null; estimatedCloseAt: number; includeInForecast: boolean; revenueLow: number; revenueHigh: number;
  affiliateId: number | null; customFields: Record<number, CustomValue>; createdAt: number; updatedAt: number;
}
export interface Task {
  id: number; title: string; description: string | null; type: string; priority: 'CRITICAL' | 'ESSENTIAL' | 'NONESSENTIAL';
  completed: boolean; completedAt: number | null; dueAt: number | null; remindMins: number | null; contactId: number | null;
  userId: number; createdAt: number; updatedAt: number;
}
export interface Note {
  id: number; title: string; body: string; type: 'Appointment' | 'Call' | 'Email' | 'Fax' | 'Letter' | 'Other';
  contactId: number; userId: number; createdAt: number; updatedAt: number;
}
export interface Campaign {
  id: number; name: string; locked: boolean; published: boolean; timeZone: string; createdBy: number;
  activeCount: number; completedCount: number; createdAt: number; publishedAt: number | null; updatedAt: number;
}
export interface SentEmail {
  id: number; contactId: number; subject: string; fromAddress: string; toAddress: string; sentAt: number; receivedAt: number;
  openedAt: number | null; clickedAt: number | null; provider: 'INFUSIONSOFT' | 'GOOGLE' | 'MICROSOFT' | 'UNKNOWN';
}
export interface User {
  id: number; givenName: string; familyName: string; email: string; phone: string; admin: boolean; partner: boolean;
  status: 'ACTIVE' | 'INVITED' | 'INACTIVE'; timeZone: string; globalUserId: number; createdAt: number; updatedAt: number;
}
export interface Appointment { id: number; title: string; description: string | null; location: string | null; contactId: number; userId: number; startAt: number; endAt: number; remindMins: number | null; updatedAt: number }
export interface FileMeta {
  id: number; fileName: string; fileSize: number; category: 'ATTACHMENTS' | 'DOCUMENTS' | 'INVOICE' | 'LOGO';
  boxType: 'APPLICATION' | 'IMAGE' | 'ATTACHMENT' | 'CONTACT'; contactId: number | null; createdBy: number; isPublic: boolean;
  createdAt: number; updatedAt: number;
}
export interface Affiliate {
  id: number; code: string; name: string; contactId: number; parentId: number | null; active: boolean;
  notifyOnLead: boolean; notifyOnSale: boolean; trackLeadsDays: number; createdAt: number;
}

/** v1 field-type names (reference §3.3); v2 uses the UPPER_SNAKE form of the same names. */
export type CustomFieldType = 'Text' | 'TextArea' | 'WholeNumber' | 'DecimalNumber' | 'Currency' | 'Percent' | 'Date' | 'DateTime'
  | 'Dropdown' | 'ListBox' | 'Radio' | 'YesNo' | 'Website' | 'Email' | 'PhoneNumber' | 'Year' | 'Month' | 'DayOfWeek' | 'State' | 'User';
export type CustomRecordType = 'CONTACT' | 'COMPANY' | 'ORDER' | 'OPPORTUNITY' | 'SUBSCRIPTION' | 'TASK_NOTE_APPOINTMENT' | 'REFERRAL_PARTNER';
export interface CustomFieldDef {
  id: number; label: string; fieldName: string; type: CustomFieldType; recordType: CustomRecordType;
  options: { id: string; label: string }[]; defaultValue: string | null; groupId: number;
}

export interface LeadSourceCategory { id: number; name: string; description: string; createdAt: number; updatedAt: number }
export interface LeadSource {
  id: number; name: string; description: string; vendor: string | null; medium: string; message: string | null; active: boolean;
  categoryId: number; startAt: number; endAt: number | null; createdAt: number; updatedAt: number;
}

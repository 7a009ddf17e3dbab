// Options of a product (a size to pick, text to engrave): a pure function of the product id, so v1's products
// listing (product_options[]), v2's (options[]) and v2's per-product list (GET /v2/products/{id}/options) agree.
export interface ProductOptionValue { id: number; label: string; code: string; priceAdjustment: number; isDefault: boolean }
export interface ProductOptionDef {
  id: number; productId: number; name: string; label: string; kind: 'LIST' | 'TEXT'; required: boolean; index: number;
  values: ProductOptionValue[]; minChars: number | null; maxChars: number | null; allowSpaces: boolean; message: string | null;
}

/** Every third product has a size list, every fourth an engraving text (ids product*10 + 1, + 2). */
export function productOptions(productId: number): ProductOptionDef[] {
  const out: ProductOptionDef[] = [];
  if (productId % 3 === 0) {
    const id = productId * 10 + 1;
    out.push({
      id, productId, name: 'size', label: 'Size', kind: 'LIST', required: true, index: out.length,
      values: ['Small', 'Medium', 'Large'].map((label, k) => ({ id: id * 10 + k, label, code: label[0]!, priceAdjustment: k === 2 ? 5 : 0, isDefault: k === 1 })),
      minChars: null, maxChars: null, allowSpaces: false, message: null,
    });
  }
  if (productId % 4 === 0) {
    out.push({ id: productId * 10 + 2, productId, name: 'engraving', label: 'Engraving', kind: 'TEXT', required: false, index: out.length, values: [], minChars: 1, maxChars: 20, allowSpaces: true, message: 'Up to 20 letters and digits' });
  }
  return out;
}

export const productOptionV1 = (o: ProductOptionDef): Record<string, unknown> => ({
  id: o.id, name: o.name, label: o.label, type: o.kind === 'LIST' ? 'FixedList' : 'Variable', required: o.required, display_index: o.index,
  values: o.values.map((v, k) => ({ id: v.id, index: k, is_default: v.isDefault, label: v.label, price_adjustment: v.priceAdjustment, sku: v.code })),
  min_chars: o.minChars, max_chars: o.maxChars, allow_spaces: o.allowSpaces, text_message: o.message,
  can_contain_character: o.kind === 'TEXT', can_contain_number: o.kind === 'TEXT', can_end_with_character: o.kind === 'TEXT', can_end_with_number: o.kind === 'TEXT',
  can_start_with_character: o.kind === 'TEXT', can_start_with_number: o.kind === 'TEXT',
});

/** v2's products listing: no option id; FIXED options list their values, VARIABLE ones their text rules. */
export const productOptionV2Listing = (o: ProductOptionDef): Record<string, unknown> => o.kind === 'LIST'
  ? { name: o.label, type: 'FIXED', required: o.required, fixed_options: o.values.map((v) => ({ code: v.code, price_adjustment: v.priceAdjustment, value: v.label })) }
  : { name: o.label, type: 'VARIABLE', required: o.required, variable_setting: { contain_spaces: o.allowSpaces, contains: 'BOTH', end_with: 'BOTH', max_chars: o.maxChars, min_chars: o.minChars, start_with: 'BOTH', validation_msg: o.message ?? undefined } };

/** GET /v2/products/{product_id}/options */
export const productOptionV2 = (o: ProductOptionDef): Record<string, unknown> => ({
  id: String(o.id), required: o.required, option_label: o.label, product_id: String(o.productId), option_type: o.kind, display_order: o.index,
  list_items: o.kind === 'LIST' ? o.values.map((v, k) => ({ item_id: String(v.id), item_label: v.label, item_code: v.code, item_display_order: k, price_adjustment: v.priceAdjustment })) : undefined,
  text_rules: o.kind === 'TEXT' ? { minimum_characters: o.minChars, maximum_characters: o.maxChars, allow_spaces: o.allowSpaces, only_starts_with: 'BOTH', only_ends_with: 'BOTH', only_contains: 'BOTH', error_message: o.message ?? undefined } : undefined,
});

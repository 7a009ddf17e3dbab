// Keap names (camelCase, CamelCase, UPPER_SNAKE, labels with spaces) → snake_case SQL identifiers.

export function snakeCase(name: string): string {
  return name
    // "Café" → "cafe": accents are dropped rather than every accented letter becoming "_".
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .replace(/([A-Z]+)([A-Z][a-z])/g, '$1_$2') // PONumber → PO_Number
    .replace(/([a-z0-9])([A-Z])/g, '$1_$2')
    .replace(/[^A-Za-z0-9]+/g, '_')
    .replace(/^_+|_+$/g, '')
    .toLowerCase();
}

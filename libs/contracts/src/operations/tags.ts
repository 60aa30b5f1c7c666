/** The groups of the public API, in the order the document lists them, with what each holds. */
export const OPERATION_TAGS: Readonly<Record<string, string>> = {
  gateway: 'The gateway itself: health and this document.',
  auth: 'Accounts, login and tokens.',
  'api-keys': 'API keys for machines (admins only).',
  users: 'User administration (admins only).',
  products: 'The product catalog.',
  categories: 'Product categories.',
  orders: 'Orders and their live updates.',
  recommendations: 'Products bought together, and products for you, learnt from confirmed orders.',
};

// Catalog: products, categories and stock reservations.
export {};

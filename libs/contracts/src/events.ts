// Versioned event names and their payload schemas.
export {};

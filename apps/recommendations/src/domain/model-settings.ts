/** The knobs of the model, from configuration (see the README's table). */
export interface ModelSettings {
  /** Distinct customers who must have bought a pair together before it is used (privacy). */
  minPairCustomers: number;
  /** λ of the shrinkage factor c / (c + λ). */
  shrinkage: number;
  /** How many partners of a product, by shared customers, are re-ranked by similarity. */
  neighbourCandidates: number;
  /** How many of a customer's products personal recommendations start from. */
  personalHistoryLimit: number;
  /** Popularity's half-life. */
  halfLifeSeconds: number;
}

/** Fixed origin of popularity weights: an order's weight is 2^((confirmedAt - epoch) / half-life). */
export const POPULARITY_EPOCH_SECONDS = Date.UTC(2026, 0, 1) / 1000;

export const DEFAULT_MODEL_SETTINGS: ModelSettings = {
  minPairCustomers: 3,
  shrinkage: 5,
  neighbourCandidates: 100,
  personalHistoryLimit: 50,
  halfLifeSeconds: 14 * 86_400,
};

import type { DataSource } from 'typeorm';
import type { RecommendationsConfig } from './config';
import type { Recommender } from './domain/recommender';

/** What the routes work with, built once in `buildApp` and handed to each route plugin. */
export interface RecommendationsServices {
  config: RecommendationsConfig;
  db: DataSource;
  recommender: Recommender;
}

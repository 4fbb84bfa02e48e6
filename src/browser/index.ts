// Browser helpers (also fine in Deno and Node: they only need fetch and, for caching, caches).
export {
  fetchWeights, clearWeightCache, cachedWeightUrls, DEFAULT_WEIGHT_CACHE, type FetchWeightsOptions, type FetchedWeights,
} from './fetch-weights.js';

import type { Logger } from 'pino';
import type { Config } from '../config/config.js';
import type { Metrics } from '../metrics.js';
import { createDemoSource } from './demo/demo-source.js';
import type { ImageSource } from './image-source.js';
import { createUnsplashSource } from './unsplash/unsplash-source.js';

/** The configured image source: Unsplash when an access key is set, otherwise the offline demo catalog. */
export function createImageSource(
  config: Pick<
    Config,
    | 'unsplashAccessKey'
    | 'unsplashApiUrl'
    | 'unsplashTimeoutMs'
    | 'unsplashRetryBaseMs'
    | 'unsplashRetryMaxMs'
    | 'unsplashQuotaWaitMs'
    | 'unsplashClientSharePercent'
  >,
  logger: Logger,
  metrics: Pick<Metrics, 'unsplashCalls' | 'unsplashQuotaRemaining' | 'downloadsFromCache' | 'photoShareRefusals'>,
): ImageSource {
  if (config.unsplashAccessKey === null) {
    logger.info('No UNSPLASH_ACCESS_KEY: using the built-in demo images');
    return createDemoSource();
  }
  logger.info({ apiUrl: config.unsplashApiUrl }, 'Using Unsplash for photos');
  return createUnsplashSource({
    accessKey: config.unsplashAccessKey,
    apiUrl: config.unsplashApiUrl,
    timeoutMs: config.unsplashTimeoutMs,
    retry: { baseMs: config.unsplashRetryBaseMs, maxMs: config.unsplashRetryMaxMs },
    quotaWaitMs: config.unsplashQuotaWaitMs,
    clientSharePercent: config.unsplashClientSharePercent,
    logger,
    metrics,
  });
}

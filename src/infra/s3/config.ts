import { createPrivateKey, KeyObject } from 'node:crypto';
import { ConfigError } from '../config';
import type { S3StorageSettings } from './s3-storage';

/*
 * Recording storage settings, with Scalelite's variable names (S3_RECORDING,
 * S3_BUCKET_NAME, CLOUDFRONT_URL, CF_KEY_PAIR_ID, CF_PRIVATE_KEY_B64) and the
 * AWS SDK's standard ones (AWS_REGION, AWS_ENDPOINT_URL, AWS_ACCESS_KEY_ID, …).
 * Scalelite switched to S3 on any value of S3_RECORDING, even "false"; here it
 * is a yes/no like every other flag, and a half-configured bucket or CloudFront
 * stops the start with the variable named.
 */

export interface CloudFrontSettings {
  /** CLOUDFRONT_URL without a trailing slash */
  url: string;
  keyPairId: string;
  privateKey: KeyObject;
  /** the PEM, as the signer takes it */
  privateKeyPem: string;
}

export type StorageSettings =
  | { kind: 'filesystem'; cloudFront: CloudFrontSettings | null }
  | {
      kind: 's3';
      s3: S3StorageSettings;
      cloudFront: CloudFrontSettings | null;
      /** without CloudFront: stream objects through the balancer (default), or 307 to a presigned URL */
      playback: 'stream' | 'presign';
      presignTtlSeconds: number;
    };

/** The parsed variables this reads (a slice of config.ts's schema). */
export interface StorageEnv {
  S3_RECORDING: boolean;
  S3_BUCKET_NAME?: string;
  S3_ENDPOINT?: string;
  S3_FORCE_PATH_STYLE?: string;
  AWS_ENDPOINT_URL?: string;
  AWS_ENDPOINT_URL_S3?: string;
  AWS_REGION?: string;
  AWS_DEFAULT_REGION?: string;
  AWS_ACCESS_KEY_ID?: string;
  AWS_SECRET_ACCESS_KEY?: string;
  AWS_SESSION_TOKEN?: string;
  CLOUDFRONT_URL?: string;
  CF_KEY_PAIR_ID?: string;
  CF_PRIVATE_KEY_B64?: string;
  RECORDING_S3_PLAYBACK?: string;
  RECORDING_S3_PRESIGN_TTL: number;
}

// S3's bucket naming rules (lowercase, 3-63, no leading/trailing dot or dash, no '..').
const BUCKET = /^(?!.*\.\.)[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
const REGION = /^[a-z0-9-]{1,64}$/;

function httpUrl(name: string, value: string): string {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new ConfigError(`${name}: expected an http(s) URL, got '${value}'`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(`${name}: expected an http(s) URL, got '${value}'`);
  if (url.search || url.hash) throw new ConfigError(`${name}: expected a URL without a query or fragment, got '${value}'`);
  return value.replace(/\/+$/, '');
}

function yesNo(name: string, value: string | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  const word = value.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(word)) return true;
  if (['false', '0', 'no', 'off'].includes(word)) return false;
  throw new ConfigError(`${name}: expected true or false (also 1/0, yes/no, on/off), got '${value}'`);
}

function cloudFront(e: StorageEnv): CloudFrontSettings | null {
  if (!e.CLOUDFRONT_URL) {
    const stray = e.CF_KEY_PAIR_ID ? 'CF_KEY_PAIR_ID' : e.CF_PRIVATE_KEY_B64 ? 'CF_PRIVATE_KEY_B64' : null;
    if (stray) throw new ConfigError(`${stray}: set, but CLOUDFRONT_URL is not (CloudFront playback needs all three)`);
    return null;
  }
  const url = httpUrl('CLOUDFRONT_URL', e.CLOUDFRONT_URL);
  if (!e.CF_KEY_PAIR_ID) throw new ConfigError('CF_KEY_PAIR_ID: required with CLOUDFRONT_URL (the CloudFront public key or key pair id)');
  if (!/^[A-Za-z0-9]{1,128}$/.test(e.CF_KEY_PAIR_ID)) throw new ConfigError(`CF_KEY_PAIR_ID: expected letters and digits (e.g. K2JCJMDEHXQW5F), got '${e.CF_KEY_PAIR_ID}'`);
  if (!e.CF_PRIVATE_KEY_B64) throw new ConfigError('CF_PRIVATE_KEY_B64: required with CLOUDFRONT_URL (the base64 of the PEM private key)');
  const pem = Buffer.from(e.CF_PRIVATE_KEY_B64.replace(/\s+/g, ''), 'base64').toString('utf8');
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(pem);
  } catch {
    throw new ConfigError('CF_PRIVATE_KEY_B64: not the base64 of a PEM private key (base64 -w0 private_key.pem)');
  }
  if (privateKey.asymmetricKeyType !== 'rsa') throw new ConfigError(`CF_PRIVATE_KEY_B64: CloudFront signs with RSA keys, this one is ${privateKey.asymmetricKeyType}`);
  return { url, keyPairId: e.CF_KEY_PAIR_ID, privateKey, privateKeyPem: pem };
}

export function storageSettings(e: StorageEnv): StorageSettings {
  const cf = cloudFront(e);
  if (!e.S3_RECORDING) return { kind: 'filesystem', cloudFront: cf };
  if (!e.S3_BUCKET_NAME) throw new ConfigError('S3_BUCKET_NAME: required with S3_RECORDING (the bucket recordings are kept in)');
  if (!BUCKET.test(e.S3_BUCKET_NAME)) throw new ConfigError(`S3_BUCKET_NAME: not a bucket name (3-63 lowercase letters, digits, dots and dashes), got '${e.S3_BUCKET_NAME}'`);
  // The SDK's own order: the S3-specific endpoint, then the general one; S3_ENDPOINT for setups that name it so.
  const endpointVar = e.AWS_ENDPOINT_URL_S3 ? 'AWS_ENDPOINT_URL_S3' : e.AWS_ENDPOINT_URL ? 'AWS_ENDPOINT_URL' : e.S3_ENDPOINT ? 'S3_ENDPOINT' : null;
  const endpoint = endpointVar ? httpUrl(endpointVar, (e as unknown as Record<string, string>)[endpointVar]) : undefined;
  const region = e.AWS_REGION ?? e.AWS_DEFAULT_REGION ?? 'us-east-1';
  if (!REGION.test(region)) throw new ConfigError(`${e.AWS_REGION ? 'AWS_REGION' : 'AWS_DEFAULT_REGION'}: not a region name, got '${region}'`);
  if (Boolean(e.AWS_ACCESS_KEY_ID) !== Boolean(e.AWS_SECRET_ACCESS_KEY)) {
    throw new ConfigError(
      `${e.AWS_ACCESS_KEY_ID ? 'AWS_SECRET_ACCESS_KEY' : 'AWS_ACCESS_KEY_ID'}: required with ${e.AWS_ACCESS_KEY_ID ? 'AWS_ACCESS_KEY_ID' : 'AWS_SECRET_ACCESS_KEY'}`,
    );
  }
  return {
    kind: 's3',
    s3: {
      bucket: e.S3_BUCKET_NAME,
      region,
      endpoint,
      // S3-compatible servers rarely have wildcard DNS for virtual-hosted buckets: path style unless told otherwise.
      forcePathStyle: yesNo('S3_FORCE_PATH_STYLE', e.S3_FORCE_PATH_STYLE) ?? Boolean(endpoint),
      credentials:
        e.AWS_ACCESS_KEY_ID && e.AWS_SECRET_ACCESS_KEY
          ? { accessKeyId: e.AWS_ACCESS_KEY_ID, secretAccessKey: e.AWS_SECRET_ACCESS_KEY, ...(e.AWS_SESSION_TOKEN ? { sessionToken: e.AWS_SESSION_TOKEN } : {}) }
          : undefined,
    },
    cloudFront: cf,
    playback: e.RECORDING_S3_PLAYBACK === 'presign' ? 'presign' : 'stream',
    presignTtlSeconds: e.RECORDING_S3_PRESIGN_TTL,
  };
}
